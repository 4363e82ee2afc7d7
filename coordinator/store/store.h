#pragma once
// The coordinator's store, one interface for every engine (SQLite now, PostgreSQL with the
// queue issue). Callers see records and proto::Error codes only: NotFound, Conflict (unique
// names), Unavailable (the database cannot be reached), Internal. SQL lives in the engines.
// One Store object is one connection: use it from one thread at a time.
#include <memory>
#include <string>
#include <utility>
#include <vector>

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
};

struct OpenOptions {
  bool create = false;     // create the database when it does not exist (init)
  bool read_only = false;  // a reader beside the writer (the gateway's upgrade checks)
};

struct DatabaseUrl {
  std::string engine;  // "sqlite"
  std::string path;    // sqlite: file path, absolute or relative to the working directory
};

/// Parses "sqlite:///abs/path.db" or "sqlite://relative.db".
Result<DatabaseUrl> parseDatabaseUrl(std::string_view url);

/// Opens the engine named by the URL. Does not migrate.
Result<std::unique_ptr<Store>> openStore(std::string_view url, const OpenOptions& options);

/// True when the database the URL names already exists (init refuses it).
Result<bool> databaseExists(std::string_view url);

}  // namespace zlh::coordinator::store
