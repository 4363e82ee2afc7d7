#include "proto/v1/codec.h"

#include <chrono>
#include <functional>
#include <map>
#include <random>

namespace zlh::proto {
namespace {
using nlohmann::json;

template <class T>
std::pair<const std::string, std::function<void(const json&)>> shape() {
  return {T::kType, [](const json& body) { (void)body.get<T>(); }};
}

const std::map<std::string, std::function<void(const json&)>>& shapes() {
  static const std::map<std::string, std::function<void(const json&)>> m{
      shape<Hello>(),         shape<Welcome>(),       shape<JobStart>(),
      shape<JobProgress>(),   shape<JobDone>(),       shape<InstanceState>(),
      shape<InstanceReady>(), shape<InstanceCrashed>(), shape<InstanceUnresponsive>(),
      shape<StreamOpen>(),    shape<StreamClose>(),   shape<StreamCredit>(),
      shape<ProtocolError>(),
  };
  return m;
}

DecodeError fail(DecodeErrorKind kind, std::string message, std::string ref = {}) {
  return DecodeError{kind, std::move(message), std::move(ref)};
}
}  // namespace

std::string_view toWire(DecodeErrorKind kind) {
  switch (kind) {
    case DecodeErrorKind::kMalformed: return "malformed";
    case DecodeErrorKind::kUnknownType: return "unknown_type";
    case DecodeErrorKind::kWrongVersion: return "wrong_version";
    case DecodeErrorKind::kOversize: return "oversize";
    case DecodeErrorKind::kTooDeep: return "too_deep";
    case DecodeErrorKind::kBadShape: return "bad_shape";
  }
  return "malformed";
}

const std::vector<std::string>& knownTypes() {
  static const std::vector<std::string> types = [] {
    std::vector<std::string> t;
    for (const auto& [k, _] : shapes()) t.push_back(k);
    return t;
  }();
  return types;
}

Result<Envelope, DecodeError> decode(std::string_view text, const Limits& limits) {
  if (text.size() > limits.max_message_bytes)
    return fail(DecodeErrorKind::kOversize, "message of " + std::to_string(text.size()) +
                                                " bytes exceeds the limit of " +
                                                std::to_string(limits.max_message_bytes));
  // The callback sees every nesting level while parsing, so a depth bomb is refused before it
  // is built (and before a recursive destructor could overflow the stack).
  bool tooDeep = false;
  json::parser_callback_t cb = [&](int depth, json::parse_event_t, json&) {
    if (depth > limits.max_depth) tooDeep = true;
    return !tooDeep;
  };
  json doc;
  try {
    doc = json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/true);
  } catch (const json::exception& e) {
    if (tooDeep) return fail(DecodeErrorKind::kTooDeep, "nesting deeper than " + std::to_string(limits.max_depth));
    return fail(DecodeErrorKind::kMalformed, std::string("not JSON: ") + e.what());
  }
  if (tooDeep) return fail(DecodeErrorKind::kTooDeep, "nesting deeper than " + std::to_string(limits.max_depth));
  if (!doc.is_object()) return fail(DecodeErrorKind::kMalformed, "envelope must be a JSON object");

  Envelope env;
  auto id = doc.find("id");
  if (id != doc.end() && id->is_string()) env.id = id->get<std::string>();
  auto v = doc.find("v");
  if (v == doc.end() || !v->is_number_integer())
    return fail(DecodeErrorKind::kMalformed, "envelope needs an integer \"v\"", env.id);
  if (v->get<int64_t>() != kProtocolVersion)
    return fail(DecodeErrorKind::kWrongVersion,
                "protocol version " + v->dump() + " is not supported (this peer speaks 1)", env.id);
  auto type = doc.find("type");
  if (type == doc.end() || !type->is_string())
    return fail(DecodeErrorKind::kMalformed, "envelope needs a string \"type\"", env.id);
  if (id == doc.end() || !id->is_string() || env.id.empty() || env.id.size() > 128)
    return fail(DecodeErrorKind::kMalformed, "envelope needs a string \"id\" of 1-128 chars", env.id);
  auto ts = doc.find("ts");
  if (ts == doc.end() || !ts->is_number_integer())
    return fail(DecodeErrorKind::kMalformed, "envelope needs an integer \"ts\" (unix ms)", env.id);
  auto body = doc.find("body");
  if (body == doc.end() || !body->is_object())
    return fail(DecodeErrorKind::kMalformed, "envelope needs an object \"body\"", env.id);

  env.type = type->get<std::string>();
  env.ts = ts->get<int64_t>();
  auto sh = shapes().find(env.type);
  if (sh == shapes().end())
    return fail(DecodeErrorKind::kUnknownType, "unknown message type \"" + env.type.substr(0, 64) + "\"", env.id);
  try {
    sh->second(*body);
  } catch (const std::exception& e) {
    return fail(DecodeErrorKind::kBadShape, env.type + ": " + e.what(), env.id);
  }
  env.body = std::move(*body);
  return env;
}

std::string newMessageId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t x = rng();
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, x >>= 4) out[i] = kHex[x & 0xf];
  return out;
}

int64_t nowUnixMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string encodeEnvelope(const Envelope& env) {
  json j = {{"v", env.v}, {"type", env.type}, {"id", env.id}, {"ts", env.ts}, {"body", env.body}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

ProtocolError toProtocolError(const DecodeError& err) {
  ProtocolError pe;
  pe.code = std::string(toWire(err.kind));
  pe.message = err.message;
  if (!err.ref.empty()) pe.ref = err.ref;
  return pe;
}

}  // namespace zlh::proto
