#include "agent/core/host/capacity.h"

#include <sched.h>
#include <sys/statvfs.h>

#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace zlh::agent::core {

proto::Capacity readCapacity(const std::filesystem::path& state_dir) {
  proto::Capacity c;
  cpu_set_t set;
  CPU_ZERO(&set);
  c.cpus = sched_getaffinity(0, sizeof set, &set) == 0 ? uint32_t(CPU_COUNT(&set))
                                                       : std::thread::hardware_concurrency();
  std::ifstream in("/proc/meminfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("MemTotal:", 0) != 0) continue;
    std::istringstream fields(line.substr(9));
    uint64_t kib = 0;
    fields >> kib;
    c.memory_bytes = kib * 1024;
    break;
  }
  struct statvfs vfs {};
  if (statvfs(state_dir.c_str(), &vfs) == 0) c.disk_bytes = uint64_t(vfs.f_blocks) * vfs.f_frsize;
  return c;
}

}  // namespace zlh::agent::core
