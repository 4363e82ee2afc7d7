#pragma once
// The console plugin: serves link streams of kind "console" (docs/protocol.md, "Console streams").
// Each stream watches one instance's shim output (scrollback first, then live) and carries input
// and resizes back. A viewer that cannot keep up loses output, never memory or the game's pace: the
// supervisor's per-watcher queue and the stream's credit-bounded queue drop, and the viewer gets
// an in-band notice of how much was skipped.
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "agent/sdk/plugin.h"
#include "agent/sdk/plugin_context.h"
#include "agent/sdk/streams.h"

namespace zlh::plugins::console {

/// Payload ops from the viewer (first byte of each binary frame's payload).
inline constexpr uint8_t kOpInput = 0x00;   ///< rest: bytes for the PTY
inline constexpr uint8_t kOpResize = 0x01;  ///< rest: u16 cols, u16 rows (big-endian)

class ConsoleSession;

class ConsolePlugin : public agent::sdk::Plugin, public agent::sdk::StreamProvider {
 public:
  explicit ConsolePlugin(agent::sdk::PluginContext& ctx) : ctx_(ctx) {}
  ~ConsolePlugin() override;

  agent::sdk::Status start() override { return {}; }
  void stop() override;
  std::vector<std::string> jobKinds() const override { return {}; }
  void handleJob(const agent::sdk::Job& job, agent::sdk::JobReply reply) override;
  void collectMetrics(agent::sdk::MetricsWriter& out) override;

  std::vector<std::string> streamKinds() const override { return {"console"}; }
  agent::sdk::Result<std::unique_ptr<agent::sdk::StreamHandler>> openStream(
      const agent::sdk::StreamRequest& request,
      std::shared_ptr<agent::sdk::StreamChannel> channel) override;

 private:
  friend class ConsoleSession;
  agent::sdk::PluginContext& ctx_;
  std::set<ConsoleSession*> sessions_;
  uint64_t opened_total_ = 0;
  uint64_t dropped_bytes_total_ = 0;
};

}  // namespace zlh::plugins::console
