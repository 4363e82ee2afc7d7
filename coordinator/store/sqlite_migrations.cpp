#include "coordinator/store/sqlite_migrations.h"

namespace zlh::coordinator::store::sqlite {

// Times are unix milliseconds (INTEGER); JSON columns are TEXT.
const std::vector<Migration>& migrations() {
  static const std::vector<Migration> list{
      {1, "users, tokens, nodes", R"sql(
CREATE TABLE users (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE,
  role        TEXT NOT NULL CHECK (role IN ('admin', 'user', 'metrics')),
  created_at  INTEGER NOT NULL
);
CREATE TABLE tokens (
  id          TEXT PRIMARY KEY,
  kind        TEXT NOT NULL CHECK (kind IN ('user', 'node')),
  owner_id    TEXT NOT NULL,
  sha256      TEXT NOT NULL UNIQUE,
  created_at  INTEGER NOT NULL,
  revoked_at  INTEGER
);
CREATE INDEX tokens_by_owner ON tokens (kind, owner_id);
CREATE TABLE nodes (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE,
  created_at  INTEGER NOT NULL,
  last_seen   INTEGER,
  version     TEXT,
  capacity    TEXT,
  metrics_url TEXT,
  plugins     TEXT NOT NULL DEFAULT '[]'
);
)sql"},
  };
  return list;
}

}  // namespace zlh::coordinator::store::sqlite
