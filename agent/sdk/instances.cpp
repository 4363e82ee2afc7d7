#include "agent/sdk/instances.h"

#include <array>
#include <utility>

namespace zlh::agent::sdk {
namespace {

constexpr std::array<std::pair<InstanceState, std::string_view>, 9> kNames{{
    {InstanceState::kInstalling, "installing"},
    {InstanceState::kInstalled, "installed"},
    {InstanceState::kStarting, "starting"},
    {InstanceState::kRunning, "running"},
    {InstanceState::kReady, "ready"},
    {InstanceState::kStopping, "stopping"},
    {InstanceState::kStopped, "stopped"},
    {InstanceState::kCrashed, "crashed"},
    {InstanceState::kFailed, "failed"},
}};

constexpr unsigned bit(InstanceState s) { return 1u << static_cast<unsigned>(s); }

// docs/lifecycle.md "States": the one transition table. Row = from, bits = allowed targets.
constexpr unsigned allowedFrom(InstanceState from) {
  using S = InstanceState;
  switch (from) {
    case S::kInstalling:
      return bit(S::kInstalled) | bit(S::kFailed);
    case S::kInstalled:
      return bit(S::kStarting) | bit(S::kInstalling) | bit(S::kStopped);
    case S::kStarting:
      return bit(S::kRunning) | bit(S::kReady) | bit(S::kStopping) | bit(S::kStopped) |
             bit(S::kCrashed) | bit(S::kFailed);
    case S::kRunning:
      return bit(S::kReady) | bit(S::kStopping) | bit(S::kStopped) | bit(S::kCrashed);
    case S::kReady:
      return bit(S::kRunning) | bit(S::kStopping) | bit(S::kStopped) | bit(S::kCrashed);
    case S::kStopping:
      return bit(S::kStopped) | bit(S::kCrashed) | bit(S::kFailed);
    case S::kStopped:
      return bit(S::kStarting) | bit(S::kInstalling);
    case S::kCrashed:
      return bit(S::kStarting) | bit(S::kStopped) | bit(S::kFailed);
    case S::kFailed:
      return bit(S::kStarting) | bit(S::kInstalling) | bit(S::kStopped);
  }
  return 0;
}

}  // namespace

std::string_view toString(InstanceState state) {
  for (const auto& [s, name] : kNames)
    if (s == state) return name;
  return "unknown";
}

std::optional<InstanceState> instanceStateFromString(std::string_view name) {
  for (const auto& [s, n] : kNames)
    if (n == name) return s;
  return std::nullopt;
}

bool transitionAllowed(InstanceState from, InstanceState to) {
  return (allowedFrom(from) & bit(to)) != 0;
}

bool isUp(InstanceState state) {
  return state == InstanceState::kStarting || state == InstanceState::kRunning ||
         state == InstanceState::kReady;
}

bool hasProcess(InstanceState state) {
  return isUp(state) || state == InstanceState::kStopping;
}

bool validInstanceId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace zlh::agent::sdk
