#pragma once
// What the API asks of the agent gateway: who is online, send a job and wait, drop a node.
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "proto/v1/result.h"

namespace zlh::coordinator::gateway {

struct JobRequest {
  std::string node_id;
  std::string job_id;
  std::string kind;
  std::optional<std::string> instance_id;
  nlohmann::json params = nlohmann::json::object();
  std::chrono::milliseconds timeout{60000};
};

struct JobOutcome {
  std::string job_id;
  nlohmann::json result;
  bool redelivered = false;
};

/// Called once on the logic thread: the outcome, the agent's error, Unavailable (offline, link
/// dropped, shutting down) or DeadlineExceeded.
using JobCallback = std::function<void(proto::Result<JobOutcome>)>;

class NodeLinks {
 public:
  virtual ~NodeLinks() = default;
  virtual bool isOnline(const std::string& node_id) const = 0;
  virtual size_t onlineCount() const = 0;
  /// The nodes whose link (on this coordinator) completed hello.
  virtual std::vector<std::string> onlineNodeIds() const = 0;
  virtual void dispatchJob(JobRequest request, JobCallback done) = 0;
  /// The node was deleted: close its links with 4009.
  virtual void dropNode(const std::string& node_id) = 0;
};

}  // namespace zlh::coordinator::gateway
