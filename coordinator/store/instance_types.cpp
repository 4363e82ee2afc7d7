#include "coordinator/store/instance_types.h"

namespace zlh::coordinator::store {

std::string_view toString(OperationKind kind) {
  switch (kind) {
    case OperationKind::kInstanceCreate:
      return "instance.create";
    case OperationKind::kInstanceDelete:
      return "instance.delete";
    case OperationKind::kInstancePower:
      return "instance.power";
  }
  return "instance.create";
}

std::optional<OperationKind> parseOperationKind(std::string_view text) {
  for (auto k : allOperationKinds())
    if (toString(k) == text) return k;
  return std::nullopt;
}

const std::vector<OperationKind>& allOperationKinds() {
  static const std::vector<OperationKind> kinds{OperationKind::kInstanceCreate,
                                                OperationKind::kInstanceDelete,
                                                OperationKind::kInstancePower};
  return kinds;
}

std::string_view toString(OperationState state) {
  switch (state) {
    case OperationState::kQueued:
      return "queued";
    case OperationState::kWaiting:
      return "waiting";
    case OperationState::kRunning:
      return "running";
    case OperationState::kSucceeded:
      return "succeeded";
    case OperationState::kFailed:
      return "failed";
    case OperationState::kStale:
      return "stale";
    case OperationState::kCancelled:
      return "cancelled";
  }
  return "queued";
}

std::optional<OperationState> parseOperationState(std::string_view text) {
  for (auto s : allOperationStates())
    if (toString(s) == text) return s;
  return std::nullopt;
}

const std::vector<OperationState>& allOperationStates() {
  static const std::vector<OperationState> states{
      OperationState::kQueued,    OperationState::kWaiting, OperationState::kRunning,
      OperationState::kSucceeded, OperationState::kFailed,  OperationState::kStale,
      OperationState::kCancelled};
  return states;
}

bool isFinal(OperationState state) {
  return state != OperationState::kQueued && state != OperationState::kWaiting &&
         state != OperationState::kRunning;
}

}  // namespace zlh::coordinator::store
