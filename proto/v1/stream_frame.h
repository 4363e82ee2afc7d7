#pragma once
// Binary stream frame: [u32 stream id, big-endian][payload].
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace zlh::proto {

inline constexpr size_t kStreamHeaderBytes = 4;
inline constexpr size_t kMaxStreamPayloadBytes = 64 * 1024;

struct StreamFrame {
  uint32_t stream_id = 0;
  std::string_view payload;  // views into the decoded buffer
};

std::string encodeStreamFrame(uint32_t stream_id, std::string_view payload);
/// nullopt when shorter than the header or the payload exceeds kMaxStreamPayloadBytes.
std::optional<StreamFrame> decodeStreamFrame(std::string_view frame);

}  // namespace zlh::proto
