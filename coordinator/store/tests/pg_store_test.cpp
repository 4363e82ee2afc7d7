// What only the PostgreSQL engine has: a server that can go away, a database that must exist
// beforehand, and passwords in URLs.
#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "coordinator/common/tokens.h"
#include "coordinator/store/store.h"
#include "coordinator/store/tests/engine_store.h"

namespace zlh::coordinator::store {
namespace {
using proto::ErrorCode;
using testing::Engine;

class PgStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ZLH_REQUIRE_ENGINE(tmp_); }
  std::string password() const {
    // The test cluster's URL has one (scripts/pg-cluster); "" when another server has none.
    const std::string& u = tmp_.url;
    auto scheme = u.find("://") + 3;
    auto at = u.find('@', scheme);
    auto colon = u.find(':', scheme);
    if (at == std::string::npos || colon == std::string::npos || colon > at) return "";
    return u.substr(colon + 1, at - colon - 1);
  }

  testing::EngineStore tmp_{Engine::kPostgres, "zlh-pg-store"};
  std::unique_ptr<Store>& store_ = tmp_.store;
};

TEST_F(PgStoreTest, ALostConnectionIsUnavailableThenReconnects) {
  ASSERT_TRUE(store_->createUser({"alice", Role::kUser}).ok());
  ASSERT_GE(tmp_.killConnections(), 1);
  // The first call finds the connection gone: a clear Unavailable, not a crash or a hang.
  auto lost = store_->getUser("usr_nope");
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.error().code, ErrorCode::kUnavailable) << lost.error().message;
  EXPECT_NE(lost.error().message.find("connection"), std::string::npos) << lost.error().message;
  if (!password().empty()) {
    EXPECT_EQ(lost.error().message.find(password()), std::string::npos);
  }
  // The next one reconnects; the data is there.
  auto again = store_->createUser({"bob", Role::kUser});
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(store_->createUser({"alice", Role::kUser}).error().code, ErrorCode::kConflict);
  EXPECT_TRUE(store_->ping().ok());
}

TEST_F(PgStoreTest, ALostConnectionInsideATransactionWritesNothing) {
  ASSERT_TRUE(store_->createUser({"alice", Role::kUser}).ok());
  tmp_.killConnections();
  // A transaction's BEGIN meets the dead connection: Unavailable, nothing half-written.
  auto r = store_->createUserWithToken({"carol", Role::kUser}, common::sha256Hex("t"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(tmp_.count("users"), 1);
  EXPECT_EQ(tmp_.count("tokens"), 0);
  auto retry = store_->createUserWithToken({"carol", Role::kUser}, common::sha256Hex("t"));
  ASSERT_TRUE(retry.ok()) << retry.error().message;
  EXPECT_EQ(tmp_.count("tokens"), 1);
}

TEST_F(PgStoreTest, AReadOnlyStoreAlsoReconnectsReadOnly) {
  auto reader = openStore(tmp_.url, {.read_only = true});
  ASSERT_TRUE(reader.ok()) << reader.error().message;
  tmp_.killConnections();
  EXPECT_FALSE((*reader)->ping().ok());
  EXPECT_TRUE((*reader)->ping().ok());
  // Still read-only after the reset: the session setting is applied again.
  auto w = (*reader)->createUser({"x", Role::kUser});
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().code, ErrorCode::kUnavailable) << w.error().message;
  EXPECT_NE(w.error().message.find("read-only"), std::string::npos) << w.error().message;
}

TEST_F(PgStoreTest, AMissingDatabaseIsAFailedPreconditionNamingIt) {
  std::string url = tmp_.url;
  auto slash = url.find('/', url.find("://") + 3);
  auto end = url.find('?', slash);
  url.replace(slash + 1, end - slash - 1, "zlh_no_such_db");
  for (bool create : {false, true}) {
    auto s = openStore(url, {.create = create});
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::kFailedPrecondition) << s.error().message;
    EXPECT_NE(s.error().message.find("zlh_no_such_db"), std::string::npos) << s.error().message;
    if (!password().empty()) {
      EXPECT_EQ(s.error().message.find(password()), std::string::npos);
    }
  }
  EXPECT_EQ(databaseExists(url).error().code, ErrorCode::kFailedPrecondition);
}

TEST_F(PgStoreTest, AWrongPasswordIsUnavailableAndNotEchoed) {
  if (password().empty()) GTEST_SKIP() << "ZLH_TEST_PG_URL has no password";
  std::string url = tmp_.url;
  std::string wrong = "wrongpw" + common::randomBase62(6);
  url.replace(url.find(password()), password().size(), wrong);
  auto s = openStore(url, {});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(s.error().message.find("password authentication failed"), std::string::npos)
      << s.error().message;
  EXPECT_EQ(s.error().message.find(wrong), std::string::npos) << s.error().message;
}

TEST_F(PgStoreTest, MigratingTwiceConcurrentlyIsSafe) {
  // Coordinators starting together: the advisory lock serialises their migrations.
  std::string url = tmp_.emptyDatabaseUrl();
  auto a = openStore(url, {.create = true});
  auto b = openStore(url, {.create = true});
  ASSERT_TRUE(a.ok() && b.ok());
  Status ra, rb;
  std::thread ta([&] { ra = (*a)->migrate(); }), tb([&] { rb = (*b)->migrate(); });
  ta.join();
  tb.join();
  EXPECT_TRUE(ra.ok()) << ra.error().message;
  EXPECT_TRUE(rb.ok()) << rb.error().message;
  EXPECT_EQ(*(*a)->schemaVersion(), (*a)->latestSchemaVersion());
}

}  // namespace
}  // namespace zlh::coordinator::store
