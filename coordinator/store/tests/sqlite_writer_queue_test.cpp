// The SQLite engine's WriterQueue (sqlite_db.h): the writers of one file in the process take
// turns in arrival order, and one that gives up does not hold up those behind it.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "coordinator/store/sqlite_db.h"

namespace zlh::coordinator::store::sqlite {
namespace {
using namespace std::chrono_literals;

/// Waits (with a deadline) until `n` callers wait in `q`.
bool waitForWaiting(const WriterQueue& q, size_t n) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (q.waiting() != n) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

TEST(WriterQueue, ServesWritersInArrivalOrder) {
  WriterQueue q;
  ASSERT_TRUE(q.enter(1s));
  std::mutex mu;
  std::vector<int> order;
  std::vector<std::thread> writers;
  for (int i = 0; i < 5; ++i) {
    writers.emplace_back([&, i] {
      ASSERT_TRUE(q.enter(10s));
      {
        std::lock_guard lock(mu);
        order.push_back(i);
      }
      q.leave();
    });
    ASSERT_TRUE(waitForWaiting(q, static_cast<size_t>(i + 1)));
  }
  q.leave();
  for (auto& t : writers) t.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(q.waiting(), 0u);
}

TEST(WriterQueue, AWriterThatGivesUpDoesNotHoldUpTheNext) {
  WriterQueue q;
  ASSERT_TRUE(q.enter(1s));
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(q.enter(50ms));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 50ms);
  EXPECT_EQ(q.waiting(), 0u);

  std::atomic<bool> first_gave_up{false}, second_entered{false};
  std::thread first([&] { first_gave_up = !q.enter(100ms); });
  ASSERT_TRUE(waitForWaiting(q, 1));
  std::thread second([&] {
    second_entered = q.enter(10s);
    if (second_entered) q.leave();
  });
  ASSERT_TRUE(waitForWaiting(q, 2));
  first.join();
  EXPECT_TRUE(first_gave_up);
  EXPECT_FALSE(second_entered);  // first in line now, but the holder has not left
  EXPECT_EQ(q.waiting(), 1u);
  q.leave();
  second.join();
  EXPECT_TRUE(second_entered);
}

TEST(WriterQueue, OneQueuePerFile) {
  auto a = WriterQueue::forFile("/tmp/zlh-wq-a.db");
  EXPECT_EQ(WriterQueue::forFile("/tmp/zlh-wq-a.db"), a);
  EXPECT_NE(WriterQueue::forFile("/tmp/zlh-wq-b.db"), a);
  EXPECT_NE(WriterQueue::forFile(""), WriterQueue::forFile(""));  // temporary databases
}

}  // namespace
}  // namespace zlh::coordinator::store::sqlite
