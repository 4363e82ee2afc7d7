#include "plugins/console/console_plugin.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <optional>

#include "plugins/console/factory.h"
#include "plugins/console/shell_pty.h"

namespace zlh::plugins::console {
namespace sdk = agent::sdk;
using nlohmann::json;

namespace {
/// One binary frame from a viewer: input bytes, or a resize, or a protocol error.
struct ViewerOp {
  std::string_view input;
  std::optional<std::pair<uint16_t, uint16_t>> resize;  // cols, rows
  std::optional<sdk::Error> error;
};

ViewerOp parseViewerOp(std::string_view bytes) {
  ViewerOp op;
  if (bytes.empty()) return op;
  const auto code = static_cast<uint8_t>(bytes[0]);
  bytes.remove_prefix(1);
  if (code == kOpInput) {
    op.input = bytes;
    return op;
  }
  if (code == kOpResize && bytes.size() == 4) {
    auto u16 = [&](size_t i) {
      return uint16_t(uint16_t(uint8_t(bytes[i])) << 8 | uint16_t(uint8_t(bytes[i + 1])));
    };
    const uint16_t cols = u16(0), rows = u16(2);
    if (cols < 1 || rows < 1 || cols > 1000 || rows > 1000)
      op.error = sdk::makeError(sdk::ErrorCode::kInvalidArgument, "resize: cols and rows must be 1 to 1000");
    else
      op.resize = std::pair{cols, rows};
    return op;
  }
  op.error = sdk::makeError(
      sdk::ErrorCode::kInvalidArgument,
      "console payload: unknown op " + std::to_string(code) + " or bad length " +
          std::to_string(bytes.size()) + " (0 = input, 1 = resize: u16 cols, u16 rows)");
  return op;
}
}  // namespace

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
    ViewerOp op = parseViewerOp(bytes);
    if (op.error) return channel_->close(std::move(*op.error));
    if (op.resize) {
      if (auto st = plugin_.ctx_.supervisor().resize(id_, op.resize->first, op.resize->second); !st.ok())
        plugin_.ctx_.log().warn(id_, ": console resize failed: ", st.error().message);
    } else if (!op.input.empty()) {
      if (auto st = plugin_.ctx_.supervisor().sendInput(id_, std::string(op.input)); !st.ok())
        plugin_.ctx_.log().warn(id_, ": console input dropped: ", st.error().message);
    }
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
    if (recent_.empty() && skipped_ == 0) {
      // What fits in the channel's queue goes; only the rest can be skipped. (The shim hands
      // on floods in chunks of up to 64 KiB: refusing a whole chunk would skip 48 KiB of it
      // for want of a few bytes of room.)
      const size_t fits = std::min(chunk.size(), channel_->room());
      if (fits > 0 && channel_->write(chunk.substr(0, fits))) chunk.remove_prefix(fits);
      if (chunk.empty()) return;
    }
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

/// One viewer's own shell (templates with `[console] shell = true`). Output is flow-controlled,
/// never skipped: while the viewer does not take it, the shell's PTY is not read (shell_pty.h).
class ShellSession final : public sdk::StreamHandler {
 public:
  ShellSession(ConsolePlugin& plugin, std::string instance_id,
               std::shared_ptr<sdk::StreamChannel> channel)
      : plugin_(plugin), id_(std::move(instance_id)), channel_(std::move(channel)) {
    plugin_.shells_.insert(this);
  }
  ~ShellSession() override {
    pty_.reset();  // hangs the shell up
    plugin_.shells_.erase(this);
  }

  sdk::Status start(ShellPty::Options options) {
    ShellPty::Callbacks cb;
    cb.on_output = [this](std::string chunk) {
      pending_ += chunk;
      flush();
    };
    cb.on_exit = [this](int) {
      pending_ += "\r\n[zlh: the shell exited]\r\n";
      exited_ = true;
      flush();
    };
    auto pty = ShellPty::start(options, [this](sdk::Task t) { plugin_.ctx_.post(std::move(t)); },
                               std::move(cb));
    if (!pty.ok()) return pty.error();
    pty_ = std::move(*pty);
    return {};
  }

  void onData(std::string_view bytes) override {
    ViewerOp op = parseViewerOp(bytes);
    if (op.error) return channel_->close(std::move(*op.error));
    if (!pty_) return;
    if (op.resize) {
      if (auto st = pty_->resize(op.resize->first, op.resize->second); !st.ok())
        plugin_.ctx_.log().warn(id_, ": shell resize failed: ", st.error().message);
    } else if (!op.input.empty() && !pty_->write(op.input)) {
      plugin_.ctx_.log().warn(id_, ": shell input dropped: the shell is not reading it");
    }
  }
  void onClosed() override { pty_.reset(); }
  void onWritable() override { flush(); }
  void end(sdk::Error why) { channel_->close(std::move(why)); }

 private:
  // Writes what the viewer can take, in frames the channel accepts; tells the PTY reader what was
  // consumed so it reads on.
  void flush() {
    constexpr size_t kPiece = 64 * 1024;
    size_t sent = 0;
    while (sent < pending_.size()) {
      const size_t n = std::min(kPiece, pending_.size() - sent);
      if (!channel_->write(std::string_view(pending_).substr(sent, n))) break;
      sent += n;
    }
    pending_.erase(0, sent);
    if (pty_ && sent > 0) pty_->consumed(sent);
    if (exited_ && pending_.empty()) channel_->close(std::nullopt);
  }

