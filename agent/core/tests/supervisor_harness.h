#pragma once
// Test harness for the supervisor and re-adoption tests: temp state and runtime dirs, an
// "Agent-like core" (registry + supervisor over those dirs, on one EventLoop), helpers that run
// the loop until something happens, and cleanup of every process a test caused (pids learnt from
// statuses and pid files are SIGKILLed at the end, also when the test failed).
#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "agent/core/instances/instance_registry.h"
#include "agent/core/loop/event_loop.h"
#include "agent/core/supervisor/shim_supervisor.h"

namespace zlh::agent::core::testing {

using namespace std::chrono_literals;

/// Registry + supervisor as the agent wires them (without link and plugins).
struct MiniCore {
  std::unique_ptr<CoreInstanceRegistry> registry;
  std::unique_ptr<ShimSupervisor> supervisor;
  ShimSupervisor::AdoptionReport report;
};

class SupervisorHarness : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  ShimSupervisor::Options options() const;
  /// A fresh core over the harness's dirs: loads the registry, adopts (does not release exits).
  MiniCore startCore(ShimSupervisor::Options opts);
  MiniCore startCore() { return startCore(options()); }

  /// `/bin/sh -c script` in the root dir with PATH set.
  sdk::ProcessSpec sh(const std::string& script) const;
  /// Spawns and runs the loop until `done` ran; records the pids.
  sdk::Result<sdk::ProcessStatus> spawn(sdk::Supervisor& sup, const std::string& id,
                                        const sdk::ProcessSpec& spec);
  sdk::Result<sdk::ProcessStatus> status(sdk::Supervisor& sup, const std::string& id);
  bool runUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s);
  /// Runs the loop for `d` (to check that something does NOT happen).
  void runFor(std::chrono::milliseconds d);
  void track(pid_t pid) {
    if (pid > 0) pids_.insert(pid);
  }
  /// Shim pids of every pid file under the runtime dir (tracked too).
  std::vector<pid_t> shimPidsOnDisk();

  EventLoop loop_{1};
  std::filesystem::path root_;
  std::filesystem::path state_dir_;
  std::filesystem::path runtime_dir_;

 private:
  std::set<pid_t> pids_;
};

}  // namespace zlh::agent::core::testing
