#include "plugins/lifecycle/crash_policy.h"

#include <gtest/gtest.h>

namespace zlh::plugins::lifecycle {
namespace {
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(CrashPolicyTest, BackoffDoublesUpToTheCap) {
  RestartSpec spec;  // 2 s doubling to 60 s
  std::vector<int64_t> got;
  for (uint32_t n = 1; n <= 8; ++n) got.push_back(backoffDelay(n, spec, 0.0).count());
  EXPECT_EQ(got, (std::vector<int64_t>{2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000}));
  EXPECT_EQ(backoffDelay(1000, spec, 0.0), milliseconds(60000));  // no overflow
}

TEST(CrashPolicyTest, JitterStaysWithinTwentyPercentAndUnderTheCap) {
  RestartSpec spec;
  EXPECT_EQ(backoffDelay(1, spec, 1.0), milliseconds(2400));
  EXPECT_EQ(backoffDelay(1, spec, -1.0), milliseconds(1600));
  EXPECT_EQ(backoffDelay(3, spec, 0.5), milliseconds(8800));
  EXPECT_EQ(backoffDelay(7, spec, 1.0), milliseconds(60000));  // capped after jitter
  EXPECT_EQ(backoffDelay(7, spec, -1.0), milliseconds(48000));
  EXPECT_EQ(backoffDelay(1, spec, 7.0), milliseconds(2400));  // clamped
}

TEST(CrashPolicyTest, CrashLoopCountsOnlyTheWindow) {
  RestartSpec spec;  // 5 in 600 s
  CrashTracker t;
  SteadyTime t0{};
  EXPECT_EQ(t.record(t0, spec), 1u);
  EXPECT_EQ(t.record(t0 + seconds(100), spec), 2u);
  EXPECT_EQ(t.record(t0 + seconds(200), spec), 3u);
  EXPECT_EQ(t.record(t0 + seconds(650), spec), 3u);  // the first fell out of the window
  EXPECT_EQ(t.record(t0 + seconds(660), spec), 4u);
  EXPECT_FALSE(isCrashLoop(4, spec));
  EXPECT_EQ(t.record(t0 + seconds(670), spec), 5u);
  EXPECT_TRUE(isCrashLoop(5, spec));
  EXPECT_EQ(crashLoopReason(5, spec), "crash loop: 5 crashes in 600 s");
  t.reset();
  EXPECT_EQ(t.count(), 0u);
}

}  // namespace
}  // namespace zlh::plugins::lifecycle