  ConsolePlugin& plugin_;
  const std::string id_;
  std::shared_ptr<sdk::StreamChannel> channel_;
  std::unique_ptr<ShellPty> pty_;
  std::string pending_;  // output the viewer has not taken yet (bounded by the PTY reader)
  bool exited_ = false;
};

ConsolePlugin::~ConsolePlugin() = default;

void ConsolePlugin::stop() {
  const auto why = sdk::makeError(sdk::ErrorCode::kUnavailable, "the agent is stopping");
  std::vector<ConsoleSession*> open(sessions_.begin(), sessions_.end());
  for (auto* s : open) s->end(why);
  std::vector<ShellSession*> shells(shells_.begin(), shells_.end());
  for (auto* s : shells) s->end(why);
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
  out.gauge("zlh_console_shells", "Shell streams open on this agent.",
            static_cast<double>(shells_.size()));
  out.counter("zlh_console_shells_opened_total", "Shell streams opened.",
              static_cast<double>(shells_opened_total_));
}

sdk::Result<std::unique_ptr<sdk::StreamHandler>> ConsolePlugin::openStream(
    const sdk::StreamRequest& request, std::shared_ptr<sdk::StreamChannel> channel) {
  const std::string& id = request.instance_id;
  if (id.empty())
    return sdk::makeError(sdk::ErrorCode::kInvalidArgument, "console: instance_id is required");
  auto record = ctx_.instances().get(id);
  if (!record) return sdk::makeError(sdk::ErrorCode::kNotFound, "instance " + id + " not found");
  if (!request.params.is_null() && !request.params.is_object())
    return sdk::makeError(sdk::ErrorCode::kInvalidArgument, "params: expected an object");
  const json p = request.params.is_object() ? request.params : json::object();
  for (const char* key : {"replay", "shell"})
    if (p.contains(key) && !p[key].is_boolean())
      return sdk::makeError(sdk::ErrorCode::kInvalidArgument,
                            std::string("params.") + key + ": expected a boolean");
  if (p.value("shell", false)) return openShell(*record, request.stream_id, std::move(channel));
  if (!ctx_.supervisor().alive(id))
    return sdk::makeError(sdk::ErrorCode::kFailedPrecondition,
                          "instance " + id + " has no running process");
  auto session = std::make_unique<ConsoleSession>(*this, id, std::move(channel));
  if (auto st = session->watch(p.value("replay", true)); !st.ok()) return st.error();
  ++opened_total_;
  ctx_.log().info(id, ": console stream ", request.stream_id, " open");
  return std::unique_ptr<sdk::StreamHandler>(std::move(session));
}

sdk::Result<std::unique_ptr<sdk::StreamHandler>> ConsolePlugin::openShell(
    const sdk::InstanceRecord& record, uint32_t stream_id,
    std::shared_ptr<sdk::StreamChannel> channel) {
  if (shell_.empty())
    return sdk::makeError(sdk::ErrorCode::kFailedPrecondition,
                          "shells are disabled on this node ([plugins.console] shell is empty)");
  if (!record.spec.value("console_shell", false))
    return sdk::makeError(sdk::ErrorCode::kFailedPrecondition,
                          "template " + record.template_name + " offers no shell ([console] shell)");
  ShellPty::Options o;
  o.argv = {shell_, "-l"};
  o.cwd = record.data_dir;
  // A clean environment: the instance's own variables (its create request's env, its PORT and
  // HOST) and a terminal's basics, nothing of the agent's.
  if (auto it = record.spec.find("env"); it != record.spec.end() && it->is_object())
    for (const auto& [k, v] : it->items())
      if (v.is_string()) o.env[k] = v.get<std::string>();
  if (auto it = record.spec.find("port"); it != record.spec.end() && it->is_number_integer())
    o.env["PORT"] = std::to_string(it->get<int64_t>());
  if (auto it = record.spec.find("host"); it != record.spec.end() && it->is_string())
    o.env["HOST"] = it->get<std::string>();
  const passwd* pw = ::getpwuid(::geteuid());
  o.env["HOME"] = record.data_dir.string();
  o.env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  o.env["TERM"] = "xterm-256color";
  o.env["LANG"] = "C.UTF-8";
  o.env["SHELL"] = shell_;
  o.env["USER"] = o.env["LOGNAME"] = pw ? pw->pw_name : "root";
  o.env["ZLH_INSTANCE_ID"] = record.id;
  auto session = std::make_unique<ShellSession>(*this, record.id, std::move(channel));
  if (auto st = session->start(std::move(o)); !st.ok()) return st.error();
  ++shells_opened_total_;
  ctx_.log().info(record.id, ": shell stream ", stream_id, " open");
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
  sdk::Result<std::unique_ptr<sdk::Plugin>> create(const sdk::ConfigValues& values,
                                                   sdk::PluginContext& ctx) const override {
    std::string shell = values.getString("shell");
    if (!shell.empty() && shell[0] != '/')
      return sdk::makeError(sdk::ErrorCode::kInvalidArgument,
                            "[plugins.console] shell: an absolute path, or empty to disable shells");
    return std::unique_ptr<sdk::Plugin>(std::make_unique<ConsolePlugin>(ctx, std::move(shell)));
  }
  ConsoleFactory() {
    schema_.addString("shell",
                      "Shell for viewers of templates with [console] shell = true, run as a login "
                      "shell in the instance's data dir; empty disables shells",
                      std::string("/bin/bash"));
  }

 private:
  sdk::ConfigSchema schema_;
};

}  // namespace

std::unique_ptr<sdk::PluginFactory> makeFactory() { return std::make_unique<ConsoleFactory>(); }

}  // namespace zlh::plugins::console
