#include "plugins/console/console_plugin.h"

#include "plugins/console/factory.h"

namespace zlh::plugins::console {
namespace sdk = agent::sdk;
using nlohmann::json;

/// One viewer of one instance's console.
class ConsoleSession final : public sdk::StreamHandler {
 public:
  ConsoleSession(ConsolePlugin& plugin, std::string instance_id,
                 std::shared_ptr<sdk::StreamChannel> channel)
      : plugin_(plugin), id_(std::move(instance_id)), channel_(std::move(channel)) {
    plugin_.sessions_.insert(this);
  }
  ~ConsoleSession() override {
    watch_.reset();  // no callback after this
    plugin_.sessions_.erase(this);
  }

  sdk::Status watch(bool replay) {
    sdk::OutputWatcher w;
    w.on_output = [this](std::string_view chunk) { output(chunk); };
    w.on_dropped = [this](uint64_t n) { skipped(n); };
    w.on_closed = [this] {
      output("\r\n[zlh: the process exited]\r\n");
      // After every queued byte has left; a viewer still catching up gets its latest output
      // (and this line) first.
      close_when_flushed_ = true;
      if (recent_.empty()) channel_->close(std::nullopt);
    };
    auto sub = plugin_.ctx_.supervisor().watchOutput(id_, replay, std::move(w));
    if (!sub.ok()) return sub.error();
    watch_ = std::move(*sub);
    return {};
  }

  void onData(std::string_view bytes) override {
    if (bytes.empty()) return;
    const auto op = static_cast<uint8_t>(bytes[0]);
    bytes.remove_prefix(1);
    if (op == kOpInput) {
      if (bytes.empty()) return;
      if (auto st = plugin_.ctx_.supervisor().sendInput(id_, std::string(bytes)); !st.ok())
        plugin_.ctx_.log().warn(id_, ": console input dropped: ", st.error().message);
      return;
    }
    if (op == kOpResize && bytes.size() == 4) {
      auto u16 = [&](size_t i) {
        return uint32_t(uint8_t(bytes[i])) << 8 | uint32_t(uint8_t(bytes[i + 1]));
      };
      const uint32_t cols = u16(0), rows = u16(2);
      if (cols < 1 || rows < 1 || cols > 1000 || rows > 1000)
        return channel_->close(sdk::makeError(sdk::ErrorCode::kInvalidArgument,
                                              "resize: cols and rows must be 1 to 1000"));
      if (auto st = plugin_.ctx_.supervisor().resize(id_, cols, rows); !st.ok())
        plugin_.ctx_.log().warn(id_, ": console resize failed: ", st.error().message);
      return;
    }
    channel_->close(sdk::makeError(
        sdk::ErrorCode::kInvalidArgument,
        "console payload: unknown op " + std::to_string(op) + " or bad length " +
            std::to_string(bytes.size()) + " (0 = input, 1 = resize: u16 cols, u16 rows)"));
  }

  void onClosed() override { watch_.reset(); }

  /// The viewer caught up: tell it what it missed, then show the latest output it missed.
  void onWritable() override { flushSkipped(); }

  void end(sdk::Error why) { channel_->close(std::move(why)); }

 private:
  // Output the viewer could not take is skipped, except its last kRecentBytes: when the viewer
  // catches up (more credit, or the next output that fits) it gets a notice of how much was
  // lost, then those latest bytes, so its screen ends current even if the output then stops.
  static constexpr size_t kRecentBytes = 16 * 1024;

  void output(std::string_view chunk) {
    if (recent_.empty() && skipped_ == 0 && channel_->write(chunk)) return;
    keep(chunk);
    flushSkipped();
  }
  void keep(std::string_view chunk) {
    recent_.append(chunk);
    if (recent_.size() > kRecentBytes) {
      size_t drop = recent_.size() - kRecentBytes;
      skipped(drop);
      recent_.erase(0, drop);
    }
  }
  void flushSkipped() {
    if (recent_.empty()) return;
    std::string catchup;
    if (skipped_ > 0)
      catchup = "\r\n[zlh: " + std::to_string(skipped_) +
                " bytes of output skipped: this console could not keep up]\r\n";
    catchup += recent_;
    if (!channel_->write(catchup)) return;
    skipped_ = 0;
    recent_.clear();
    if (close_when_flushed_) channel_->close(std::nullopt);
  }
  void skipped(uint64_t n) {
    skipped_ += n;
    plugin_.dropped_bytes_total_ += n;
  }

