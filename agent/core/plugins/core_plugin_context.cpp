#include "agent/core/plugins/core_plugin_context.h"

#include <stdexcept>

#include "agent/core/log/log.h"

namespace zlh::agent::core {

CorePluginContext::CorePluginContext(const std::string& plugin, std::filesystem::path state_dir,
                                     const ContextEnv& env)
    : env_(env), state_dir_(std::move(state_dir)), logger_(makePrefixedLogger(plugin)) {}

sdk::Status CorePluginContext::emitEvent(const std::string& type, nlohmann::json body) {
  if (!env_.emit) return sdk::makeError(sdk::ErrorCode::kUnavailable, "events are not wired");
  return env_.emit(type, std::move(body));
}

}  // namespace zlh::agent::core

namespace zlh::agent::core {

sdk::InstanceRegistry& CorePluginContext::instances() {
  if (!env_.instances) throw std::logic_error("the instance registry is not wired");
  return *env_.instances;
}

sdk::Supervisor& CorePluginContext::supervisor() {
  if (!env_.supervisor) throw std::logic_error("the supervisor is not wired");
  return *env_.supervisor;
}

}  // namespace zlh::agent::core
