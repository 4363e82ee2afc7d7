#pragma once
// The PostgreSQL engine's schema, versioned like the SQLite one (same versions, same tables).
#include <vector>

#include "coordinator/store/sqlite_migrations.h"

namespace zlh::coordinator::store::pg {

using sqlite::Migration;

/// In version order. Version N here is the same schema as version N of the SQLite engine.
const std::vector<Migration>& migrations();

}  // namespace zlh::coordinator::store::pg
