#include "agent/core/tests/test_plugins.h"

#include <stdexcept>

namespace zlh::agent::core::testing {
namespace {
using nlohmann::json;

class TestPlugin : public sdk::Plugin {
 public:
  TestPlugin(TestPluginSpec spec, std::shared_ptr<TestPluginProbe> probe, sdk::PluginContext& ctx)
      : spec_(std::move(spec)), probe_(std::move(probe)), ctx_(ctx) {}

  sdk::Status start() override {
    if (spec_.throw_in_start) throw std::runtime_error("boom in start");
    if (spec_.fail_start) return sdk::makeError(sdk::ErrorCode::kFailedPrecondition, "not today");
    return {};
  }
  void stop() override { probe_->stopped = true; }
  std::vector<std::string> jobKinds() const override { return spec_.kinds; }

  void handleJob(const sdk::Job& job, sdk::JobReply reply) override {
    const int runs = ++probe_->runs;
    json result = {{"runs", runs}, {"job_id", job.job_id}};
    switch (spec_.behavior) {
      case Behavior::kReplyOk:
        reply(result);
        break;
      case Behavior::kReplyOnPool:
        ctx_.runBlocking([reply = std::move(reply), result]() mutable { reply(result); });
        break;
      case Behavior::kHold:
      case Behavior::kNeverReply:
        probe_->held.push_back(std::move(reply));
        break;
      case Behavior::kReplyTwice:
        reply(result);
        reply(json{{"second", true}});
        break;
      case Behavior::kThrowInJob:
        throw std::runtime_error("boom in job");
      case Behavior::kDropReply:
        break;
      case Behavior::kProgress:
        job.progress(50, "half");
        reply(result);
        break;
    }
  }

  void collectMetrics(sdk::MetricsWriter& out) override {
    if (spec_.throw_in_metrics) throw std::runtime_error("boom in metrics");
    out.counter("zlh_" + spec_.name + "_runs_total", "Runs.", probe_->runs.load());
  }

 private:
  TestPluginSpec spec_;
  std::shared_ptr<TestPluginProbe> probe_;
  sdk::PluginContext& ctx_;
};
}  // namespace

void TestPluginProbe::releaseHeld(json result) {
  auto replies = std::move(held);
  held.clear();
  for (auto& r : replies) r(result);
}

TestFactory::TestFactory(TestPluginSpec spec, std::shared_ptr<TestPluginProbe> probe)
    : spec_(std::move(spec)),
      probe_(probe ? std::move(probe) : std::make_shared<TestPluginProbe>()) {
  schema_.addInt("size", "a test key", 1);
}

sdk::Result<std::unique_ptr<sdk::Plugin>> TestFactory::create(const sdk::ConfigValues&,
                                                              sdk::PluginContext& ctx) const {
  return std::unique_ptr<sdk::Plugin>(std::make_unique<TestPlugin>(spec_, probe_, ctx));
}

}  // namespace zlh::agent::core::testing
