// Engine selection by URL.
#include <libpq-fe.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "coordinator/store/pg_conn.h"
#include "coordinator/store/pg_store.h"
#include "coordinator/store/sqlite_store.h"
#include "coordinator/store/store.h"

namespace zlh::coordinator::store {
namespace {
using proto::ErrorCode;
using proto::makeError;

bool isPostgresUrl(std::string_view url) {
  return url.substr(0, 11) == "postgres://" || url.substr(0, 13) == "postgresql://";
}

// libpq's own parser: the URL is checked at config time, without connecting.
Status checkPostgresUrl(const std::string& url) {
  if (url.find('\0') != std::string::npos)
    return makeError(ErrorCode::kInvalidArgument, "postgres URL contains a NUL byte");
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(url.c_str(), &err);
  if (opts) {
    // libpq checks ports only when connecting; a config check should catch a typo.
    std::string bad_port;
    for (PQconninfoOption* o = opts; o->keyword; ++o) {
      if (std::string_view(o->keyword) != "port" || !o->val) continue;
      std::string_view ports(o->val);
      for (size_t start = 0; start <= ports.size();) {
        size_t end = std::min(ports.find(',', start), ports.size());
        std::string_view p = ports.substr(start, end - start);
        bool digits = !p.empty() && p.size() <= 5 &&
                      p.find_first_not_of("0123456789") == std::string_view::npos;
        if (!p.empty() && (!digits || std::stoi(std::string(p)) > 65535)) bad_port = p;
        start = end + 1;
      }
    }
    PQconninfoFree(opts);
    if (!bad_port.empty())
      return makeError(ErrorCode::kInvalidArgument,
                       "bad postgres URL " + pg::redactUrl(url) + ": invalid port \"" +
                           pg::scrubUrlSecrets(bad_port, url) + "\"");
    return {};
  }
  std::string msg = err ? err : "out of memory";
  if (err) PQfreemem(err);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  // libpq may quote the offending part, which could be the password: show a redacted URL and
  // a message without it.
  msg = pg::scrubUrlSecrets(std::move(msg), url);
  return makeError(ErrorCode::kInvalidArgument, "bad postgres URL " + pg::redactUrl(url) + ": " + msg +
                                                    " (expected postgres://user:password@host:port/dbname)");
}
}  // namespace

std::string redactDatabaseUrl(std::string_view url) {
  return isPostgresUrl(url) ? pg::redactUrl(url) : std::string(url);
}

Result<DatabaseUrl> parseDatabaseUrl(std::string_view url) {
  constexpr std::string_view kSqlite = "sqlite://";
  if (url.substr(0, kSqlite.size()) == kSqlite) {
    std::string path(url.substr(kSqlite.size()));
    // "sqlite:///abs/x.db" leaves "/abs/x.db"; "sqlite://rel.db" leaves "rel.db".
    if (path.empty() || path.back() == '/')
      return makeError(ErrorCode::kInvalidArgument, "sqlite URL needs a file path, e.g. sqlite:///var/lib/zlh-coordinator/zlh.db");
    if (path.find('?') != std::string::npos || path.find('\0') != std::string::npos)
      return makeError(ErrorCode::kInvalidArgument, "sqlite URL takes no query parameters");
    return DatabaseUrl{"sqlite", path, ""};
  }
  if (isPostgresUrl(url)) {
    std::string u(url);
    if (auto st = checkPostgresUrl(u); !st) return st.error();
    return DatabaseUrl{"postgres", "", u};
  }
  return makeError(ErrorCode::kInvalidArgument,
                   "unsupported database URL (expected sqlite:///abs/path.db, sqlite://relative.db "
                   "or postgres://user:password@host:port/dbname)");
}

Result<std::unique_ptr<Store>> openStore(std::string_view url, const OpenOptions& options) {
  auto parsed = parseDatabaseUrl(url);
  if (!parsed) return parsed.error();
  if (parsed->engine == "postgres") {
    // One connection: PgStore::open checks for the schema itself.
    auto store = PgStore::open(parsed->url, options);
    if (!store) return store.error();
    return std::unique_ptr<Store>(std::move(*store));
  }
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
  if (parsed->engine == "postgres") return PgStore::initialised(parsed->url);
  struct stat st {};
  if (::stat(parsed->path.c_str(), &st) == 0) return true;
  if (errno == ENOENT) return false;
  return makeError(ErrorCode::kUnavailable, "stat " + parsed->path + ": " + std::strerror(errno));
}

}  // namespace zlh::coordinator::store
