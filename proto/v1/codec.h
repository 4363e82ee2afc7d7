#pragma once
// Envelope codec with limits: {"v":1,"type":"...","id":"...","ts":<unix ms>,"body":{...}}.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "proto/v1/messages.h"
#include "proto/v1/result.h"

namespace zlh::proto {

struct Limits {
  size_t max_message_bytes = 1 << 20;  // 1 MiB per text message
  int max_depth = 32;                  // nesting of objects/arrays, envelope included
};

/// Envelope ids are 1-128 bytes.
inline constexpr size_t kMaxIdBytes = 128;
/// DecodeError::message is cut to this many bytes (it quotes peer input and is sent back).
inline constexpr size_t kMaxDecodeMessageBytes = 300;

enum class DecodeErrorKind { kMalformed, kUnknownType, kWrongVersion, kOversize, kTooDeep, kBadShape };

/// Wire code for a decode error: "malformed", "unknown_type", "wrong_version", "oversize",
/// "too_deep", "bad_shape".
std::string_view toWire(DecodeErrorKind kind);

struct DecodeError {
  DecodeErrorKind kind = DecodeErrorKind::kMalformed;
  std::string message;
  std::string ref;  // envelope id when it could be read
};

struct Envelope {
  int v = kProtocolVersion;
  std::string type;
  std::string id;
  int64_t ts = 0;  // unix ms
  nlohmann::json body = nlohmann::json::object();
};

/// Types this version knows.
const std::vector<std::string>& knownTypes();

/// Parses and validates an envelope and its body's shape against `type`.
Result<Envelope, DecodeError> decode(std::string_view text, const Limits& limits = {});

/// Converts a decoded envelope's body; fails with kBadShape.
template <class T>
Result<T, DecodeError> bodyAs(const Envelope& env) {
  try {
    return env.body.get<T>();
  } catch (const std::exception& e) {
    return DecodeError{DecodeErrorKind::kBadShape, std::string(T::kType) + ": " + e.what(), env.id};
  }
}

/// Fresh message id (random, 16 hex chars) and current unix ms.
std::string newMessageId();
int64_t nowUnixMs();

std::string encodeEnvelope(const Envelope& env);

template <class T>
std::string encode(const T& msg, std::string id = {}) {
  Envelope env;
  env.type = T::kType;
  env.id = id.empty() ? newMessageId() : std::move(id);
  env.ts = nowUnixMs();
  env.body = msg;
  return encodeEnvelope(env);
}

/// The protocol error to send back for a decode failure.
ProtocolError toProtocolError(const DecodeError& err);

}  // namespace zlh::proto
