#pragma once
// The coordinator's store, one interface for every engine (SQLite, PostgreSQL). Callers see
// records and proto::Error codes only: NotFound, Conflict (unique names), Unavailable (the
// database cannot be reached), Internal. SQL lives in the engines.
// One Store object is one connection: use it from one thread at a time.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "coordinator/store/instance_types.h"
#include "coordinator/store/queue_types.h"
#include "coordinator/store/types.h"
#include "proto/v1/result.h"

namespace zlh::coordinator::store {

using proto::Result;
using proto::Status;

class Store {
 public:
  virtual ~Store() = default;

  /// Applies the migrations not yet applied (idempotent).
  virtual Status migrate() = 0;
  /// Highest applied migration, 0 for an empty database.
  virtual Result<int> schemaVersion() = 0;
  /// Latest migration this build knows.
  virtual int latestSchemaVersion() const = 0;
  /// A trivial query: fails when the database is unreachable.
  virtual Status ping() = 0;

  virtual Result<User> createUser(const NewUser& user) = 0;
  virtual Result<User> getUser(const std::string& id) = 0;
  /// Creates a user and its first token in one transaction.
  virtual Result<std::pair<User, TokenRecord>> createUserWithToken(const NewUser& user,
                                                                   const std::string& sha256) = 0;

  /// Adds a token for an existing owner (NotFound when the owner does not exist).
  virtual Result<TokenRecord> createToken(TokenKind kind, const std::string& owner_id,
                                          const std::string& sha256) = 0;
  /// A token that exists and is not revoked; NotFound otherwise.
  virtual Result<TokenRecord> findActiveToken(const std::string& sha256) = 0;
  /// A token in any state (to tell "revoked" from "unknown" after findActiveToken failed).
  virtual Result<TokenRecord> findToken(const std::string& sha256) = 0;

  /// Creates a node and its agent token in one transaction.
  virtual Result<std::pair<Node, TokenRecord>> createNodeWithToken(const std::string& name,
                                                                   const std::string& sha256) = 0;
  virtual Result<Node> getNode(const std::string& id) = 0;
  virtual Result<std::vector<Node>> listNodes() = 0;
  /// Revokes the node's tokens and deletes it, in one transaction.
  virtual Status deleteNode(const std::string& id) = 0;
  virtual Status recordHello(const std::string& node_id, const NodeHello& hello) = 0;
  virtual Status touchNode(const std::string& node_id, Time seen) = 0;

  // Instances and operations (instance_types.h). Operations are never deleted; an instance row
  // goes when its delete operation succeeds, with its events.

  /// Claims the idempotency key, then writes the instance (state provisioning) and its
  /// instance.create operation (queued), all in one transaction; idempotency keys older than
  /// kIdempotencyRetentionMs are pruned in it. When the key already exists nothing is written
  /// and `existing` holds its record (the unique index decides between concurrent requests).
  /// With a Placement the node is chosen in the same transaction (store/placement.h): Conflict,
  /// nothing written, when none fits; InvalidArgument when the requested node is gone.
  virtual Result<CreateOutcome> createInstance(const NewInstance& instance,
                                               const IdempotencyClaim& claim) = 0;
  virtual Result<std::optional<IdempotencyRecord>> findIdempotencyKey(const std::string& user_id,
                                                                      const std::string& key) = 0;
  virtual Result<Instance> getInstance(const std::string& id) = 0;
  /// Oldest first; every instance when `owner_id` is empty.
  virtual Result<std::vector<Instance>> listInstances(const std::optional<std::string>& owner_id) = 0;
  /// The instances placed on one node, oldest first.
  virtual Result<std::vector<Instance>> listInstancesOnNode(const std::string& node_id) = 0;
  /// Instances per node id (for placement).
  virtual Result<std::map<std::string, int64_t>> countInstancesByNode() = 0;
  /// Instances per public state (Instance::publicState()).
  virtual Result<std::map<std::string, int64_t>> countInstancesByState() = 0;
  /// Applies an agent's report (see Observation). true when applied, false when stale; NotFound
  /// when no such instance is on that node.
  virtual Result<bool> observeInstance(const Observation& observation) = 0;
  /// Oldest first, at most kMaxEventsPerInstance.
  virtual Result<std::vector<InstanceEvent>> listInstanceEvents(const std::string& instance_id) = 0;

  /// Writes a queued operation on an existing instance and sets its desired state, in one
  /// transaction. NotFound when the instance does not exist.
  virtual Result<std::pair<Instance, Operation>> startOperation(const NewOperation& op) = 0;
  virtual Result<Operation> getOperation(const std::string& id) = 0;
  /// The newest unfinished operation of that kind on the instance, if any.
  virtual Result<std::optional<Operation>> findUnfinishedOperation(const std::string& instance_id,
                                                                   OperationKind kind) = 0;
  /// Finishes an unfinished operation and applies the outcome to its instance, once: false (and
  /// nothing written) when the operation is already final.
  virtual Result<bool> finishOperation(const std::string& id, const OperationOutcome& outcome) = 0;
  /// Operations per (kind, state).
  virtual Result<std::map<std::pair<std::string, std::string>, int64_t>> countOperations() = 0;
  /// Unfinished operations per (kind, state) with the creation time of the oldest; only the
  /// combinations that have some.
  virtual Result<std::vector<OperationBacklog>> operationBacklog() = 0;

  // Queues (queue_types.h, docs/queues.md). createInstance and startOperation write their
  // operation's job (queue provisioning, kind = the operation kind, bound to the instance's node)
  // in their transaction. Queue calls take `now` so tests can move time.

