// Engine selection by URL.
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "coordinator/store/sqlite_store.h"
#include "coordinator/store/store.h"

namespace zlh::coordinator::store {
namespace {
using proto::ErrorCode;
using proto::makeError;
}  // namespace

Result<DatabaseUrl> parseDatabaseUrl(std::string_view url) {
  constexpr std::string_view kSqlite = "sqlite://";
  if (url.substr(0, kSqlite.size()) == kSqlite) {
    std::string path(url.substr(kSqlite.size()));
    // "sqlite:///abs/x.db" leaves "/abs/x.db"; "sqlite://rel.db" leaves "rel.db".
    if (path.empty() || path.back() == '/')
      return makeError(ErrorCode::kInvalidArgument, "sqlite URL needs a file path, e.g. sqlite:///var/lib/zlh-coordinator/zlh.db");
    if (path.find('?') != std::string::npos || path.find('\0') != std::string::npos)
      return makeError(ErrorCode::kInvalidArgument, "sqlite URL takes no query parameters");
    return DatabaseUrl{"sqlite", path};
  }
  if (url.substr(0, 11) == "postgres://" || url.substr(0, 13) == "postgresql://")
    return makeError(ErrorCode::kUnimplemented, "postgres:// is not supported yet (use sqlite://)");
  return makeError(ErrorCode::kInvalidArgument,
                   "unsupported database URL (expected sqlite:///abs/path.db or sqlite://relative.db)");
}

Result<std::unique_ptr<Store>> openStore(std::string_view url, const OpenOptions& options) {
  auto parsed = parseDatabaseUrl(url);
  if (!parsed) return parsed.error();
  if (!options.create) {
    auto exists = databaseExists(url);
    if (!exists) return exists.error();
    if (!*exists)
      return makeError(ErrorCode::kFailedPrecondition,
                       "database " + parsed->path + " does not exist (run `zlh-coordinator init` first)");
  }
  auto store = SqliteStore::open(parsed->path, options);
  if (!store) return store.error();
  return std::unique_ptr<Store>(std::move(*store));
}

Result<bool> databaseExists(std::string_view url) {
  auto parsed = parseDatabaseUrl(url);
  if (!parsed) return parsed.error();
  struct stat st {};
  if (::stat(parsed->path.c_str(), &st) == 0) return true;
  if (errno == ENOENT) return false;
  return makeError(ErrorCode::kUnavailable, "stat " + parsed->path + ": " + std::strerror(errno));
}

}  // namespace zlh::coordinator::store
