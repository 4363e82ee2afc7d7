#pragma once
// Configurable plugins for core unit tests (through the real SDK interfaces).
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agent/sdk/plugin_factory.h"

namespace zlh::agent::core::testing {

enum class Behavior {
  kReplyOk,      // replies {"runs": n} on the loop, inside handleJob
  kReplyOnPool,  // replies from a pool thread
  kHold,         // keeps the reply; the test answers with releaseHeld()
  kNeverReply,   // keeps the reply forever
  kReplyTwice,
  kThrowInJob,
  kDropReply,  // destroys the reply without calling it
  kProgress,   // reports progress 50%, then replies
};

struct TestPluginSpec {
  std::string name = "test";
  std::vector<std::string> kinds = {"test.run"};
  Behavior behavior = Behavior::kReplyOk;
  bool throw_in_start = false;
  bool fail_start = false;
  bool throw_in_metrics = false;
};

/// Shared between the test and the plugin instance it creates.
struct TestPluginProbe {
  std::atomic<int> runs{0};
  std::atomic<bool> stopped{false};
  std::vector<sdk::JobReply> held;  // loop thread only
  void releaseHeld(nlohmann::json result = nlohmann::json::object());
};

class TestFactory : public sdk::PluginFactory {
 public:
  explicit TestFactory(TestPluginSpec spec, std::shared_ptr<TestPluginProbe> probe = nullptr);
  std::string_view name() const override { return spec_.name; }
  std::string_view description() const override { return "test plugin"; }
  const sdk::ConfigSchema& configSchema() const override { return schema_; }
  sdk::Result<std::unique_ptr<sdk::Plugin>> create(const sdk::ConfigValues& config,
                                                   sdk::PluginContext& ctx) const override;
  const std::shared_ptr<TestPluginProbe>& probe() const { return probe_; }

 private:
  TestPluginSpec spec_;
  std::shared_ptr<TestPluginProbe> probe_;
  sdk::ConfigSchema schema_;
};

}  // namespace zlh::agent::core::testing
