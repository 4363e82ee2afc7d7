#include "plugins/system/system_plugin.h"

#include <sched.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "plugins/system/factory.h"

namespace zlh::plugins::system {
namespace sdk = agent::sdk;
using nlohmann::json;

namespace {

uint32_t usableCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) return uint32_t(CPU_COUNT(&set));
  return std::thread::hardware_concurrency();
}

uint64_t memTotalBytes() {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("MemTotal:", 0) != 0) continue;
    std::istringstream fields(line.substr(9));
    uint64_t kib = 0;
    fields >> kib;
    return kib * 1024;
  }
  return 0;
}

class SystemFactory : public sdk::PluginFactory {
 public:
  std::string_view name() const override { return "system"; }
  std::string_view description() const override {
    return "Host facts: job system.info (hostname, kernel, cpus, memory)";
  }
  const sdk::ConfigSchema& configSchema() const override { return schema_; }
  sdk::Result<std::unique_ptr<sdk::Plugin>> create(const sdk::ConfigValues&,
                                                   sdk::PluginContext& ctx) const override {
    return std::unique_ptr<sdk::Plugin>(std::make_unique<SystemPlugin>(ctx));
  }

 private:
  sdk::ConfigSchema schema_;  // no keys: any key in [plugins.system] is refused
};

}  // namespace

sdk::Result<HostFacts> readHostFacts() {
  HostFacts f;
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0)
    return sdk::makeError(sdk::ErrorCode::kInternal,
                          std::string("gethostname: ") + std::strerror(errno));
  f.hostname = host;
  struct utsname u {};
  if (uname(&u) != 0)
    return sdk::makeError(sdk::ErrorCode::kInternal, std::string("uname: ") + std::strerror(errno));
  f.kernel = u.release;
  f.cpus = usableCpus();
  f.memory_bytes = memTotalBytes();
  return f;
}

sdk::Status SystemPlugin::start() {
  ctx_.log().debug("ready");
  return {};
}

void SystemPlugin::stop() {}

sdk::Result<json> SystemPlugin::info() {
  auto facts = readHostFacts();
  if (!facts.ok()) return facts.error().withContext("system.info");
  uint64_t runs = runs_.fetch_add(1) + 1;
  return json{{"hostname", facts->hostname},
              {"kernel", facts->kernel},
              {"cpus", facts->cpus},
              {"memory_bytes", facts->memory_bytes},
              {"agent_version", ctx_.agentVersion()},
              {"node_id", ctx_.nodeId()},
              {"runs", runs}};
}

void SystemPlugin::handleJob(const sdk::Job& job, sdk::JobReply reply) {
  if (job.kind != kInfoKind) {
    reply(sdk::makeError(sdk::ErrorCode::kUnimplemented, "unknown job kind \"" + job.kind + "\""));
    return;
  }
  // Reading /proc is blocking I/O: do it on the pool and answer from there.
  ctx_.runBlocking([this, reply = std::move(reply)]() mutable { reply(info()); });
}

void SystemPlugin::collectMetrics(sdk::MetricsWriter& out) {
  out.counter("zlh_system_info_runs_total", "system.info jobs executed by this process.",
              double(runs_.load()));
}

std::unique_ptr<sdk::PluginFactory> makeFactory() { return std::make_unique<SystemFactory>(); }

}  // namespace zlh::plugins::system
