#include "agent/sdk/testing/fake_supervisor.h"

namespace zlh::agent::sdk::testing {

class FakeSupervisor::WatchHandle : public Subscription {
 public:
  WatchHandle(FakeSupervisor* sup, std::weak_ptr<bool> token, std::string id, uint64_t key)
      : sup_(sup), token_(std::move(token)), id_(std::move(id)), key_(key) {}
  ~WatchHandle() override {
    if (token_.expired()) return;
    auto it = sup_->instances_.find(id_);
    if (it != sup_->instances_.end()) it->second.watchers.erase(key_);
  }

 private:
  FakeSupervisor* sup_;
  std::weak_ptr<bool> token_;
  std::string id_;
  uint64_t key_;
};

FakeSupervisor::FakeSupervisor(std::function<void(Task)> post) : post_(std::move(post)) {}

ProcessStatus FakeSupervisor::makeStatus() {
  ProcessStatus s;
  s.running = true;
  s.shim_pid = next_pid_++;
  s.child_pid = next_pid_++;
  s.started_at = "2025-01-01T00:00:00.000Z";
  s.limits = {{"applied", false}, {"reason", "fake supervisor"}};
  return s;
}

void FakeSupervisor::spawn(const std::string& instance_id, const ProcessSpec& spec,
                           std::function<void(Result<ProcessStatus>)> done) {
  spawns_.push_back(Spawn{instance_id, spec});
  Instance& inst = instances_[instance_id];
  if (inst.alive || inst.pending_spawn) {
    post_([done = std::move(done), instance_id] {
      done(makeError(ErrorCode::kConflict, "instance " + instance_id + " already has a shim"));
    });
    return;
  }
  inst.pending_spawn = std::move(done);
  if (auto_complete_)
    post_([this, t = std::weak_ptr<bool>(alive_token_), instance_id] {
      if (!t.expired()) completeSpawn(instance_id);
    });
}

bool FakeSupervisor::completeSpawn(const std::string& instance_id,
                                   std::optional<ProcessStatus> status) {
  auto it = instances_.find(instance_id);
  if (it == instances_.end() || !it->second.pending_spawn) return false;
  Instance& inst = it->second;
  auto done = std::move(inst.pending_spawn);
  inst.pending_spawn = nullptr;
  inst.alive = true;
  inst.status = status ? *status : makeStatus();
  inst.scrollback.clear();
  done(inst.status);
  return true;
}

bool FakeSupervisor::failSpawn(const std::string& instance_id, Error error) {
  auto it = instances_.find(instance_id);
  if (it == instances_.end() || !it->second.pending_spawn) return false;
  auto done = std::move(it->second.pending_spawn);
  it->second.pending_spawn = nullptr;
  done(std::move(error));
  return true;
}

bool FakeSupervisor::alive(const std::string& instance_id) const {
  auto it = instances_.find(instance_id);
  return it != instances_.end() && it->second.alive;
}

bool FakeSupervisor::spawnPending(const std::string& instance_id) const {
  auto it = instances_.find(instance_id);
  return it != instances_.end() && it->second.pending_spawn != nullptr;
}

size_t FakeSupervisor::watcherCount(const std::string& instance_id) const {
  auto it = instances_.find(instance_id);
  return it == instances_.end() ? 0 : it->second.watchers.size();
}

void FakeSupervisor::status(const std::string& instance_id,
                            std::function<void(Result<ProcessStatus>)> done) {
  Result<ProcessStatus> r =
      makeError(ErrorCode::kFailedPrecondition, "instance " + instance_id + " has no live shim");
  if (alive(instance_id)) r = instances_[instance_id].status;
  post_([done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
}

Status FakeSupervisor::checkCall(const std::string& instance_id) {
  if (fail_next_) {
    Error e = std::move(*fail_next_);
    fail_next_.reset();
    return e;
  }
  if (!alive(instance_id))
    return makeError(ErrorCode::kFailedPrecondition,
                     "instance " + instance_id + " has no live shim");
  return {};
}

Status FakeSupervisor::sendInput(const std::string& instance_id, std::string bytes) {
  if (auto s = checkCall(instance_id); !s.ok()) return s;
  inputs_.push_back(Input{instance_id, bytes});
  if (on_input) on_input(instance_id, bytes);
  return {};
}

Status FakeSupervisor::signal(const std::string& instance_id, const std::string& signal) {
  auto name = normalizeSignalName(signal);
  if (!name) return makeError(ErrorCode::kInvalidArgument, "unknown signal \"" + signal + "\"");
  if (auto s = checkCall(instance_id); !s.ok()) return s;
  signals_.push_back(Sent{instance_id, *name});
  if (on_signal) on_signal(instance_id, *name);
  return {};
}

Status FakeSupervisor::resize(const std::string& instance_id, uint32_t cols, uint32_t rows) {
  if (cols < 1 || cols > 10000 || rows < 1 || rows > 10000)
    return makeError(ErrorCode::kInvalidArgument, "size out of range (1..10000)");
  if (auto s = checkCall(instance_id); !s.ok()) return s;
  resizes_.push_back(Sent{instance_id, std::to_string(cols) + "x" + std::to_string(rows)});
  return {};
}

Result<SubscriptionPtr> FakeSupervisor::watchOutput(const std::string& instance_id, bool replay,
                                                    OutputWatcher watcher) {
  if (!alive(instance_id))
    return makeError(ErrorCode::kFailedPrecondition,
                     "instance " + instance_id + " has no live shim");
  Instance& inst = instances_[instance_id];
  uint64_t key = ++next_watch_;
  auto slot = std::make_shared<WatcherSlot>();
  slot->w = std::move(watcher);
  inst.watchers[key] = slot;
  std::string snapshot = replay ? inst.scrollback : std::string();
  // Replay, REPLAY_END and output pushed meanwhile arrive later, in that order (like the shim).
  post_([weak = std::weak_ptr<WatcherSlot>(slot), snapshot = std::move(snapshot)] {
    auto s = weak.lock();
    if (!s) return;
    if (!snapshot.empty() && s->w.on_output) s->w.on_output(snapshot);
    if (s->w.on_replay_end) s->w.on_replay_end();
    s->replay_done = true;
    std::string held = std::move(s->held);
    if (!held.empty() && s->w.on_output) s->w.on_output(held);
  });
  return SubscriptionPtr(std::make_unique<WatchHandle>(this, alive_token_, instance_id, key));
}

void FakeSupervisor::pushOutput(const std::string& instance_id, std::string_view chunk) {
  Instance& inst = instances_[instance_id];
  inst.scrollback.append(chunk);
  constexpr size_t kScrollback = 256 * 1024;
  if (inst.scrollback.size() > kScrollback)
    inst.scrollback.erase(0, inst.scrollback.size() - kScrollback);
  auto watchers = inst.watchers;  // a callback may unsubscribe
  for (auto& [key, slot] : watchers) {
    if (!slot->replay_done) {
      slot->held.append(chunk);
    } else if (slot->w.on_output) {
      slot->w.on_output(chunk);
    }
  }
}

void FakeSupervisor::pushDropped(const std::string& instance_id, uint64_t dropped) {
  auto watchers = instances_[instance_id].watchers;
  for (auto& [key, slot] : watchers)
    if (slot->w.on_dropped) slot->w.on_dropped(dropped);
}

void FakeSupervisor::exit(const std::string& instance_id, ExitRecord record) {
  Instance& inst = instances_[instance_id];
  inst.alive = false;
  inst.status.running = false;
  inst.last_exit = record;
  auto watchers = std::move(inst.watchers);
  inst.watchers.clear();
  for (auto& [key, slot] : watchers)
    if (slot->w.on_closed) slot->w.on_closed();
  exit_listeners_.notify(instance_id, record);
}

void FakeSupervisor::adopt(const std::string& instance_id, std::optional<ProcessStatus> status) {
  Instance& inst = instances_[instance_id];
  inst.alive = true;
  inst.status = status ? *status : makeStatus();
  adopted_.push_back(instance_id);
}

SubscriptionPtr FakeSupervisor::onExit(
    std::function<void(const std::string&, const ExitRecord&)> listener) {
  return exit_listeners_.add(std::move(listener));
}

std::optional<ExitRecord> FakeSupervisor::lastExit(const std::string& instance_id) const {
  auto it = instances_.find(instance_id);
  if (it == instances_.end()) return std::nullopt;
  return it->second.last_exit;
}

Status FakeSupervisor::forget(const std::string& instance_id) {
  if (alive(instance_id) || spawnPending(instance_id))
    return makeError(ErrorCode::kFailedPrecondition,
                     "instance " + instance_id + ": shim still alive");
  forgotten_.push_back(instance_id);
  instances_.erase(instance_id);
  return {};
}

ExitRecord FakeSupervisor::exitCode(int code) {
  ExitRecord r;
  r.code = code;
  r.started_at = "2025-01-01T00:00:00.000Z";
  r.exited_at = "2025-01-01T00:01:00.000Z";
  return r;
}

ExitRecord FakeSupervisor::exitSignal(const std::string& signal) {
  ExitRecord r = exitCode(0);
  r.code.reset();
  r.signal = signal;
  return r;
}

}  // namespace zlh::agent::sdk::testing
