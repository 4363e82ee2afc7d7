// Queue benchmark (not a test): the store's enqueueJob -> claimJobs -> completeJob cycle beside
// the same cycle in plain SQL (the engine's own limit), in the same run, on SQLite (a temp file,
// synchronous=FULL as the store uses it; NORMAL for reference) and on PostgreSQL (the database
// ZLH_BENCH_PG_URL names, else ZLH_TEST_PG_URL; a scratch schema, dropped at the end).
// Usage (after a release build):
//   scripts/pg-cluster run build/release/bin/queue_bench [--seconds 3] [--rounds 3]
// Figures and their reading: docs/benchmarks.md, "Queue".
#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "coordinator/common/tokens.h"
#include "coordinator/store/store.h"

namespace {
namespace store = zlh::coordinator::store;
using Clock = std::chrono::steady_clock;

struct Options {
  double seconds = 3;  // per measurement
  int rounds = 3;      // bare and store alternate; the best round of each is reported
};

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

// ---- one worker's cycle, either engine, bare or store ------------------------------------------

/// Runs a cycle (returns jobs completed, 0 or 1) until the deadline; one per worker thread.
using Cycle = std::function<int()>;
using CycleFactory = std::function<Cycle(int worker)>;

/// jobs/s of `workers` threads, each running the cycle its factory makes, for `seconds`.
double measure(const CycleFactory& make, int workers, double seconds) {
  std::vector<Cycle> cycles;
  for (int w = 0; w < workers; ++w) cycles.push_back(make(w));
  std::atomic<int64_t> done{0};
  std::atomic<bool> go{false};
  const auto span = std::chrono::duration<double>(seconds);
  std::vector<std::thread> threads;
  std::vector<std::string> errors(workers);
  for (int w = 0; w < workers; ++w)
    threads.emplace_back([&, w] {
      while (!go.load()) std::this_thread::yield();
      auto start = Clock::now();
      try {
        while (Clock::now() - start < span) done += cycles[w]();
      } catch (const std::exception& e) {
        errors[w] = e.what();
      }
    });
  auto start = Clock::now();
  go = true;
  for (auto& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  for (const auto& e : errors)
    if (!e.empty()) fail(e);
  return done.load() / elapsed;
}

// ---- SQLite, plain SQL ------------------------------------------------------------------------

/// A minimal queue table: the columns the cycle needs and the claim's partial index. `INT` is
/// INTEGER on SQLite, BIGINT on PostgreSQL (times are unix ms).
std::string bareSchema(const std::string& int_type) {
  return "CREATE TABLE IF NOT EXISTS bare_jobs (id TEXT PRIMARY KEY, queue TEXT NOT NULL, "
         "state TEXT NOT NULL, attempt " +
         int_type + " NOT NULL DEFAULT 0, run_at " + int_type +
         " NOT NULL, lease_owner TEXT, lease_expires_at " + int_type +
         ", payload TEXT NOT NULL, finished_at " + int_type +
         "); CREATE INDEX IF NOT EXISTS bare_claimable ON bare_jobs (queue, run_at, id) "
         "WHERE state = 'available';";
}

class SqliteBare {
 public:
  SqliteBare(const std::string& path, const char* synchronous, const std::string& owner)
      : owner_(owner) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) fail("open " + path);
    sqlite3_busy_timeout(db_, 5000);
    exec(std::string("PRAGMA journal_mode=WAL; PRAGMA synchronous=") + synchronous + ";");
    exec(bareSchema("INTEGER"));
    insert_ = prepare(
        "INSERT INTO bare_jobs (id, queue, state, run_at, payload) "
        "VALUES (?, 'q', 'available', ?, '{}')");
    claim_ = prepare(
        "UPDATE bare_jobs SET state = 'running', attempt = attempt + 1, lease_owner = ?, "
        "lease_expires_at = ? WHERE id IN (SELECT id FROM bare_jobs WHERE state = 'available' "
        "AND queue = 'q' AND run_at <= ? ORDER BY run_at, id LIMIT 1) RETURNING id, attempt");
    complete_ = prepare(
        "UPDATE bare_jobs SET state = 'succeeded', lease_owner = NULL, finished_at = ? "
        "WHERE id = ? AND state = 'running' AND attempt = ? AND lease_owner = ?");
  }
  ~SqliteBare() {
    for (auto* s : {insert_, claim_, complete_}) sqlite3_finalize(s);
    sqlite3_close(db_);
  }

