#include "agent/sdk/instances.h"

#include <gtest/gtest.h>

#include <set>

#include "agent/sdk/listener_list.h"
#include "agent/sdk/supervisor.h"

namespace zlh::agent::sdk {
namespace {
using S = InstanceState;

const std::vector<S> kAll{S::kInstalling, S::kInstalled, S::kStarting, S::kRunning, S::kReady,
                          S::kStopping,   S::kStopped,   S::kCrashed,  S::kFailed};

TEST(InstanceState, NamesRoundTrip) {
  std::set<std::string> names;
  for (S s : kAll) {
    auto name = std::string(toString(s));
    names.insert(name);
    EXPECT_EQ(instanceStateFromString(name), s);
  }
  EXPECT_EQ(names.size(), kAll.size());
  EXPECT_FALSE(instanceStateFromString("deleting"));
  EXPECT_FALSE(instanceStateFromString("Running"));
}

TEST(InstanceState, TableMatchesLifecycleDoc) {
  // docs/lifecycle.md "States", written out pair by pair so a change of either side shows.
  const std::set<std::pair<S, S>> allowed{
      {S::kInstalling, S::kInstalled}, {S::kInstalling, S::kFailed}, {S::kInstalled, S::kStarting},
      {S::kInstalled, S::kInstalling}, {S::kInstalled, S::kStopped}, {S::kStarting, S::kRunning},
      {S::kStarting, S::kReady},       {S::kStarting, S::kStopping}, {S::kStarting, S::kStopped},
      {S::kStarting, S::kCrashed},     {S::kStarting, S::kFailed},   {S::kRunning, S::kReady},
      {S::kRunning, S::kStopping},     {S::kRunning, S::kStopped},   {S::kRunning, S::kCrashed},
      {S::kReady, S::kRunning},        {S::kReady, S::kStopping},    {S::kReady, S::kStopped},
      {S::kReady, S::kCrashed},        {S::kStopping, S::kStopped},  {S::kStopping, S::kCrashed},
      {S::kStopping, S::kFailed},      {S::kStopped, S::kStarting},  {S::kStopped, S::kInstalling},
      {S::kCrashed, S::kStarting},     {S::kCrashed, S::kStopped},   {S::kCrashed, S::kFailed},
      {S::kFailed, S::kStarting},      {S::kFailed, S::kInstalling}, {S::kFailed, S::kStopped},
  };
  int n = 0;
  for (S from : kAll)
    for (S to : kAll) {
      bool want = allowed.count({from, to}) > 0;
      EXPECT_EQ(transitionAllowed(from, to), want) << toString(from) << " -> " << toString(to);
      n += want;
    }
  EXPECT_EQ(n, 30);
}

TEST(InstanceId, Validation) {
  EXPECT_TRUE(validInstanceId("mc-1"));
  EXPECT_TRUE(validInstanceId("A_b-9"));
  EXPECT_TRUE(validInstanceId(std::string(64, 'x')));
  EXPECT_FALSE(validInstanceId(std::string(65, 'x')));
  EXPECT_FALSE(validInstanceId(""));
  EXPECT_FALSE(validInstanceId("a.b"));
  EXPECT_FALSE(validInstanceId("../x"));
  EXPECT_FALSE(validInstanceId("a b"));
}

TEST(ExitRecord, JsonRoundTripAndShimShape) {
  auto shim = nlohmann::json::parse(
      R"({"code":3,"signal":null,"oom_killed":false,"started_at":"2025-01-31T12:00:00.123Z",
          "exited_at":"2025-01-31T12:05:00.456Z","last_lines":["a","Stopping server"]})");
  auto r = ExitRecord::fromJson(shim);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().code, 3);
  EXPECT_FALSE(r.value().signal);
  EXPECT_FALSE(r.value().lost);
  EXPECT_EQ(r.value().last_lines.size(), 2u);
  auto j = r.value().toJson();
  EXPECT_EQ(j["code"], 3);
  EXPECT_TRUE(j["signal"].is_null());
  EXPECT_EQ(j["lost"], false);
  auto back = ExitRecord::fromJson(j);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back.value().toJson(), j);

  ExitRecord lost;
  lost.lost = true;
  EXPECT_TRUE(lost.toJson()["code"].is_null());
  EXPECT_FALSE(ExitRecord::fromJson(nlohmann::json::array()).ok());
  EXPECT_FALSE(ExitRecord::fromJson({{"code", "x"}}).ok());
}

TEST(SignalName, Normalized) {
  EXPECT_EQ(normalizeSignalName("TERM"), "TERM");
  EXPECT_EQ(normalizeSignalName("sigkill"), "KILL");
  EXPECT_EQ(normalizeSignalName("SIGCONT"), "CONT");
  EXPECT_FALSE(normalizeSignalName("NOPE"));
  EXPECT_FALSE(normalizeSignalName(""));
  EXPECT_FALSE(normalizeSignalName("9"));
}

TEST(ListenerList, UnsubscribeDuringNotify) {
  ListenerList<int> list;
  std::vector<int> seen;
  SubscriptionPtr b;
  auto a = list.add([&](int v) {
    seen.push_back(v);
    b.reset();  // removes the next one before its turn
  });
  b = list.add([&](int v) { seen.push_back(100 + v); });
  SubscriptionPtr self;
  self = list.add([&](int v) {
    seen.push_back(200 + v);
    self.reset();  // removes itself while running
  });
  list.notify(1);
  list.notify(2);
  EXPECT_EQ(seen, (std::vector<int>{1, 201, 2}));
  EXPECT_EQ(list.size(), 1u);
  {
    auto outlives = std::make_unique<ListenerList<int>>();
    auto h = outlives->add([](int) {});
    outlives.reset();  // the handle outlives the list: no crash on destruction
  }
}

}  // namespace
}  // namespace zlh::agent::sdk
