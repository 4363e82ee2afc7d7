#pragma once
// The zlh-shim socket protocol (agent/shim/README.md, "Protocol"): a small binary framing in the
// spirit of ttyd. Each frame is [u8 type][u32 big-endian payload length][payload]. This header and
// its library (zlh_shim_protocol) are what the agent core links to talk to shims: no Asio here.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "proto/v1/error.h"
#include "proto/v1/result.h"

namespace zlh::agent::shim {

using proto::Error;
using proto::ErrorCode;
using proto::Result;
using proto::Status;

/// Version of the socket protocol, reported in STATUS as "protocol".
inline constexpr int kProtocolVersion = 1;
inline constexpr size_t kFrameHeaderBytes = 5;
/// Largest payload either side may send; a longer frame is a protocol error.
inline constexpr size_t kMaxFramePayloadBytes = size_t{1} << 20;
/// OUTPUT frames the shim sends carry at most this many bytes.
inline constexpr size_t kOutputChunkBytes = 64 * 1024;

/// Frame types. Client -> shim types have the high bit clear, shim -> client types have it set.
enum class FrameType : uint8_t {
  // client -> shim
  kAttach = 0x01,  ///< json {"replay":bool}: start receiving output (scrollback first if replay)
  kInput = 0x02,   ///< raw bytes written to the PTY
  kResize = 0x03,  ///< json {"cols":int,"rows":int}
  kSignal = 0x04,  ///< json {"signal":"TERM"|...|int}: sent to the child's process group
  kStatus = 0x05,  ///< empty: asks for a STATUS_REPLY
  kDetach = 0x06,  ///< empty: stop receiving output (the connection stays open)
  // shim -> client
  kOutput = 0x81,       ///< raw console bytes
  kReplayEnd = 0x82,    ///< empty: end of the scrollback replay, live output follows
  kStatusReply = 0x83,  ///< json status object
  kExit = 0x84,         ///< json exit record, broadcast when the child has exited
  kDropped = 0x85,      ///< json {"bytes":N}: N output bytes were skipped for this client
  kError = 0x86,        ///< json {"code":string,"message":string}
};

/// True for the twelve types above.
bool isKnownFrameType(uint8_t type);
/// True for types a client may send to the shim.
bool isClientFrameType(FrameType type);
/// "ATTACH", "OUTPUT", ... ("UNKNOWN" for other values).
std::string_view frameTypeName(FrameType type);

struct Frame {
  FrameType type = FrameType::kError;
  std::string payload;
};

/// Encodes one frame; InvalidArgument when the payload exceeds kMaxFramePayloadBytes.
Result<std::string> encodeFrame(FrameType type, std::string_view payload);
/// Appends one frame to `out`. The caller guarantees payload.size() <= kMaxFramePayloadBytes.
void appendFrame(std::string& out, FrameType type, std::string_view payload);
/// Rewrites the payload length in the header of the frame `frame` starts with (its payload has
/// grown or shrunk to `payload_size` bytes, at most kMaxFramePayloadBytes).
void setFramePayloadSize(std::string& frame, size_t payload_size);
/// Decodes exactly one whole frame: truncated input, trailing bytes, an unknown type or an
/// oversize length are InvalidArgument.
Result<Frame> decodeFrame(std::string_view bytes);

/// Incremental decoder for a byte stream. Errors are sticky: after one, the stream is unusable.
class FrameDecoder {
 public:
  explicit FrameDecoder(size_t max_payload = kMaxFramePayloadBytes) : max_payload_(max_payload) {}

  void feed(std::string_view bytes) { buf_.append(bytes); }
  /// The next complete frame, nullopt when more bytes are needed, or an error (unknown type,
  /// oversize length).
  Result<std::optional<Frame>> next();
  /// Bytes received but not yet returned as frames.
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  std::string buf_;
  size_t pos_ = 0;
  size_t max_payload_;
  std::optional<Error> error_;
};

// --- payload helpers (json) ------------------------------------------------------------------

/// Serialises json; invalid UTF-8 (console text) is replaced, never thrown.
std::string dumpJson(const nlohmann::json& j);

struct ResizeRequest {
  uint16_t cols = 0;
  uint16_t rows = 0;
};

std::string attachPayload(bool replay);
/// {"replay":bool}; an empty payload means replay=true.
Result<bool> parseAttach(std::string_view payload);
std::string resizePayload(uint16_t cols, uint16_t rows);
/// cols and rows must be integers in 1..10000.
Result<ResizeRequest> parseResize(std::string_view payload);
/// `signal` is a name ("TERM", "SIGTERM") or a number ("9").
std::string signalPayload(std::string_view signal);
/// Returns the signal number for {"signal": name | number}.
Result<int> parseSignal(std::string_view payload);
/// Signal number for "TERM"/"SIGTERM"/"term"; nullopt when unknown.
std::optional<int> signalFromName(std::string_view name);
/// "KILL" for SIGKILL; the number as text for signals without a name.
std::string signalName(int signal);
std::string droppedPayload(uint64_t bytes);
Result<uint64_t> parseDropped(std::string_view payload);
std::string errorPayload(const Error& error);
/// Parses an ERROR payload; a malformed one becomes an Internal error describing it.
Error parseErrorPayload(std::string_view payload);

}  // namespace zlh::agent::shim
