#include "agent/core/link/backoff.h"

#include <gtest/gtest.h>

#include <set>

namespace zlh::agent::core {
namespace {
using ms = std::chrono::milliseconds;

TEST(Backoff, StaysWithinHalfAndFullCeilingAndDoubles) {
  Backoff b(ms(500), ms(30000), 42);
  const int64_t ceilings[] = {500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000};
  for (int64_t c : ceilings) {
    auto d = b.next().count();
    EXPECT_GE(d, c / 2) << "ceiling " << c;
    EXPECT_LE(d, c) << "ceiling " << c;
  }
}

TEST(Backoff, IsCappedForever) {
  Backoff b(ms(100), ms(1000), 1);
  for (int i = 0; i < 200; ++i) EXPECT_LE(b.next().count(), 1000);
  EXPECT_EQ(b.ceiling(1000).count(), 1000);
}

TEST(Backoff, IsJittered) {
  Backoff b(ms(1000), ms(1000), 7);
  std::set<int64_t> seen;
  for (int i = 0; i < 50; ++i) seen.insert(b.next().count());
  EXPECT_GT(seen.size(), 20u);  // spread over [500, 1000], not one value
  EXPECT_GE(*seen.begin(), 500);
  EXPECT_LE(*seen.rbegin(), 1000);
}

TEST(Backoff, ResetStartsOverAndNeverReturnsZero) {
  Backoff b(ms(1), ms(4), 3);
  for (int i = 0; i < 5; ++i) (void)b.next();
  b.reset();
  EXPECT_EQ(b.attempt(), 0u);
  auto d = b.next().count();
  EXPECT_GE(d, 1);
  EXPECT_LE(d, 1);
}

}  // namespace
}  // namespace zlh::agent::core
