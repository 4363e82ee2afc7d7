#pragma once
// SQLite engine: WAL, synchronous=FULL, foreign_keys, busy_timeout, BEGIN IMMEDIATE for writes.
// The process has one writer connection (the logic thread's) and may have read-only connections
// beside it (WAL lets readers run while the writer writes). Every write is a WriteTransaction:
// when several connections of the process write to one file, they take turns in its
// WriterQueue (sqlite_db.h) rather than polling for SQLite's lock.
#include <sqlite3.h>

#include <memory>

#include "coordinator/store/sqlite_db.h"
#include "coordinator/store/store.h"

namespace zlh::coordinator::store {

class SqliteStore final : public Store {
 public:
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& path, const OpenOptions& options);
  ~SqliteStore() override;

  Status migrate() override;
  Result<int> schemaVersion() override;
  int latestSchemaVersion() const override;
  Status ping() override;

  Result<User> createUser(const NewUser& user) override;
  Result<User> getUser(const std::string& id) override;
  Result<std::pair<User, TokenRecord>> createUserWithToken(const NewUser& user,
                                                           const std::string& sha256) override;

  Result<TokenRecord> createToken(TokenKind kind, const std::string& owner_id,
                                  const std::string& sha256) override;
  Result<TokenRecord> findActiveToken(const std::string& sha256) override;
  Result<TokenRecord> findToken(const std::string& sha256) override;

  Result<std::pair<Node, TokenRecord>> createNodeWithToken(const std::string& name,
                                                           const std::string& sha256) override;
  Result<Node> getNode(const std::string& id) override;
  Result<std::vector<Node>> listNodes() override;
  Status deleteNode(const std::string& id) override;
  Status recordHello(const std::string& node_id, const NodeHello& hello) override;
  Status touchNode(const std::string& node_id, Time seen) override;

  Result<CreateOutcome> createInstance(const NewInstance& instance,
                                       const IdempotencyClaim& claim) override;
  Result<std::optional<IdempotencyRecord>> findIdempotencyKey(const std::string& user_id,
                                                              const std::string& key) override;
  Result<Instance> getInstance(const std::string& id) override;
  Result<std::vector<Instance>> listInstances(const std::optional<std::string>& owner_id) override;
  Result<std::vector<Instance>> listInstancesOnNode(const std::string& node_id) override;
  Result<std::map<std::string, int64_t>> countInstancesByNode() override;
  Result<std::map<std::string, int64_t>> countInstancesByState() override;
  Result<bool> observeInstance(const Observation& observation) override;
  Result<std::vector<InstanceEvent>> listInstanceEvents(const std::string& instance_id) override;

  Result<std::pair<Instance, Operation>> startOperation(const NewOperation& op) override;
  Result<Operation> getOperation(const std::string& id) override;
  Result<std::optional<Operation>> findUnfinishedOperation(const std::string& instance_id,
                                                           OperationKind kind) override;
  Result<bool> finishOperation(const std::string& id, const OperationOutcome& outcome) override;
  Result<std::map<std::pair<std::string, std::string>, int64_t>> countOperations() override;
  Result<std::vector<OperationBacklog>> operationBacklog() override;

  Result<Job> enqueueJob(const NewJob& job, Time now) override;
  Result<Job> getJob(const std::string& id) override;
  Result<Job> getJobOfOperation(const std::string& operation_id) override;
  Result<std::vector<Job>> claimJobs(const ClaimRequest& request, Time now) override;
  Result<std::vector<std::string>> heartbeatJobs(const std::vector<Fence>& held,
                                                 std::chrono::milliseconds lease,
                                                 Time now) override;
  Result<FenceResult> retryJob(const Fence& fence, const proto::Error& error, Time run_at,
                               Time now) override;
  Result<FenceResult> releaseJob(const Fence& fence, const proto::Error& why, Time now) override;
  Result<std::vector<FenceResult>> completeJobs(const std::vector<JobCompletion>& jobs,
                                                Time now) override;
  Result<Operation> cancelOperation(const std::string& operation_id,
                                    const OperationOutcome& outcome, Time now) override;
  Result<SweepResult> sweepExpiredLeases(Time now) override;
  Result<int64_t> markWaitingOperations(Time now) override;
  Result<std::vector<QueueStats>> queueStats(Time now) override;
  Result<int64_t> pruneFinishedJobs(Time before, Time now) override;
  Status holdNodeLinks(const std::string& owner, const std::vector<std::string>& node_ids,
                       Time expires) override;
  Status releaseNodeLink(const std::string& node_id, const std::string& owner) override;
  Result<RetiredLeases> retirePredecessors(const std::string& identity, const std::string& owner,
                                           Time now) override;

 private:
  explicit SqliteStore(sqlite3* db) : db_(db) {}
  Status configure(bool read_only);
  Result<User> insertUser(const NewUser& user);
  Result<TokenRecord> insertToken(TokenKind kind, const std::string& owner_id,
                                  const std::string& sha256);
  Result<bool> ownerExists(TokenKind kind, const std::string& owner_id);
  Result<TokenRecord> selectToken(const std::string& sha256, bool active_only);
  Result<Node> insertNode(const std::string& name);
  Result<Operation> insertOperation(OperationKind kind, const std::string& instance_id,
                                    const std::string& user_id, const std::string& node_id,
                                    const nlohmann::json& params, Time at);
  Result<std::optional<IdempotencyRecord>> selectIdempotencyKey(const std::string& user_id,
                                                                const std::string& key);
  Result<bool> applyObservation(const Observation& o, Time at);
  Status insertEvent(const std::string& instance_id, const InstanceEvent& event);
  Status applyOutcomeToInstance(const Operation& op, const OperationOutcome& outcome, Time at);
  Result<bool> finishOperationInTx(const std::string& id, const OperationOutcome& outcome, Time now);
  Result<std::optional<Job>> selectJob(const char* where, const std::string& key);
  Status setOperationState(const std::string& id, OperationState state,
                           const std::optional<proto::Error>& error, Time now);

  sqlite::Connection db_;  // with its kept statements
  std::shared_ptr<sqlite::WriterQueue> writers_;  // this file's writers in the process
};

}  // namespace zlh::coordinator::store