  /// insert; BEGIN IMMEDIATE, claim one, COMMIT; fenced complete.
  int cycle() {
    int64_t now = nowMs();
    std::string id = zlh::coordinator::common::newId("jb_");
    sqlite3_bind_text(insert_, 1, id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(insert_, 2, now);
    step(insert_, SQLITE_DONE);
    exec("BEGIN IMMEDIATE");
    sqlite3_bind_text(claim_, 1, owner_.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(claim_, 2, now + 30000);
    sqlite3_bind_int64(claim_, 3, now);
    std::string claimed;
    int64_t attempt = 0;
    int rc = sqlite3_step(claim_);
    if (rc == SQLITE_ROW) {
      claimed = reinterpret_cast<const char*>(sqlite3_column_text(claim_, 0));
      attempt = sqlite3_column_int64(claim_, 1);
      rc = sqlite3_step(claim_);
    }
    if (rc != SQLITE_DONE) fail(std::string("bare claim: ") + sqlite3_errmsg(db_));
    sqlite3_reset(claim_);
    exec("COMMIT");
    if (claimed.empty()) return 0;
    sqlite3_bind_int64(complete_, 1, nowMs());
    sqlite3_bind_text(complete_, 2, claimed.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(complete_, 3, attempt);
    sqlite3_bind_text(complete_, 4, owner_.c_str(), -1, SQLITE_TRANSIENT);
    step(complete_, SQLITE_DONE);
    return 1;
  }

 private:
  void exec(const std::string& sql) {
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK)
      fail(sql.substr(0, 40) + ": " + sqlite3_errmsg(db_));
  }
  sqlite3_stmt* prepare(const char* sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &s, nullptr) != SQLITE_OK)
      fail(std::string("prepare: ") + sqlite3_errmsg(db_));
    return s;
  }
  void step(sqlite3_stmt* s, int want) {
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != want) fail(std::string("bare step: ") + sqlite3_errmsg(db_));
  }

  sqlite3* db_ = nullptr;
  sqlite3_stmt *insert_ = nullptr, *claim_ = nullptr, *complete_ = nullptr;
  std::string owner_;
};

// ---- PostgreSQL, plain SQL ----------------------------------------------------------------------

class PgBare {
 public:
  PgBare(const std::string& url, const std::string& owner) : owner_(owner) {
    c_ = PQconnectdb(url.c_str());
    if (PQstatus(c_) != CONNECTION_OK) fail(std::string("connect: ") + PQerrorMessage(c_));
    PQsetNoticeProcessor(
        c_, [](void*, const char*) {}, nullptr);
    run(PQexec(c_, bareSchema("BIGINT").c_str()));
    prepare("ins",
            "INSERT INTO bare_jobs (id, queue, state, run_at, payload) "
            "VALUES ($1, 'q', 'available', $2, '{}')");
    // One statement: picks the oldest claimable row, skipping those other workers hold.
    prepare("claim",
            "UPDATE bare_jobs SET state = 'running', attempt = attempt + 1, lease_owner = $1, "
            "lease_expires_at = $2 WHERE id = (SELECT id FROM bare_jobs WHERE state = "
            "'available' AND queue = 'q' AND run_at <= $3 ORDER BY run_at, id LIMIT 1 "
            "FOR UPDATE SKIP LOCKED) RETURNING id, attempt");
    prepare("done",
            "UPDATE bare_jobs SET state = 'succeeded', lease_owner = NULL, finished_at = $1 "
            "WHERE id = $2 AND state = 'running' AND attempt = $3 AND lease_owner = $4");
  }
  ~PgBare() { PQfinish(c_); }

  int cycle() {
    std::string now = std::to_string(nowMs()), lease = std::to_string(nowMs() + 30000);
    std::string id = zlh::coordinator::common::newId("jb_");
    run(execPrepared("ins", {id.c_str(), now.c_str()}));
    PGresult* r = execPrepared("claim", {owner_.c_str(), lease.c_str(), now.c_str()});
    if (PQresultStatus(r) != PGRES_TUPLES_OK) run(r);
    if (PQntuples(r) == 0) {
      PQclear(r);
      return 0;
    }
    std::string claimed = PQgetvalue(r, 0, 0), attempt = PQgetvalue(r, 0, 1);
    PQclear(r);
    std::string done_at = std::to_string(nowMs());
    run(execPrepared("done", {done_at.c_str(), claimed.c_str(), attempt.c_str(), owner_.c_str()}));
    return 1;
  }

