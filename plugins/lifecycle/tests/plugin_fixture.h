#pragma once
// Shared fixture of the plugin tests: a LifecyclePlugin on the SDK fakes, a test clock in step
// with FakePluginContext's timers, templates written to a temp dir, and job helpers.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "agent/sdk/testing/fake_plugin_context.h"
#include "plugins/lifecycle/lifecycle_plugin.h"
#include "plugins/lifecycle/tests/test_support.h"

namespace zlh::plugins::lifecycle::test {

namespace sdk = agent::sdk;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using State = sdk::InstanceState;

/// A small template with no network readiness: "Done (" on the console is enough.
inline const char* kFakeTemplate = R"(
name = "fake"
[params.motd]
type = "string"
default = "hi"
[[install.files]]
path = "motd.txt"
content = "{{params.motd}} on {{port}}\n"
[start]
command = ["fake-server", "--port", "{{port}}", "--motd", "{{params.motd}}"]
env = { GREETING = "{{params.motd}}" }
[stop]
method = "command"
command = "stop"
timeout_s = 10
[readiness]
log_line = "Done ("
timeout_s = 30
[quiesce]
before = ["save-off"]
after = ["save-on"]
[restart]
stable_after_s = 60
)";

using Answer = std::shared_ptr<std::optional<sdk::Result<json>>>;

struct PluginFixture : ::testing::Test {
  TempDir templates;
  sdk::testing::FakePluginContext ctx{"lifecycle"};
  sdk::testing::FakeSupervisor& sup = ctx.fakeSupervisor();
  sdk::testing::FakeInstanceRegistry& reg = ctx.fakeInstances();
  SteadyTime now{std::chrono::hours(1)};
  double jitter = 0.0;
  LifecycleConfig config;
  std::unique_ptr<LifecyclePlugin> plugin;
  int job_seq = 0;

  void writeTemplate(const std::string& name, const std::string& text) {
    std::ofstream(templates.path() / (name + ".toml")) << text;
  }

  void SetUp() override {
    writeTemplate("fake", kFakeTemplate);
    config.templates_dir = templates.path();
    config.port_range = {30000, 30009};
    config.path_env = "/usr/bin:/bin";
  }

  void startPlugin() {
    LifecycleDeps deps;
    deps.now = [this] { return now; };
    deps.jitter = [this] { return jitter; };
    deps.port_free = [](const std::string&, uint16_t) { return true; };
    plugin = std::make_unique<LifecyclePlugin>(ctx, config, deps);
    ASSERT_TRUE(plugin->start().ok());
    ctx.runPending();
  }

  void TearDown() override {
    if (plugin) plugin->stop();
    plugin.reset();
  }

  /// Moves the test clock and the fake timers forward in steps of at most `step`.
  void advance(milliseconds by, milliseconds step = milliseconds(500)) {
    while (by.count() > 0) {
      auto d = std::min(by, step);
      now += d;
      ctx.advance(d);
      by -= d;
    }
  }

  Answer send(const std::string& kind, const std::string& id, json params = json::object()) {
    auto out = std::make_shared<std::optional<sdk::Result<json>>>();
    sdk::Job job;
    job.job_id = "j" + std::to_string(++job_seq);
    job.kind = kind;
    job.instance_id = id;
    job.params = std::move(params);
    job.signals = std::make_shared<sdk::JobSignals>();
    plugin->handleJob(job,
                      sdk::JobReply([out](sdk::Result<json> r) { out->emplace(std::move(r)); }));
    return out;
  }

  /// Runs a job to its answer (pending work run, spawns completed when `complete_spawn`).
  sdk::Result<json> run(const std::string& kind, const std::string& id,
                        json params = json::object(), bool complete_spawn = true) {
    auto a = send(kind, id, std::move(params));
    ctx.runPending();
    if (complete_spawn && sup.spawnPending(id)) {
      sup.completeSpawn(id);
      ctx.runPending();
    }
    if (!a->has_value()) return sdk::makeError(sdk::ErrorCode::kInternal, "no answer yet");
    return std::move(**a);
  }

  State state(const std::string& id) {
    auto r = reg.get(id);
    EXPECT_TRUE(r.has_value()) << id;
    return r ? r->state : State::kFailed;
  }

  std::vector<sdk::testing::FakePluginContext::Event> eventsOf(const std::string& type) {
    std::vector<sdk::testing::FakePluginContext::Event> out;
    for (auto& e : ctx.events())
      if (e.type == type) out.push_back(e);
    return out;
  }

  /// create + start + "Done (" line: a ready instance.
  void makeReady(const std::string& id, const std::string& tmpl = "fake") {
    auto r = run("lifecycle.create", id, {{"template", tmpl}, {"name", "srv " + id}});
    ASSERT_TRUE(r.ok()) << r.error().message;
    sup.pushOutput(id, "[Server thread/INFO]: Done (1.0s)! For help, type \"help\"\n");
    ctx.advance(milliseconds(0));
    ASSERT_EQ(state(id), State::kReady);
  }
};

}  // namespace zlh::plugins::lifecycle::test
