// Splices (server.h, SpliceInput and Server::splice): a console's bytes relayed between its client WebSocket and its
// stream on an agent link without leaving the lws thread. A keystroke's round trip through the
// coordinator used to cross the logic thread twice each way (four thread wake-ups); the
// application now only opens, feeds input credit to and ends a splice. Runs on the lws thread.
#include <spdlog/spdlog.h>

#include "coordinator/net/server_impl.h"
#include "proto/v1/codec.h"
#include "proto/v1/messages.h"
#include "proto/v1/stream_frame.h"

namespace zlh::coordinator::net {
namespace {
// Handler::onSpliceInput at most this often per client: idle timeouts need no finer clock.
constexpr auto kInputReportInterval = std::chrono::seconds(1);
}  // namespace

void Server::Impl::startSplice(Conn& client, ConnId link_id, uint32_t stream_id,
                               uint64_t output_window) {
  auto [link_wsi, link] = findWs(link_id);
  // Either side already gone: its close reaches the application, which ends the console.
  if (!client.splice || client.splice->link || client.close_request || !link ||
      link->close_request)
    return;
  SpliceState& s = *client.splice;
  s.link = link_id;
  s.stream_id = stream_id;
  s.output_window = output_window;
  link->spliced[stream_id] = client.id;
}

void Server::Impl::addSpliceCredit(Conn& client, uint64_t bytes) {
  if (!client.splice) return;
  client.splice->input_credit += bytes;
  flushSpliceInput(*client.splice);
}

void Server::Impl::flushSpliceInput(SpliceState& s) {
  auto [link_wsi, link] = findWs(s.link);
  // Whole messages only: each starts with its op byte.
  while (!s.pending.empty() && s.pending.front().size() <= s.input_credit) {
    std::string msg = std::move(s.pending.front());
    s.pending.pop_front();
    s.pending_bytes -= msg.size();
    s.input_credit -= msg.size();
    if (link) queueMessage(link_wsi, *link, proto::encodeStreamFrame(s.stream_id, msg), true);
  }
}

bool Server::Impl::relayFromLink(Conn& link, std::string& message) {
  if (link.spliced.empty()) return false;
  auto frame = proto::decodeStreamFrame(message);
  if (!frame) return false;  // the application reports the malformed frame
  auto it = link.spliced.find(frame->stream_id);
  if (it == link.spliced.end()) return false;
  auto [client_wsi, client] = findWs(it->second);
  if (!client || !client->splice) return false;
  message.erase(0, proto::kStreamHeaderBytes);
  client->splice->in_flight += message.size();
  queueMessage(client_wsi, *client, std::move(message), true);
  return true;
}

bool Server::Impl::relayFromClient(Conn& client, std::string& message, bool binary) {
  if (!client.splice || !binary || message.empty() ||
      message.size() > proto::kMaxStreamPayloadBytes)
    return false;
  SpliceState& s = *client.splice;
  if (s.input.local_op >= 0 && static_cast<uint8_t>(message[0]) == s.input.local_op) return false;
  const auto now = std::chrono::steady_clock::now();
  if (now - s.input_reported >= kInputReportInterval) {
    s.input_reported = now;
    Handler& h = handler;
    poster([&h, id = client.id] { h.onSpliceInput(id); });
  }
  // The bound counts what has to wait: input that can go at once is never dropped.
  const bool waits = !s.pending.empty() || message.size() > s.input_credit;
  if (waits && s.pending_bytes + message.size() > s.input.max_pending) {
    spdlog::warn("console {}: input dropped: {} bytes waiting for the agent", client.id,
                 s.pending_bytes);
    return true;
  }
  s.pending_bytes += message.size();
  s.pending.push_back(std::move(message));
  flushSpliceInput(s);
  return true;
}

void Server::Impl::spliceOutputSent(Conn& client, size_t bytes) {
  if (!client.splice) return;
  SpliceState& s = *client.splice;
  s.in_flight -= std::min<uint64_t>(s.in_flight, bytes);
  s.to_grant += bytes;
  // Grant in batches: fewer credit messages, the same bound.
  if (s.to_grant < s.output_window / 4 && s.in_flight != 0) return;
  auto [link_wsi, link] = findWs(s.link);
  if (link)
    queueMessage(link_wsi, *link, proto::encode(proto::StreamCredit{s.stream_id, s.to_grant}),
                 false);
  s.to_grant = 0;
}

void Server::Impl::endSplices(Conn& c) {
  if (c.splice) {
    if (auto [wsi, link] = findWs(c.splice->link); link) link->spliced.erase(c.splice->stream_id);
    c.splice.reset();
  }
  for (const auto& [stream_id, client_id] : c.spliced)
    if (auto [wsi, client] = findWs(client_id); client) client->splice.reset();
  c.spliced.clear();
}

}  // namespace zlh::coordinator::net