 private:
  PGresult* execPrepared(const char* name, std::initializer_list<const char*> params) {
    std::vector<const char*> v(params);
    return PQexecPrepared(c_, name, static_cast<int>(v.size()), v.data(), nullptr, nullptr, 0);
  }
  void prepare(const char* name, const char* sql) { run(PQprepare(c_, name, sql, 0, nullptr)); }
  void run(PGresult* r) {
    auto st = PQresultStatus(r);
    std::string err = PQresultErrorMessage(r);
    PQclear(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) fail("bare pg: " + err);
  }

  PGconn* c_;
  std::string owner_;
};

// ---- the store ----------------------------------------------------------------------------------

/// Where a store cycle's time goes: microseconds spent in each call, over all workers.
struct Breakdown {
  std::atomic<int64_t> enqueue_us{0}, claim_us{0}, complete_us{0}, cycles{0};
  void reset() { enqueue_us = claim_us = complete_us = cycles = 0; }
};
Breakdown g_breakdown;

int64_t usSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t).count();
}

/// enqueueJob -> claimJobs -> completeJob on one Store (one connection).
Cycle storeCycle(std::shared_ptr<store::Store> s, const std::string& owner) {
  return [s, owner] {
    store::NewJob nj;
    nj.kind = "bench.noop";
    auto now = zlh::coordinator::common::now();
    auto t = Clock::now();
    auto e = s->enqueueJob(nj, now);
    g_breakdown.enqueue_us += usSince(t);
    if (!e) fail("enqueue: " + e.error().message);
    store::ClaimRequest req;
    req.owner = owner;
    t = Clock::now();
    auto c = s->claimJobs(req, now);
    g_breakdown.claim_us += usSince(t);
    if (!c) fail("claim: " + c.error().message);
    if (c->empty()) return 0;
    t = Clock::now();
    auto f = s->completeJob(store::fenceOf((*c)[0]), store::JobState::kSucceeded, std::nullopt,
                            std::nullopt, zlh::coordinator::common::now());
    g_breakdown.complete_us += usSince(t);
    ++g_breakdown.cycles;
    if (!f) fail("complete: " + f.error().message);
    return *f == store::FenceResult::kApplied ? 1 : 0;
  };
}

CycleFactory storeFactory(const std::string& url) {
  auto first = store::openStore(url, {.create = true});
  if (!first) fail("open store: " + first.error().message);
  if (auto m = (*first)->migrate(); !m) fail("migrate: " + m.error().message);
  return [url](int w) {
    auto s = store::openStore(url, {});
    if (!s) fail("open store: " + s.error().message);
    return storeCycle(std::shared_ptr<store::Store>(std::move(*s)), "w" + std::to_string(w));
  };
}

// ---- report -------------------------------------------------------------------------------------

struct Row {
  std::string engine, setting;
  int workers;
  double bare, store;  // jobs/s, 0 when not measured
};

void print(const std::vector<Row>& rows) {
  std::printf("\n| engine | setting | workers | bare SQL jobs/s | store jobs/s | store/bare |\n");
  std::printf("|---|---|---|---|---|---|\n");
  for (const auto& r : rows) {
    auto num = [](double v) { return v > 0 ? std::to_string(static_cast<int64_t>(v)) : "-"; };
    std::string ratio = r.bare > 0 && r.store > 0 ? std::to_string(r.store / r.bare) : "-";
    if (ratio != "-") ratio.resize(4);
    std::printf("| %s | %s | %d | %s | %s | %s |\n", r.engine.c_str(), r.setting.c_str(), r.workers,
                num(r.bare).c_str(), num(r.store).c_str(), ratio.c_str());
  }
}

/// Best of `rounds` for bare and store, measured alternately (load from elsewhere hits both).
Row compare(const std::string& engine, const std::string& setting, int workers,
            const CycleFactory& bare, const CycleFactory& st, const Options& o) {
  Row row{engine, setting, workers, 0, 0};
  for (int i = 0; i < o.rounds; ++i) {
    if (bare) row.bare = std::max(row.bare, measure(bare, workers, o.seconds));
    if (st) row.store = std::max(row.store, measure(st, workers, o.seconds));
  }
  std::fprintf(stderr, "  %s %s x%d: bare %.0f, store %.0f jobs/s\n", engine.c_str(),
               setting.c_str(), workers, row.bare, row.store);
  if (int64_t n = g_breakdown.cycles.load(); n > 0)
    std::fprintf(stderr, "    store call means: enqueue %.0f us, claim %.0f us, complete %.0f us\n",
                 double(g_breakdown.enqueue_us) / n, double(g_breakdown.claim_us) / n,
                 double(g_breakdown.complete_us) / n);
  g_breakdown.reset();
  return row;
}

