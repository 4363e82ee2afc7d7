#pragma once
// Start-up helpers of the zlh-shim binary: one shim per socket, detaching from the agent.
#include <string>

#include "agent/shim/shim_protocol.h"
#include "agent/shim/spec.h"

namespace zlh::agent::shim {

/// Process exit codes of zlh-shim (README.md, "Command line").
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitBadSpec = 2;
inline constexpr int kExitAlreadyRunning = 3;

/// Takes the instance lock ("<socket>.lock", flock) and checks that no live shim answers on the
/// socket. Returns the lock's fd (kept open for the shim's lifetime, inherited across the
/// daemonising forks); Conflict when another shim serves the instance.
Result<int> acquireInstanceLock(const ShimSpec& spec);

/// Detaches: fork, setsid, fork; stdio to /dev/null; cwd "/". Returns in the daemon with the
/// write end of the readiness pipe. The original process does not return: it waits for the
/// daemon's reportReady() and exits with that code (1 if the daemon dies first).
Result<int> daemonize();
/// Tells the waiting original process how start-up went (it prints `message` on its stderr),
/// then closes `fd`. No-op for fd < 0 (foreground mode).
void reportReady(int fd, int exit_code, const std::string& message = "");

}  // namespace zlh::agent::shim
