#include "agent/shim/rotating_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

namespace zlh::agent::shim {
namespace {

Error sysError(const std::string& what) {
  return Error{ErrorCode::kInternal, what + ": " + strerror(errno)};
}

}  // namespace

RotatingFile::~RotatingFile() { close(); }

void RotatingFile::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Status RotatingFile::open(std::string path, uint64_t max_bytes, Split split, unsigned mode) {
  close();
  path_ = std::move(path);
  max_bytes_ = std::max<uint64_t>(max_bytes, 1);
  split_ = split;
  mode_ = mode;
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, mode_);
  if (fd_ < 0) return sysError("open " + path_);
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return sysError("stat " + path_);
  size_ = static_cast<uint64_t>(st.st_size);
  return {};
}

Status RotatingFile::rotate() {
  std::string old = path_ + ".1";
  if (::rename(path_.c_str(), old.c_str()) != 0) return sysError("rotate " + path_);
  close();
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, mode_);
  if (fd_ < 0) return sysError("reopen " + path_);
  size_ = 0;
  return {};
}

Status RotatingFile::writeAll(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sysError("write " + path_);
    size_ += static_cast<uint64_t>(n);
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

Status RotatingFile::append(std::string_view bytes) {
  if (fd_ < 0) return Error{ErrorCode::kFailedPrecondition, "file not open"};
  if (split_ == Split::kWholeWrite) {
    if (size_ > 0 && size_ + bytes.size() > max_bytes_) {
      if (auto r = rotate(); !r.ok()) return r;
    }
    return writeAll(bytes);
  }
  while (!bytes.empty()) {
    if (size_ >= max_bytes_) {
      if (auto r = rotate(); !r.ok()) return r;
    }
    size_t room = static_cast<size_t>(std::min<uint64_t>(max_bytes_ - size_, bytes.size()));
    if (auto w = writeAll(bytes.substr(0, room)); !w.ok()) return w;
    bytes.remove_prefix(room);
  }
  return {};
}

}  // namespace zlh::agent::shim
