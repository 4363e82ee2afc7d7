#include "coordinator/store/store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

#include "coordinator/common/tokens.h"
#include "coordinator/store/tests/engine_store.h"

namespace zlh::coordinator::store {
namespace {
namespace fs = std::filesystem;
using proto::ErrorCode;

using testing::Engine;

class StoreTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override { ZLH_REQUIRE_ENGINE(tmp_); }
  bool sqlite() const { return tmp_.engine == Engine::kSqlite; }

  testing::EngineStore tmp_{GetParam(), "zlh-store-test"};
  const std::string& dir_ = tmp_.dir;
  const std::string& url_ = tmp_.url;
  std::unique_ptr<Store>& store_ = tmp_.store;
};

INSTANTIATE_TEST_SUITE_P(Engines, StoreTest, ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         testing::engineName);

TEST(DatabaseUrl, Parses) {
  auto abs = parseDatabaseUrl("sqlite:///var/lib/x.db");
  ASSERT_TRUE(abs.ok());
  EXPECT_EQ(abs->engine, "sqlite");
  EXPECT_EQ(abs->path, "/var/lib/x.db");
  auto rel = parseDatabaseUrl("sqlite://data/x.db");
  ASSERT_TRUE(rel.ok());
  EXPECT_EQ(rel->path, "data/x.db");
  EXPECT_FALSE(parseDatabaseUrl("sqlite://").ok());
  EXPECT_FALSE(parseDatabaseUrl("sqlite:///dir/").ok());
  EXPECT_FALSE(parseDatabaseUrl("mysql://x").ok());
  auto pg = parseDatabaseUrl("postgres://u:pw@h:5433/db?sslmode=require");
  ASSERT_TRUE(pg.ok()) << pg.error().message;
  EXPECT_EQ(pg->engine, "postgres");
  EXPECT_EQ(pg->url, "postgres://u:pw@h:5433/db?sslmode=require");
  EXPECT_TRUE(parseDatabaseUrl("postgresql:///db?host=/run/postgresql").ok());
  EXPECT_TRUE(parseDatabaseUrl("postgresql://h1:5432,h2:5432/db").ok());
}

TEST(DatabaseUrl, BadPostgresUrlsAreClearAndNeverShowThePassword) {
  for (const char* bad : {"postgres://u:s3cretpw@h:notaport/db", "postgres://u:s3cretpw@h/db?bogus=1",
                          "postgres://u:s3cretpw@[::1/db", "postgresql://u@h/db?password=s3cretpw&x=%zz"}) {
    auto r = parseDatabaseUrl(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << bad;
    EXPECT_EQ(r.error().message.find("s3cretpw"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("postgres"), std::string::npos) << r.error().message;
  }
}

TEST(DatabaseUrl, RedactsPasswords) {
  EXPECT_EQ(redactDatabaseUrl("postgres://u:pw@h:5432/db"), "postgres://u:***@h:5432/db");
  EXPECT_EQ(redactDatabaseUrl("postgresql://u:p%40w@h/db?sslmode=disable&password=x&a=b"),
            "postgresql://u:***@h/db?sslmode=disable&password=***&a=b");
  EXPECT_EQ(redactDatabaseUrl("postgresql://u@h/db?password=x"), "postgresql://u@h/db?password=***");
  EXPECT_EQ(redactDatabaseUrl("postgresql://h/db"), "postgresql://h/db");
  EXPECT_EQ(redactDatabaseUrl("sqlite:///var/lib/x.db"), "sqlite:///var/lib/x.db");
}

TEST(DatabaseUrl, UnreachablePostgresIsUnavailableWithoutThePassword) {
  // Port 1 on loopback: nothing listens there, the connection is refused at once.
  std::string url = "postgresql://zlh:s3cretpw@127.0.0.1:1/zlh?connect_timeout=2";
  auto s = openStore(url, {});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(s.error().message.find("s3cretpw"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("zlh:***@127.0.0.1:1"), std::string::npos) << s.error().message;
  auto e = databaseExists(url);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, ErrorCode::kUnavailable);
}

TEST_P(StoreTest, MigrationsAreIdempotent) {
  auto v = store_->schemaVersion();
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, store_->latestSchemaVersion());
  EXPECT_TRUE(store_->migrate().ok());
  EXPECT_TRUE(store_->migrate().ok());
  EXPECT_EQ(*store_->schemaVersion(), store_->latestSchemaVersion());
  EXPECT_TRUE(store_->ping().ok());
}

TEST_P(StoreTest, FreshDatabaseHasVersionZero) {
  std::string url = tmp_.emptyDatabaseUrl();
  auto before = databaseExists(url);
  ASSERT_TRUE(before.ok()) << before.error().message;
  EXPECT_FALSE(*before);
  auto s = openStore(url, {.create = true});
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(*(*s)->schemaVersion(), 0);
  ASSERT_TRUE((*s)->migrate().ok());
  EXPECT_EQ(*(*s)->schemaVersion(), (*s)->latestSchemaVersion());
  EXPECT_TRUE(*databaseExists(url));  // init refuses it now
  EXPECT_TRUE(openStore(url, {}).ok());
  if (sqlite()) {
    struct stat st {};
    ASSERT_EQ(::stat(url.substr(9).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);  // it holds token hashes
  }
}

TEST_P(StoreTest, OpeningAMissingDatabaseWithoutCreateFails) {
  std::string url = tmp_.emptyDatabaseUrl();
  auto s = openStore(url, {});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(s.error().message.find("zlh-coordinator init"), std::string::npos) << s.error().message;
  EXPECT_FALSE(*databaseExists(url));
  if (sqlite()) {
    EXPECT_FALSE(fs::exists(url.substr(9)));
  }
}

TEST_P(StoreTest, UsersCreateGetAndUniqueNames) {
  auto u = store_->createUser({"alice", Role::kUser});
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_EQ(u->id.substr(0, 4), "usr_");
  auto got = store_->getUser(u->id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->name, "alice");
  EXPECT_EQ(got->role, Role::kUser);
  EXPECT_EQ(common::toUnixMs(got->created_at), common::toUnixMs(u->created_at));
  auto dup = store_->createUser({"alice", Role::kAdmin});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, ErrorCode::kConflict);
  EXPECT_EQ(store_->getUser("usr_nope").error().code, ErrorCode::kNotFound);
}

TEST_P(StoreTest, UserWithTokenAndLookupByHash) {
  std::string token = common::newToken();
  auto created = store_->createUserWithToken({"admin", Role::kAdmin}, common::hashToken(token));
  ASSERT_TRUE(created.ok());
  auto found = store_->findActiveToken(common::hashToken(token));
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->owner_id, created->first.id);
  EXPECT_EQ(found->kind, TokenKind::kUser);
  EXPECT_EQ(found->id.substr(0, 4), "tok_");
  EXPECT_EQ(store_->findActiveToken(common::hashToken(common::newToken())).error().code,
            ErrorCode::kNotFound);
  // A second token for the same user; a token for a missing user is NotFound.
  EXPECT_TRUE(store_->createToken(TokenKind::kUser, created->first.id, common::sha256Hex("t2")).ok());
  EXPECT_EQ(store_->createToken(TokenKind::kUser, "usr_nope", common::sha256Hex("t3")).error().code,
            ErrorCode::kNotFound);
  // The same hash twice is a conflict, and a failed transaction leaves no user behind.
  auto again = store_->createUserWithToken({"someone", Role::kUser}, common::hashToken(token));
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
  EXPECT_TRUE(store_->createUser({"someone", Role::kUser}).ok());
}

TEST_P(StoreTest, NodesCrudAndDeleteRevokesTokens) {
  std::string token = common::newToken();
  std::string hash = common::hashToken(token);
  auto created = store_->createNodeWithToken("node-1", hash);
  ASSERT_TRUE(created.ok()) << created.error().message;
  const Node& n = created->first;
  EXPECT_EQ(n.id.substr(0, 3), "nd_");
  EXPECT_FALSE(n.last_seen.has_value());
  EXPECT_EQ(store_->createNodeWithToken("node-1", common::sha256Hex("x")).error().code,
            ErrorCode::kConflict);
  ASSERT_TRUE(store_->createNodeWithToken("node-0", common::sha256Hex("y")).ok());
  auto list = store_->listNodes();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "node-0");  // by name

