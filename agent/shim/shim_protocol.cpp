#include "agent/shim/shim_protocol.h"

#include <signal.h>
#include <string.h>

#include <charconv>
#include <nlohmann/json.hpp>

namespace zlh::agent::shim {
namespace {

using nlohmann::json;

Error invalid(std::string message) {
  return Error{ErrorCode::kInvalidArgument, std::move(message)};
}

uint32_t readU32(const char* p) {
  auto b = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | uint32_t{b[3]};
}

// Parses a json object payload; callers report their own context.
Result<json> parseObject(std::string_view payload, std::string_view what) {
  json j = json::parse(payload, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return invalid(std::string(what) + ": payload is not a json object");
  }
  return j;
}

// The big-endian u32 payload length after a frame header's type byte.
void putPayloadSize(char* header, size_t payload_size) {
  const auto n = static_cast<uint32_t>(payload_size);
  header[1] = static_cast<char>(n >> 24);
  header[2] = static_cast<char>(n >> 16);
  header[3] = static_cast<char>(n >> 8);
  header[4] = static_cast<char>(n);
}
}  // namespace

std::string dumpJson(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

bool isKnownFrameType(uint8_t type) {
  return (type >= 0x01 && type <= 0x06) || (type >= 0x81 && type <= 0x86);
}

bool isClientFrameType(FrameType type) {
  auto v = static_cast<uint8_t>(type);
  return v >= 0x01 && v <= 0x06;
}

std::string_view frameTypeName(FrameType type) {
  switch (type) {
    case FrameType::kAttach:
      return "ATTACH";
    case FrameType::kInput:
      return "INPUT";
    case FrameType::kResize:
      return "RESIZE";
    case FrameType::kSignal:
      return "SIGNAL";
    case FrameType::kStatus:
      return "STATUS";
    case FrameType::kDetach:
      return "DETACH";
    case FrameType::kOutput:
      return "OUTPUT";
    case FrameType::kReplayEnd:
      return "REPLAY_END";
    case FrameType::kStatusReply:
      return "STATUS_REPLY";
    case FrameType::kExit:
      return "EXIT";
    case FrameType::kDropped:
      return "DROPPED";
    case FrameType::kError:
      return "ERROR";
  }
  return "UNKNOWN";
}

void appendFrame(std::string& out, FrameType type, std::string_view payload) {
  const size_t at = out.size();
  out.append(kFrameHeaderBytes, static_cast<char>(type));
  out.append(payload);
  putPayloadSize(&out[at], payload.size());
}

void setFramePayloadSize(std::string& frame, size_t payload_size) {
  putPayloadSize(frame.data(), payload_size);
}

Result<std::string> encodeFrame(FrameType type, std::string_view payload) {
  if (payload.size() > kMaxFramePayloadBytes) {
    return invalid("frame payload of " + std::to_string(payload.size()) + " bytes exceeds " +
                   std::to_string(kMaxFramePayloadBytes));
  }
  std::string out;
  out.reserve(kFrameHeaderBytes + payload.size());
  appendFrame(out, type, payload);
  return out;
}

Result<Frame> decodeFrame(std::string_view bytes) {
  FrameDecoder decoder;
  decoder.feed(bytes);
  auto next = decoder.next();
  if (!next.ok()) return next.error();
  if (!next->has_value()) return invalid("truncated frame");
  if (decoder.buffered() != 0) return invalid("trailing bytes after frame");
  return std::move(**next);
}

Result<std::optional<Frame>> FrameDecoder::next() {
  if (error_) return *error_;
  if (buffered() < kFrameHeaderBytes) return std::optional<Frame>{};
  const char* p = buf_.data() + pos_;
  auto type = static_cast<uint8_t>(p[0]);
  uint32_t len = readU32(p + 1);
  if (!isKnownFrameType(type)) {
    error_ = invalid("unknown frame type " + std::to_string(type));
    return *error_;
  }
  if (len > max_payload_) {
    error_ = invalid("frame payload of " + std::to_string(len) + " bytes exceeds " +
                     std::to_string(max_payload_));
    return *error_;
  }
  if (buffered() < kFrameHeaderBytes + len) return std::optional<Frame>{};
  Frame frame{static_cast<FrameType>(type), std::string(p + kFrameHeaderBytes, len)};
  pos_ += kFrameHeaderBytes + len;
  // Compact once the consumed prefix dominates, so the buffer never grows without bound.
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > 64 * 1024 && pos_ * 2 > buf_.size()) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  return std::optional<Frame>{std::move(frame)};
}

std::string attachPayload(bool replay) { return dumpJson(json{{"replay", replay}}); }

Result<bool> parseAttach(std::string_view payload) {
  if (payload.empty()) return true;
  auto j = parseObject(payload, "ATTACH");
  if (!j.ok()) return j.error();
  auto it = j->find("replay");
  if (it == j->end()) return true;
  if (!it->is_boolean()) return invalid("ATTACH: replay must be a boolean");
  return it->get<bool>();
}

std::string resizePayload(uint16_t cols, uint16_t rows) {
  return dumpJson(json{{"cols", cols}, {"rows", rows}});
}

Result<ResizeRequest> parseResize(std::string_view payload) {
  auto j = parseObject(payload, "RESIZE");
  if (!j.ok()) return j.error();
  ResizeRequest r;
  for (auto [key, out] : {std::pair{"cols", &r.cols}, std::pair{"rows", &r.rows}}) {
    auto it = j->find(key);
    if (it == j->end() || !it->is_number_integer()) {
      return invalid(std::string("RESIZE: ") + key + " must be an integer");
    }
    auto v = it->get<int64_t>();
    if (v < 1 || v > 10000) return invalid(std::string("RESIZE: ") + key + " must be in 1..10000");
    *out = static_cast<uint16_t>(v);
  }
  return r;
}

std::string signalPayload(std::string_view signal) {
  int number = 0;
  auto [end, ec] = std::from_chars(signal.data(), signal.data() + signal.size(), number);
  if (ec == std::errc() && end == signal.data() + signal.size()) {
    return dumpJson(json{{"signal", number}});
  }
  return dumpJson(json{{"signal", signal}});
}

std::optional<int> signalFromName(std::string_view name) {
  if (name.size() > 3 && (name.substr(0, 3) == "SIG" || name.substr(0, 3) == "sig")) {
    name.remove_prefix(3);
  }
  if (name.empty() || name.size() > 16) return std::nullopt;
  std::string upper(name);
  for (char& c : upper) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
  for (int sig = 1; sig < SIGRTMIN; ++sig) {
    const char* abbrev = sigabbrev_np(sig);
    if (abbrev != nullptr && upper == abbrev) return sig;
  }
  return std::nullopt;
}

std::string signalName(int signal) {
  const char* abbrev = signal > 0 && signal < SIGRTMIN ? sigabbrev_np(signal) : nullptr;
  return abbrev != nullptr ? std::string(abbrev) : std::to_string(signal);
}

Result<int> parseSignal(std::string_view payload) {
  auto j = parseObject(payload, "SIGNAL");
  if (!j.ok()) return j.error();
  auto it = j->find("signal");
  if (it == j->end()) return invalid("SIGNAL: missing signal");
  if (it->is_number_integer()) {
    auto v = it->get<int64_t>();
    if (v < 1 || v > SIGRTMAX) return invalid("SIGNAL: signal number out of range");
    return static_cast<int>(v);
  }
  if (it->is_string()) {
    auto sig = signalFromName(it->get<std::string>());
    if (!sig) return invalid("SIGNAL: unknown signal name");
    return *sig;
  }
  return invalid("SIGNAL: signal must be a name or a number");
}

std::string droppedPayload(uint64_t bytes) { return dumpJson(json{{"bytes", bytes}}); }

Result<uint64_t> parseDropped(std::string_view payload) {
  auto j = parseObject(payload, "DROPPED");
  if (!j.ok()) return j.error();
  auto it = j->find("bytes");
  if (it == j->end() || !it->is_number_unsigned()) {
    return invalid("DROPPED: bytes must be an unsigned integer");
  }
  return it->get<uint64_t>();
}

std::string errorPayload(const Error& error) {
  return dumpJson(json{{"code", proto::toWire(error.code)}, {"message", error.message}});
}

Error parseErrorPayload(std::string_view payload) {
  json j = json::parse(payload, nullptr, false);
  if (j.is_object() && j.contains("code") && j["code"].is_string() && j.contains("message") &&
      j["message"].is_string()) {
    auto code = proto::errorCodeFromWire(j["code"].get<std::string>());
    return Error{code.value_or(ErrorCode::kInternal), j["message"].get<std::string>()};
  }
  return Error{ErrorCode::kInternal, "malformed ERROR frame from shim"};
}

}  // namespace zlh::agent::shim
