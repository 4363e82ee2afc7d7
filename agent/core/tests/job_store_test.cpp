#include "agent/core/jobs/job_store.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "proto/v1/codec.h"

namespace zlh::agent::core {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

class JobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::temp_directory_path() / ("zlh-jobs-" + std::to_string(std::random_device{}())) / "jobs";
  }
  void TearDown() override { fs::remove_all(dir_.parent_path()); }

  JobStore make(JobStore::Options o = {}) {
    return JobStore(dir_, o, [this] { return now_; });
  }
  static JobRecord rec(const std::string& id, json result = json{{"ok", true}}) {
    JobRecord r;
    r.job_id = id;
    r.kind = "test.run";
    r.plugin = "test";
    r.result = std::move(result);
    return r;
  }

  fs::path dir_;
  int64_t now_ = proto::nowUnixMs();  // files written by hand get the real clock
};

TEST_F(JobStoreTest, PutLoadAndReopen) {
  {
    auto s = make();
    ASSERT_TRUE(s.open().ok());
    ASSERT_TRUE(s.put(rec("j1", json{{"n", 1}})).ok());
    JobRecord e = rec("j2");
    e.result.reset();
    e.error = sdk::makeError(sdk::ErrorCode::kNotFound, "gone");
    ASSERT_TRUE(s.put(e).ok());
    EXPECT_TRUE(s.contains("j1"));
    EXPECT_FALSE(s.contains("j3"));
  }
  auto s = make();
  ASSERT_TRUE(s.open().ok());
  EXPECT_EQ(s.size(), 2u);
  auto r1 = s.load("j1");
  ASSERT_TRUE(r1.ok()) << r1.error().message;
  EXPECT_EQ(*r1->result, (json{{"n", 1}}));
  EXPECT_EQ(r1->plugin, "test");
  auto r2 = s.load("j2");
  ASSERT_TRUE(r2.ok());
  ASSERT_TRUE(r2->error.has_value());
  EXPECT_EQ(r2->error->code, sdk::ErrorCode::kNotFound);
  EXPECT_EQ(fs::status(dir_).permissions() & fs::perms::all, fs::perms::owner_all);
}

TEST_F(JobStoreTest, UnsafeIdsAreHashedAndRoundTrip) {
  auto s = make();
  ASSERT_TRUE(s.open().ok());
  const std::string weird = "../../etc/passwd \u00e9/x";
  EXPECT_EQ(JobStore::fileName(weird).rfind("h-", 0), 0u);
  EXPECT_EQ(JobStore::fileName("abc-DEF_1"), "j-abc-DEF_1.json");
  ASSERT_TRUE(s.put(rec(weird)).ok());
  EXPECT_TRUE(s.contains(weird));
  EXPECT_EQ(s.load(weird)->job_id, weird);
  for (const auto& e : fs::directory_iterator(dir_)) EXPECT_EQ(e.path().parent_path(), dir_);
}

TEST_F(JobStoreTest, ExpiresAfterMaxAge) {
  auto s = make();
  ASSERT_TRUE(s.open().ok());
  ASSERT_TRUE(s.put(rec("old")).ok());
  now_ += 23 * 3600 * 1000;
  ASSERT_TRUE(s.put(rec("new")).ok());
  EXPECT_TRUE(s.contains("old"));
  now_ += 2 * 3600 * 1000;  // "old" is now 25 h old
  EXPECT_FALSE(s.contains("old"));
  s.prune();
  EXPECT_EQ(s.size(), 1u);
  EXPECT_FALSE(fs::exists(dir_ / JobStore::fileName("old")));
  // Also across a reopen: the index comes from file times.
  auto again = make();
  ASSERT_TRUE(again.open().ok());
  EXPECT_TRUE(again.contains("new"));
  EXPECT_FALSE(again.contains("old"));
}

TEST_F(JobStoreTest, KeepsAtMostMaxEntriesDroppingOldest) {
  auto s = make(JobStore::Options{std::chrono::hours(24), 3});
  ASSERT_TRUE(s.open().ok());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(s.put(rec("j" + std::to_string(i))).ok());
    now_ += 1000;
  }
  EXPECT_EQ(s.size(), 3u);
  EXPECT_FALSE(s.contains("j0"));
  EXPECT_FALSE(s.contains("j1"));
  EXPECT_TRUE(s.contains("j4"));
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir_)) files += e.is_regular_file();
  EXPECT_EQ(files, 3u);
}

TEST_F(JobStoreTest, RemovesTempFilesAndReportsCorruptRecords) {
  fs::create_directories(dir_);
  std::ofstream(dir_ / "j-half.json.tmp") << "{";
  std::ofstream(dir_ / "j-bad.json") << "not json";
  auto s = make();
  ASSERT_TRUE(s.open().ok());
  EXPECT_FALSE(fs::exists(dir_ / "j-half.json.tmp"));
  auto r = s.load("bad");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("corrupt record"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace zlh::agent::core
