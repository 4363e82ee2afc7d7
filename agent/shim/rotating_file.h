#pragma once
// An append-only file capped at max_bytes with one rotated generation ("<path>.1"): the console
// log and the shim's own log.
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/shim/shim_protocol.h"

namespace zlh::agent::shim {

class RotatingFile {
 public:
  enum class Split {
    kExact,      ///< fill the file to exactly max_bytes, then rotate (console bytes)
    kWholeWrite  ///< rotate before a write that would not fit (log lines stay whole)
  };

  RotatingFile() = default;
  RotatingFile(const RotatingFile&) = delete;
  RotatingFile& operator=(const RotatingFile&) = delete;
  ~RotatingFile();

  /// Opens (creating with `mode`, appending to an existing file) `path`.
  Status open(std::string path, uint64_t max_bytes, Split split, unsigned mode = 0600);
  bool isOpen() const { return fd_ >= 0; }
  /// Appends every byte, rotating as needed. An error leaves the file usable for later writes.
  Status append(std::string_view bytes);
  /// Size of the current generation.
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }
  void close();

 private:
  Status rotate();
  Status writeAll(std::string_view bytes);

  std::string path_;
  uint64_t max_bytes_ = 0;
  uint64_t size_ = 0;
  Split split_ = Split::kExact;
  unsigned mode_ = 0600;
  int fd_ = -1;
};

}  // namespace zlh::agent::shim
