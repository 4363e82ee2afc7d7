// ShimSupervisor at agent start: re-adopt live shims, queue the exits that happened while the
// agent was down, stop orphan shims, remove stale runtime dirs (ARCHITECTURE.md section 7:
// "Agent killed or upgraded: games keep running; the agent re-adopts them").
#include <signal.h>
#include <spdlog/spdlog.h>

#include "agent/core/supervisor/shim_supervisor.h"
#include "agent/core/util/files.h"

namespace zlh::agent::core {
namespace fs = std::filesystem;
using sdk::InstanceState;

namespace {

bool looksLikeShim(pid_t pid) {
  auto cmdline = readFile("/proc/" + std::to_string(pid) + "/cmdline");
  return cmdline.ok() && cmdline.value().find("zlh-shim") != std::string::npos;
}

std::optional<nlohmann::json> exitOf(const nlohmann::json& status) {
  if (!status.is_object()) return std::nullopt;
  auto it = status.find("exit");
  if (it == status.end() || !it->is_object()) return std::nullopt;
  return *it;
}

}  // namespace

ShimSupervisor::AdoptionReport ShimSupervisor::adoptAtStart(
    const std::vector<sdk::InstanceRecord>& records) {
  AdoptionReport report;
  report.records = records.size();
  std::map<std::string, bool> known;
  for (const auto& r : records) {
    known[r.id] = true;
    adoptOne(r, report);
  }
  sweepRuntimeDirs(known, report);
  spdlog::info(
      "supervisor: adoption: {} instance records, {} shims adopted, {} exits while the agent was "
      "down, {} unreachable shims, {} orphan shims stopped, {} stale runtime dirs removed",
      report.records, report.adopted, report.exits_while_down, report.unreachable,
      report.orphans_stopped, report.stale_dirs_removed);
  return report;
}

void ShimSupervisor::adoptOne(const sdk::InstanceRecord& r, AdoptionReport& report) {
  const ShimPaths paths = layout_.paths(r.id);
  Shim& s = shims_[r.id];
  s.id = r.id;
  s.session = ++next_session_;
  s.last_exit = readExitRecord(r.id);
  auto probe = probeShim(paths.socket, options_.probe_timeout);
  if (probe.ok()) {
    s.status = processStatusFromJson(probe.value());
    if (auto exit = exitOf(probe.value())) {  // exited just now; the shim is finishing
      s.phase = Phase::kGone;
      s.exit_seen = true;
      auto rec = sdk::ExitRecord::fromJson(*exit);
      s.last_exit = rec.ok() ? rec.value() : sdk::ExitRecord{};
      if (sdk::hasProcess(r.state)) {
        ++report.exits_while_down;
        deliverExit(r.id, *s.last_exit);
      }
      return;
    }
    s.phase = Phase::kLive;
    s.launched = true;
    adopted_.push_back(r.id);
    ++report.adopted;
    spdlog::info("supervisor: {}: adopted shim {} (child {})", r.id, s.status.shim_pid,
                 s.status.child_pid);
    connectControl(r.id, s.session);
    return;
  }
  auto pid = readPidFile(paths.pid_file);
  if (pid && processAlive(*pid) && looksLikeShim(*pid)) {
    // Alive but not answering (yet): handled like a lost connection, retried until it answers
    // or dies (then its exit record, or a lost exit, is delivered).
    s.phase = Phase::kLive;
    s.launched = true;
    s.status.shim_pid = *pid;
    ++report.unreachable;
    spdlog::error("supervisor: {}: shim {} is alive but {} does not answer ({}): retrying", r.id,
                  *pid, paths.socket.string(), probe.error().message);
    connectControl(r.id, s.session);
    return;
  }
  s.phase = Phase::kGone;
  s.exit_seen = true;
  if (!sdk::hasProcess(r.state)) return;
  sdk::ExitRecord rec;
  if (s.last_exit) {
    rec = *s.last_exit;
  } else {
    rec.lost = true;
    s.last_exit = rec;
  }
  ++report.exits_while_down;
  spdlog::info("supervisor: {}: was {}, its process ended while the agent was down: {}", r.id,
               sdk::toString(r.state), rec.lost ? "no exit record (lost)" : "exit record found");
  deliverExit(r.id, rec);
}

void ShimSupervisor::sweepRuntimeDirs(const std::map<std::string, bool>& known,
                                      AdoptionReport& report) {
  std::error_code ec;
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(layout_.runtimeInstancesDir(), ec))
    if (e.is_directory()) dirs.push_back(e.path());
  for (const auto& dir : dirs) {
    const std::string id = dir.filename().string();
    if (known.count(id)) continue;
    const ShimPaths paths = layout_.paths(id);
    pid_t pid = 0;
    if (auto probe = probeShim(paths.socket, options_.probe_timeout); probe.ok())
      pid = processStatusFromJson(probe.value()).shim_pid;
    if (pid <= 0) {
      auto p = readPidFile(paths.pid_file);
      if (p && processAlive(*p) && looksLikeShim(*p)) pid = *p;
    }
    if (pid > 0) {
      // Its shim stops the child (SIGTERM, grace, SIGKILL) and removes its own files.
      ::kill(pid, SIGTERM);
      ++report.orphans_stopped;
      spdlog::warn("supervisor: orphan shim {} for unknown instance {}: sent SIGTERM", pid, id);
      continue;
    }
    fs::remove_all(dir, ec);
    ++report.stale_dirs_removed;
    spdlog::info("supervisor: removed stale runtime dir {}", dir.string());
  }
}

}  // namespace zlh::agent::core
