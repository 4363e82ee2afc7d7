#include "agent/core/link/events.h"

#include <array>
#include <string_view>

#include "proto/v1/codec.h"

namespace zlh::agent::core {

sdk::Result<std::string> encodeEvent(const std::string& type, const nlohmann::json& body) {
  // Message types that are part of the link protocol itself, not events.
  static constexpr std::array<std::string_view, 9> kNotEvents{
      "hello", "welcome",     "job.start",    "job.progress", "job.done",
      "error", "stream.open", "stream.close", "stream.credit"};
  for (auto t : kNotEvents)
    if (type == t)
      return sdk::makeError(sdk::ErrorCode::kInvalidArgument,
                            "\"" + type + "\" is not an event type");
  proto::Envelope env;
  env.type = type;
  env.id = proto::newMessageId();
  env.ts = proto::nowUnixMs();
  env.body = body;
  std::string text = proto::encodeEnvelope(env);
  // The coordinator decodes with the same codec: check here so a bad event fails at its source.
  auto decoded = proto::decode(text);
  if (!decoded.ok())
    return sdk::makeError(sdk::ErrorCode::kInvalidArgument,
                          "event " + type + ": " + decoded.error().message);
  return text;
}

}  // namespace zlh::agent::core
