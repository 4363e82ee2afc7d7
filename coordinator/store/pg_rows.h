#pragma once
// Row readers shared by the PostgreSQL engine's files. Private to the engine.
#include "coordinator/store/instance_types.h"
#include "coordinator/store/pg_conn.h"

namespace zlh::coordinator::store::pg {

// Same columns, same order as the SQLite engine's readers.
#define ZLH_PG_INSTANCE_COLUMNS                                                          \
  "id, name, owner_id, template, node_id, state, desired_state, unresponsive, address, " \
  "state_version, params, env, resources, created_at, updated_at"
#define ZLH_PG_OPERATION_COLUMNS                                                          \
  "id, kind, state, instance_id, user_id, node_id, attempts, error, params, created_at, " \
  "updated_at, deadline_at"

Instance readInstance(const Rows& r, int row);
Operation readOperation(const Rows& r, int row);
IdempotencyRecord readIdempotency(const Rows& r, int row);

/// One row of a result, read by column (what the engine-neutral readers take).
struct RowRef {
  const Rows& r;
  int row;
  std::string text(int col) const { return r.text(row, col); }
  int64_t int64(int col) const { return r.int64(row, col); }
  std::optional<std::string> optText(int col) const { return r.optText(row, col); }
  std::optional<int64_t> optInt64(int col) const { return r.optInt64(row, col); }
};

/// Times are stored as unix ms; this is "now" at that resolution.
Time nowMs();

}  // namespace zlh::coordinator::store::pg
