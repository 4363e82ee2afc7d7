#include "agent/shim/output_hold.h"

#include <gtest/gtest.h>

namespace zlh::agent::shim {
namespace {

using Clock = OutputHold::Clock;
using std::chrono::milliseconds;

const Clock::time_point t0{};

TEST(OutputHold, ShortOutputPassesAtOnceWhenNothingIsHeld) {
  OutputHold hold;
  EXPECT_EQ(hold.add("x", t0), "x");
  EXPECT_EQ(hold.add(std::string(OutputHold::kBurstBytes - 1, 'a'), t0).size(),
            OutputHold::kBurstBytes - 1);
  EXPECT_FALSE(hold.deadline());
  EXPECT_EQ(hold.due(t0 + milliseconds(100)), "");
}

TEST(OutputHold, ABurstIsHeldUntilItsTimeAndWhatFollowsJoinsItInOrder) {
  OutputHold hold;
  const std::string burst(OutputHold::kBurstBytes, 'b');
  EXPECT_EQ(hold.add(burst, t0), "");
  ASSERT_TRUE(hold.deadline());
  EXPECT_EQ(*hold.deadline(), t0 + OutputHold::kHold);
  EXPECT_EQ(hold.add("x", t0 + milliseconds(1)), "");  // short, but behind a held burst
  EXPECT_EQ(*hold.deadline(), t0 + OutputHold::kHold);  // the first held byte sets it
  EXPECT_EQ(hold.due(t0 + milliseconds(1)), "");
  EXPECT_EQ(hold.due(t0 + OutputHold::kHold), burst + "x");
  EXPECT_FALSE(hold.deadline());
  EXPECT_EQ(hold.due(t0 + milliseconds(10)), "");  // handed out once
  EXPECT_EQ(hold.add("y", t0 + milliseconds(10)), "y");
}

TEST(OutputHold, HeldBytesGoOnceTheyReachTheReleaseSizeNeverMoreAtATime) {
  OutputHold hold(4096);
  const std::string a(3000, 'a'), b(1500, 'b');
  const std::string all = a + b;
  EXPECT_EQ(hold.add(a, t0), "");
  // 4,500 >= 4,096: the first 4,096 at once, before their time; the 404 left are a new burst.
  EXPECT_EQ(hold.add(b, t0 + milliseconds(1)), all.substr(0, 4096));
  ASSERT_TRUE(hold.deadline());
  EXPECT_EQ(*hold.deadline(), t0 + milliseconds(1) + OutputHold::kHold);
  EXPECT_EQ(hold.due(t0 + milliseconds(1) + OutputHold::kHold), all.substr(4096));
  EXPECT_FALSE(hold.deadline());
  // More than two release sizes held: handed out a release size at a time, in order.
  EXPECT_EQ(hold.add(std::string(9000, 'c'), t0), std::string(4096, 'c'));
  EXPECT_EQ(hold.due(t0, true), std::string(4096, 'c'));
  EXPECT_EQ(hold.due(t0, true), std::string(808, 'c'));
  EXPECT_EQ(hold.due(t0, true), "");
}

TEST(OutputHold, ForceHandsOutWhatIsHeldBeforeItsTime) {
  OutputHold hold;
  const std::string burst(2000, 'z');
  EXPECT_EQ(hold.add(burst, t0), "");
  EXPECT_EQ(hold.due(t0, true), burst);
  EXPECT_EQ(hold.due(t0, true), "");
}

}  // namespace
}  // namespace zlh::agent::shim