/// fdatasync of a 4 KB write per second in `dir`, one thread, over one second: the disk figure
/// the SQLite rows stand on.
double fsyncRate(const std::string& dir) {
  std::string path = dir + "/fsync-probe";
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return 0;
  char block[4096] = {};
  int n = 0;
  auto start = Clock::now();
  for (; Clock::now() - start < std::chrono::seconds(1); ++n) {
    if (pwrite(fileno(f), block, sizeof block, 0) != static_cast<ssize_t>(sizeof block)) break;
    fdatasync(fileno(f));
  }
  std::fclose(f);
  std::filesystem::remove(path);
  return n;
}

void runSqlite(const Options& o, std::vector<Row>& rows) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "zlh-queue-bench-XXXXXX").string();
  std::string dir = mkdtemp(tmpl.data());
  std::fprintf(stderr, "sqlite in %s: fdatasync %.0f/s (one thread)\n", dir.c_str(),
               fsyncRate(dir));
  auto bare = [&dir](const char* sync, const char* file) -> CycleFactory {
    return [=](int w) {
      auto b = std::make_shared<SqliteBare>(dir + "/" + file, sync, "w" + std::to_string(w));
      return Cycle([b] { return b->cycle(); });
    };
  };
  auto st = storeFactory("sqlite://" + dir + "/store.db");
  rows.push_back(compare("sqlite", "synchronous=FULL", 1, bare("FULL", "full.db"), st, o));
  rows.push_back(compare("sqlite", "synchronous=FULL", 4, bare("FULL", "full.db"), st, o));
  rows.push_back(compare("sqlite", "synchronous=NORMAL (reference)", 1, bare("NORMAL", "normal.db"),
                         nullptr, o));
  std::filesystem::remove_all(dir);
}

void runPostgres(const std::string& base, const Options& o, std::vector<Row>& rows) {
  PGconn* admin = PQconnectdb(base.c_str());
  if (PQstatus(admin) != CONNECTION_OK) fail(std::string("connect: ") + PQerrorMessage(admin));
  PQsetNoticeProcessor(
      admin, [](void*, const char*) {}, nullptr);
  auto one = [admin](const std::string& sql) {
    PGresult* r = PQexec(admin, sql.c_str());
    std::string v = PQresultStatus(r) == PGRES_TUPLES_OK ? PQgetvalue(r, 0, 0) : "";
    PQclear(r);
    return v;
  };
  std::string schema = "zlh_bench_" + zlh::coordinator::common::newId("").substr(0, 10);
  std::transform(schema.begin(), schema.end(), schema.begin(), ::tolower);
  PQclear(PQexec(admin, ("CREATE SCHEMA " + schema).c_str()));
  std::string setting =
      "fsync=" + one("SHOW fsync") + ", synchronous_commit=" + one("SHOW synchronous_commit");
  std::fprintf(stderr, "postgres %s, schema %s\n", one("SHOW server_version").c_str(),
               schema.c_str());
  std::string url = base + (base.find('?') == std::string::npos ? "?" : "&") +
                    "options=-csearch_path%3D" + schema;
  try {
    auto bare = [url](int w) {
      auto b = std::make_shared<PgBare>(url, "w" + std::to_string(w));
      return Cycle([b] { return b->cycle(); });
    };
    auto st = storeFactory(url);
    for (int workers : {1, 4}) rows.push_back(compare("postgres", setting, workers, bare, st, o));
  } catch (...) {
    PQclear(PQexec(admin, ("DROP SCHEMA " + schema + " CASCADE").c_str()));
    PQfinish(admin);
    throw;
  }
  PQclear(PQexec(admin, ("DROP SCHEMA " + schema + " CASCADE").c_str()));
  PQfinish(admin);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--seconds")
      o.seconds = std::atof(argv[i + 1]);
    else if (a == "--rounds")
      o.rounds = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: queue_bench [--seconds S] [--rounds N]\n");
      return 2;
    }
  }
  std::vector<Row> rows;
  try {
    runSqlite(o, rows);
    const char* pg = std::getenv("ZLH_BENCH_PG_URL");
    if (!pg || !*pg) pg = std::getenv("ZLH_TEST_PG_URL");
    if (pg && *pg)
      runPostgres(pg, o, rows);
    else
      std::fprintf(
          stderr, "postgres skipped: set ZLH_BENCH_PG_URL (or run under scripts/pg-cluster run)\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "queue_bench: %s\n", e.what());
    return 1;
  }
  print(rows);
  return 0;
}
