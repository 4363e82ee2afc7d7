#pragma once
// File writes confined to an instance's data dir by the kernel: every path is resolved relative
// to an open directory fd with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS), so "../x",
// absolute paths and symlinks pointing outside are refused however they are spelled. Where
// openat2 is unavailable (ENOSYS, or EPERM under a seccomp filter) a component-by-component walk
// with O_NOFOLLOW takes its place (stricter: no symlinks at all).
#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "agent/sdk/result.h"

namespace zlh::plugins::lifecycle {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }
  int get() const { return fd_; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  void reset(int fd = -1);
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

/// A file being written beneath the root under a temporary name; commit() renames it into
/// place (atomically, in the same directory), destruction without commit removes it.
class PendingFile {
 public:
  PendingFile() = default;
  PendingFile(UniqueFd dir, UniqueFd file, std::string tmp_name, std::string leaf, std::string rel);
  PendingFile(PendingFile&&) noexcept = default;
  PendingFile& operator=(PendingFile&&) noexcept;
  ~PendingFile() { discard(); }

  int fd() const { return file_.get(); }
  /// Writes all of `data` (retrying short writes).
  agent::sdk::Status write(std::string_view data);
  /// fsync + rename over the final name.
  agent::sdk::Status commit();
  void discard();

 private:
  UniqueFd dir_;
  UniqueFd file_;
  std::string tmp_name_;
  std::string leaf_;
  std::string rel_;
};

/// An open data dir.
class SafeRoot {
 public:
  /// Opens `dir` (which must exist and be a directory).
  static agent::sdk::Result<SafeRoot> open(const std::filesystem::path& dir);

  /// Opens the directory holding `rel` (creating missing directories, mode 0755, when asked) and
  /// returns it with the last path component. InvalidArgument when `rel` is empty, ends in "/",
  /// "." or "..", or resolves outside the root.
  agent::sdk::Result<std::pair<UniqueFd, std::string>> openParent(std::string_view rel,
                                                                  bool create_dirs) const;
  /// Starts writing `rel` under a temporary name in its directory.
  agent::sdk::Result<PendingFile> createPending(std::string_view rel, mode_t mode) const;
  /// Writes a whole file atomically.
  agent::sdk::Status writeFile(std::string_view rel, std::string_view content, mode_t mode) const;

  int fd() const { return root_.get(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  UniqueFd root_;
  std::filesystem::path path_;
};

/// Opens `rel` beneath `dirfd` (exposed for tests). Returns the fd or -errno; -EXDEV or -ELOOP
/// when the path escapes.
int openBeneath(int dirfd, const std::string& rel, int flags, mode_t mode = 0);
/// The fallback used without openat2 (exposed for tests): every component opened with
/// O_NOFOLLOW, ".." and absolute paths refused (-EXDEV), symlinks refused (-ELOOP / -ENOTDIR).
int openBeneathWalk(int dirfd, const std::string& rel, int flags, mode_t mode = 0);

}  // namespace zlh::plugins::lifecycle
