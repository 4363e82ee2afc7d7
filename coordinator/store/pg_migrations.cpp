#include "coordinator/store/pg_migrations.h"

namespace zlh::coordinator::store::pg {

// The SQLite schema with PostgreSQL types, chosen so both engines return identical records:
// times are unix milliseconds (BIGINT), JSON columns are TEXT (stored as written; jsonb would
// reorder keys), `unresponsive` is BOOLEAN. `operations.seq` stands in for SQLite's rowid: it
// orders operations created in the same millisecond by insertion, as the SQLite engine does.
const std::vector<Migration>& migrations() {
  static const std::vector<Migration> list{
      {1, "users, tokens, nodes", R"sql(
CREATE TABLE users (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE,
  role        TEXT NOT NULL CHECK (role IN ('admin', 'user', 'metrics')),
  created_at  BIGINT NOT NULL
);
CREATE TABLE tokens (
  id          TEXT PRIMARY KEY,
  kind        TEXT NOT NULL CHECK (kind IN ('user', 'node')),
  owner_id    TEXT NOT NULL,
  sha256      TEXT NOT NULL UNIQUE,
  created_at  BIGINT NOT NULL,
  revoked_at  BIGINT
);
CREATE INDEX tokens_by_owner ON tokens (kind, owner_id);
CREATE TABLE nodes (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE,
  created_at  BIGINT NOT NULL,
  last_seen   BIGINT,
  version     TEXT,
  capacity    TEXT,
  metrics_url TEXT,
  plugins     TEXT NOT NULL DEFAULT '[]'
);
)sql"},
      {2, "instances, operations, idempotency keys, instance events", R"sql(
CREATE TABLE instances (
  id             TEXT PRIMARY KEY,
  name           TEXT NOT NULL,
  owner_id       TEXT NOT NULL REFERENCES users (id),
  template       TEXT NOT NULL,
  node_id        TEXT NOT NULL,  -- no foreign key: a deleted node's instances stay (docs/api.md)
  state          TEXT NOT NULL,
  desired_state  TEXT NOT NULL CHECK (desired_state IN ('running', 'stopped', 'deleted')),
  unresponsive   BOOLEAN NOT NULL DEFAULT false,
  address        TEXT,
  state_version  BIGINT NOT NULL DEFAULT 0,
  params         TEXT NOT NULL DEFAULT '{}',
  env            TEXT NOT NULL DEFAULT '{}',
  resources      TEXT NOT NULL DEFAULT '{}',
  created_at     BIGINT NOT NULL,
  updated_at     BIGINT NOT NULL
);
CREATE INDEX instances_by_owner ON instances (owner_id, created_at);
CREATE INDEX instances_by_node ON instances (node_id);
CREATE TABLE operations (
  id           TEXT PRIMARY KEY,
  seq          BIGINT GENERATED ALWAYS AS IDENTITY,
  kind         TEXT NOT NULL CHECK (kind IN ('instance.create', 'instance.delete', 'instance.power')),
  state        TEXT NOT NULL CHECK (state IN ('queued', 'waiting', 'running', 'succeeded', 'failed',
                                              'stale', 'cancelled')),
  instance_id  TEXT NOT NULL,  -- no foreign key: the record outlives a deleted instance
  user_id      TEXT NOT NULL,
  node_id      TEXT NOT NULL,
  attempts     BIGINT NOT NULL DEFAULT 0,
  error        TEXT,
  params       TEXT NOT NULL DEFAULT '{}',
  created_at   BIGINT NOT NULL,
  updated_at   BIGINT NOT NULL
);
-- Only the unfinished rows: finding work stays cheap however long the history grows.
CREATE INDEX operations_unfinished ON operations (node_id, created_at)
  WHERE state IN ('queued', 'waiting', 'running');
CREATE INDEX operations_by_instance ON operations (instance_id, kind, created_at);
CREATE INDEX operations_by_kind_state ON operations (kind, state);
CREATE TABLE idempotency_keys (
  user_id       TEXT NOT NULL,
  key           TEXT NOT NULL,
  request_hash  TEXT NOT NULL,
  operation_id  TEXT NOT NULL,
  instance_id   TEXT NOT NULL,
  created_at    BIGINT NOT NULL,
  UNIQUE (user_id, key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
CREATE TABLE instance_events (
  id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  instance_id  TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
  at           BIGINT NOT NULL,
  type         TEXT NOT NULL,
  body         TEXT NOT NULL
);
CREATE INDEX instance_events_by_instance ON instance_events (instance_id, id);
)sql"},
      {3, "job queues, operation deadlines, node link leases", R"sql(
ALTER TABLE operations ADD COLUMN deadline_at BIGINT;
ALTER TABLE nodes ADD COLUMN link_owner TEXT;
ALTER TABLE nodes ADD COLUMN link_expires_at BIGINT;
CREATE TABLE jobs (
  id                TEXT PRIMARY KEY,
  queue             TEXT NOT NULL CHECK (queue IN ('provisioning', 'repair', 'billing_enforcement')),
  kind              TEXT NOT NULL,
  operation_id      TEXT UNIQUE,  -- one job per operation
  node_id           TEXT,         -- claimed only where this node's link is; NULL: anywhere
  payload           TEXT NOT NULL DEFAULT '{}',
  state             TEXT NOT NULL CHECK (state IN ('available', 'running', 'succeeded', 'failed',
                                                   'cancelled')),
  attempt           BIGINT NOT NULL DEFAULT 0,
  failures          BIGINT NOT NULL DEFAULT 0,
  max_attempts      BIGINT NOT NULL,
  run_at            BIGINT NOT NULL,
  lease_owner       TEXT,
  lease_expires_at  BIGINT,
  started_at        BIGINT,
  deadline_at       BIGINT,
  last_error        TEXT,
  created_at        BIGINT NOT NULL,
  updated_at        BIGINT NOT NULL,
  finished_at       BIGINT
);
-- Partial indexes: claims, sweeps and backlog figures read only unfinished rows, so a long
-- finished history does not slow them (FIELD-NOTES: a plain (state, run_at, id) index lets the
-- PostgreSQL planner scan history).
CREATE INDEX jobs_claimable ON jobs (queue, run_at, id) WHERE state = 'available';
CREATE INDEX jobs_running ON jobs (queue, lease_expires_at) WHERE state = 'running';
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE state IN ('succeeded', 'failed', 'cancelled');
-- Operations left unfinished by an earlier version get their job; running ones run again (the
-- agent answers a finished job id from its record).
INSERT INTO jobs (id, queue, kind, operation_id, node_id, payload, state, attempt, failures,
                  max_attempts, run_at, created_at, updated_at)
  SELECT 'jb_' || substr(id, 4), 'provisioning', kind, id, node_id, '{}', 'available', attempts, 0,
         5, created_at, created_at, updated_at
  FROM operations WHERE state IN ('queued', 'waiting', 'running');
UPDATE operations SET state = 'queued' WHERE state = 'running';
)sql"},
      {4, "instance reservations as columns, summed by placement over an index", R"sql(
-- What each row reserves (placement.h, reservedColumn): its resources' memory_mb / disk_mb when
-- a positive integer (digits only: 1.5 and 1000.0 are not), else NULL (the configured default at
-- placement time). The cast sits in THEN: only text that passed the pattern reaches it.
ALTER TABLE instances ADD COLUMN reserved_memory_mb BIGINT, ADD COLUMN reserved_disk_mb BIGINT;
UPDATE instances SET
  reserved_memory_mb = CASE WHEN jsonb_typeof(resources::jsonb -> 'memory_mb') = 'number'
      AND (resources::jsonb ->> 'memory_mb') ~ '^[0-9]{1,18}$'
      THEN nullif((resources::jsonb ->> 'memory_mb')::bigint, 0) END,
  reserved_disk_mb = CASE WHEN jsonb_typeof(resources::jsonb -> 'disk_mb') = 'number'
      AND (resources::jsonb ->> 'disk_mb') ~ '^[0-9]{1,18}$'
      THEN nullif((resources::jsonb ->> 'disk_mb')::bigint, 0) END;
DROP INDEX instances_by_node;
CREATE INDEX instances_by_node ON instances (node_id, reserved_memory_mb, reserved_disk_mb);
)sql"},
  };
  return list;
}

}  // namespace zlh::coordinator::store::pg
