#include "agent/core/supervisor/shim_supervisor.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "agent/core/supervisor/shim_connection.h"
#include "agent/core/util/files.h"

namespace zlh::agent::core {
namespace fs = std::filesystem;
using sdk::ErrorCode;
using sdk::makeError;

namespace {

constexpr size_t kInputFrameBytes = 64 * 1024;
constexpr size_t kControlReadBytes = 4096;  // status replies and exit notices: small, rare

std::string describe(const sdk::ExitRecord& r) {
  if (r.lost) return "lost (no exit record: the shim died)";
  std::string how =
      r.code ? "code " + std::to_string(*r.code) : "signal " + r.signal.value_or(std::string("?"));
  return how + (r.oom_killed ? " (OOM kill)" : "");
}

}  // namespace

ShimSupervisor::ShimSupervisor(EventLoop& loop, Options options)
    : loop_(loop),
      options_(std::move(options)),
      layout_{options_.state_dir, options_.runtime_dir} {}

ShimSupervisor::~ShimSupervisor() {
  token_.reset();
  // Shims (and games) outlive the agent: only our connections end here.
  for (auto& [id, shim] : shims_)
    if (shim.control) shim.control->close();
  closeWatches();
}

ShimSupervisor::Shim* ShimSupervisor::find(const std::string& id) {
  auto it = shims_.find(id);
  return it == shims_.end() ? nullptr : &it->second;
}

const ShimSupervisor::Shim* ShimSupervisor::find(const std::string& id) const {
  auto it = shims_.find(id);
  return it == shims_.end() ? nullptr : &it->second;
}

bool ShimSupervisor::alive(const std::string& id) const {
  const Shim* s = find(id);
  return s && s->phase == Phase::kLive;
}

size_t ShimSupervisor::liveCount() const {
  size_t n = 0;
  for (const auto& [id, s] : shims_) n += s.phase == Phase::kLive;
  return n;
}

size_t ShimSupervisor::watcherCount() const { return watches_.size(); }

sdk::Status ShimSupervisor::requireLive(const std::string& id, Shim** out) {
  Shim* s = find(id);
  if (!s || s->phase != Phase::kLive)
    return makeError(ErrorCode::kFailedPrecondition, "instance " + id + " has no running process");
  if (!s->control)
    return makeError(ErrorCode::kUnavailable,
                     "instance " + id + ": reconnecting to its shim, try again");
  *out = s;
  return {};
}

void ShimSupervisor::spawn(const std::string& id, const sdk::ProcessSpec& spec, StatusFn done) {
  auto fail = [&](sdk::Error e) {
    loop_.post([done = std::move(done), e = std::move(e)] { done(e); });
  };
  if (!sdk::validInstanceId(id))
    return fail(makeError(ErrorCode::kInvalidArgument, "invalid instance id \"" + id + "\""));
  if (spec.command.empty())
    return fail(makeError(ErrorCode::kInvalidArgument, "instance " + id + ": empty command"));
  if (Shim* s = find(id); s && s->phase != Phase::kGone)
    return fail(makeError(ErrorCode::kConflict,
                          "instance " + id + " already has a shim (" +
                              (s->phase == Phase::kSpawning ? "starting" : "running") + ")"));
  if (auto c = layout_.checkSocketPath(id); !c.ok()) return fail(c.error());
  const ShimPaths paths = layout_.paths(id);
  for (const auto& dir : {layout_.runtimeInstancesDir(), paths.runtime_dir, paths.state_dir})
    if (auto s = makeDir(dir); !s.ok()) return fail(s.error().withContext("instance " + id));
  auto written = writeFileAtomic(paths.spec_file, shimSpecJson(id, spec, paths).dump() + "\n");
  if (!written.ok()) return fail(written.error().withContext("instance " + id + ": shim spec"));

  Shim& shim = shims_[id];
  shim.id = id;
  shim.phase = Phase::kSpawning;
  shim.session = ++next_session_;
  shim.status = {};
  shim.launched = false;
  shim.exit_seen = false;
  shim.lost_logged = false;
  shim.reconnect.reset();
  shim.status_waiters.push_back(Shim::Waiter{std::move(done), true});
  EventLoop* loop = &loop_;
  loop_.runBlocking([this, loop, weak = std::weak_ptr<bool>(token_), id, session = shim.session,
                     bin = options_.shim_path, file = paths.spec_file,
                     timeout = options_.launch_timeout]() mutable {
    auto outcome = runShimLauncher(bin, file, timeout);
    loop->post([this, weak, id, session, outcome = std::move(outcome)]() mutable {
      if (!weak.expired()) launched(id, session, std::move(outcome));
    });
  });
}

void ShimSupervisor::launched(const std::string& id, uint64_t session,
                              sdk::Result<LaunchOutcome> outcome) {
  Shim* s = find(id);
  if (!s || s->session != session) return;
  std::optional<sdk::Error> error;
  if (!outcome.ok()) {
    error = outcome.error().withContext("instance " + id + ": start zlh-shim");
  } else if (outcome->exit_code == 3) {
    error = makeError(
        ErrorCode::kConflict,
        "instance " + id + ": a shim this agent does not know serves it: " + outcome->stderr_text);
  } else if (outcome->exit_code != 0) {
    error = makeError(ErrorCode::kInternal, "instance " + id + ": zlh-shim failed to start (exit " +
                                                std::to_string(outcome->exit_code) +
                                                "): " + outcome->stderr_text);
  }
  if (error) {
    spdlog::error("supervisor: {}", error->message);
    s->phase = Phase::kGone;
    answerWaiters(*s, *error);
    return;
  }
  spdlog::info("supervisor: {}: shim started", id);
  s->launched = true;
  connectControl(id, session);
}

void ShimSupervisor::connectControl(const std::string& id, uint64_t session) {
  Shim* s = find(id);
  if (!s) return;
  std::weak_ptr<bool> weak = token_;
  ShimConnection::Handlers h;
  h.on_frame = [this, weak, id, session](shim::Frame f) {
    if (!weak.expired()) onControlFrame(id, session, std::move(f));
  };
  h.on_closed = [this, weak, id, session](const std::string& why) {
    if (!weak.expired()) onControlLost(id, session, why);
  };
  s->control = makeShimConnection(loop_, std::move(h), kControlReadBytes);
  (void)s->control->send(shim::FrameType::kStatus);  // pids, and whether it already exited
  s->control->connect(layout_.paths(id).socket, [this, weak, id, session](sdk::Status st) {
    if (!weak.expired() && !st.ok()) onControlLost(id, session, st.error().message);
  });
}

void ShimSupervisor::answerWaiters(Shim& shim, const sdk::Result<sdk::ProcessStatus>& status) {
  auto waiters = std::move(shim.status_waiters);
  shim.status_waiters.clear();
  for (auto& w : waiters) {
    if (status.ok() || !w.spawn || !shim.launched) {
      w.fn(status);
    } else {
      // The shim started but is gone already (its child exited at once): spawn succeeded,
      // the exit follows through onExit.
      sdk::ProcessStatus st = shim.status;
      st.running = false;
      w.fn(st);
    }
  }
}

void ShimSupervisor::onControlFrame(const std::string& id, uint64_t session, shim::Frame frame) {
  Shim* s = find(id);
  if (!s || s->session != session || s->exit_seen) return;
  using shim::FrameType;
  if (frame.type == FrameType::kStatusReply) {
    auto j = nlohmann::json::parse(frame.payload, nullptr, false);
    s->status = processStatusFromJson(j);
    if (s->phase == Phase::kSpawning) s->phase = Phase::kLive;
    s->lost_logged = false;
    if (!s->status_waiters.empty()) {
      auto w = std::move(s->status_waiters.front());
      s->status_waiters.pop_front();
      w.fn(s->status);
      s = find(id);  // the callback may have changed the map
      if (!s || s->session != session || s->exit_seen) return;
    }
    if (j.is_object() && j.contains("exit") && j["exit"].is_object()) {
      auto rec = sdk::ExitRecord::fromJson(j["exit"]);
      if (rec.ok()) exited(*s, std::move(rec.value()));
    }
  } else if (frame.type == FrameType::kExit) {
    auto j = nlohmann::json::parse(frame.payload, nullptr, false);
    auto rec = sdk::ExitRecord::fromJson(j);
    if (!rec.ok()) {
      spdlog::warn("supervisor: {}: bad EXIT payload ({}): reading the record file", id,
                   rec.error().message);
      auto file = readExitRecord(id);
      exited(*s, file ? *file : sdk::ExitRecord{});
      return;
    }
    exited(*s, std::move(rec.value()));
  } else if (frame.type == FrameType::kError) {
    auto e = shim::parseErrorPayload(frame.payload);
    spdlog::warn("supervisor: {}: shim answered {}: {}", id, proto::toWire(e.code), e.message);
  }
}

void ShimSupervisor::onControlLost(const std::string& id, uint64_t session,
                                   const std::string& why) {
  Shim* s = find(id);
  if (!s || s->session != session || s->exit_seen) return;
  if (s->control) s->control->close();
  s->control.reset();
  // The shim writes the exit record before it tells anyone, and deletes the previous one before
  // the child starts: a record on disk is this run's exit (its EXIT frame may have been lost).
  if (auto record = readExitRecord(id)) {
    exited(*s, std::move(*record));
    return;
  }
  const ShimPaths paths = layout_.paths(id);
  pid_t pid = s->status.shim_pid;
  if (pid <= 0) pid = readPidFile(paths.pid_file).value_or(0);
  if (pid > 0 && processAlive(pid)) {
    if (!s->lost_logged)
      spdlog::warn("supervisor: {}: connection to shim {} lost ({}): reconnecting", id, pid, why);
    s->lost_logged = true;
    s->reconnect = loop_.after(options_.reconnect_interval,
                               [this, id, session] { connectControl(id, session); });
    return;
  }
  auto record = readExitRecord(id);  // written just before the shim died?
  if (!record) {
    record = sdk::ExitRecord{};
    record->lost = true;
    killOrphanChild(*s);
  }
  exited(*s, std::move(*record));
}

void ShimSupervisor::exited(Shim& shim, sdk::ExitRecord record) {
  if (shim.exit_seen) return;
  shim.exit_seen = true;
  if (shim.control) shim.control->close();
  shim.control.reset();
  shim.reconnect.reset();
  shim.phase = Phase::kGone;
  shim.last_exit = record;
  const std::string id = shim.id;
  spdlog::info("supervisor: {}: process exited: {}", id, describe(record));
  // Waiters first (a spawn's done before the exit it ends with); `shim` may be gone after.
  answerWaiters(
      shim, makeError(ErrorCode::kFailedPrecondition, "instance " + id + ": the process exited"));
  deliverExit(id, record);
}

void ShimSupervisor::deliverExit(const std::string& id, const sdk::ExitRecord& record) {
  if (!exits_released_) {
    queued_exits_.emplace_back(id, record);
    return;
  }
  exit_listeners_.notify(id, record);
}

void ShimSupervisor::releaseExits() {
  exits_released_ = true;
  auto queued = std::move(queued_exits_);
  queued_exits_.clear();
  for (const auto& [id, record] : queued) exit_listeners_.notify(id, record);
}

std::optional<sdk::ExitRecord> ShimSupervisor::readExitRecord(const std::string& id) const {
  auto text = readFile(layout_.paths(id).exit_record);
  if (!text.ok()) return std::nullopt;
  auto j = nlohmann::json::parse(text.value(), nullptr, false);
  auto rec = sdk::ExitRecord::fromJson(j);
  if (!rec.ok()) {
    spdlog::warn("supervisor: {}: unreadable exit record: {}", id, rec.error().message);
    return std::nullopt;
  }
  return rec.value();
}

void ShimSupervisor::killOrphanChild(const Shim& shim) {
  // A SIGKILLed shim leaves its child with a hung-up terminal; one that ignores SIGHUP would
  // keep running (and holding its port) beside the restarted instance.
  pid_t child = shim.status.child_pid;
  if (child <= 0 || !processAlive(child) || ::getpgid(child) != child) return;
  spdlog::warn("supervisor: {}: shim died; killing its orphaned process group {}", shim.id, child);
  ::kill(-child, SIGKILL);
}

void ShimSupervisor::status(const std::string& id, StatusFn done) {
  Shim* s = nullptr;
  if (auto st = requireLive(id, &s); !st.ok()) {
    loop_.post([done = std::move(done), e = st.error()] { done(e); });
    return;
  }
  if (auto sent = s->control->send(shim::FrameType::kStatus); !sent.ok()) {
    loop_.post([done = std::move(done), e = sent.error()] { done(e); });
    return;
  }
  s->status_waiters.push_back(Shim::Waiter{std::move(done), false});
}

sdk::Status ShimSupervisor::sendInput(const std::string& id, std::string bytes) {
  Shim* s = nullptr;
  if (auto st = requireLive(id, &s); !st.ok()) return st;
  for (size_t off = 0; off < bytes.size(); off += kInputFrameBytes) {
    auto part = std::string_view(bytes).substr(off, kInputFrameBytes);
    if (auto st = s->control->send(shim::FrameType::kInput, part); !st.ok())
      return st.error().withContext("instance " + id + ": input");
  }
  return {};
}

sdk::Status ShimSupervisor::signal(const std::string& id, const std::string& signal) {
  auto name = sdk::normalizeSignalName(signal);
  if (!name) return makeError(ErrorCode::kInvalidArgument, "unknown signal \"" + signal + "\"");
  Shim* s = nullptr;
  if (auto st = requireLive(id, &s); !st.ok()) return st;
  spdlog::info("supervisor: {}: SIG{} to the process group", id, *name);
  return s->control->send(shim::FrameType::kSignal, shim::signalPayload(*name));
}

sdk::Status ShimSupervisor::resize(const std::string& id, uint32_t cols, uint32_t rows) {
  if (cols < 1 || cols > 10000 || rows < 1 || rows > 10000)
    return makeError(ErrorCode::kInvalidArgument, "terminal size must be 1..10000 x 1..10000");
  Shim* s = nullptr;
  if (auto st = requireLive(id, &s); !st.ok()) return st;
  return s->control->send(
      shim::FrameType::kResize,
      shim::resizePayload(static_cast<uint16_t>(cols), static_cast<uint16_t>(rows)));
}

sdk::SubscriptionPtr ShimSupervisor::onExit(
    std::function<void(const std::string&, const sdk::ExitRecord&)> listener) {
  return exit_listeners_.add(std::move(listener));
}

std::optional<sdk::ExitRecord> ShimSupervisor::lastExit(const std::string& id) const {
  const Shim* s = find(id);
  if (s) return s->last_exit;
  return readExitRecord(id);
}

sdk::Status ShimSupervisor::forget(const std::string& id) {
  if (Shim* s = find(id); s && s->phase != Phase::kGone)
    return makeError(ErrorCode::kFailedPrecondition,
                     "instance " + id + ": its shim is still running");
  const ShimPaths paths = layout_.paths(id);
  std::error_code ec;
  // A shim that just exited may still be unlinking its own files: retry a lost race.
  for (int attempt = 0; attempt < 5 && fs::exists(paths.runtime_dir); ++attempt)
    fs::remove_all(paths.runtime_dir, ec);
  if (ec)
    spdlog::warn("supervisor: {}: remove {}: {}", id, paths.runtime_dir.string(), ec.message());
  fs::remove(paths.exit_record, ec);
  shims_.erase(id);
  std::erase(adopted_, id);
  return {};
}

}  // namespace zlh::agent::core
