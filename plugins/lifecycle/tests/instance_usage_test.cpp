#include "plugins/lifecycle/instance_usage.h"

#include <gtest/gtest.h>

#include <fstream>

#include "plugins/lifecycle/tests/test_support.h"

namespace zlh::plugins::lifecycle {
namespace {
namespace fs = std::filesystem;

// A fake /proc entry: stat with the given ppid and times, status with RssAnon.
void fakeProc(const fs::path& proc, int pid, int ppid, const std::string& comm, int utime,
              int stime, int cutime, int cstime, int rss_anon_kb) {
  fs::create_directories(proc / std::to_string(pid));
  std::ofstream(proc / std::to_string(pid) / "stat")
      << pid << " (" << comm << ") S " << ppid << " " << pid << " " << pid << " 0 -1 4194560 "
      << "100 0 0 0 " << utime << " " << stime << " " << cutime << " " << cstime
      << " 20 0 1 0 100 1000000 200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n";
  std::ofstream(proc / std::to_string(pid) / "status")
      << "Name:\t" << comm << "\nVmRSS:\t999999 kB\nRssAnon:\t" << rss_anon_kb
      << " kB\nRssFile:\t5000 kB\n";
}

TEST(ProcessTreeUsage, SumsTheTreeOfEachRoot) {
  test::TempDir dir;
  const fs::path proc = dir.path();
  fakeProc(proc, 1, 0, "init", 1, 1, 0, 0, 10);
  fakeProc(proc, 100, 1, "zlh-shim", 5, 5, 0, 0, 300);
  fakeProc(proc, 101, 100, "java (server) x", 1000, 200, 50, 50, 400000);  // comm with ") "
  fakeProc(proc, 102, 101, "sh", 10, 10, 0, 0, 100);
  fakeProc(proc, 103, 102, "worker", 5, 5, 0, 0, 50);
  fakeProc(proc, 200, 1, "other", 7, 7, 0, 0, 7);
  fs::create_directories(proc / "self");
  std::ofstream(proc / "104") << "not a dir";  // ignored
  auto u = processTreeUsage(proc.string(), {101, 200, 555});
  ASSERT_EQ(u.size(), 2u);  // 555 is gone
  EXPECT_DOUBLE_EQ(u[101].cpu_seconds, (1000 + 200 + 50 + 50 + 20 + 10) / 100.0);
  EXPECT_EQ(u[101].rss_anon_bytes, uint64_t(400000 + 100 + 50) * 1024);
  EXPECT_EQ(u[101].processes, 3u);
  EXPECT_EQ(u[200].processes, 1u);
  EXPECT_TRUE(processTreeUsage(proc.string(), {}).empty());
  EXPECT_TRUE(processTreeUsage("/nonexistent/proc", {1}).empty());
}

TEST(ProcessTreeUsage, ReadsTheRealProc) {
  auto u = processTreeUsage("/proc", {int(::getpid())});
  ASSERT_EQ(u.size(), 1u);
  EXPECT_GT(u.begin()->second.rss_anon_bytes, 0u);
}

TEST(DirectoryUsage, CountsAllocatedBlocksWithoutFollowingLinks) {
  test::TempDir dir;
  fs::create_directories(dir.path() / "world" / "region");
  std::ofstream(dir.path() / "world" / "region" / "r.0.0.mca") << std::string(256 * 1024, 'x');
  std::ofstream(dir.path() / "small.txt") << "hi";
  fs::create_symlink("/usr", dir.path() / "link-to-usr");
  auto bytes = directoryUsageBytes(dir.path());
  ASSERT_TRUE(bytes.has_value());
  EXPECT_GE(*bytes, 256u * 1024);
  EXPECT_LT(*bytes, 2u * 1024 * 1024);  // /usr was not followed
  EXPECT_FALSE(directoryUsageBytes(dir.path() / "nope").has_value());
  EXPECT_FALSE(directoryUsageBytes(dir.path() / "small.txt").has_value());
}

TEST(CgroupMemory, ReadsMemoryCurrent) {
  test::TempDir dir;
  std::ofstream(dir.path() / "memory.current") << "123456789\n";
  EXPECT_EQ(cgroupMemoryBytes(dir.path().string()), 123456789u);
  EXPECT_FALSE(cgroupMemoryBytes((dir.path() / "none").string()).has_value());
  EXPECT_FALSE(cgroupMemoryBytes("").has_value());
}

TEST(ParseRfc3339, UtcOnly) {
  EXPECT_EQ(parseRfc3339Utc("1970-01-01T00:00:10Z"), 10.0);
  EXPECT_DOUBLE_EQ(*parseRfc3339Utc("2026-01-01T00:00:00.5Z"), 1767225600.5);
  EXPECT_EQ(parseRfc3339Utc("2026-01-01T00:00:00+00:00"), 1767225600.0);
  EXPECT_FALSE(parseRfc3339Utc("2026-01-01T00:00:00+02:00").has_value());
  EXPECT_FALSE(parseRfc3339Utc("yesterday").has_value());
}

}  // namespace
}  // namespace zlh::plugins::lifecycle
