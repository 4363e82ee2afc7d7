#pragma once
// Starting the supervised child in its own PTY, session and process group.
#include <sys/types.h>

#include <string>

#include "agent/shim/cgroup.h"
#include "agent/shim/shim_protocol.h"
#include "agent/shim/spec.h"

namespace zlh::agent::shim {

struct ChildProcess {
  pid_t pid = -1;
  int master_fd = -1;  ///< PTY master, non-blocking, close-on-exec
};

/// The child's environment: exactly spec.env, plus TERM=xterm-256color unless given.
std::vector<std::string> childEnvironment(const ShimSpec& spec);

/// forkpty()s spec.command with spec.cols x spec.rows in spec.cwd. When `cgroup` is active the
/// child is moved into it before it execs; if that fails the child runs without limits and
/// `cgroup_error` says why. An exec failure is reported on the PTY and the child exits 127.
Result<ChildProcess> spawnChild(const ShimSpec& spec, Cgroup& cgroup, std::string& cgroup_error);

}  // namespace zlh::agent::shim
