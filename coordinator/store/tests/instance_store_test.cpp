// Instances, operations, idempotency keys and instance events, on both engines.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "coordinator/common/tokens.h"
#include "coordinator/store/store.h"
#include "coordinator/store/tests/engine_store.h"

namespace zlh::coordinator::store {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using proto::ErrorCode;

using testing::Engine;

class InstanceStoreTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    ZLH_REQUIRE_ENGINE(tmp_);
    alice_ = store_->createUser({"alice", Role::kUser})->id;
    bob_ = store_->createUser({"bob", Role::kUser})->id;
  }
  NewInstance newInstance(const std::string& owner, const std::string& node = "nd_a") {
    NewInstance n;
    n.name = "My Server";
    n.owner_id = owner;
    n.template_name = "test";
    n.node_id = node;
    n.params = {{"motd", "hi"}};
    n.resources = {{"memory_mb", 512}};
    n.requested_by = owner;
    n.operation_params = {{"template", "test"}, {"name", "My Server"}};
    return n;
  }
  CreateOutcome create(const std::string& owner, const std::string& key,
                       const std::string& hash = "h1", const std::string& node = "nd_a") {
    auto r = store_->createInstance(newInstance(owner, node), {owner, key, hash});
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : CreateOutcome{};
  }
  int64_t count(const std::string& table) { return tmp_.count(table); }
  void execRaw(const std::string& sql) { tmp_.execRaw(sql); }
  Observation observe(const std::string& id, uint64_t version, const std::string& state,
                      const std::string& node = "nd_a") {
    Observation o;
    o.instance_id = id;
    o.node_id = node;
    o.state_version = version;
    o.state = state;
    o.event = InstanceEvent{"instance.state", common::now(), {{"state", state}}};
    return o;
  }

  testing::EngineStore tmp_{GetParam(), "zlh-inst-store"};
  const std::string& dir_ = tmp_.dir;
  const std::string& url_ = tmp_.url;
  std::unique_ptr<Store>& store_ = tmp_.store;
  std::string alice_, bob_;
};

INSTANTIATE_TEST_SUITE_P(Engines, InstanceStoreTest,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres), testing::engineName);

TEST_P(InstanceStoreTest, CreateWritesInstanceOperationAndKeyTogether) {
  auto out = create(alice_, "k1");
  ASSERT_TRUE(out.instance && out.operation);
  EXPECT_FALSE(out.existing);
  EXPECT_EQ(out.instance->id.substr(0, 3), "in_");
  EXPECT_EQ(out.operation->id.substr(0, 3), "op_");

  auto inst = store_->getInstance(out.instance->id);
  ASSERT_TRUE(inst.ok());
  EXPECT_EQ(inst->name, "My Server");
  EXPECT_EQ(inst->owner_id, alice_);
  EXPECT_EQ(inst->template_name, "test");
  EXPECT_EQ(inst->node_id, "nd_a");
  EXPECT_EQ(inst->state, "provisioning");
  EXPECT_EQ(inst->publicState(), "provisioning");
  EXPECT_EQ(inst->desired_state, "running");
  EXPECT_FALSE(inst->unresponsive);
  EXPECT_FALSE(inst->address);
  EXPECT_EQ(inst->state_version, 0u);
  EXPECT_EQ(inst->params["motd"], "hi");
  EXPECT_EQ(inst->resources["memory_mb"], 512);

  auto op = store_->getOperation(out.operation->id);
  ASSERT_TRUE(op.ok());
  EXPECT_EQ(op->kind, OperationKind::kInstanceCreate);
  EXPECT_EQ(op->state, OperationState::kQueued);
  EXPECT_EQ(op->instance_id, inst->id);
  EXPECT_EQ(op->user_id, alice_);
  EXPECT_EQ(op->node_id, "nd_a");
  EXPECT_EQ(op->attempts, 0);
  EXPECT_FALSE(op->error);
  EXPECT_EQ(op->params["template"], "test");

  auto key = store_->findIdempotencyKey(alice_, "k1");
  ASSERT_TRUE(key.ok() && *key);
  EXPECT_EQ((*key)->request_hash, "h1");
  EXPECT_EQ((*key)->operation_id, op->id);
  EXPECT_EQ((*key)->instance_id, inst->id);
  EXPECT_FALSE(*store_->findIdempotencyKey(bob_, "k1"));
}

