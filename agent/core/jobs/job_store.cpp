#include "agent/core/jobs/job_store.h"

#include <fcntl.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "proto/v1/codec.h"

namespace zlh::agent::core {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

sdk::Error ioError(const std::string& what, int err) {
  return sdk::makeError(sdk::ErrorCode::kInternal, what + ": " + std::strerror(err));
}

bool safeId(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-'))
      return false;
  return true;
}

// mtime carries the finish time, so open() can rebuild the index from stat() alone.
sdk::Status writeFileDurably(const fs::path& path, const std::string& data, int64_t mtime_ms) {
  const fs::path tmp = path.string() + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ioError("create " + tmp.string(), errno);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return ioError("write " + tmp.string(), err);
    }
    off += size_t(n);
  }
  if (::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return ioError("fsync " + tmp.string(), err);
  }
  const timespec times[2] = {{mtime_ms / 1000, (mtime_ms % 1000) * 1'000'000},
                             {mtime_ms / 1000, (mtime_ms % 1000) * 1'000'000}};
  ::futimens(fd, times);
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return ioError("rename " + tmp.string(), err);
  }
  int dfd = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

}  // namespace

JobStore::JobStore(fs::path dir, Options options, Clock now)
    : dir_(std::move(dir)),
      options_(options),
      now_(now ? std::move(now) : Clock(proto::nowUnixMs)) {}

std::string JobStore::fileName(const std::string& job_id) {
  if (safeId(job_id)) return "j-" + job_id + ".json";
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(job_id.data()), job_id.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "h-";
  for (unsigned char b : digest) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out + ".json";
}

sdk::Status JobStore::open() {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec)
    return sdk::makeError(sdk::ErrorCode::kInternal,
                          "create " + dir_.string() + ": " + ec.message());
  ::chmod(dir_.c_str(), 0700);
  by_time_.clear();
  index_.clear();
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0) {
      fs::remove(entry.path(), ec);  // a write interrupted by a crash: never a valid record
      continue;
    }
    if (name.size() < 8 || (name.rfind("j-", 0) != 0 && name.rfind("h-", 0) != 0)) continue;
    struct stat st {};
    if (::stat(entry.path().c_str(), &st) != 0) continue;
    const int64_t ms = int64_t(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1'000'000;
    index_[name] = by_time_.emplace(ms, name);
  }
  if (ec)
    return sdk::makeError(sdk::ErrorCode::kInternal, "list " + dir_.string() + ": " + ec.message());
  prune();
  return {};
}

bool JobStore::contains(const std::string& job_id) const {
  auto it = index_.find(fileName(job_id));
  return it != index_.end() && it->second->first + options_.max_age.count() > now();
}

sdk::Result<JobRecord> JobStore::load(const std::string& job_id) const {
  const fs::path path = dir_ / fileName(job_id);
  std::ifstream in(path, std::ios::binary);
  if (!in) return ioError("read " + path.string(), errno);
  std::ostringstream buf;
  buf << in.rdbuf();
  try {
    json j = json::parse(buf.str());
    JobRecord r;
    r.job_id = j.at("job_id").get<std::string>();
    if (r.job_id != job_id)  // a hash collision, or a file that does not belong here
      return sdk::makeError(sdk::ErrorCode::kInternal, path.string() + ": holds job " + r.job_id);
    r.kind = j.value("kind", "");
    r.plugin = j.value("plugin", "");
    r.finished_ms = j.value("finished_ms", int64_t(0));
    if (j.contains("error"))
      r.error = j.at("error").get<sdk::Error>();
    else
      r.result = j.at("result");
    return r;
  } catch (const std::exception& e) {
    return sdk::makeError(sdk::ErrorCode::kInternal,
                          path.string() + ": corrupt record: " + e.what());
  }
}

sdk::Status JobStore::put(const JobRecord& r) {
  json j = {
      {"job_id", r.job_id}, {"kind", r.kind}, {"plugin", r.plugin}, {"finished_ms", r.finished_ms}};
  if (r.error)
    j["error"] = *r.error;
  else
    j["result"] = r.result.value_or(json::object());
  const std::string name = fileName(r.job_id);
  const int64_t t = now();
  if (auto s =
          writeFileDurably(dir_ / name, j.dump(-1, ' ', false, json::error_handler_t::replace), t);
      !s.ok())
    return s;
  if (auto it = index_.find(name); it != index_.end()) by_time_.erase(it->second);
  index_[name] = by_time_.emplace(t, name);
  prune();
  return {};
}

void JobStore::prune() {
  const int64_t cutoff = now() - options_.max_age.count();
  while (!by_time_.empty() &&
         (by_time_.begin()->first <= cutoff || by_time_.size() > options_.max_entries))
    remove(by_time_.begin()->second);
}

void JobStore::remove(const std::string& file) {
  auto it = index_.find(file);
  if (it == index_.end()) return;
  std::error_code ec;
  fs::remove(dir_ / file, ec);
  by_time_.erase(it->second);
  index_.erase(it);
}

}  // namespace zlh::agent::core