  /// Enqueues a job that carries no operation.
  virtual Result<Job> enqueueJob(const NewJob& job, Time now) = 0;
  virtual Result<Job> getJob(const std::string& id) = 0;
  /// The job carrying an operation (NotFound when it has none).
  virtual Result<Job> getJobOfOperation(const std::string& operation_id) = 0;
  /// Claims up to `limit` available jobs of the queue whose run_at has come, oldest run_at
  /// first, bound to one of `node_ids` or to no node: each becomes running with attempt + 1,
  /// the lease and its deadline; their operations become running in the same transaction.
  /// Concurrent claimers never get the same job.
  virtual Result<std::vector<Job>> claimJobs(const ClaimRequest& request, Time now) = 0;
  /// Extends the leases still held to now + lease. Returns the ids of the jobs that were lost.
  virtual Result<std::vector<std::string>> heartbeatJobs(const std::vector<Fence>& held,
                                                         std::chrono::milliseconds lease,
                                                         Time now) = 0;
  /// A failed attempt to try again: available at `run_at`, failures + 1, the error kept; its
  /// operation goes back to queued showing the error.
  virtual Result<FenceResult> retryJob(const Fence& fence, const proto::Error& error, Time run_at,
                                       Time now) = 0;
  /// Gives a job back without counting a failure (its node's link went away mid-run): available
  /// now; its operation shows waiting with `why`.
  virtual Result<FenceResult> releaseJob(const Fence& fence, const proto::Error& why,
                                         Time now) = 0;
  /// Finishes jobs (succeeded or failed, with their errors) and, for those carrying an
  /// operation, applies its outcome, each once, all in one transaction (one commit for answers
  /// that arrived together): a result per job, in order. An error applies none of them.
  virtual Result<std::vector<FenceResult>> completeJobs(const std::vector<JobCompletion>& jobs,
                                                        Time now) = 0;
  /// completeJobs with one job.
  Result<FenceResult> completeJob(const Fence& fence, JobState final_state,
                                  const std::optional<proto::Error>& error,
                                  const std::optional<OperationOutcome>& outcome, Time now) {
    auto r = completeJobs({JobCompletion{fence, final_state, error, outcome}}, now);
    if (!r) return r.error();
    return r->front();
  }
  /// Cancels an operation whose job is not running (queued or waiting): job and operation
  /// become cancelled and `outcome` (its state is ignored) is applied to the instance.
  /// Conflict when its job is running, FailedPrecondition when it is already final.
  virtual Result<Operation> cancelOperation(const std::string& operation_id,
                                            const OperationOutcome& outcome, Time now) = 0;
  /// Expired leases: back to available (failures + 1, error "lease expired") when attempts
  /// remain; the others are returned untouched as `exhausted`.
  virtual Result<SweepResult> sweepExpiredLeases(Time now) = 0;
  /// Queued operations whose job is available while their node has no live link anywhere
  /// become waiting, with the reason. Returns how many changed.
  virtual Result<int64_t> markWaitingOperations(Time now) = 0;
  /// Every queue's backlog (all queues, all states, zeros included).
  virtual Result<std::vector<QueueStats>> queueStats(Time now) = 0;
  /// Deletes jobs finished before `before` and idempotency keys older than their retention.
  /// Returns how many jobs went.
  virtual Result<int64_t> pruneFinishedJobs(Time before, Time now) = 0;

  // Node links across coordinators: a coordinator holding a node's link keeps its lease fresh;
  // a node is online while its lease has not expired.

  /// Records that `owner` holds these nodes' links until `expires`.
  virtual Status holdNodeLinks(const std::string& owner, const std::vector<std::string>& node_ids,
                               Time expires) = 0;
  /// The link closed: clears the lease if `owner` still holds it.
  virtual Status releaseNodeLink(const std::string& node_id, const std::string& owner) = 0;
  /// At start: what earlier runs of this coordinator (owners with `identity`'s prefix other
  /// than `owner`) still hold is dead. Their node link leases are cleared (those nodes are not
  /// linked until they link again) and their job leases expire now, for the sweeper to return.
  virtual Result<RetiredLeases> retirePredecessors(const std::string& identity,
                                                   const std::string& owner, Time now) = 0;
};

struct OpenOptions {
  bool create = false;     // create the database when it does not exist (init)
  bool read_only = false;  // a reader beside the writer (the gateway's upgrade checks)
};

struct DatabaseUrl {
  std::string engine;  // "sqlite" or "postgres"
  std::string path;    // sqlite: file path, absolute or relative to the working directory
  std::string url;     // postgres: the URL as given (a libpq connection URI)
};

/// Parses "sqlite:///abs/path.db", "sqlite://relative.db", or a libpq connection URI
/// ("postgres://user:password@host:port/dbname?param=value", "postgresql://..."). Errors never
/// contain the password.
Result<DatabaseUrl> parseDatabaseUrl(std::string_view url);

/// The URL with its password (if any) replaced by "***": what logs and messages may show.
std::string redactDatabaseUrl(std::string_view url);

/// Opens the engine named by the URL. Does not migrate. Without `create`, a database that was
/// never initialised is FailedPrecondition. PostgreSQL: the database itself must exist (it is
/// never created); `create` only allows an empty one, whose schema migrate() then writes.
Result<std::unique_ptr<Store>> openStore(std::string_view url, const OpenOptions& options);

/// True when the database the URL names is already initialised (init refuses it). SQLite: the
/// file exists. PostgreSQL: our schema_migrations table exists in the connection's schema (a
/// missing database or an unreachable server is an error, not false).
Result<bool> databaseExists(std::string_view url);

}  // namespace zlh::coordinator::store