TEST_P(InstanceStoreTest, AnExistingKeyWritesNothingAndReturnsItsRecord) {
  auto first = create(alice_, "k1", "h1");
  auto again = create(alice_, "k1", "h2");  // the caller compares hashes
  EXPECT_FALSE(again.instance);
  ASSERT_TRUE(again.existing);
  EXPECT_EQ(again.existing->operation_id, first.operation->id);
  EXPECT_EQ(again.existing->request_hash, "h1");
  EXPECT_EQ(count("instances"), 1);
  EXPECT_EQ(count("operations"), 1);
  // Keys are scoped per user.
  auto other = create(bob_, "k1");
  EXPECT_TRUE(other.instance);
  EXPECT_EQ(count("instances"), 2);
}

TEST_P(InstanceStoreTest, ConcurrentCreatorsWithOneKeyCreateOnce) {
  // Two connections (as two coordinators would have) race on the same key: the unique index
  // lets exactly one of them create.
  auto second = openStore(url_, {});
  ASSERT_TRUE(second.ok());
  std::atomic<int> created{0}, replayed{0}, failed{0};
  auto worker = [&](Store* s) {
    for (int i = 0; i < 10; ++i) {
      auto r = s->createInstance(newInstance(alice_), {alice_, "race", "h"});
      if (!r)
        ++failed;
      else if (r->instance)
        ++created;
      else
        ++replayed;
    }
  };
  std::thread a(worker, store_.get()), b(worker, second->get());
  a.join();
  b.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(replayed.load(), 19);
  EXPECT_EQ(count("instances"), 1);
  EXPECT_EQ(count("operations"), 1);
  EXPECT_EQ(count("idempotency_keys"), 1);
}

TEST_P(InstanceStoreTest, KeysOlderThanTheRetentionArePruned) {
  create(alice_, "old");
  create(alice_, "recent");
  int64_t long_ago = common::toUnixMs(common::now()) - kIdempotencyRetentionMs - 1000;
  execRaw("UPDATE idempotency_keys SET created_at = " + std::to_string(long_ago) +
          " WHERE key = 'old'");
  create(alice_, "new");
  EXPECT_FALSE(*store_->findIdempotencyKey(alice_, "old"));
  EXPECT_TRUE(*store_->findIdempotencyKey(alice_, "recent"));
  EXPECT_EQ(count("instances"), 3);  // the instance stays; only the key goes
}

