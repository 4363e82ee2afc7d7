#pragma once
// The core's instance registry (sdk::InstanceRegistry): records persisted as
// <state.dir>/instances/<id>/instance.json (atomic, 0600; dirs 0700), the transition table of
// docs/lifecycle.md (sdk::transitionAllowed), listeners, and an `instance.state` event toward the
// coordinator on create and on every transition. Loop thread for writes; get/list/summaries are
// also safe from other threads.
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "agent/sdk/instances.h"
#include "agent/sdk/listener_list.h"
#include "agent/sdk/task.h"
#include "proto/v1/messages.h"

namespace zlh::agent::core {

class CoreInstanceRegistry : public sdk::InstanceRegistry {
 public:
  /// Validates and queues an event toward the coordinator.
  using Emit = std::function<sdk::Status(const std::string& type, nlohmann::json body)>;
  /// Runs slow disk work (deleting a removed instance's files) off the loop; empty = inline.
  using RunBlocking = std::function<void(sdk::Task)>;

  struct LoadReport {
    size_t loaded = 0;
    size_t corrupt = 0;  ///< moved aside to instance.json.corrupt
    size_t without_record = 0;
  };

  CoreInstanceRegistry(std::filesystem::path state_dir, Emit emit, RunBlocking run_blocking = {});

  /// Reads every <state.dir>/instances/<id>/instance.json (at start, before plugins run). A
  /// corrupt record is logged, renamed to instance.json.corrupt and skipped; leftovers of removed
  /// instances are deleted.
  sdk::Result<LoadReport> load();
  /// For hello: id, template, state, state_version of every record.
  std::vector<proto::InstanceSummary> summaries() const;
  const std::filesystem::path& instancesDir() const { return instances_dir_; }

  std::optional<sdk::InstanceRecord> get(const std::string& id) const override;
  std::vector<sdk::InstanceRecord> list() const override;
  sdk::Result<sdk::InstanceRecord> create(const std::string& id, const std::string& template_name,
                                          nlohmann::json spec) override;
  sdk::Result<sdk::InstanceRecord> transition(const std::string& id, sdk::InstanceState to,
                                              std::string reason) override;
  sdk::Result<sdk::InstanceRecord> update(
      const std::string& id, const std::function<void(sdk::InstanceRecord&)>& fn) override;
  sdk::Status remove(const std::string& id) override;
  sdk::SubscriptionPtr subscribe(sdk::InstanceListener listener) override;

 private:
  sdk::Status persist(const sdk::InstanceRecord& r) const;
  sdk::Status prepareDir(const std::string& id, const std::filesystem::path& dir) const;
  void sendState(const sdk::InstanceRecord& r);
  void discard(const std::filesystem::path& dir);

  std::filesystem::path instances_dir_;
  Emit emit_;
  RunBlocking run_blocking_;
  mutable std::mutex mu_;  // guards records_ (readers on other threads)
  std::map<std::string, sdk::InstanceRecord> records_;
  sdk::ListenerList<const sdk::InstanceRecord&, sdk::InstanceState> listeners_;
  uint64_t trash_seq_ = 0;
};

}  // namespace zlh::agent::core
