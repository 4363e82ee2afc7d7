#pragma once
// Tests only: the fixture the queue conformance cases share (queue_store_test.cpp,
// queue_load_test.cpp). Every queue call takes an explicit time: cases move `t_` instead of
// sleeping. `t_` is a minute after the real clock, so the jobs createInstance writes (run_at =
// the real now) are already claimable at it.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "coordinator/store/store.h"
#include "coordinator/store/tests/engine_store.h"

namespace zlh::coordinator::store::testing {

using namespace std::chrono_literals;

/// Sanitizer builds run several times slower: load cases scale their sizes down by this.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr int kSanitizerScale = 4;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr int kSanitizerScale = 4;
#else
inline constexpr int kSanitizerScale = 1;
#endif
#else
inline constexpr int kSanitizerScale = 1;
#endif

class QueueTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    ZLH_REQUIRE_ENGINE(tmp_);
    t_ = common::fromUnixMs(common::toUnixMs(common::now())) + 1min;
    auto user = store_->createUser({"alice", Role::kUser});
    ASSERT_TRUE(user.ok()) << user.error().message;
    alice_ = user->id;
  }

  Time at(std::chrono::milliseconds offset) const { return t_ + offset; }

  /// A job without an operation, asserted enqueued.
  Job enqueue(QueueName queue, const std::string& kind, Time now,
              std::optional<std::string> node = std::nullopt,
              std::optional<Time> run_at = std::nullopt, Store* store = nullptr) {
    NewJob j;
    j.queue = queue;
    j.kind = kind;
    j.node_id = std::move(node);
    j.run_at = run_at;
    j.payload = {{"n", kind}};
    auto r = (store ? store : store_.get())->enqueueJob(j, now);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : Job{};
  }

  static ClaimRequest claimOf(const std::string& owner, int64_t limit = 1,
                              std::vector<std::string> nodes = {},
                              QueueName queue = QueueName::kProvisioning) {
    ClaimRequest c;
    c.queue = queue;
    c.owner = owner;
    c.lease = 30s;
    c.limit = limit;
    c.node_ids = std::move(nodes);
    return c;
  }

  /// Claims, asserting the call itself succeeded.
  std::vector<Job> claim(const ClaimRequest& request, Time now, Store* store = nullptr) {
    auto r = (store ? store : store_.get())->claimJobs(request, now);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : std::vector<Job>{};
  }

  /// An instance on `node` with its queued instance.create operation (and so its job).
  CreateOutcome createOn(const std::string& node, const std::string& key) {
    NewInstance n;
    n.name = "srv-" + key;
    n.owner_id = alice_;
    n.template_name = "test";
    n.node_id = node;
    n.requested_by = alice_;
    auto r = store_->createInstance(n, {alice_, key, "h"});
    EXPECT_TRUE(r.ok()) << r.error().message;
    EXPECT_TRUE(r.ok() && r->operation) << "no operation created";
    return r.ok() ? *r : CreateOutcome{};
  }

  Job job(const std::string& id) {
    auto r = store_->getJob(id);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : Job{};
  }
  Operation op(const std::string& id) {
    auto r = store_->getOperation(id);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : Operation{};
  }

  /// A fresh connection to the same database (another worker or coordinator).
  std::unique_ptr<Store> connect() {
    auto s = openStore(tmp_.url, {});
    EXPECT_TRUE(s.ok()) << s.error().message;
    return s.ok() ? std::move(*s) : nullptr;
  }

  EngineStore tmp_{GetParam(), "zlh-queue-test"};
  std::unique_ptr<Store>& store_ = tmp_.store;
  std::string alice_;
  Time t_;
};

inline std::string errText(const std::optional<proto::Error>& e) {
  return e ? e->message : std::string("<none>");
}

/// Times as the store keeps them (unix ms): readable in failure messages.
inline std::optional<int64_t> msOf(const std::optional<Time>& t) {
  if (!t) return std::nullopt;
  return common::toUnixMs(*t);
}

/// Every column a fenced write could touch is the same in both records.
inline void expectSameJob(const Job& now, const Job& before) {
  EXPECT_EQ(toString(now.state), toString(before.state));
  EXPECT_EQ(now.attempt, before.attempt);
  EXPECT_EQ(now.failures, before.failures);
  EXPECT_EQ(msOf(now.run_at), msOf(before.run_at));
  EXPECT_EQ(now.lease_owner, before.lease_owner);
  EXPECT_EQ(msOf(now.lease_expires_at), msOf(before.lease_expires_at));
  EXPECT_EQ(msOf(now.started_at), msOf(before.started_at));
  EXPECT_EQ(msOf(now.deadline_at), msOf(before.deadline_at));
  EXPECT_EQ(errText(now.last_error), errText(before.last_error));
  EXPECT_EQ(msOf(now.updated_at), msOf(before.updated_at));
  EXPECT_EQ(msOf(now.finished_at), msOf(before.finished_at));
  // Sub-millisecond parts too: what a call returns is exactly what a read gives.
  EXPECT_EQ(now.run_at, before.run_at);
  EXPECT_EQ(now.deadline_at, before.deadline_at);
  EXPECT_EQ(now.updated_at, before.updated_at);
}

inline void expectSameOperation(const Operation& now, const Operation& before) {
  EXPECT_EQ(toString(now.state), toString(before.state));
  EXPECT_EQ(now.attempts, before.attempts);
  EXPECT_EQ(errText(now.error), errText(before.error));
  EXPECT_EQ(msOf(now.updated_at), msOf(before.updated_at));
  EXPECT_EQ(msOf(now.deadline), msOf(before.deadline));
}

}  // namespace zlh::coordinator::store::testing
