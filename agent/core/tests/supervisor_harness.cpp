#include "agent/core/tests/supervisor_harness.h"

#include <signal.h>
#include <unistd.h>

#include <random>

#include "agent/core/util/files.h"

#ifndef ZLH_SHIM_BIN
#define ZLH_SHIM_BIN "zlh-shim"
#endif

namespace zlh::agent::core::testing {
namespace fs = std::filesystem;

void SupervisorHarness::SetUp() {
  // Short: the socket path must stay under 107 bytes.
  root_ = fs::path("/tmp") / ("zsv-" + std::to_string(std::random_device{}() % 1000000));
  state_dir_ = root_ / "state";
  runtime_dir_ = root_ / "run";
  fs::create_directories(state_dir_);
  fs::create_directories(runtime_dir_);
}

std::vector<pid_t> SupervisorHarness::shimPidsOnDisk() {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(runtime_dir_ / "instances", ec))
    if (auto pid = readPidFile(e.path() / "shim.pid")) {
      out.push_back(*pid);
      track(*pid);
    }
  return out;
}

void SupervisorHarness::TearDown() {
  shimPidsOnDisk();
  for (pid_t pid : pids_) {
    if (!processAlive(pid)) continue;
    if (::getpgid(pid) == pid) ::kill(-pid, SIGKILL);  // a child leads its own group
    ::kill(pid, SIGKILL);
  }
  for (pid_t pid : pids_) {
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (processAlive(pid) && std::chrono::steady_clock::now() < deadline) ::usleep(10'000);
    EXPECT_FALSE(processAlive(pid)) << "pid " << pid << " survived the test";
  }
  std::error_code ec;
  fs::remove_all(root_, ec);
}

ShimSupervisor::Options SupervisorHarness::options() const {
  ShimSupervisor::Options o;
  o.state_dir = state_dir_;
  o.runtime_dir = runtime_dir_;
  o.shim_path = ZLH_SHIM_BIN;
  return o;
}

MiniCore SupervisorHarness::startCore(ShimSupervisor::Options opts) {
  MiniCore core;
  core.registry = std::make_unique<CoreInstanceRegistry>(state_dir_, nullptr);
  EXPECT_TRUE(core.registry->load().ok());
  core.supervisor = std::make_unique<ShimSupervisor>(loop_, std::move(opts));
  core.report = core.supervisor->adoptAtStart(core.registry->list());
  for (const auto& id : core.supervisor->adopted()) {
    auto st = status(*core.supervisor, id);
    if (st.ok()) {
      track(st->shim_pid);
      track(st->child_pid);
    }
  }
  return core;
}

sdk::ProcessSpec SupervisorHarness::sh(const std::string& script) const {
  sdk::ProcessSpec spec;
  spec.command = {"/bin/sh", "-c", script};
  spec.cwd = root_;
  spec.env = {{"PATH", "/usr/bin:/bin"}, {"HOME", root_.string()}};
  spec.stop_grace_s = 2;
  return spec;
}

sdk::Result<sdk::ProcessStatus> SupervisorHarness::spawn(sdk::Supervisor& sup,
                                                         const std::string& id,
                                                         const sdk::ProcessSpec& spec) {
  std::optional<sdk::Result<sdk::ProcessStatus>> got;
  sup.spawn(id, spec, [&](sdk::Result<sdk::ProcessStatus> r) { got = std::move(r); });
  if (!runUntil([&] { return got.has_value(); }, 20s))
    return sdk::makeError(sdk::ErrorCode::kDeadlineExceeded, "spawn did not answer");
  shimPidsOnDisk();
  if (got->ok()) {
    track(got->value().shim_pid);
    track(got->value().child_pid);
  }
  return *got;
}

sdk::Result<sdk::ProcessStatus> SupervisorHarness::status(sdk::Supervisor& sup,
                                                          const std::string& id) {
  std::optional<sdk::Result<sdk::ProcessStatus>> got;
  sup.status(id, [&](sdk::Result<sdk::ProcessStatus> r) { got = std::move(r); });
  if (!runUntil([&] { return got.has_value(); }, 10s))
    return sdk::makeError(sdk::ErrorCode::kDeadlineExceeded, "status did not answer");
  return *got;
}

bool SupervisorHarness::runUntil(const std::function<bool()>& done,
                                 std::chrono::milliseconds timeout) {
  return loop_.runUntil(done, timeout);
}

void SupervisorHarness::runFor(std::chrono::milliseconds d) {
  auto until = std::chrono::steady_clock::now() + d;
  loop_.runUntil([&] { return std::chrono::steady_clock::now() >= until; }, d + 1s);
}

}  // namespace zlh::agent::core::testing
