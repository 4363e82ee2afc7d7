#pragma once
// SQLite engine: WAL, synchronous=FULL, foreign_keys, busy_timeout, BEGIN IMMEDIATE for writes.
// The process has one writer connection (the logic thread's) and may have read-only connections
// beside it (WAL lets readers run while the writer writes).
#include <sqlite3.h>

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

 private:
  explicit SqliteStore(sqlite3* db) : db_(db) {}
  Status configure(bool read_only);
  Result<User> insertUser(const NewUser& user);
  Result<TokenRecord> insertToken(TokenKind kind, const std::string& owner_id,
                                  const std::string& sha256);
  Result<bool> ownerExists(TokenKind kind, const std::string& owner_id);
  Result<TokenRecord> selectToken(const std::string& sha256, bool active_only);
  Result<Node> insertNode(const std::string& name);

  sqlite3* db_;
};

}  // namespace zlh::coordinator::store