TEST_P(InstanceStoreTest, MissingOwnerIsNotFound) {
  auto r = store_->createInstance(newInstance("usr_nobody"), {alice_, "k", "h"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(count("operations"), 0);
  EXPECT_EQ(count("idempotency_keys"), 0);
}

TEST_P(InstanceStoreTest, ObservationsFollowStateVersions) {
  std::string id = create(alice_, "k").instance->id;
  EXPECT_TRUE(*store_->observeInstance(observe(id, 2, "installing")));
  auto stale = store_->observeInstance(observe(id, 1, "stopped"));
  ASSERT_TRUE(stale.ok());
  EXPECT_FALSE(*stale);
  EXPECT_EQ(store_->getInstance(id)->state, "installing");
  EXPECT_TRUE(*store_->observeInstance(observe(id, 2, "installed")));  // equal version applies
  EXPECT_EQ(store_->getInstance(id)->state, "installed");

  Observation flag;
  flag.instance_id = id;
  flag.node_id = "nd_a";
  flag.state_version = 2;
  flag.unresponsive = true;
  flag.set_address = true;
  flag.address = "10.0.0.1:25565";
  EXPECT_TRUE(*store_->observeInstance(flag));
  auto inst = store_->getInstance(id);
  EXPECT_EQ(inst->state, "installed");  // no state in the observation: kept
  EXPECT_TRUE(inst->unresponsive);
  EXPECT_EQ(inst->address, "10.0.0.1:25565");
  EXPECT_EQ(inst->state_version, 2u);

  // Another node cannot touch it; an unknown id is NotFound.
  EXPECT_EQ(store_->observeInstance(observe(id, 9, "failed", "nd_b")).error().code,
            ErrorCode::kNotFound);
  EXPECT_EQ(store_->observeInstance(observe("in_nope", 9, "failed")).error().code,
            ErrorCode::kNotFound);

  auto events = store_->listInstanceEvents(id);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);  // only applied observations with an event
  EXPECT_EQ((*events)[0].body["state"], "installing");
  EXPECT_EQ((*events)[1].body["state"], "installed");
}

TEST_P(InstanceStoreTest, EventsAreCappedPerInstance) {
  std::string id = create(alice_, "k").instance->id;
  std::string other = create(alice_, "k2").instance->id;
  ASSERT_TRUE(*store_->observeInstance(observe(other, 1, "installing")));
  for (int i = 1; i <= kMaxEventsPerInstance + 10; ++i) {
    std::string state = "s";
    state += std::to_string(i);  // not "s" + ...: GCC 12's -Wrestrict false positive at -O2
    ASSERT_TRUE(*store_->observeInstance(observe(id, static_cast<uint64_t>(i), state)));
  }
  auto events = store_->listInstanceEvents(id);
  ASSERT_EQ(events->size(), static_cast<size_t>(kMaxEventsPerInstance));
  EXPECT_EQ(events->front().body["state"], "s11");
  EXPECT_EQ(events->back().body["state"], "s510");
  EXPECT_EQ(store_->listInstanceEvents(other)->size(), 1u);
}

TEST_P(InstanceStoreTest, OperationsStartMarkAndList) {
  std::string a = create(alice_, "k1", "h", "nd_a").instance->id;
  std::string b = create(alice_, "k2", "h", "nd_b").instance->id;
  auto started = store_->startOperation(
      {OperationKind::kInstancePower, a, bob_, {{"action", "stop"}}, "stopped"});
  ASSERT_TRUE(started.ok()) << started.error().message;
  EXPECT_EQ(started->first.desired_state, "stopped");
  EXPECT_EQ(store_->getInstance(a)->desired_state, "stopped");
  EXPECT_EQ(started->second.node_id, "nd_a");
  EXPECT_EQ(started->second.user_id, bob_);
  EXPECT_EQ(store_->startOperation({OperationKind::kInstancePower, "in_nope", bob_, {}, "running"})
                .error()
                .code,
            ErrorCode::kNotFound);

  auto found = store_->findUnfinishedOperation(a, OperationKind::kInstancePower);
  ASSERT_TRUE(found.ok() && *found);
  EXPECT_EQ((*found)->id, started->second.id);
  EXPECT_FALSE(*store_->findUnfinishedOperation(a, OperationKind::kInstanceDelete));

  // Each operation has its job, bound to the instance's node.
  auto job = store_->getJobOfOperation(started->second.id);
  ASSERT_TRUE(job.ok()) << job.error().message;
  EXPECT_EQ(job->kind, "instance.power");
  EXPECT_EQ(job->node_id, "nd_a");
  EXPECT_EQ(job->state, JobState::kAvailable);
  EXPECT_EQ(count("jobs"), 3);
}

TEST_P(InstanceStoreTest, FinishingAppliesTheOutcomeOnce) {
  auto created = create(alice_, "k");
  std::string id = created.instance->id, op = created.operation->id;
  OperationOutcome ok;
  ok.observe = observe(id, 3, "running");
  ok.observe->event.reset();
  ok.observe->set_address = true;
  ok.observe->address = "127.0.0.1:25565";
  EXPECT_TRUE(*store_->finishOperation(op, ok));
  EXPECT_EQ(store_->getOperation(op)->state, OperationState::kSucceeded);
  auto inst = store_->getInstance(id);
  EXPECT_EQ(inst->state, "running");
  EXPECT_EQ(inst->address, "127.0.0.1:25565");
  // A second answer (a redelivered job.done) changes nothing.
  OperationOutcome late;
  late.state = OperationState::kFailed;
  late.force_state = "failed";
  EXPECT_FALSE(*store_->finishOperation(op, late));
  EXPECT_EQ(store_->getOperation(op)->state, OperationState::kSucceeded);
  EXPECT_EQ(store_->getInstance(id)->state, "running");

  // A failed delete restores the desired state; a confirmed one removes the row and its events.
  ASSERT_TRUE(*store_->observeInstance(observe(id, 4, "ready")));
  auto del = store_->startOperation({OperationKind::kInstanceDelete, id, alice_, {}, "deleted"});
  EXPECT_EQ(store_->getInstance(id)->publicState(), "deleting");
  EXPECT_EQ(store_->countInstancesByState()->at("deleting"), 1);
  OperationOutcome failed;
  failed.state = OperationState::kFailed;
  failed.error = proto::Error{ErrorCode::kInternal, "disk on fire"};
  failed.desired_state = "running";
  EXPECT_TRUE(*store_->finishOperation(del->second.id, failed));
  EXPECT_EQ(store_->getInstance(id)->publicState(), "ready");
  EXPECT_EQ(store_->getOperation(del->second.id)->error->message, "disk on fire");

  auto del2 = store_->startOperation({OperationKind::kInstanceDelete, id, alice_, {}, "deleted"});
  OperationOutcome gone;
  gone.delete_instance = true;
  EXPECT_TRUE(*store_->finishOperation(del2->second.id, gone));
  EXPECT_EQ(store_->getInstance(id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(count("instance_events"), 0);
  EXPECT_EQ(store_->getOperation(del2->second.id)->instance_id, id);  // the record stays

  auto counts = store_->countOperations();
  ASSERT_TRUE(counts.ok());
  auto c = *counts;
  EXPECT_EQ(c[std::make_pair(std::string("instance.create"), std::string("succeeded"))], 1);
  EXPECT_EQ(c[std::make_pair(std::string("instance.delete"), std::string("failed"))], 1);
  EXPECT_EQ(c[std::make_pair(std::string("instance.delete"), std::string("succeeded"))], 1);
}

TEST_P(InstanceStoreTest, OperationBacklogCountsUnfinishedWithTheOldest) {
  EXPECT_TRUE(store_->operationBacklog()->empty());
  auto a = create(alice_, "k1");
  auto b = create(alice_, "k2");
  auto c = create(bob_, "k3");
  // Make the ages distinct and known: a is the oldest create, c is running, b finished.
  execRaw("UPDATE operations SET created_at = 1000 WHERE id = '" + a.operation->id + "'");
  execRaw("UPDATE operations SET created_at = 5000 WHERE id = '" + c.operation->id + "'");
  execRaw("UPDATE operations SET state = 'running' WHERE id = '" + c.operation->id + "'");
  OperationOutcome done;
  done.state = OperationState::kSucceeded;
  ASSERT_TRUE(*store_->finishOperation(b.operation->id, done));

  auto backlog = store_->operationBacklog();
  ASSERT_TRUE(backlog.ok()) << backlog.error().message;
  ASSERT_EQ(backlog->size(), 2u);
  std::map<OperationState, OperationBacklog> by_state;
  for (const auto& row : *backlog) {
    EXPECT_EQ(row.kind, OperationKind::kInstanceCreate);
    by_state[row.state] = row;
  }
  EXPECT_EQ(by_state.at(OperationState::kQueued).count, 1);
  EXPECT_EQ(common::toUnixMs(by_state.at(OperationState::kQueued).oldest_created_at), 1000);
  EXPECT_EQ(by_state.at(OperationState::kRunning).count, 1);
  EXPECT_EQ(common::toUnixMs(by_state.at(OperationState::kRunning).oldest_created_at), 5000);
}

TEST_P(InstanceStoreTest, ConcurrentFinishersFinishOnce) {
  // Two coordinators receive the same job.done (a redelivery after a reconnect): one applies it.
  auto second = openStore(url_, {});
  ASSERT_TRUE(second.ok()) << second.error().message;
  for (int round = 0; round < 10; ++round) {
    auto created = create(alice_, "k" + std::to_string(round));
    std::atomic<int> applied{0}, failed{0};
    auto finisher = [&](Store* s) {
      OperationOutcome outcome;
      outcome.force_state = "running";
      auto r = s->finishOperation(created.operation->id, outcome);
      if (!r)
        ++failed;
      else if (*r)
        ++applied;
    };
    std::thread a(finisher, store_.get()), b(finisher, second->get());
    a.join();
    b.join();
    EXPECT_EQ(failed.load(), 0);
    EXPECT_EQ(applied.load(), 1);
  }
}

TEST_P(InstanceStoreTest, ListsAndCounts) {
  create(alice_, "k1", "h", "nd_a");
  create(alice_, "k2", "h", "nd_a");
  create(bob_, "k1", "h", "nd_b");
  EXPECT_EQ(store_->listInstances(std::nullopt)->size(), 3u);
  EXPECT_EQ(store_->listInstances(alice_)->size(), 2u);
  EXPECT_EQ(store_->listInstances(std::string("usr_nobody"))->size(), 0u);
  EXPECT_EQ(store_->listInstancesOnNode("nd_a")->size(), 2u);
  EXPECT_EQ(store_->listInstancesOnNode("nd_b")->at(0).owner_id, bob_);
  auto by_node = store_->countInstancesByNode();
  EXPECT_EQ(by_node->at("nd_a"), 2);
  EXPECT_EQ(by_node->at("nd_b"), 1);
  EXPECT_EQ(store_->countInstancesByState()->at("provisioning"), 3);
}

}  // namespace
}  // namespace zlh::coordinator::store
