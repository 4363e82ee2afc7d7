#include "plugins/lifecycle/safe_fs.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>
#include <vector>

namespace zlh::plugins::lifecycle {
namespace sdk = agent::sdk;

namespace {

std::atomic<bool> g_no_openat2{false};

std::vector<std::string> splitPath(std::string_view rel) {
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos <= rel.size()) {
    size_t slash = rel.find('/', pos);
    if (slash == std::string_view::npos) slash = rel.size();
    if (slash > pos) parts.emplace_back(rel.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return parts;
}

sdk::Error fsError(std::string_view rel, int err, std::string_view what) {
  if (err == EXDEV || err == ELOOP)
    return sdk::makeError(sdk::ErrorCode::kInvalidArgument,
                          "path \"" + std::string(rel) + "\" escapes the instance's data dir");
  return sdk::makeError(sdk::ErrorCode::kInternal,
                        std::string(what) + " \"" + std::string(rel) + "\": " + std::strerror(err));
}

std::string randomSuffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* kHex = "0123456789abcdef";
  std::string s;
  uint64_t v = rng();
  for (int i = 0; i < 12; ++i, v >>= 4) s.push_back(kHex[v & 15]);
  return s;
}

}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) reset(o.release());
  return *this;
}

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

// Fallback walk: every component opened with O_NOFOLLOW, "." skipped, ".." and absolute refused.
int openBeneathWalk(int dirfd, const std::string& rel, int flags, mode_t mode) {
  if (rel.empty() || rel[0] == '/') return -EXDEV;
  auto parts = splitPath(rel);
  if (parts.empty()) return -EINVAL;
  int cur = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
  if (cur < 0) return -errno;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i] == "..") {
      ::close(cur);
      return -EXDEV;
    }
    bool last = i + 1 == parts.size();
    int f =
        last ? (flags | O_NOFOLLOW | O_CLOEXEC) : (O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int next = ::openat(cur, parts[i].c_str(), f, mode);
    int err = errno;
    ::close(cur);
    if (next < 0) return -err;
    cur = next;
  }
  return cur;
}

int openBeneath(int dirfd, const std::string& rel, int flags, mode_t mode) {
  if (!g_no_openat2.load(std::memory_order_relaxed)) {
    struct open_how how {};
    how.flags = uint64_t(flags | O_CLOEXEC);
    how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    long fd = ::syscall(SYS_openat2, dirfd, rel.c_str(), &how, sizeof how);
    if (fd >= 0) return int(fd);
    if (errno != ENOSYS && errno != EPERM) return -errno;
    g_no_openat2.store(true, std::memory_order_relaxed);
  }
  return openBeneathWalk(dirfd, rel, flags, mode);
}

PendingFile::PendingFile(UniqueFd dir, UniqueFd file, std::string tmp_name, std::string leaf,
                         std::string rel)
    : dir_(std::move(dir)),
      file_(std::move(file)),
      tmp_name_(std::move(tmp_name)),
      leaf_(std::move(leaf)),
      rel_(std::move(rel)) {}

PendingFile& PendingFile::operator=(PendingFile&& o) noexcept {
  if (this != &o) {
    discard();
    dir_ = std::move(o.dir_);
    file_ = std::move(o.file_);
    tmp_name_ = std::move(o.tmp_name_);
    leaf_ = std::move(o.leaf_);
    rel_ = std::move(o.rel_);
  }
  return *this;
}

sdk::Status PendingFile::write(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(file_.get(), data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fsError(rel_, errno, "write");
    data.remove_prefix(size_t(n));
  }
  return {};
}

sdk::Status PendingFile::commit() {
  if (::fsync(file_.get()) != 0) return fsError(rel_, errno, "fsync");
  file_.reset();
  if (::renameat(dir_.get(), tmp_name_.c_str(), dir_.get(), leaf_.c_str()) != 0)
    return fsError(rel_, errno, "rename into");
  tmp_name_.clear();
  return {};
}

void PendingFile::discard() {
  file_.reset();
  if (dir_ && !tmp_name_.empty()) ::unlinkat(dir_.get(), tmp_name_.c_str(), 0);
  tmp_name_.clear();
}

sdk::Result<SafeRoot> SafeRoot::open(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fsError(dir.string(), errno, "open data dir");
  SafeRoot root;
  root.root_.reset(fd);
  root.path_ = dir;
  return root;
}

sdk::Result<std::pair<UniqueFd, std::string>> SafeRoot::openParent(std::string_view rel,
                                                                   bool create_dirs) const {
  auto parts = splitPath(rel);
  if (rel.empty() || rel.back() == '/' || parts.empty() || parts.back() == "." ||
      parts.back() == "..")
    return sdk::makeError(sdk::ErrorCode::kInvalidArgument,
                          "path \"" + std::string(rel) + "\" does not name a file");
  std::string leaf = parts.back();
  // Keep a leading "/" so the kernel sees (and refuses) an absolute path.
  std::string prefix = rel[0] == '/' ? "/" : "";
  UniqueFd dir(::fcntl(root_.get(), F_DUPFD_CLOEXEC, 0));
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    prefix += parts[i];
    int fd = openBeneath(root_.get(), prefix, O_PATH | O_DIRECTORY);
    if (fd == -ENOENT && create_dirs) {
      if (::mkdirat(dir.get(), parts[i].c_str(), 0755) != 0 && errno != EEXIST)
        return fsError(rel, errno, "create directory for");
      fd = openBeneath(root_.get(), prefix, O_PATH | O_DIRECTORY);
    }
    if (fd < 0) return fsError(rel, -fd, "open directory of");
    dir.reset(fd);
    prefix += "/";
  }
  if (rel[0] == '/' && parts.size() == 1) {
    int fd = openBeneath(root_.get(), "/", O_PATH | O_DIRECTORY);
    if (fd < 0) return fsError(rel, -fd, "open directory of");
    dir.reset(fd);
  }
  return std::make_pair(std::move(dir), std::move(leaf));
}

sdk::Result<PendingFile> SafeRoot::createPending(std::string_view rel, mode_t mode) const {
  auto parent = openParent(rel, true);
  if (!parent.ok()) return parent.error();
  auto& [dir, leaf] = parent.value();
  // Reopen the O_PATH dir as a real one so openat/renameat/unlinkat work relative to it.
  UniqueFd real(::openat(dir.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!real) return fsError(rel, errno, "open directory of");
  std::string tmp = ".zlh-tmp-" + randomSuffix() + "-" + leaf.substr(0, 64);
  int fd =
      ::openat(real.get(), tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return fsError(rel, errno, "create");
  ::fchmod(fd, mode);  // not subject to the umask
  return PendingFile(std::move(real), UniqueFd(fd), tmp, leaf, std::string(rel));
}

sdk::Status SafeRoot::writeFile(std::string_view rel, std::string_view content, mode_t mode) const {
  auto pending = createPending(rel, mode);
  if (!pending.ok()) return pending.error();
  if (auto st = pending->write(content); !st.ok()) return st;
  return pending->commit();
}

}  // namespace zlh::plugins::lifecycle
