#pragma once
// SQLite's half of placement (store/placement.h), private to the engine.
#include <sqlite3.h>

#include "coordinator/store/instance_types.h"
#include "coordinator/store/sqlite_db.h"
#include "proto/v1/result.h"

namespace zlh::coordinator::store::sqlite {

/// `in` placed by its Placement (none: `in` as it is). Reads the candidate nodes and their
/// instances; call it inside the create's write transaction, which BEGIN IMMEDIATE makes the
/// only writer, so no other create can reserve on those nodes until it ends.
proto::Result<NewInstance> placeInstance(const Connection& db, const NewInstance& in);

}  // namespace zlh::coordinator::store::sqlite
