// Job queues on both engines under load: concurrent claimers, 16 workers on their own
// connections (SQLite's single writer must not surface SQLITE_BUSY), and claim throughput with a
// long finished history (FIELD-NOTES: "the history trap"). Sizes shrink in sanitizer builds
// (kSanitizerScale); the full-size figures are in each case.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>

#include "coordinator/store/tests/queue_fixture.h"

namespace zlh::coordinator::store {
namespace {
using testing::Engine;
using testing::kSanitizerScale;
using namespace std::chrono_literals;

class QueueLoadTest : public testing::QueueTest {};

INSTANTIATE_TEST_SUITE_P(Engines, QueueLoadTest,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         testing::engineName);

/// Errors seen by worker threads, reported once they are joined.
class ErrorLog {
 public:
  void add(const std::string& what, const proto::Error& e) {
    std::lock_guard lock(mu_);
    errors_.push_back(what + ": [" + std::string(proto::toWire(e.code)) + "] " + e.message);
  }
  void add(const std::string& what) {
    std::lock_guard lock(mu_);
    errors_.push_back(what);
  }
  size_t size() const { return errors_.size(); }
  std::string first(size_t n = 5) const {
    std::string out;
    for (size_t i = 0; i < errors_.size() && i < n; ++i) out += "\n  " + errors_[i];
    return out;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> errors_;
};

TEST_P(QueueLoadTest, ConcurrentClaimersTakeEveryJobExactlyOnce) {
  const int kJobs = 240 / kSanitizerScale;  // full size 240
  constexpr int kWorkers = 6;
  for (int i = 0; i < kJobs; ++i) enqueue(QueueName::kProvisioning, "k", at(-1s));
  std::vector<std::unique_ptr<Store>> stores;
  for (int i = 0; i < kWorkers; ++i) stores.push_back(connect());
  ASSERT_TRUE(std::all_of(stores.begin(), stores.end(), [](auto& s) { return s != nullptr; }));

  ErrorLog errors;
  std::vector<std::vector<Job>> claimed(kWorkers);
  std::atomic<int> claimed_total{0}, done_claiming{0}, applied{0}, refused{0};
  auto owner = [](int i) { return "worker-" + std::to_string(i); };
  std::vector<std::thread> threads;
  for (int w = 0; w < kWorkers; ++w)
    threads.emplace_back([&, w] {
      Store& s = *stores[w];
      // Claim in small batches until every job is taken (an empty answer may only mean the
      // rest are locked by other claimers right now). The deadline only ends a lost-job bug.
      auto deadline = std::chrono::steady_clock::now() + 60s;
      while (claimed_total.load() < kJobs && std::chrono::steady_clock::now() < deadline) {
        auto r = s.claimJobs(claimOf(owner(w), 1 + w % 3), t_);
        if (!r) {
          errors.add("claim", r.error());
          break;
        }
        claimed_total += static_cast<int>(r->size());
        claimed[w].insert(claimed[w].end(), r->begin(), r->end());
      }
      ++done_claiming;
      while (done_claiming.load() < kWorkers) std::this_thread::yield();
      // Completions race: each worker also tries its neighbour's jobs under its own name.
      const auto& theirs = claimed[(w + 1) % kWorkers];
      for (size_t i = 0; i < std::max(theirs.size(), claimed[w].size()); ++i) {
        if (i < theirs.size()) {
          Fence forged{theirs[i].id, theirs[i].attempt, owner(w)};
          auto f = s.completeJob(forged, JobState::kSucceeded, std::nullopt, std::nullopt, t_);
          if (!f)
            errors.add("forged complete", f.error());
          else if (*f == FenceResult::kApplied)
            errors.add("a completion by the wrong owner was applied: " + theirs[i].id);
          else
            ++refused;
        }
        if (i < claimed[w].size()) {
          auto f = s.completeJob(fenceOf(claimed[w][i]), JobState::kSucceeded, std::nullopt,
                                 std::nullopt, t_);
          if (!f)
            errors.add("complete", f.error());
          else if (*f != FenceResult::kApplied)
            errors.add("own completion refused: " + claimed[w][i].id);
          else
            ++applied;
        }
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.size(), 0u) << errors.first();

  std::set<std::string> distinct;
  size_t total = 0;
  for (int w = 0; w < kWorkers; ++w) {
    total += claimed[w].size();
    for (const auto& j : claimed[w]) {
      distinct.insert(j.id);
      EXPECT_EQ(j.attempt, 1) << j.id;
      EXPECT_EQ(j.lease_owner, owner(w));
    }
  }
  EXPECT_EQ(total, static_cast<size_t>(kJobs));
  EXPECT_EQ(distinct.size(), static_cast<size_t>(kJobs));  // none twice, none lost
  EXPECT_EQ(applied.load(), kJobs);
  EXPECT_EQ(refused.load(), kJobs);
  auto stats = store_->queueStats(t_);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ((*stats)[0].jobs.at(JobState::kSucceeded), kJobs);
  EXPECT_EQ((*stats)[0].jobs.at(JobState::kAvailable), 0);
  EXPECT_EQ((*stats)[0].jobs.at(JobState::kRunning), 0);
}

TEST_P(QueueLoadTest, ACancelRacingAClaimLeavesOneWinner) {
  // The API cancels on one connection while a worker claims on another: either the worker got
  // the job (the cancel is a Conflict) or the cancel did (the claim finds nothing).
  auto worker = connect();
  ASSERT_TRUE(worker);
  OperationOutcome outcome;
  outcome.force_state = "cancelled";
  int claimed_first = 0, cancelled_first = 0;
  for (int round = 0; round < 12; ++round) {
    auto created = createOn("nd_a", "k" + std::to_string(round));
    const std::string op_id = created.operation->id;
    std::atomic<bool> go{false};
    Result<std::vector<Job>> got = std::vector<Job>{};
    Result<Operation> cancel = Operation{};
    std::thread claimer([&] {
      while (!go.load()) std::this_thread::yield();
      got = worker->claimJobs(claimOf("w", 1, {"nd_a"}), t_);
    });
    std::thread canceller([&] {
      while (!go.load()) std::this_thread::yield();
      cancel = store_->cancelOperation(op_id, outcome, t_);
    });
    go = true;
    claimer.join();
    canceller.join();
    ASSERT_TRUE(got.ok()) << got.error().message;
    Job j = job(jobIdOfOperation(op_id));
    Operation o = op(op_id);
    if (got->size() == 1) {
      ++claimed_first;
      ASSERT_FALSE(cancel.ok());
      EXPECT_EQ(cancel.error().code, proto::ErrorCode::kConflict) << cancel.error().message;
      EXPECT_EQ(toString(j.state), "running");
      EXPECT_EQ(toString(o.state), "running");
      ASSERT_EQ(*store_->completeJob(fenceOf((*got)[0]), JobState::kSucceeded, std::nullopt,
                                     std::nullopt, t_),
                FenceResult::kApplied);
    } else {
      ++cancelled_first;
      ASSERT_TRUE(cancel.ok()) << cancel.error().message;
      EXPECT_TRUE(got->empty());
      EXPECT_EQ(toString(j.state), "cancelled");
      EXPECT_EQ(toString(o.state), "cancelled");
    }
  }
  std::cout << "[ figures  ] claim won " << claimed_first << ", cancel won " << cancelled_first
            << "\n";
}

// Acceptance: 16 workers, each on its own connection, hammer one queue for a few seconds; not
// one call fails. On SQLite every write waits for the single writer lock, so this is where
// SQLITE_BUSY ("database is locked") would reach a caller. Time-boxed rather than counted: the
// risk is a caller starved past the lock timeout, which takes seconds of contention to show
// whatever the disk's speed.
TEST_P(QueueLoadTest, SixteenWorkersOnTheirOwnConnectionsSeeNoError) {
  constexpr int kWorkers = 16;
  constexpr auto kRunFor = 8s;
  std::vector<std::unique_ptr<Store>> stores;
  for (int i = 0; i < kWorkers; ++i) stores.push_back(connect());
  ASSERT_TRUE(std::all_of(stores.begin(), stores.end(), [](auto& s) { return s != nullptr; }));

  ErrorLog errors;
  std::atomic<int> enqueued{0}, completed{0}, empty_claims{0};
  std::atomic<int64_t> slowest_us{0};
  std::atomic<bool> go{false};
  const auto started = std::chrono::steady_clock::now(), stop = started + kRunFor;
  std::vector<std::thread> threads;
  for (int w = 0; w < kWorkers; ++w)
    threads.emplace_back([&, w] {
      Store& s = *stores[w];
      const std::string owner = "worker-" + std::to_string(w);
      auto timed = [&](auto&& call) {
        auto t0 = std::chrono::steady_clock::now();
        auto r = call();
        int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::steady_clock::now() - t0)
                         .count();
        for (int64_t seen = slowest_us.load(); us > seen;)
          if (slowest_us.compare_exchange_weak(seen, us)) break;
        return r;
      };
      while (!go.load()) std::this_thread::yield();
      while (std::chrono::steady_clock::now() < stop) {
        NewJob nj;
        nj.kind = "load.cycle";
        auto e = timed([&] { return s.enqueueJob(nj, t_); });
        if (!e) {
          errors.add("enqueue", e.error());
          continue;
        }
        ++enqueued;
        auto c = timed([&] { return s.claimJobs(claimOf(owner), t_); });
        if (!c) {
          errors.add("claim", c.error());
          continue;
        }
        if (c->empty()) ++empty_claims;  // another worker took every due job first
        for (const auto& j : *c) {
          auto f = timed([&] {
            return s.completeJob(fenceOf(j), JobState::kSucceeded, std::nullopt, std::nullopt, t_);
          });
          if (!f)
            errors.add("complete", f.error());
          else if (*f != FenceResult::kApplied)
            errors.add("completion refused: " + j.id);
          else
            ++completed;
        }
      }
    });
  go = true;
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_EQ(errors.size(), 0u) << errors.size() << " calls failed, first:" << errors.first();

  // Whatever the workers left (their claims came up empty while others held the jobs) drains.
  for (auto left = claim(claimOf("drain", 1000), t_); !left.empty();
       left = claim(claimOf("drain", 1000), t_))
    for (const auto& j : left) {
      ASSERT_EQ(
          *store_->completeJob(fenceOf(j), JobState::kSucceeded, std::nullopt, std::nullopt, t_),
          FenceResult::kApplied);
      ++completed;
    }
  EXPECT_GT(enqueued.load(), kWorkers);
  EXPECT_EQ(completed.load(), enqueued.load());
  auto stats = store_->queueStats(t_);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ((*stats)[0].jobs.at(JobState::kSucceeded), enqueued.load());
  EXPECT_EQ((*stats)[0].jobs.at(JobState::kAvailable), 0);
  std::cout << "[ figures  ] " << kWorkers << " workers: " << completed.load() << " jobs in "
            << secs << " s (" << (completed.load() / secs) << " jobs/s), " << empty_claims.load()
            << " empty claims, slowest call " << slowest_us.load() / 1000 << " ms\n";
}

/// `n` finished jobs in the provisioning queue, as a week of history would leave them: mostly
/// succeeded, some failed or cancelled, random ids, finished before `before_ms`.
std::string historySql(Engine engine, int n, int64_t before_ms) {
  const std::string b = std::to_string(before_ms), count = std::to_string(n);
  const std::string cols =
      "INSERT INTO jobs (id, queue, kind, payload, state, attempt, failures, max_attempts, run_at, "
      "started_at, deadline_at, created_at, updated_at, finished_at) ";
  const std::string values =
      "'provisioning', 'history.done', '{}', CASE i % 10 WHEN 0 THEN 'failed' WHEN 1 THEN "
      "'cancelled' ELSE 'succeeded' END, 1, 0, 5, " +
      b + " - i * 1000, " + b + " - i * 1000, " + b + " - i * 1000 + 600000, " + b +
      " - i * 1000, " + b + " - i * 1000 + 50, " + b + " - i * 1000 + 50";
  if (engine == Engine::kSqlite)
    return "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " + count +
           ") " + cols + "SELECT 'jb_h' || lower(hex(randomblob(8))), " + values + " FROM n";
  return cols + "SELECT 'jb_h' || substr(md5(i::text), 1, 16), " + values +
         " FROM generate_series(1, " + count + ") AS i";
}

/// enqueue -> claim -> complete cycles per second on one connection, over `span`; -1 after an
/// error.
double cycleRate(Store& s, std::chrono::milliseconds span, Time now) {
  const auto start = std::chrono::steady_clock::now();
  int cycles = 0;
  for (; std::chrono::steady_clock::now() - start < span; ++cycles) {
    NewJob nj;
    nj.kind = "history.cycle";
    auto e = s.enqueueJob(nj, now);
    ClaimRequest req;
    req.owner = "w";
    auto c = e ? s.claimJobs(req, now) : Result<std::vector<Job>>(e.error());
    if (!c || c->size() != 1) {
      ADD_FAILURE() << "cycle " << cycles << ": "
                    << (c ? "claimed " + std::to_string(c->size()) : c.error().message);
      return -1;
    }
    auto f = s.completeJob(fenceOf((*c)[0]), JobState::kSucceeded, std::nullopt, std::nullopt, now);
    if (!f || *f != FenceResult::kApplied) {
      ADD_FAILURE() << "cycle " << cycles << ": completion " << (f ? "refused" : f.error().message);
      return -1;
    }
  }
  return cycles / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// Claims per second that find nothing due: the claim query alone, without a commit to wait for.
double idleClaimRate(Store& s, int claims, Time now) {
  const auto start = std::chrono::steady_clock::now();
  ClaimRequest req;
  req.owner = "w";
  for (int i = 0; i < claims; ++i) {
    auto c = s.claimJobs(req, now);
    if (!c || !c->empty()) {
      ADD_FAILURE() << "idle claim " << i << ": " << (c ? "claimed a job" : c.error().message);
      return -1;
    }
  }
  return claims / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Acceptance: with 100,000 finished jobs kept, claim throughput (enqueue, claim, complete
// cycles) stays within 20 % of an empty table's: the partial indexes keep history out of the
// claim's path. The empty table is a second database of the same engine; runs alternate between
// the two so that load from elsewhere on the machine hits both alike, and the best of each is
// compared. A cycle waits for three commits, so a slow disk (fsync) can hide a slow query: idle
// claims (nothing due, nothing to commit) time the claim query alone, and a plan that reads the
// history is orders of magnitude slower (0.02-0.08 of the empty table's with the partial index
// dropped), so a 2x bound catches it without flaking on noise (SQLite; PostgreSQL: below).
TEST_P(QueueLoadTest, AFinishedHistoryDoesNotSlowClaims) {
  const int kHistory = 100000 / kSanitizerScale;  // full size 100,000
  // Five short runs a side rather than three long ones: the best of more samples is steadier on
  // a shared machine. A run is ~1,300 cycles where a commit takes ~0.2 ms (FIELD-NOTES' disk),
  // ~70 where it takes ~4 ms (this disk on a quiet day): 6,500 or 350 cycles a side.
  constexpr auto kSpan = 800ms;
  constexpr int kRuns = 5, kIdleClaims = 300;
  auto empty = openStore(tmp_.emptyDatabaseUrl(), {.create = true});
  ASSERT_TRUE(empty.ok()) << empty.error().message;
  ASSERT_TRUE((*empty)->migrate().ok());
  tmp_.execRaw(historySql(GetParam(), kHistory, common::toUnixMs(t_ - 24h)));
  ASSERT_EQ(tmp_.count("jobs"), kHistory);
  // What a server does on its own after a bulk load, done now: otherwise PostgreSQL's autovacuum
  // works through the 100k new rows during the measurement and takes CPU from one side only.
  tmp_.execRaw(GetParam() == Engine::kPostgres ? "VACUUM ANALYZE jobs" : "ANALYZE");

  double empty_cycles = 0, history_cycles = 0, empty_idle = 0, history_idle = 0;
  for (int run = 0; run < kRuns; ++run) {
    double e = cycleRate(**empty, kSpan, t_), h = cycleRate(*store_, kSpan, t_);
    ASSERT_GT(e, 0);
    ASSERT_GT(h, 0);
    empty_cycles = std::max(empty_cycles, e);
    history_cycles = std::max(history_cycles, h);
    e = idleClaimRate(**empty, kIdleClaims, t_);
    h = idleClaimRate(*store_, kIdleClaims, t_);
    ASSERT_GT(e, 0);
    ASSERT_GT(h, 0);
    empty_idle = std::max(empty_idle, e);
    history_idle = std::max(history_idle, h);
  }
  std::cout << "[ figures  ] best of " << kRuns << ", empty vs " << kHistory
            << " finished: cycles/s " << empty_cycles << " vs " << history_cycles << " (ratio "
            << history_cycles / empty_cycles << "), idle claims/s " << empty_idle << " vs "
            << history_idle << " (ratio " << history_idle / empty_idle << ")\n";
  EXPECT_GE(history_cycles, 0.8 * empty_cycles);
  // Idle claims are a figure, not a bound, on PostgreSQL: there they run at 0.3-0.6 of the empty
  // table's (0.02 ms against 0.05 ms a claim) although the plan is the same partial-index scan
  // (EXPLAIN ANALYZE: 0.012 ms, no history read); a VACUUM before measuring brings ~0.64, forcing
  // generic plans nothing. Open question (docs/queues.md); the acceptance bound above holds.
  if (GetParam() == Engine::kSqlite) {
    EXPECT_GE(history_idle, 0.5 * empty_idle);
  }
}

}  // namespace
}  // namespace zlh::coordinator::store
