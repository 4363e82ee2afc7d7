#include "agent/sdk/job.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace zlh::agent::sdk {
namespace {
using nlohmann::json;

TEST(JobReply, DeliversEveryCallToTheCore) {
  std::vector<bool> seen;
  {
    JobReply r([&](Result<json> res) { seen.push_back(res.ok()); });
    r(json{{"x", 1}});
    r(makeError(ErrorCode::kInternal, "again"));  // the core ignores and logs the second one
  }
  EXPECT_EQ(seen, (std::vector<bool>{true, false}));
}

TEST(JobReply, DroppedReplyAnswersInternal) {
  std::vector<std::string> messages;
  {
    JobReply r(
        [&](Result<json> res) { messages.push_back(res.ok() ? "ok" : res.error().message); });
  }
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0], "plugin dropped the job without replying");
}

TEST(JobReply, MovedReplyAnswersOnceFromAnotherThread) {
  int calls = 0;
  JobReply r([&](Result<json>) { ++calls; });
  JobReply moved = std::move(r);
  EXPECT_FALSE(r.valid());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  std::thread t([m = std::move(moved)]() mutable { m(json::object()); });
  t.join();
  EXPECT_EQ(calls, 1);
}

TEST(Job, ProgressAndCancelGoThroughSignals) {
  std::vector<std::string> progress;
  Job job;
  job.signals = std::make_shared<JobSignals>(
      [&](std::optional<double>, std::string message) { progress.push_back(message); });
  job.progress(10, "ten");
  EXPECT_FALSE(job.cancelled());
  job.signals->cancel();
  EXPECT_TRUE(job.cancelled());
  job.progress(20, "after cancel");
  EXPECT_EQ(progress, std::vector<std::string>{"ten"});
  Job bare;
  bare.progress(1, "no signals: ignored");
  EXPECT_FALSE(bare.cancelled());
}

}  // namespace
}  // namespace zlh::agent::sdk
