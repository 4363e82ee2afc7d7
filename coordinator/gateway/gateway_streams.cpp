// Gateway: streams the coordinator opens on agent links (the console bridge's transport).
#include <spdlog/spdlog.h>

#include "coordinator/gateway/gateway.h"
#include "proto/v1/stream_frame.h"

namespace zlh::coordinator::gateway {
using proto::ErrorCode;
using proto::makeError;

proto::Result<StreamHandle> Gateway::openStream(const StreamOpenRequest& request,
                                                StreamSink* sink) {
  auto r = ready_by_node_.find(request.node_id);
  if (r == ready_by_node_.end())
    return makeError(ErrorCode::kUnavailable, "node " + request.node_id + " is offline");
  Link& link = links_.at(r->second);
  uint32_t id = link.next_stream;
  while (link.streams.count(id)) id += 2;
  link.next_stream = id + 2 == 0 ? 1 : id + 2;  // odd ids wrap around, skipping 0
  link.streams[id] = sink;
  proto::StreamOpen open;
  open.stream_id = id;
  open.kind = request.kind;
  open.instance_id = request.instance_id;
  open.params = request.params;
  open.initial_credit = request.initial_credit;
  const StreamHandle handle{link.id, id};
  if (request.before_open) request.before_open(handle);
  send(link, proto::encode(open));
  return handle;
}

void Gateway::closeStream(const StreamHandle& s) {
  auto it = links_.find(s.link);
  if (it == links_.end() || !it->second.streams.erase(s.stream_id)) return;
  proto::StreamClose close;
  close.stream_id = s.stream_id;
  send(it->second, proto::encode(close));
}

size_t Gateway::streamCount() const {
  size_t n = 0;
  for (const auto& [_, link] : links_) n += link.streams.size();
  return n;
}

void Gateway::handleStreamMessage(Link& link, const proto::Envelope& env) {
  if (env.type == proto::StreamCredit::kType) {
    auto c = proto::bodyAs<proto::StreamCredit>(env);
    if (!c) return badMessage(link, "bad_shape", c.error().message, env.id);
    auto it = link.streams.find(c->stream_id);
    if (it != link.streams.end()) it->second->onStreamCredit(c->bytes);
  } else if (env.type == proto::StreamClose::kType) {
    auto c = proto::bodyAs<proto::StreamClose>(env);
    if (!c) return badMessage(link, "bad_shape", c.error().message, env.id);
    auto it = link.streams.find(c->stream_id);
    if (it == link.streams.end()) return;
    StreamSink* sink = it->second;
    link.streams.erase(it);
    sink->onStreamClosed(c->error);
  } else if (env.type == proto::StreamOpen::kType) {
    auto o = proto::bodyAs<proto::StreamOpen>(env);
    if (!o) return badMessage(link, "bad_shape", o.error().message, env.id);
    proto::StreamClose refuse;
    refuse.stream_id = o->stream_id;
    refuse.error = makeError(ErrorCode::kUnimplemented, "the coordinator serves no streams");
    send(link, proto::encode(refuse));
  } else {
    badMessage(link, "invalid_argument", "unexpected message type \"" + env.type + "\"", env.id);
  }
}

void Gateway::handleStreamFrame(Link& link, const std::string& data) {
  auto f = proto::decodeStreamFrame(data);
  if (!f) return badMessage(link, "malformed", "binary frame is not a stream frame", "");
  auto it = link.streams.find(f->stream_id);
  if (it == link.streams.end()) return;  // closed meanwhile
  it->second->onStreamData(f->payload);
}

void Gateway::endStreams(Link& link, const std::string& why) {
  auto streams = std::move(link.streams);
  link.streams.clear();
  for (auto& [sid, sink] : streams)
    sink->onStreamClosed(makeError(ErrorCode::kUnavailable, "the agent's link closed: " + why));
}

}  // namespace zlh::coordinator::gateway
