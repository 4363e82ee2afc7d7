#include "agent/shim/cgroup.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace zlh::agent::shim {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(Cgroup, CpuMaxIsAPercentageOfOneCpu) {
  EXPECT_EQ(cpuMaxValue(100), "100000 100000");
  EXPECT_EQ(cpuMaxValue(250), "250000 100000");
  EXPECT_EQ(cpuMaxValue(5), "5000 100000");
}

TEST(Cgroup, NotACgroup2MountIsAReason) {
  Limits limits;
  limits.memory_max_bytes = 1 << 30;
  auto reason = cgroupUnavailableReason("/tmp", limits);
  EXPECT_NE(reason.find("is not a cgroup2 mount"), std::string::npos) << reason;
  reason = cgroupUnavailableReason("/nonexistent/cgroup", limits);
  EXPECT_NE(reason.find("/nonexistent/cgroup"), std::string::npos) << reason;
}

TEST(Cgroup, MissingControllerIsNamed) {
  // On a pure cgroup v2 host with the controllers delegated this finds nothing to complain about;
  // on hosts like the test machine (hybrid layout, only hugetlb in v2) it names the controller.
  for (const char* root : {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"}) {
    Limits limits;
    limits.pids_max = 100;
    auto reason = cgroupUnavailableReason(root, limits);
    if (reason.empty() || reason.find("not a cgroup2 mount") != std::string::npos) continue;
    if (reason.find("controller") != std::string::npos) {
      EXPECT_NE(reason.find("controller pids not enabled"), std::string::npos) << reason;
    }
  }
}

TEST(Cgroup, WritesOnlyNonzeroLimits) {
  char tmpl[] = "/tmp/zlh-shim-cg-XXXXXX";
  fs::path dir = mkdtemp(tmpl);
  for (const char* f : {"memory.max", "cpu.max", "pids.max", "memory.oom.group"}) {
    std::ofstream(dir / f) << "max\n";
  }
  Limits limits;
  limits.memory_max_bytes = 512 * 1024 * 1024;
  limits.cpu_max_pct = 150;
  ASSERT_TRUE(writeLimitFiles(dir.string(), limits).ok());
  EXPECT_EQ(slurp(dir / "memory.max"), "536870912");
  EXPECT_EQ(slurp(dir / "cpu.max"), "150000 100000");
  EXPECT_EQ(slurp(dir / "pids.max"), "max\n");
  EXPECT_EQ(slurp(dir / "memory.oom.group"), "1");
  fs::remove(dir / "cpu.max");
  EXPECT_FALSE(writeLimitFiles(dir.string(), limits).ok()) << "a missing limit file is an error";
  fs::remove_all(dir);
}

// The real mechanics on a writable cgroup2 hierarchy (no controller needed without limits):
// create, move a process in, kill everything in it, remove.
TEST(Cgroup, RealCgroup2CreateJoinKillRemove) {
  const std::string root = "/sys/fs/cgroup/unified";
  if (cgroupUnavailableReason(root, Limits{}) != "") GTEST_SKIP() << "no writable cgroup2 here";
  Cgroup cg;
  std::string name = "zlh-shim-test-" + std::to_string(::getpid());
  ASSERT_TRUE(cg.create(root, name, Limits{}).ok());
  ASSERT_TRUE(fs::is_directory(root + "/" + name));
  pid_t child = ::fork();
  if (child == 0) {
    ::pause();
    _exit(0);
  }
  struct Reap {  // never leave the paused child behind, whatever fails below
    pid_t pid;
    ~Reap() {
      if (pid > 0 && ::kill(pid, SIGKILL) == 0) ::waitpid(pid, nullptr, 0);
    }
  } reap{child};
  ASSERT_TRUE(cg.addProcess(child).ok());
  EXPECT_NE(slurp("/proc/" + std::to_string(child) + "/cgroup").find("0::/" + name),
            std::string::npos);
  cg.killAll();
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  reap.pid = 0;  // reaped
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  EXPECT_TRUE(cg.remove().ok());
  EXPECT_FALSE(fs::exists(root + "/" + name));
}

TEST(Cgroup, InactiveCgroupIsHarmless) {
  Cgroup cg;
  EXPECT_FALSE(cg.active());
  EXPECT_FALSE(cg.addProcess(1).ok());
  EXPECT_FALSE(cg.oomKills().has_value());
  cg.killAll();
  EXPECT_TRUE(cg.remove().ok());
}

}  // namespace
}  // namespace zlh::agent::shim