  ConsolePlugin& plugin_;
  const std::string id_;
  std::shared_ptr<sdk::StreamChannel> channel_;
  sdk::SubscriptionPtr watch_;
  uint64_t skipped_ = 0;  // lost and not yet announced to the viewer
  std::string recent_;    // the latest output the viewer could not take yet
  bool close_when_flushed_ = false;  // the process exited: close once recent_ is out
};

ConsolePlugin::~ConsolePlugin() = default;

void ConsolePlugin::stop() {
  std::vector<ConsoleSession*> open(sessions_.begin(), sessions_.end());
  for (auto* s : open) s->end(sdk::makeError(sdk::ErrorCode::kUnavailable, "the agent is stopping"));
}

void ConsolePlugin::handleJob(const sdk::Job& job, sdk::JobReply reply) {
  reply(sdk::makeError(sdk::ErrorCode::kUnimplemented, "console has no job " + job.kind));
}

void ConsolePlugin::collectMetrics(sdk::MetricsWriter& out) {
  out.gauge("zlh_console_viewers", "Console streams open on this agent.",
            static_cast<double>(sessions_.size()));
  out.counter("zlh_console_streams_opened_total", "Console streams opened.",
              static_cast<double>(opened_total_));
  out.counter("zlh_console_dropped_bytes_total",
              "Console output bytes skipped for viewers that could not keep up.",
              static_cast<double>(dropped_bytes_total_));
}

sdk::Result<std::unique_ptr<sdk::StreamHandler>> ConsolePlugin::openStream(
    const sdk::StreamRequest& request, std::shared_ptr<sdk::StreamChannel> channel) {
  const std::string& id = request.instance_id;
  if (id.empty())
    return sdk::makeError(sdk::ErrorCode::kInvalidArgument, "console: instance_id is required");
  if (!ctx_.instances().get(id))
    return sdk::makeError(sdk::ErrorCode::kNotFound, "instance " + id + " not found");
  if (!ctx_.supervisor().alive(id))
    return sdk::makeError(sdk::ErrorCode::kFailedPrecondition,
                          "instance " + id + " has no running process");
  const json& p = request.params;
  bool replay = true;
  if (p.contains("replay")) {
    if (!p["replay"].is_boolean())
      return sdk::makeError(sdk::ErrorCode::kInvalidArgument, "params.replay: expected a boolean");
    replay = p["replay"].get<bool>();
  }
  auto session = std::make_unique<ConsoleSession>(*this, id, std::move(channel));
  if (auto st = session->watch(replay); !st.ok()) return st.error();
  ++opened_total_;
  ctx_.log().info(id, ": console stream ", request.stream_id, " open");
  return std::unique_ptr<sdk::StreamHandler>(std::move(session));
}

namespace {

class ConsoleFactory : public sdk::PluginFactory {
 public:
  std::string_view name() const override { return "console"; }
  std::string_view description() const override {
    return "Instance consoles over link streams: scrollback, live output, input, resize";
  }
  const sdk::ConfigSchema& configSchema() const override { return schema_; }
  sdk::Result<std::unique_ptr<sdk::Plugin>> create(const sdk::ConfigValues&,
                                                   sdk::PluginContext& ctx) const override {
    return std::unique_ptr<sdk::Plugin>(std::make_unique<ConsolePlugin>(ctx));
  }

 private:
  sdk::ConfigSchema schema_;  // no keys yet
};

}  // namespace

std::unique_ptr<sdk::PluginFactory> makeFactory() { return std::make_unique<ConsoleFactory>(); }

}  // namespace zlh::plugins::console
