// libFuzzer target for the agent link codec: envelope decode (default and tight limits), typed
// body conversion, re-encoding, error replies and binary stream frames. Besides crashes and
// sanitizer reports it traps when an invariant breaks:
//   - a decoded envelope converts to its type's struct (decode checked the same shape);
//   - re-encoding a decoded envelope or its struct decodes again, as the same type;
//   - a decode error's message is bounded and its `error` reply is a valid envelope;
//   - a decoded stream frame re-encodes to the same bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "proto/v1/codec.h"
#include "proto/v1/stream_frame.h"

namespace {
using namespace zlh::proto;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

template <class T>
void typed(const Envelope& env) {
  auto msg = bodyAs<T>(env);
  check(msg.ok());
  auto again = decode(encode(*msg, env.id));
  check(again.ok() && again->type == T::kType && again->id == env.id);
}

template <class T>
void other(const Envelope& env) {
  (void)bodyAs<T>(env);  // may fail, must not crash
}

void dispatch(const Envelope& env) {
  const std::string& t = env.type;
  if (t == Hello::kType) return typed<Hello>(env);
  if (t == Welcome::kType) return typed<Welcome>(env);
  if (t == JobStart::kType) return typed<JobStart>(env);
  if (t == JobProgress::kType) return typed<JobProgress>(env);
  if (t == JobDone::kType) return typed<JobDone>(env);
  if (t == InstanceState::kType) return typed<InstanceState>(env);
  if (t == InstanceReady::kType) return typed<InstanceReady>(env);
  if (t == InstanceCrashed::kType) return typed<InstanceCrashed>(env);
  if (t == InstanceUnresponsive::kType) return typed<InstanceUnresponsive>(env);
  if (t == StreamOpen::kType) return typed<StreamOpen>(env);
  if (t == StreamClose::kType) return typed<StreamClose>(env);
  if (t == StreamCredit::kType) return typed<StreamCredit>(env);
  if (t == ProtocolError::kType) return typed<ProtocolError>(env);
  check(false);  // decode accepted a type without a struct
}

void otherShapes(const Envelope& env) {
  other<Hello>(env);
  other<JobStart>(env);
  other<JobDone>(env);
  other<StreamOpen>(env);
  other<StreamClose>(env);
  other<ProtocolError>(env);
}

void decoded(std::string_view text, const Limits& limits) {
  auto env = decode(text, limits);
  if (!env.ok()) {
    const DecodeError& err = env.error();
    check(err.message.size() <= kMaxDecodeMessageBytes && err.ref.size() <= kMaxIdBytes);
    auto reply = decode(encode(toProtocolError(err)));
    check(reply.ok() && reply->type == "error");
    return;
  }
  check(env->v == kProtocolVersion && !env->id.empty() && env->id.size() <= kMaxIdBytes);
  auto again = decode(encodeEnvelope(*env));
  check(again.ok() && again->type == env->type && again->ts == env->ts);
  dispatch(*env);
  otherShapes(*env);
}

void streamFrame(std::string_view bytes) {
  auto frame = decodeStreamFrame(bytes);
  if (!frame) {
    check(bytes.size() < kStreamHeaderBytes ||
          bytes.size() - kStreamHeaderBytes > kMaxStreamPayloadBytes);
    return;
  }
  check(encodeStreamFrame(frame->stream_id, frame->payload) == bytes);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  streamFrame(text);
  decoded(text, Limits{});
  Limits tight;  // the boundaries, where off-by-ones live
  tight.max_message_bytes = size > 0 ? size - 1 : 0;
  tight.max_depth = 4;
  decoded(text, tight);
  tight.max_message_bytes = size;
  decoded(text, tight);
  return 0;
}