  NodeHello hello{common::now(), "1.0", {{"cpus", 4}}, "http://h:7421/metrics",
                  nlohmann::json::array({{{"name", "system"}}})};
  ASSERT_TRUE(store_->recordHello(n.id, hello).ok());
  auto got = store_->getNode(n.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->version, "1.0");
  EXPECT_EQ((*got->capacity)["cpus"], 4);
  EXPECT_EQ(got->metrics_url, "http://h:7421/metrics");
  EXPECT_EQ(got->plugins[0]["name"], "system");
  ASSERT_TRUE(got->last_seen.has_value());
  EXPECT_TRUE(store_->touchNode(n.id, common::now()).ok());

  ASSERT_TRUE(store_->findActiveToken(hash).ok());
  ASSERT_TRUE(store_->deleteNode(n.id).ok());
  EXPECT_EQ(store_->getNode(n.id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->deleteNode(n.id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->touchNode(n.id, common::now()).error().code, ErrorCode::kNotFound);
  // The revoked token is not found as active, but is still known (to tell "revoked" apart).
  EXPECT_EQ(store_->findActiveToken(hash).error().code, ErrorCode::kNotFound);
  auto any = store_->findToken(hash);
  ASSERT_TRUE(any.ok());
  EXPECT_TRUE(any->revoked_at.has_value());
  // The name is free again.
  EXPECT_TRUE(store_->createNodeWithToken("node-1", common::sha256Hex("z")).ok());
}

TEST_P(StoreTest, ReadOnlyConnectionSeesCommittedWrites) {
  auto reader = openStore(url_, {.read_only = true});
  ASSERT_TRUE(reader.ok()) << reader.error().message;
  std::string hash = common::sha256Hex("node-token");
  EXPECT_EQ((*reader)->findActiveToken(hash).error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(store_->createNodeWithToken("n", hash).ok());
  EXPECT_TRUE((*reader)->findActiveToken(hash).ok());
  EXPECT_FALSE((*reader)->createUser({"x", Role::kUser}).ok());
}

}  // namespace
}  // namespace zlh::coordinator::store
