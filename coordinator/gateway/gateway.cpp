#include "coordinator/gateway/gateway.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "coordinator/common/version.h"

namespace zlh::coordinator::gateway {
namespace {
using nlohmann::json;

bool isEvent(const std::string& type) { return type.rfind("instance.", 0) == 0 || type == "backup.finished"; }
}  // namespace

Gateway::Gateway(store::Store& store, common::Metrics& metrics, common::Executor& executor,
                 LinkTransport& transport, GatewayOptions options)
    : store_(store), metrics_(metrics), executor_(executor), transport_(transport),
      options_(std::move(options)) {}

Gateway::~Gateway() {
  for (auto& [_, l] : links_)
    if (l.hello_timer) l.hello_timer->cancel();
  for (auto& [_, j] : jobs_)
    if (j.timer) j.timer->cancel();
}

bool Gateway::isOnline(const std::string& node_id) const { return ready_by_node_.count(node_id) > 0; }

std::vector<std::string> Gateway::onlineNodeIds() const {
  std::vector<std::string> out;
  out.reserve(ready_by_node_.size());
  for (const auto& [node, _] : ready_by_node_) out.push_back(node);
  return out;
}

void Gateway::updateConnectedGauge() {
  metrics_.setAgentsConnected(static_cast<int64_t>(ready_by_node_.size()));
}

void Gateway::onLinkOpen(LinkId id, const std::string& peer, const std::string& node_id) {
  Link& link = links_[id];
  link.id = id;
  link.peer = peer;
  link.node_id = node_id;
  if (shutting_down_) {
    closeLink(link, kCloseGoingAway, "coordinator shutting down");
    return;
  }
  spdlog::debug("agent link {} from {} for node {}: waiting for hello", id, peer, node_id);
  link.hello_timer = executor_.runAfter(options_.hello_timeout, [this, id] {
    auto it = links_.find(id);
    if (it == links_.end() || it->second.ready || it->second.closing) return;
    spdlog::warn("agent link from {} (node {}): no hello within {} ms", it->second.peer,
                 it->second.node_id, options_.hello_timeout.count());
    closeLink(it->second, kCloseProtocolError, "no hello in time");
  });
}

void Gateway::closeLink(Link& link, uint16_t code, const std::string& reason) {
  if (link.closing) return;
  link.closing = true;
  endStreams(link, reason);
  if (link.hello_timer) link.hello_timer->cancel();
  auto it = ready_by_node_.find(link.node_id);
  if (it != ready_by_node_.end() && it->second == link.id) {
    ready_by_node_.erase(it);
    updateConnectedGauge();
  }
  transport_.close(link.id, code, reason);
}

void Gateway::send(Link& link, const std::string& text) {
  if (!link.closing) transport_.sendText(link.id, text);
}

void Gateway::badMessage(Link& link, const std::string& code, const std::string& message,
                         const std::string& ref) {
  spdlog::debug("agent link {} (node {}): bad message: {}: {}", link.id, link.node_id, code, message);
  proto::ProtocolError err{code, message, std::nullopt};
  if (!ref.empty()) err.ref = ref;
  send(link, proto::encode(err));
  auto now = executor_.steadyNow();
  link.bad.push_back(now);
  while (!link.bad.empty() && now - link.bad.front() > options_.bad_message_window) link.bad.pop_front();
  if (link.bad.size() > options_.max_bad_messages) {
    spdlog::warn("agent link from {} (node {}): more than {} bad messages in {} s, closing",
                 link.peer, link.node_id, options_.max_bad_messages,
                 options_.bad_message_window.count());
    closeLink(link, kCloseProtocolError, "too many bad messages");
  }
}

void Gateway::onLinkMessage(LinkId id, const std::string& data, bool binary) {
  auto it = links_.find(id);
  if (it == links_.end() || it->second.closing) return;
  Link& link = it->second;
  if (binary) {
    if (link.ready) handleStreamFrame(link, data);
    return;
  }
  auto env = proto::decode(data, options_.limits);
  if (!env) {
    auto pe = proto::toProtocolError(env.error());
    badMessage(link, pe.code, pe.message, pe.ref.value_or(""));
    return;
  }
  touch(link, false);
  const std::string& type = env->type;
  if (!link.ready) {
    if (type == proto::Hello::kType) handleHello(link, *env);
    else badMessage(link, "failed_precondition", "hello must come first", env->id);
    return;
  }
  if (type == proto::JobDone::kType) {
    handleJobDone(link, *env);
  } else if (type == proto::JobProgress::kType) {
    spdlog::debug("node {}: job.progress {}", link.node_id, env->body.dump());
  } else if (isEvent(type)) {
    spdlog::debug("node {}: {} {}", link.node_id, type, env->body.dump());
    if (sink_) sink_->onAgentEvent(std::string(link.node_id), *env);
  } else if (type == proto::ProtocolError::kType) {
    spdlog::warn("node {} reported a protocol error: {}", link.node_id, env->body.dump());
  } else if (type == proto::Hello::kType) {
    badMessage(link, "failed_precondition", "hello already received on this link", env->id);
  } else if (type.rfind("stream.", 0) == 0) {
    handleStreamMessage(link, *env);
  } else {
    badMessage(link, "invalid_argument", "unexpected message type \"" + type + "\" from an agent", env->id);
  }
}

void Gateway::handleHello(Link& link, const proto::Envelope& env) {
  auto hello = proto::bodyAs<proto::Hello>(env);
  if (!hello) {
    badMessage(link, "bad_shape", hello.error().message, env.id);
    return;
  }
  if (hello->node_id != link.node_id) {
    metrics_.incAuthFailure("node_mismatch");
    spdlog::warn("agent link from {} refused: hello names node {} but the token is node {}",
                 link.peer, hello->node_id.substr(0, 64), link.node_id);
    closeLink(link, kCloseNodeMismatch, "node id does not match the token");
    return;
  }
  auto& protos = hello->protocols;
  if (std::find(protos.begin(), protos.end(), proto::kProtocolVersion) == protos.end()) {
    send(link, proto::encode(proto::ProtocolError{"wrong_version", "this coordinator speaks protocol 1", env.id}));
    closeLink(link, kCloseProtocolError, "no common protocol version");
    return;
  }
  store::NodeHello rec{common::now(), hello->agent_version, json(hello->capacity),
                       hello->metrics_url, json(hello->plugins)};
  if (auto st = store_.recordHello(link.node_id, rec); !st) {
    if (st.error().code == proto::ErrorCode::kNotFound) {
      closeLink(link, kCloseNodeDeleted, "node deleted");
    } else {
      spdlog::error("node {}: recording hello failed: {}", link.node_id, st.error().message);
      closeLink(link, kCloseInternal, "internal error");
    }
    return;
  }
  link.last_touch = executor_.steadyNow();
  auto old = ready_by_node_.find(link.node_id);
  if (old != ready_by_node_.end() && old->second != link.id) {
    auto prev = links_.find(old->second);
    metrics_.incLinkReplacement();
    spdlog::warn("node {}: new link from {} replaces the link from {} (two agents sharing a token?)",
                 link.node_id, link.peer, prev != links_.end() ? prev->second.peer : "?");
    if (prev != links_.end()) closeLink(prev->second, kCloseReplaced, "replaced by a newer link");
  }
  link.ready = true;
  if (link.hello_timer) link.hello_timer->cancel();
  ready_by_node_[link.node_id] = link.id;
  updateConnectedGauge();
  proto::Welcome welcome;
  welcome.node_id = link.node_id;
  welcome.coordinator_version = std::string(common::version());
  welcome.ping_interval_s = options_.ping_interval_s;
  send(link, proto::encode(welcome));
  spdlog::info("agent link up: node {} (agent {}) from {}", link.node_id,
               hello->agent_version.substr(0, 64), link.peer);
  // After welcome: the sink may send jobs on this link right away.
  if (sink_) sink_->onNodeReady(std::string(link.node_id), *hello);
}

void Gateway::touch(Link& link, bool force) {
  if (!link.ready) return;
  auto now = executor_.steadyNow();
  if (!force && now - link.last_touch < options_.touch_interval) return;
  link.last_touch = now;
  if (auto st = store_.touchNode(link.node_id, common::now()); !st &&
      st.error().code != proto::ErrorCode::kNotFound)
    spdlog::warn("node {}: updating last_seen failed: {}", link.node_id, st.error().message);
}

void Gateway::onLinkPong(LinkId id) {
  auto it = links_.find(id);
  if (it != links_.end() && !it->second.closing) touch(it->second, false);
}

void Gateway::onLinkClosed(LinkId id) {
  auto it = links_.find(id);
  if (it == links_.end()) return;
  Link& link = it->second;
  if (link.hello_timer) link.hello_timer->cancel();
  if (link.ready) touch(link, true);
  auto r = ready_by_node_.find(link.node_id);
  if (r != ready_by_node_.end() && r->second == id) {
    ready_by_node_.erase(r);
    updateConnectedGauge();
    if (sink_) sink_->onNodeGone(link.node_id);
  }
  if (link.ready) spdlog::info("agent link down: node {} from {}", link.node_id, link.peer);
  else spdlog::debug("agent link {} from {} closed before hello", id, link.peer);
  auto streams = std::move(link.streams);
  links_.erase(it);
  for (auto& [sid, sink] : streams)
    sink->onStreamClosed(proto::makeError(proto::ErrorCode::kUnavailable, "the agent's link dropped"));
  failJobsOfLink(id, "the link to the node dropped before the job finished");
}

void Gateway::dropNode(const std::string& node_id) {
  for (auto& [_, link] : links_)
    if (link.node_id == node_id) closeLink(link, kCloseNodeDeleted, "node deleted");
}

void Gateway::shutdown() {
  shutting_down_ = true;
  for (auto& [_, link] : links_) closeLink(link, kCloseGoingAway, "coordinator shutting down");
  std::vector<uint64_t> waiters;
  for (const auto& [w, _] : jobs_) waiters.push_back(w);
  for (auto w : waiters)
    finishJob(w, proto::makeError(proto::ErrorCode::kUnavailable, "coordinator shutting down"),
              "unavailable");
}

}  // namespace zlh::coordinator::gateway
