#pragma once
// Fixed-capacity ring of the most recent bytes of console output (the scrollback).
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace zlh::agent::shim {

class ByteRing {
 public:
  /// The storage is allocated uninitialised, so untouched capacity costs no resident memory.
  explicit ByteRing(size_t capacity);

  /// Appends bytes, overwriting the oldest once full.
  void append(std::string_view bytes);
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  /// The content, oldest first, as at most two contiguous pieces (valid until the next append).
  std::pair<std::string_view, std::string_view> views() const;
  std::string contents() const;

 private:
  std::unique_ptr<char[]> data_;
  size_t capacity_;
  size_t start_ = 0;  // index of the oldest byte
  size_t size_ = 0;
};

}  // namespace zlh::agent::shim
