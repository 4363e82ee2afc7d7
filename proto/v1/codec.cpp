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
      shape<Hello>(),         shape<Welcome>(),         shape<JobStart>(),
      shape<JobProgress>(),   shape<JobDone>(),         shape<InstanceState>(),
      shape<InstanceReady>(), shape<InstanceCrashed>(), shape<InstanceUnresponsive>(),
      shape<StreamOpen>(),    shape<StreamClose>(),     shape<StreamCredit>(),
      shape<ProtocolError>(),
  };
  return m;
}

// Parser messages quote the offending token, which can be most of the input.
std::string truncated(std::string message) {
  if (message.size() <= kMaxDecodeMessageBytes) return message;
  size_t cut = kMaxDecodeMessageBytes - 3;
  while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xc0) == 0x80) --cut;
  message.resize(cut);
  return message + "...";
}

DecodeError fail(DecodeErrorKind kind, std::string message, std::string ref = {}) {
  return DecodeError{kind, truncated(std::move(message)), std::move(ref)};
}

// The callback sees every nesting level while parsing, so a depth bomb is refused before it is
// built. `depth` counts the containers around the event; a container's own start event is
// reported at its parent's depth, so an opening bracket makes depth + 1 levels (an empty one too).
Result<json, DecodeError> parseLimited(std::string_view text, const Limits& limits) {
  bool tooDeep = false;
  json::parser_callback_t cb = [&](int depth, json::parse_event_t event, json&) {
    const bool opens =
        event == json::parse_event_t::object_start || event == json::parse_event_t::array_start;
    if (depth + (opens ? 1 : 0) > limits.max_depth) tooDeep = true;
    return !tooDeep;
  };
  const auto deep = [&] {
    return fail(DecodeErrorKind::kTooDeep,
                "nesting deeper than " + std::to_string(limits.max_depth));
  };
  json doc;
  try {
    doc = json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/true);
  } catch (const json::exception& e) {
    if (tooDeep) return deep();
    return fail(DecodeErrorKind::kMalformed, std::string("not JSON: ") + e.what());
  }
  if (tooDeep) return deep();
  return doc;
}

bool validId(json::const_iterator id, json::const_iterator end) {
  if (id == end || !id->is_string()) return false;
  const auto& s = id->get_ref<const std::string&>();
  return !s.empty() && s.size() <= kMaxIdBytes;
}

// Checks the envelope fields; the body is moved out of `doc`.
Result<Envelope, DecodeError> readEnvelope(json& doc) {
  if (!doc.is_object()) return fail(DecodeErrorKind::kMalformed, "envelope must be a JSON object");
  Envelope env;
  // The id is echoed back as `ref`: only a valid one, so a huge id is not sent back.
  auto id = doc.find("id");
  const bool idOk = validId(id, doc.cend());
  if (idOk) env.id = id->get<std::string>();
  auto v = doc.find("v");
  if (v == doc.end() || !v->is_number_integer())
    return fail(DecodeErrorKind::kMalformed, "envelope needs an integer \"v\"", env.id);
  if (v->get<int64_t>() != kProtocolVersion)  // a wrapped huge unsigned is never 1 either
    return fail(DecodeErrorKind::kWrongVersion,
                "protocol version " + v->dump() + " is not supported (this peer speaks 1)", env.id);
  auto type = doc.find("type");
  if (type == doc.end() || !type->is_string())
    return fail(DecodeErrorKind::kMalformed, "envelope needs a string \"type\"", env.id);
  if (!idOk)
    return fail(DecodeErrorKind::kMalformed, "envelope needs a string \"id\" of 1-128 bytes");
  auto ts = doc.find("ts");
  // A parsed integer above INT64_MAX is unsigned and would wrap to a negative int64.
  if (ts == doc.end() || !ts->is_number_integer() ||
      (ts->is_number_unsigned() && ts->get<uint64_t>() > uint64_t{INT64_MAX}))
    return fail(DecodeErrorKind::kMalformed, "envelope needs an integer \"ts\" (unix ms)", env.id);
  auto body = doc.find("body");
  if (body == doc.end() || !body->is_object())
    return fail(DecodeErrorKind::kMalformed, "envelope needs an object \"body\"", env.id);
  env.type = type->get<std::string>();
  env.ts = ts->get<int64_t>();
  env.body = std::move(*body);
  return env;
}
}  // namespace

std::string_view toWire(DecodeErrorKind kind) {
  switch (kind) {
    case DecodeErrorKind::kMalformed:
      return "malformed";
    case DecodeErrorKind::kUnknownType:
      return "unknown_type";
    case DecodeErrorKind::kWrongVersion:
      return "wrong_version";
    case DecodeErrorKind::kOversize:
      return "oversize";
    case DecodeErrorKind::kTooDeep:
      return "too_deep";
    case DecodeErrorKind::kBadShape:
      return "bad_shape";
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
  auto doc = parseLimited(text, limits);
  if (!doc.ok()) return doc.error();
  auto env = readEnvelope(*doc);
  if (!env.ok()) return env.error();
  auto sh = shapes().find(env->type);
  if (sh == shapes().end())
    return fail(DecodeErrorKind::kUnknownType,
                "unknown message type \"" + env->type.substr(0, 64) + "\"", env->id);
  try {
    sh->second(env->body);
  } catch (const std::exception& e) {
    return fail(DecodeErrorKind::kBadShape, env->type + ": " + e.what(), env->id);
  }
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
