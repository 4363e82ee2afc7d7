#include "agent/shim/byte_ring.h"

#include <algorithm>
#include <cstring>

namespace zlh::agent::shim {

ByteRing::ByteRing(size_t capacity)
    : data_(capacity > 0 ? new char[capacity] : nullptr), capacity_(capacity) {}

void ByteRing::append(std::string_view bytes) {
  if (capacity_ == 0 || bytes.empty()) return;
  if (bytes.size() >= capacity_) {
    std::memcpy(data_.get(), bytes.data() + bytes.size() - capacity_, capacity_);
    start_ = 0;
    size_ = capacity_;
    return;
  }
  size_t end = (start_ + size_) % capacity_;
  size_t first = std::min(bytes.size(), capacity_ - end);
  std::memcpy(data_.get() + end, bytes.data(), first);
  std::memcpy(data_.get(), bytes.data() + first, bytes.size() - first);
  size_t total = size_ + bytes.size();
  if (total > capacity_) {
    start_ = (start_ + total - capacity_) % capacity_;
    size_ = capacity_;
  } else {
    size_ = total;
  }
}

std::pair<std::string_view, std::string_view> ByteRing::views() const {
  if (size_ == 0) return {};
  size_t first = std::min(size_, capacity_ - start_);
  return {std::string_view(data_.get() + start_, first),
          std::string_view(data_.get(), size_ - first)};
}

std::string ByteRing::contents() const {
  auto [a, b] = views();
  std::string out;
  out.reserve(a.size() + b.size());
  out.append(a);
  out.append(b);
  return out;
}

}  // namespace zlh::agent::shim
