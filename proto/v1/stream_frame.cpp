#include "proto/v1/stream_frame.h"

namespace zlh::proto {

std::string encodeStreamFrame(uint32_t stream_id, std::string_view payload) {
  std::string out;
  out.reserve(kStreamHeaderBytes + payload.size());
  out.push_back(static_cast<char>((stream_id >> 24) & 0xff));
  out.push_back(static_cast<char>((stream_id >> 16) & 0xff));
  out.push_back(static_cast<char>((stream_id >> 8) & 0xff));
  out.push_back(static_cast<char>(stream_id & 0xff));
  out.append(payload);
  return out;
}

std::optional<StreamFrame> decodeStreamFrame(std::string_view frame) {
  if (frame.size() < kStreamHeaderBytes) return std::nullopt;
  if (frame.size() - kStreamHeaderBytes > kMaxStreamPayloadBytes) return std::nullopt;
  auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(frame[i])); };
  StreamFrame f;
  f.stream_id = (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
  f.payload = frame.substr(kStreamHeaderBytes);
  return f;
}

}  // namespace zlh::proto
