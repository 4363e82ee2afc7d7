#pragma once
// The agent job of an operation (docs/lifecycle.md): instance.create -> lifecycle.create with
// {template, name, params, env, resources, start}, instance.delete -> lifecycle.delete,
// instance.power -> lifecycle.<action>. The job id is the operation id, so a re-sent job is
// answered from the agent's record instead of running twice.
#include <chrono>

#include "coordinator/gateway/node_links.h"
#include "coordinator/store/instance_types.h"

namespace zlh::coordinator::instances {

struct JobTimeouts {
  std::chrono::milliseconds create{std::chrono::minutes(30)};  // includes the install
  std::chrono::milliseconds other{std::chrono::minutes(10)};
};

gateway::JobRequest jobFor(const store::Operation& op, const JobTimeouts& timeouts);

}  // namespace zlh::coordinator::instances
