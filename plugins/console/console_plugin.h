#pragma once
// The console plugin: serves link streams of kind "console" (docs/protocol.md, "Console streams").
// A stream opened with params {"shell": true} is instead a plain shell of its own (shell_pty.h),
// for templates that offer one. Each console stream watches one instance's shim output (scrollback first, then live) and carries input
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
class ShellSession;

class ConsolePlugin : public agent::sdk::Plugin, public agent::sdk::StreamProvider {
 public:
  ConsolePlugin(agent::sdk::PluginContext& ctx, std::string shell)
      : ctx_(ctx), shell_(std::move(shell)) {}
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
  friend class ShellSession;
  agent::sdk::Result<std::unique_ptr<agent::sdk::StreamHandler>> openShell(
      const agent::sdk::InstanceRecord& record, uint32_t stream_id,
      std::shared_ptr<agent::sdk::StreamChannel> channel);

  agent::sdk::PluginContext& ctx_;
  const std::string shell_;  // empty: shells disabled
  std::set<ConsoleSession*> sessions_;
  std::set<ShellSession*> shells_;
  uint64_t opened_total_ = 0;
  uint64_t shells_opened_total_ = 0;
  uint64_t dropped_bytes_total_ = 0;
};

}  // namespace zlh::plugins::console
