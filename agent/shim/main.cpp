// zlh-shim: the per-instance supervisor (agent/shim/README.md).
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "agent/shim/daemon.h"
#include "agent/shim/shim.h"
#include "agent/shim/shim_log.h"
#include "agent/shim/spec.h"

namespace {

using namespace zlh::agent::shim;

constexpr const char* kUsage =
    "usage: zlh-shim --spec FILE [--foreground]\n"
    "  --spec FILE    instance spec (json) written by zlh-agent\n"
    "  --foreground   do not detach (tests, debugging)\n"
    "exit codes: 0 child exited (exit record written), 1 start-up failure, 2 bad spec or usage,\n"
    "            3 the instance is already served by a live shim\n";

int usageError(const std::string& message) {
  std::fprintf(stderr, "zlh-shim: %s\n%s", message.c_str(), kUsage);
  return kExitBadSpec;
}

int runShim(const ShimSpec& spec, bool foreground) {
  auto lock = acquireInstanceLock(spec);
  if (!lock.ok()) {
    std::fprintf(stderr, "zlh-shim: %s\n", lock.error().message.c_str());
    return lock.error().code == ErrorCode::kConflict ? kExitAlreadyRunning : kExitFailure;
  }
  int ready_fd = -1;
  if (!foreground) {
    auto daemon = daemonize();  // returns only in the daemon
    if (!daemon.ok()) {
      std::fprintf(stderr, "zlh-shim: %s\n", daemon.error().message.c_str());
      return kExitFailure;
    }
    ready_fd = *daemon;
  }
  if (auto opened = log::open(spec.shimLogPath(), foreground); !opened.ok()) {
    log::warn("shim log: " + opened.error().message);
  }
  Shim shim(spec);
  if (auto started = shim.start(); !started.ok()) {
    std::string message = "instance " + spec.instance_id + ": " + started.error().message;
    log::error(message);
    ::unlink(spec.lockPath().c_str());
    reportReady(ready_fd, kExitFailure, message);
    return kExitFailure;
  }
  reportReady(ready_fd, kExitOk);
  int code = shim.run();
  log::close();
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  std::string spec_path;
  bool foreground = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--spec" && i + 1 < argc) {
      spec_path = argv[++i];
    } else if (arg.rfind("--spec=", 0) == 0) {
      spec_path = arg.substr(7);
    } else if (arg == "--foreground") {
      foreground = true;
    } else if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return kExitOk;
    } else if (arg == "--version") {
      std::printf("zlh-shim %s (socket protocol %d)\n", ZLH_VERSION, kProtocolVersion);
      return kExitOk;
    } else {
      return usageError("unknown argument " + arg);
    }
  }
  if (spec_path.empty()) return usageError("--spec FILE is required");
  auto spec = loadSpec(spec_path);
  if (!spec.ok()) {
    std::fprintf(stderr, "zlh-shim: bad spec: %s\n", spec.error().message.c_str());
    return kExitBadSpec;
  }
  return runShim(*spec, foreground);
}
