#pragma once
// Row readers shared by the SQLite engine's files. Private to the engine.
#include <nlohmann/json.hpp>
#include <string>

#include "coordinator/store/instance_types.h"
#include "coordinator/store/json_columns.h"
#include "coordinator/store/sqlite_db.h"

namespace zlh::coordinator::store::sqlite {

inline constexpr const char* kInstanceColumns =
    "id, name, owner_id, template, node_id, state, desired_state, unresponsive, address, "
    "state_version, params, env, resources, created_at, updated_at";
inline constexpr const char* kOperationColumns =
    "id, kind, state, instance_id, user_id, node_id, attempts, error, params, created_at, "
    "updated_at, deadline_at";
inline constexpr const char* kIdempotencyColumns =
    "user_id, key, request_hash, operation_id, instance_id, created_at";

using columns::errorColumn;
using columns::errorText;
using columns::jsonColumn;

Instance readInstance(const Stmt& s);
Operation readOperation(const Stmt& s);
IdempotencyRecord readIdempotency(const Stmt& s);

/// Times are stored as unix ms; this is "now" at that resolution.
Time nowMs();

}  // namespace zlh::coordinator::store::sqlite
