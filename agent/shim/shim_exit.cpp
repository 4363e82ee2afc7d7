// The shim's exit path: child exit -> drain the PTY -> exit record -> EXIT to clients -> flush.
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/shim/shim.h"
#include "agent/shim/shim_log.h"

namespace zlh::agent::shim {

void Shim::checkChild() {
  if (phase_ != Phase::kRunning) return;
  siginfo_t info{};
  // WNOWAIT: the zombie keeps the process group id reserved while we kill what is left in it.
  if (::waitid(P_PID, static_cast<id_t>(child_pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
      info.si_pid == 0) {
    return;
  }
  // Leftovers in the child's group (background jobs) and cgroup would outlive the instance.
  signalChildGroup(SIGKILL);
  cgroup_.killAll();
  int status = 0;
  while (::waitpid(child_pid_, &status, 0) < 0 && errno == EINTR) {
  }
  exit_ = exitRecordFromWaitStatus(status);
  exit_->started_at = started_at_;
  exit_->exited_at = std::chrono::system_clock::now();
  pending_input_.clear();
  kill_at_.reset();
  phase_ = Phase::kDraining;
  // Whatever the child wrote before it exited is still in the PTY: read it all (until EIO,
  // silence or the deadline) before the exit record takes the last lines.
  auto now = Clock::now();
  drain_until_ = now + kDrainMax;
  drain_idle_until_ = now + kDrainIdle;
  if (!master_eof_) readMaster();
  if (master_eof_ && phase_ == Phase::kDraining) finishDrain();
}

void Shim::finishDrain() {
  if (phase_ != Phase::kDraining) return;
  releaseHeldOutput(true);  // before EXIT, the exit record's last lines and the byte count
  if (master_fd_ >= 0) ::close(master_fd_);
  master_fd_ = -1;
  master_eof_ = true;
  if (auto ooms = cgroup_.oomKills(); ooms && *ooms > 0) exit_->oom_killed = true;
  if (auto removed = cgroup_.remove(); !removed.ok()) log::warn(removed.error().message);
  exit_->last_lines = tail_.lines();
  exit_json_ = exit_->toJson();
  auto written = writeFileAtomic(spec_.exit_record, dumpJson(exit_json_), 0600);
  if (!written.ok()) log::error("exit record: " + written.error().message);
  std::string how = exit_->code ? "code " + std::to_string(*exit_->code)
                                : "signal " + signalName(exit_->signal.value_or(0));
  log::info("child " + std::to_string(child_pid_) + " exited with " + how +
            (exit_->oom_killed ? " (OOM kill)" : "") + ", " + std::to_string(output_bytes_) +
            " output bytes");
  std::string payload = dumpJson(exit_json_);
  for (auto& c : clients_) {
    if (!c->closing && !c->queueControl(FrameType::kExit, payload)) c->closing = true;
  }
  phase_ = Phase::kFinishing;
  flush_until_ = Clock::now() + kFlushMax;
}

}  // namespace zlh::agent::shim
