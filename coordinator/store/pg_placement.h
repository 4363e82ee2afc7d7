#pragma once
// PostgreSQL's half of placement (store/placement.h), private to the engine.
#include "coordinator/store/instance_types.h"
#include "coordinator/store/pg_conn.h"

namespace zlh::coordinator::store::pg {

/// `in` placed by its Placement (none: `in` as it is). Call it inside the create's transaction:
/// it locks the candidate node rows (FOR UPDATE, in id order so concurrent creates cannot
/// deadlock on them) before summing their instances, so a concurrent create on those nodes
/// waits for this transaction and then sees its instance.
proto::Result<NewInstance> placeInstance(Conn& conn, const NewInstance& in);

}  // namespace zlh::coordinator::store::pg
