#include "coordinator/console/console_bridge.h"

#include <spdlog/spdlog.h>

#include "proto/v1/stream_frame.h"

namespace zlh::coordinator::console {
using proto::ErrorCode;

namespace {

bool consoleState(const std::string& s) {
  return s == "starting" || s == "running" || s == "ready" || s == "stopping";
}

/// The close code and words for a stream the agent ended.
std::pair<uint16_t, std::string> closeFor(const std::optional<proto::Error>& e) {
  if (!e) return {kConsoleNormal, "the process exited"};
  switch (e->code) {
    case ErrorCode::kNotFound: return {kConsoleInstanceGone, e->message};
    case ErrorCode::kFailedPrecondition: return {kConsoleNotRunning, e->message};
    case ErrorCode::kUnavailable: return {kConsoleAgentOffline, e->message};
    case ErrorCode::kPermissionDenied: return {kConsoleForbidden, e->message};
    default: return {kConsoleInternal, e->message};
  }
}

}  // namespace

class ConsoleBridge::Session final : public gateway::StreamSink {
 public:
  Session(ConsoleBridge& bridge, uint64_t conn) : bridge_(bridge), conn_(conn) {}

  // The splice relays the stream's output; a frame reaches here only once the splice has ended
  // (the browser's socket closed), when there is no one to give it to.
  void onStreamData(std::string_view) override {}
  void onStreamCredit(uint64_t bytes) override {
    if (!ended) bridge_.transport_.spliceCredit(conn_, bytes);
  }
  void onStreamClosed(std::optional<proto::Error> error) override {
    if (ended) return;
    auto [code, reason] = closeFor(error);
    bridge_.end(conn_, code, reason, false);
  }

  gateway::StreamHandle handle;
  bool ended = false;
  std::chrono::steady_clock::time_point last_input;
  std::shared_ptr<common::Timer> idle_timer;

