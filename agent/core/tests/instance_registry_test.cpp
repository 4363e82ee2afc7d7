#include "agent/core/instances/instance_registry.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <random>

#include "agent/core/util/files.h"

namespace zlh::agent::core {
namespace {
namespace fs = std::filesystem;
using S = sdk::InstanceState;

struct Sent {
  std::string type;
  nlohmann::json body;
};

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("zlh-reg-" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<CoreInstanceRegistry> open() {
    auto r = std::make_unique<CoreInstanceRegistry>(
        dir_, [this](const std::string& type, nlohmann::json body) -> sdk::Status {
          sent_.push_back(Sent{type, std::move(body)});
          return {};
        });
    auto report = r->load();
    EXPECT_TRUE(report.ok());
    if (report.ok()) report_ = report.value();
    return r;
  }
  static mode_t modeOf(const fs::path& p) {
    struct stat st {};
    ::stat(p.c_str(), &st);
    return st.st_mode & 0777;
  }

  fs::path dir_;
  std::vector<Sent> sent_;
  CoreInstanceRegistry::LoadReport report_;
};

TEST_F(RegistryTest, TableIsEnforcedAndVersionsBump) {
  auto reg = open();
  ASSERT_TRUE(reg->create("mc-1", "minecraft-java", {{"port", 25565}}).ok());
  // The whole table, through the registry: every pair from a record in `from`.
  const std::vector<S> all{S::kInstalling, S::kInstalled, S::kStarting, S::kRunning, S::kReady,
                           S::kStopping,   S::kStopped,   S::kCrashed,  S::kFailed};
  // Paths reaching each state from installing.
  std::map<S, std::vector<S>> path{
      {S::kInstalling, {}},
      {S::kInstalled, {S::kInstalled}},
      {S::kStarting, {S::kInstalled, S::kStarting}},
      {S::kRunning, {S::kInstalled, S::kStarting, S::kRunning}},
      {S::kReady, {S::kInstalled, S::kStarting, S::kReady}},
      {S::kStopping, {S::kInstalled, S::kStarting, S::kStopping}},
      {S::kStopped, {S::kInstalled, S::kStopped}},
      {S::kCrashed, {S::kInstalled, S::kStarting, S::kCrashed}},
      {S::kFailed, {S::kFailed}},
  };
  int n = 0;
  for (S from : all)
    for (S to : all) {
      std::string id = "t" + std::to_string(n++);
      ASSERT_TRUE(reg->create(id, "x", {}).ok());
      for (S step : path[from]) ASSERT_TRUE(reg->transition(id, step, "").ok()) << id;
      uint64_t v = reg->get(id)->state_version;
      auto r = reg->transition(id, to, "why");
      EXPECT_EQ(r.ok(), sdk::transitionAllowed(from, to))
          << sdk::toString(from) << " -> " << sdk::toString(to);
      if (r.ok()) {
        EXPECT_EQ(r->state_version, v + 1);
        EXPECT_EQ(reg->get(id)->state, to);
      } else {
        EXPECT_EQ(r.error().code, sdk::ErrorCode::kFailedPrecondition);
        EXPECT_NE(r.error().message.find(std::string(sdk::toString(from)) + " -> " +
                                         std::string(sdk::toString(to))),
                  std::string::npos);
        EXPECT_EQ(reg->get(id)->state_version, v);  // unchanged
        EXPECT_EQ(reg->get(id)->state, from);
      }
    }
  EXPECT_EQ(reg->transition("nope", S::kStopped, "").error().code, sdk::ErrorCode::kNotFound);
}

TEST_F(RegistryTest, PersistsAtomicallyAndReloads) {
  {
    auto reg = open();
    auto c = reg->create("mc-1", "minecraft-java", {{"port", 25565}});
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(modeOf(c->dir), 0700u);
    EXPECT_EQ(modeOf(c->data_dir), 0700u);
    EXPECT_EQ(modeOf(c->dir / "instance.json"), 0600u);
    ASSERT_TRUE(reg->transition("mc-1", S::kInstalled, "installed").ok());
    ASSERT_TRUE(reg->update("mc-1",
                            [](sdk::InstanceRecord& r) {
                              r.desired_state = "stopped";
                              r.unresponsive = true;
                              r.spec["extra"] = "x";
                            })
                    .ok());
    EXPECT_FALSE(reg->update("mc-1", [](sdk::InstanceRecord& r) { r.state = S::kReady; }).ok());
    EXPECT_FALSE(reg->update("mc-1", [](sdk::InstanceRecord& r) { ++r.state_version; }).ok());
    EXPECT_EQ(reg->create("mc-1", "x", {}).error().code, sdk::ErrorCode::kConflict);
    EXPECT_EQ(reg->create("../etc", "x", {}).error().code, sdk::ErrorCode::kInvalidArgument);
    // no temp files left beside the record
    size_t files = 0;
    for (auto& e : fs::directory_iterator(c->dir)) files += e.is_regular_file();
    EXPECT_EQ(files, 1u);
  }
  auto reg = open();
  EXPECT_EQ(report_.loaded, 1u);
  auto r = reg->get("mc-1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->state, S::kInstalled);
  EXPECT_EQ(r->state_version, 3u);
  EXPECT_EQ(r->desired_state, "stopped");
  EXPECT_TRUE(r->unresponsive);
  EXPECT_EQ(r->spec["port"], 25565);
  EXPECT_EQ(r->spec["extra"], "x");
  EXPECT_EQ(r->reason, "installed");
  EXPECT_EQ(r->data_dir, dir_ / "instances" / "mc-1" / "data");
  EXPECT_FALSE(r->created_at.empty());
  auto s = reg->summaries();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].template_name, "minecraft-java");
  EXPECT_EQ(s[0].state, "installed");
  EXPECT_EQ(s[0].state_version, 3u);
  ASSERT_TRUE(reg->transition("mc-1", S::kStarting, "").ok());
  EXPECT_EQ(reg->get("mc-1")->state_version, 4u);  // versions keep rising across restarts
}

TEST_F(RegistryTest, CorruptRecordIsMovedAsideAndSkipped) {
  {
    auto reg = open();
    ASSERT_TRUE(reg->create("good", "x", {}).ok());
    ASSERT_TRUE(reg->create("bad", "x", {}).ok());
    ASSERT_TRUE(reg->create("badstate", "x", {}).ok());
    ASSERT_TRUE(reg->create("wrongid", "x", {}).ok());
  }
  std::ofstream(dir_ / "instances/bad/instance.json") << "{ not json";
  auto text = readFile(dir_ / "instances/badstate/instance.json").value();
  auto j = nlohmann::json::parse(text);
  j["state"] = "exploded";
  std::ofstream(dir_ / "instances/badstate/instance.json") << j.dump();
  j = nlohmann::json::parse(readFile(dir_ / "instances/wrongid/instance.json").value());
  j["id"] = "good";
  std::ofstream(dir_ / "instances/wrongid/instance.json") << j.dump();
  fs::create_directories(dir_ / "instances/norecord/data");
  std::ofstream(dir_ / "instances/norecord/data/world.dat") << "keep me";

  auto reg = open();
  EXPECT_EQ(report_.loaded, 1u);
  EXPECT_EQ(report_.corrupt, 3u);
  EXPECT_EQ(report_.without_record, 1u);
  EXPECT_TRUE(reg->get("good"));
  EXPECT_FALSE(reg->get("bad"));
  EXPECT_TRUE(fs::exists(dir_ / "instances/bad/instance.json.corrupt"));
  EXPECT_FALSE(fs::exists(dir_ / "instances/bad/instance.json"));
  EXPECT_TRUE(fs::exists(dir_ / "instances/badstate/instance.json.corrupt"));
  // Data without a record is never deleted or reused silently.
  EXPECT_EQ(reg->create("norecord", "x", {}).error().code, sdk::ErrorCode::kConflict);
  EXPECT_TRUE(fs::exists(dir_ / "instances/norecord/data/world.dat"));
  // A create interrupted before its record (empty leftover) is reused.
  fs::create_directories(dir_ / "instances/fresh/data");
  EXPECT_TRUE(reg->create("fresh", "x", {}).ok());
}

TEST_F(RegistryTest, EventsAndListeners) {
  auto reg = open();
  std::vector<std::string> seen;
  auto sub = reg->subscribe([&](const sdk::InstanceRecord& now, S before) {
    seen.push_back(std::string(sdk::toString(before)) + ">" +
                   std::string(sdk::toString(now.state)) + "@" + std::to_string(now.state_version));
  });
  ASSERT_TRUE(reg->create("i1", "process", {}).ok());
  ASSERT_TRUE(reg->transition("i1", S::kInstalled, "install ok").ok());
  ASSERT_TRUE(reg->transition("i1", S::kStarting, "").ok());
  EXPECT_FALSE(reg->transition("i1", S::kInstalled, "").ok());  // denied: no event
  ASSERT_TRUE(reg->update("i1", [](sdk::InstanceRecord& r) { r.unresponsive = true; }).ok());
  ASSERT_EQ(sent_.size(), 3u);  // create + 2 transitions; update sends none
  EXPECT_EQ(sent_[0].type, "instance.state");
  EXPECT_EQ(sent_[0].body, (nlohmann::json{{"instance_id", "i1"},
                                           {"state", "installing"},
                                           {"state_version", 1},
                                           {"reason", "created"}}));
  EXPECT_EQ(sent_[1].body["reason"], "install ok");
  EXPECT_EQ(sent_[2].body["state"], "starting");
  EXPECT_EQ(sent_[2].body["state_version"], 3);
  EXPECT_FALSE(sent_[2].body.contains("reason"));
  EXPECT_EQ(seen, (std::vector<std::string>{"installing>installing@1", "installing>installed@2",
                                            "installed>starting@3", "starting>starting@4"}));
  sub.reset();
  ASSERT_TRUE(reg->transition("i1", S::kStopped, "").ok());
  EXPECT_EQ(seen.size(), 4u);
}

TEST_F(RegistryTest, RemoveDeletesRecordAndFiles) {
  auto reg = open();
  auto c = reg->create("gone", "x", {});
  ASSERT_TRUE(c.ok());
  std::ofstream(c->data_dir / "big.dat") << std::string(1 << 16, 'x');
  ASSERT_TRUE(reg->remove("gone").ok());
  EXPECT_FALSE(reg->get("gone"));
  EXPECT_FALSE(fs::exists(c->dir));
  EXPECT_EQ(reg->remove("gone").error().code, sdk::ErrorCode::kNotFound);
  size_t left = 0;
  for (auto& e : fs::directory_iterator(dir_ / "instances")) left += bool(e.path().c_str());
  EXPECT_EQ(left, 0u);  // no trash left either (deleted inline without a pool)
  auto again = open();
  EXPECT_EQ(report_.loaded, 0u);
  EXPECT_TRUE(again->create("gone", "x", {}).ok());
}

TEST_F(RegistryTest, FailedWriteChangesNothing) {
  auto reg = open();
  ASSERT_TRUE(reg->create("ro", "x", {}).ok());
  // Make the rename fail even as root: the record's name is now a non-empty directory.
  auto file = dir_ / "instances/ro/instance.json";
  fs::remove(file);
  fs::create_directories(file / "block");
  auto r = reg->transition("ro", S::kInstalled, "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, sdk::ErrorCode::kInternal);
  EXPECT_NE(r.error().message.find("instance ro: save record"), std::string::npos);
  EXPECT_EQ(reg->get("ro")->state, S::kInstalling);
  EXPECT_EQ(reg->get("ro")->state_version, 1u);
  EXPECT_EQ(sent_.size(), 1u);
  size_t temps = 0;
  for (auto& e : fs::directory_iterator(dir_ / "instances/ro"))
    temps += e.path().filename().string().find(".tmp") != std::string::npos;
  EXPECT_EQ(temps, 0u);
}

}  // namespace
}  // namespace zlh::agent::core
