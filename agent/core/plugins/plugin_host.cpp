#include "agent/core/plugins/plugin_host.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

namespace zlh::agent::core {

std::string_view toString(PluginState s) {
  switch (s) {
    case PluginState::kCreated:
      return "created";
    case PluginState::kRunning:
      return "running";
    case PluginState::kFailed:
      return "failed";
    case PluginState::kStopped:
      return "stopped";
  }
  return "failed";
}

PluginHost::PluginHost(AgentMetrics& metrics, ContextEnv env, std::filesystem::path state_root)
    : metrics_(metrics), env_(std::move(env)), state_root_(std::move(state_root)) {}

PluginHost::~PluginHost() { stopAll(); }

PluginHost::Slot* PluginHost::find(const std::string& name) {
  for (auto& s : slots_)
    if (s.name == name) return &s;
  return nullptr;
}

void PluginHost::fail(Slot& slot, const std::string& what) {
  spdlog::error("plugin {}: {}", slot.name, what);
  slot.state = PluginState::kFailed;
  metrics_.countPluginFailure(slot.name);
  metrics_.setPluginUp(slot.name, false);
}

void PluginHost::add(const sdk::PluginFactory& factory, const sdk::ConfigValues& config) {
  Slot& slot = slots_.emplace_back();
  slot.name = std::string(factory.name());
  metrics_.setPluginUp(slot.name, false);
  const auto dir = state_root_ / slot.name;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fail(slot, "create state dir " + dir.string() + ": " + ec.message());
  ::chmod(dir.c_str(), 0700);
  slot.context = std::make_unique<CorePluginContext>(slot.name, dir, env_);
  try {
    auto created = factory.create(config, *slot.context);
    if (!created.ok()) return fail(slot, "create: " + created.error().message);
    slot.plugin = std::move(created.value());
  } catch (const std::exception& e) {
    fail(slot, std::string("create threw: ") + e.what());
  } catch (...) {
    fail(slot, "create threw a non-standard exception");
  }
}

void PluginHost::claimKinds(Slot& slot) {
  for (const auto& kind : slot.plugin->jobKinds()) {
    auto [it, inserted] = kind_owner_.emplace(kind, slot.name);
    if (!inserted) {
      spdlog::error("plugin {}: job kind {} already belongs to plugin {}; ignored", slot.name, kind,
                    it->second);
      continue;
    }
    if (kind.rfind(slot.name + ".", 0) != 0)
      spdlog::warn("plugin {}: job kind {} should start with \"{}.\"", slot.name, kind, slot.name);
    slot.kinds.push_back(kind);
  }
  slot.streams = dynamic_cast<sdk::StreamProvider*>(slot.plugin.get());
  if (!slot.streams) return;
  for (const auto& kind : slot.streams->streamKinds()) {
    auto [it, inserted] = stream_owner_.emplace(kind, slot.name);
    if (!inserted)
      spdlog::error("plugin {}: stream kind {} already belongs to plugin {}; ignored", slot.name,
                    kind, it->second);
  }
}

sdk::Result<std::unique_ptr<sdk::StreamHandler>> PluginHost::openStream(
    const sdk::StreamRequest& request, std::shared_ptr<sdk::StreamChannel> channel) {
  auto owner = stream_owner_.find(request.kind);
  Slot* slot = owner == stream_owner_.end() ? nullptr : find(owner->second);
  if (!slot || slot->state != PluginState::kRunning || !slot->streams)
    return sdk::makeError(sdk::ErrorCode::kUnimplemented,
                          "no running plugin serves stream kind \"" + request.kind + "\"");
  try {
    return slot->streams->openStream(request, std::move(channel));
  } catch (const std::exception& e) {
    spdlog::error("plugin {}: openStream threw: {}", slot->name, e.what());
  } catch (...) {
    spdlog::error("plugin {}: openStream threw a non-standard exception", slot->name);
  }
  return sdk::makeError(sdk::ErrorCode::kInternal, "plugin " + slot->name + " failed to open the stream");
}

void PluginHost::startAll() {
  for (auto& slot : slots_) {
    if (slot.state != PluginState::kCreated || !slot.plugin) continue;
    try {
      auto s = slot.plugin->start();
      if (!s.ok()) {
        fail(slot, "start: " + s.error().message);
        continue;
      }
      claimKinds(slot);
      slot.state = PluginState::kRunning;
      metrics_.setPluginUp(slot.name, true);
      spdlog::info("plugin {} running (job kinds: {})", slot.name, slot.kinds.size());
    } catch (const std::exception& e) {
      fail(slot, std::string("start threw: ") + e.what());
    } catch (...) {
      fail(slot, "start threw a non-standard exception");
    }
  }
}

void PluginHost::stopAll() {
  for (auto& slot : slots_) {
    // Never-started plugins are not stopped; failed ones are (a failed start may leave timers).
    if (!slot.plugin || slot.state == PluginState::kStopped || slot.state == PluginState::kCreated)
      continue;
    try {
      slot.plugin->stop();
    } catch (const std::exception& e) {
      spdlog::error("plugin {}: stop threw: {}", slot.name, e.what());
      metrics_.countPluginFailure(slot.name);
    } catch (...) {
      spdlog::error("plugin {}: stop threw a non-standard exception", slot.name);
      metrics_.countPluginFailure(slot.name);
    }
    if (slot.state == PluginState::kRunning) slot.state = PluginState::kStopped;
    metrics_.setPluginUp(slot.name, false);
  }
}

std::vector<proto::PluginInfo> PluginHost::infos() const {
  std::vector<proto::PluginInfo> out;
  for (const auto& s : slots_) out.push_back({s.name, std::string(toString(s.state)), s.kinds});
  return out;
}

std::map<std::string, std::string> PluginHost::states() const {
  std::map<std::string, std::string> out;
  for (const auto& s : slots_) out[s.name] = std::string(toString(s.state));
  return out;
}

bool PluginHost::allRunning() const {
  for (const auto& s : slots_)
    if (s.state != PluginState::kRunning) return false;
  return true;
}

const std::string* PluginHost::ownerOf(const std::string& kind) const {
  auto it = kind_owner_.find(kind);
  return it == kind_owner_.end() ? nullptr : &it->second;
}

bool PluginHost::isRunning(const std::string& plugin) const {
  for (const auto& s : slots_)
    if (s.name == plugin) return s.state == PluginState::kRunning;
  return false;
}

sdk::Status PluginHost::dispatch(const std::string& plugin, const sdk::Job& job,
                                 sdk::JobReply reply) {
  Slot* slot = find(plugin);
  if (!slot || slot->state != PluginState::kRunning)
    return sdk::makeError(sdk::ErrorCode::kUnavailable, "plugin \"" + plugin + "\" is not running");
  std::string what;
  try {
    slot->plugin->handleJob(job, std::move(reply));
    return {};
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
    what = "non-standard exception";
  }
  spdlog::error("plugin {}: handleJob({}) threw: {}", plugin, job.kind, what);
  metrics_.countPluginFailure(plugin);
  return sdk::makeError(sdk::ErrorCode::kInternal, "plugin " + plugin + " failed: " + what);
}

void PluginHost::collectMetrics(sdk::MetricsWriter& out) {
  for (auto& slot : slots_) {
    if (slot.state != PluginState::kRunning) continue;
    try {
      slot.plugin->collectMetrics(out);
    } catch (const std::exception& e) {
      spdlog::error("plugin {}: collectMetrics threw: {}", slot.name, e.what());
      metrics_.countPluginFailure(slot.name);
    } catch (...) {
      spdlog::error("plugin {}: collectMetrics threw a non-standard exception", slot.name);
      metrics_.countPluginFailure(slot.name);
    }
  }
}

}  // namespace zlh::agent::core
