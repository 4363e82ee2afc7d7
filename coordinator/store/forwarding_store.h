#pragma once
// A Store that forwards every call to another: tests derive from it to change one behaviour
// (an unreachable database, an injected failure) without restating the whole interface.
#include "coordinator/store/store.h"

namespace zlh::coordinator::store {

class ForwardingStore : public Store {
 public:
  explicit ForwardingStore(Store& inner) : inner_(inner) {}

  Status migrate() override { return inner_.migrate(); }
  Result<int> schemaVersion() override { return inner_.schemaVersion(); }
  int latestSchemaVersion() const override { return inner_.latestSchemaVersion(); }
  Status ping() override { return inner_.ping(); }
  Result<User> createUser(const NewUser& user) override { return inner_.createUser(user); }
  Result<User> getUser(const std::string& id) override { return inner_.getUser(id); }
  Result<std::pair<User, TokenRecord>> createUserWithToken(const NewUser& user,
                                                           const std::string& sha256) override {
    return inner_.createUserWithToken(user, sha256);
  }
  Result<TokenRecord> createToken(TokenKind kind, const std::string& owner_id,
                                  const std::string& sha256) override {
    return inner_.createToken(kind, owner_id, sha256);
  }
  Result<TokenRecord> findActiveToken(const std::string& sha256) override {
    return inner_.findActiveToken(sha256);
  }
  Result<TokenRecord> findToken(const std::string& sha256) override {
    return inner_.findToken(sha256);
  }
  Result<std::pair<Node, TokenRecord>> createNodeWithToken(const std::string& name,
                                                           const std::string& sha256) override {
    return inner_.createNodeWithToken(name, sha256);
  }
  Result<Node> getNode(const std::string& id) override { return inner_.getNode(id); }
  Result<std::vector<Node>> listNodes() override { return inner_.listNodes(); }
  Status deleteNode(const std::string& id) override { return inner_.deleteNode(id); }
  Status recordHello(const std::string& node_id, const NodeHello& hello) override {
    return inner_.recordHello(node_id, hello);
  }
  Status touchNode(const std::string& node_id, Time seen) override {
    return inner_.touchNode(node_id, seen);
  }
  Result<CreateOutcome> createInstance(const NewInstance& instance,
                                       const IdempotencyClaim& claim) override {
    return inner_.createInstance(instance, claim);
  }
  Result<std::optional<IdempotencyRecord>> findIdempotencyKey(const std::string& user_id,
                                                              const std::string& key) override {
    return inner_.findIdempotencyKey(user_id, key);
  }
  Result<Instance> getInstance(const std::string& id) override { return inner_.getInstance(id); }
  Result<std::vector<Instance>> listInstances(const std::optional<std::string>& owner_id) override {
    return inner_.listInstances(owner_id);
  }
  Result<std::vector<Instance>> listInstancesOnNode(const std::string& node_id) override {
    return inner_.listInstancesOnNode(node_id);
  }
  Result<std::map<std::string, int64_t>> countInstancesByNode() override {
    return inner_.countInstancesByNode();
  }
  Result<std::map<std::string, int64_t>> countInstancesByState() override {
    return inner_.countInstancesByState();
  }
  Result<bool> observeInstance(const Observation& observation) override {
    return inner_.observeInstance(observation);
  }
  Result<std::vector<InstanceEvent>> listInstanceEvents(const std::string& instance_id) override {
    return inner_.listInstanceEvents(instance_id);
  }
  Result<std::pair<Instance, Operation>> startOperation(const NewOperation& op) override {
    return inner_.startOperation(op);
  }
  Result<Operation> getOperation(const std::string& id) override { return inner_.getOperation(id); }
  Result<std::optional<Operation>> findUnfinishedOperation(const std::string& instance_id,
                                                           OperationKind kind) override {
    return inner_.findUnfinishedOperation(instance_id, kind);
  }
  Result<bool> finishOperation(const std::string& id, const OperationOutcome& outcome) override {
    return inner_.finishOperation(id, outcome);
  }
  Result<std::map<std::pair<std::string, std::string>, int64_t>> countOperations() override {
    return inner_.countOperations();
  }
  Result<std::vector<OperationBacklog>> operationBacklog() override {
    return inner_.operationBacklog();
  }
  Result<Job> enqueueJob(const NewJob& job, Time now) override {
    return inner_.enqueueJob(job, now);
  }
  Result<Job> getJob(const std::string& id) override { return inner_.getJob(id); }
  Result<Job> getJobOfOperation(const std::string& operation_id) override {
    return inner_.getJobOfOperation(operation_id);
  }
  Result<std::vector<Job>> claimJobs(const ClaimRequest& request, Time now) override {
    return inner_.claimJobs(request, now);
  }
  Result<std::vector<std::string>> heartbeatJobs(const std::vector<Fence>& held,
                                                 std::chrono::milliseconds lease,
                                                 Time now) override {
    return inner_.heartbeatJobs(held, lease, now);
  }
  Result<FenceResult> retryJob(const Fence& fence, const proto::Error& error, Time run_at,
                               Time now) override {
    return inner_.retryJob(fence, error, run_at, now);
  }
  Result<FenceResult> releaseJob(const Fence& fence, const proto::Error& why, Time now) override {
    return inner_.releaseJob(fence, why, now);
  }
  Result<std::vector<FenceResult>> completeJobs(const std::vector<JobCompletion>& jobs,
                                                Time now) override {
    return inner_.completeJobs(jobs, now);
  }
  Result<Operation> cancelOperation(const std::string& operation_id,
                                    const OperationOutcome& outcome, Time now) override {
    return inner_.cancelOperation(operation_id, outcome, now);
  }
  Result<SweepResult> sweepExpiredLeases(Time now) override {
    return inner_.sweepExpiredLeases(now);
  }
  Result<int64_t> markWaitingOperations(Time now) override {
    return inner_.markWaitingOperations(now);
  }
  Result<std::vector<QueueStats>> queueStats(Time now) override { return inner_.queueStats(now); }
  Result<int64_t> pruneFinishedJobs(Time before, Time now) override {
    return inner_.pruneFinishedJobs(before, now);
  }
  Status holdNodeLinks(const std::string& owner, const std::vector<std::string>& node_ids,
                       Time expires) override {
    return inner_.holdNodeLinks(owner, node_ids, expires);
  }
  Status releaseNodeLink(const std::string& node_id, const std::string& owner) override {
    return inner_.releaseNodeLink(node_id, owner);
  }
  Result<RetiredLeases> retirePredecessors(const std::string& identity, const std::string& owner,
                                           Time now) override {
    return inner_.retirePredecessors(identity, owner, now);
  }

 protected:
  Store& inner_;
};

}  // namespace zlh::coordinator::store