 private:
  ConsoleBridge& bridge_;
  const uint64_t conn_;
};

ConsoleBridge::ConsoleBridge(store::Store& store, gateway::NodeStreams& streams,
                             common::Executor& executor, ConsoleTransport& transport,
                             ConsoleOptions options)
    : store_(store),
      streams_(streams),
      executor_(executor),
      transport_(transport),
      options_(options) {}

ConsoleBridge::~ConsoleBridge() {
  for (auto& [conn, s] : sessions_) {
    if (s->idle_timer) s->idle_timer->cancel();
    if (!s->ended) streams_.closeStream(s->handle);
  }
}

void ConsoleBridge::onOpen(uint64_t conn, const Ticket& ticket) {
  auto refuse = [&](uint16_t code, const std::string& why) {
    spdlog::info("console {} for instance {} refused: {}", conn, ticket.instance_id, why);
    transport_.close(conn, code, why);
  };
  auto inst = store_.getInstance(ticket.instance_id);
  if (!inst) {
    if (inst.error().code == ErrorCode::kNotFound)
      return refuse(kConsoleInstanceGone, "instance " + ticket.instance_id + " no longer exists");
    return refuse(kConsoleInternal, "cannot read the instance");
  }
  if (inst->desired_state == "deleted")
    return refuse(kConsoleInstanceGone, "instance " + inst->id + " is being deleted");
  if (inst->owner_id != ticket.user_id) {
    auto user = store_.getUser(ticket.user_id);
    if (!user || user->role != store::Role::kAdmin)
      return refuse(kConsoleForbidden, "this console is not yours");
  }
  // A shell needs the instance's files, not its process.
  if (ticket.shell ? inst->state == "installing" : !consoleState(inst->state))
    return refuse(kConsoleNotRunning, "instance " + inst->id + " is " + inst->state);
  auto session = std::make_unique<Session>(*this, conn);
  gateway::StreamOpenRequest req;
  req.node_id = inst->node_id;
  req.kind = "console";
  req.instance_id = inst->id;
  req.params = ticket.shell ? nlohmann::json{{"shell", true}} : nlohmann::json{{"replay", true}};
  req.initial_credit = options_.output_window;
  // The splice is queued before the stream's open: the network joins the two before the agent's
  // first output (the scrollback) can arrive, and nothing reaches this thread instead.
  req.before_open = [this, conn](const gateway::StreamHandle& h) {
    transport_.splice(conn, h, options_.output_window);
  };
  auto handle = streams_.openStream(req, session.get());
  if (!handle) return refuse(kConsoleAgentOffline, "its agent has no link to the coordinator");
  session->handle = *handle;
  session->last_input = executor_.steadyNow();
  Session& s = *session;
  sessions_[conn] = std::move(session);
  armIdle(s);
  spdlog::info("console {} open: instance {} on node {} (stream {})", conn, inst->id,
               inst->node_id, handle->stream_id);
}

void ConsoleBridge::armIdle(Session& s) {
  if (options_.idle_timeout.count() <= 0) return;
  auto due = s.last_input + options_.idle_timeout;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(due - executor_.steadyNow());
  uint64_t conn = 0;
  for (auto& [c, p] : sessions_)
    if (p.get() == &s) conn = c;
  s.idle_timer = executor_.runAfter(std::max(left, std::chrono::milliseconds(0)), [this, conn] {
    auto it = sessions_.find(conn);
    if (it == sessions_.end() || it->second->ended) return;
    Session& sess = *it->second;
    if (executor_.steadyNow() - sess.last_input >= options_.idle_timeout)
      return end(conn, kConsoleIdle,
                 "idle for " + std::to_string(options_.idle_timeout.count()) + " s", true);
    armIdle(sess);
  });
}

void ConsoleBridge::onMessage(uint64_t conn, const std::string& data, bool binary) {
  auto it = sessions_.find(conn);
  if (it == sessions_.end() || it->second->ended) return;
  if (!binary) return end(conn, kConsoleProtocol, "binary frames only (zlh.console.v1)", true);
  if (data.empty()) return;
  if (static_cast<uint8_t>(data[0]) == kOpPing) return transport_.sendText(conn, R"({"type":"pong"})");
  if (data.size() > proto::kMaxStreamPayloadBytes)
    return end(conn, kConsoleProtocol, "a console message is at most 64 KiB", true);
  // Other input is the splice's; it reaches here only once the splice has ended.
}

void ConsoleBridge::onInput(uint64_t conn) {
  auto it = sessions_.find(conn);
  if (it != sessions_.end()) it->second->last_input = executor_.steadyNow();
}

void ConsoleBridge::onClosed(uint64_t conn) {
  auto it = sessions_.find(conn);
  if (it == sessions_.end()) return;
  if (!it->second->ended) {
    it->second->ended = true;
    if (it->second->idle_timer) it->second->idle_timer->cancel();
    streams_.closeStream(it->second->handle);
  }
  sessions_.erase(it);
}

void ConsoleBridge::end(uint64_t conn, uint16_t code, const std::string& reason,
                        bool close_stream) {
  auto it = sessions_.find(conn);
  if (it == sessions_.end() || it->second->ended) return;
  Session& s = *it->second;
  s.ended = true;
  if (s.idle_timer) s.idle_timer->cancel();
  spdlog::info("console {} closed ({}): {}", conn, code, reason);
  // The close ends the splice first, so no input follows the stream's close to the agent.
  transport_.close(conn, code, reason);
  if (close_stream) streams_.closeStream(s.handle);
  // The session is erased when the network reports the close (onClosed): we may be inside one
  // of its own calls now.
}

void ConsoleBridge::shutdown() {
  std::vector<uint64_t> conns;
  for (auto& [c, _] : sessions_) conns.push_back(c);
  for (auto c : conns) end(c, kConsoleGoingAway, "coordinator shutting down", true);
}

}  // namespace zlh::coordinator::console
