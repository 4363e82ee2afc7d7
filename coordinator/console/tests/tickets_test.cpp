#include "coordinator/console/tickets.h"

#include <gtest/gtest.h>

#include <thread>

namespace zlh::coordinator::console {
namespace {
using namespace std::chrono_literals;
using proto::ErrorCode;

TEST(TicketBookTest, SingleUseBoundAndExpiring) {
  TicketBook book(30s);
  auto now = TicketBook::Clock::now();
  auto t = book.issue("usr_a", "in_1", now);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->ticket.rfind("zlht_", 0), 0u);
  EXPECT_EQ(t->ticket.size(), 5u + 43u);
  EXPECT_EQ(t->expires_at, now + 30s);
  auto r = book.redeem(t->ticket, now + 29s);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->user_id, "usr_a");
  EXPECT_EQ(r->instance_id, "in_1");
  auto again = book.redeem(t->ticket, now + 29s);
  EXPECT_EQ(again.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(again.error().message, "unknown or already used console ticket");

  auto late = book.issue("usr_a", "in_1", now);
  EXPECT_EQ(book.redeem(late->ticket, now + 30s).error().message, "console ticket expired");
  EXPECT_EQ(book.redeem("zlht_nope", now).error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(book.redeem("", now).error().code, ErrorCode::kUnauthenticated);
  EXPECT_NE(book.issue("u", "i", now)->ticket, book.issue("u", "i", now)->ticket);
}

TEST(TicketBookTest, ExpiredTicketsArePrunedAndTheBookIsBounded) {
  TicketBook book(1s, 3);
  auto now = TicketBook::Clock::now();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(book.issue("u", "i", now).ok());
  EXPECT_EQ(book.issue("u", "i", now).error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(book.issue("u", "i", now + 2s).ok());  // the old three expired and were pruned
  EXPECT_EQ(book.live(), 1u);
}

TEST(TicketBookTest, ConcurrentRedeemsOfOneTicketSucceedOnce) {
  TicketBook book;
  auto t = book.issue("u", "i");
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&] {
      if (book.redeem(t->ticket).ok()) ++ok;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 1);
}

}  // namespace
}  // namespace zlh::coordinator::console
