#pragma once
/// @file
/// An in-memory InstanceRegistry for plugin unit tests. Same rules as the core's: the real
/// transition table (sdk::transitionAllowed), id check, version bumps, listeners (also told of
/// create and update, with `before` == the current state), and an `instance.state` event on
/// create (state installing, version 1, reason "created") and on every transition. Records are not
/// persisted, but create() makes the real directories (<root>/instances/<id>/data, 0700) and
/// remove() deletes them, so a plugin can write files into data_dir. Single-threaded: call from the
/// test thread (the fake "loop").
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/sdk/instances.h"
#include "agent/sdk/listener_list.h"

namespace zlh::agent::sdk::testing {

class FakeInstanceRegistry : public InstanceRegistry {
 public:
  struct Event {
    std::string type;  ///< always "instance.state"
    nlohmann::json body;
  };
  /// Where events go besides events() (FakePluginContext wires its emitEvent here).
  using Emit = std::function<void(const std::string& type, nlohmann::json body)>;

  /// `root` is the agent state dir: records live in <root>/instances/<id>.
  explicit FakeInstanceRegistry(std::filesystem::path root, Emit emit = {});

  std::optional<InstanceRecord> get(const std::string& id) const override;
  std::vector<InstanceRecord> list() const override;
  Result<InstanceRecord> create(const std::string& id, const std::string& template_name,
                                nlohmann::json spec) override;
  Result<InstanceRecord> transition(const std::string& id, InstanceState to,
                                    std::string reason) override;
  Result<InstanceRecord> update(const std::string& id,
                                const std::function<void(InstanceRecord&)>& fn) override;
  Status remove(const std::string& id) override;
  SubscriptionPtr subscribe(InstanceListener listener) override;

  // --- test controls ---
  /// Every `instance.state` event the registry would have sent, in order.
  const std::vector<Event>& events() const { return events_; }
  void clearEvents() { events_.clear(); }
  /// Puts a record as is (no table check, no event), e.g. to start a test from `running` as if
  /// it had been loaded from disk. Dirs are filled in and created when empty.
  void seed(InstanceRecord record);
  /// States the instance went through (after create), e.g. {kInstalling, kInstalled, ...}.
  std::vector<InstanceState> history(const std::string& id) const;
  /// Makes the next create/transition/update/remove fail with this error (once).
  void failNext(Error error) { fail_next_ = std::move(error); }

 private:
  std::optional<Error> takeFailure();
  void sendState(const InstanceRecord& r);
  InstanceRecord* find(const std::string& id);

  std::filesystem::path root_;
  Emit emit_;
  std::map<std::string, InstanceRecord> records_;
  std::map<std::string, std::vector<InstanceState>> history_;
  std::vector<Event> events_;
  ListenerList<const InstanceRecord&, InstanceState> listeners_;
  std::optional<Error> fail_next_;
};

}  // namespace zlh::agent::sdk::testing
