#pragma once
// A NodeLinks double: who is online, and the jobs sent with their callbacks.
#include <set>
#include <string>
#include <vector>

#include "coordinator/gateway/node_links.h"

namespace zlh::coordinator::instances::testing {

class FakeLinks final : public gateway::NodeLinks {
 public:
  struct Sent {
    gateway::JobRequest request;
    gateway::JobCallback done;
  };
  bool isOnline(const std::string& id) const override { return online.count(id) > 0; }
  size_t onlineCount() const override { return online.size(); }
  std::vector<std::string> onlineNodeIds() const override {
    return {online.begin(), online.end()};
  }
  void dispatchJob(gateway::JobRequest r, gateway::JobCallback done) override {
    sent.push_back({std::move(r), std::move(done)});
  }
  void dropNode(const std::string& id) override { online.erase(id); }

  std::set<std::string> online;
  std::vector<Sent> sent;
};

}  // namespace zlh::coordinator::instances::testing
