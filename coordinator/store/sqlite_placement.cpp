#include "coordinator/store/sqlite_placement.h"

#include "coordinator/store/json_columns.h"
#include "coordinator/store/placement.h"
#include "coordinator/store/sqlite_db.h"

namespace zlh::coordinator::store::sqlite {

proto::Result<NewInstance> placeInstance(const Connection& db, const NewInstance& in) {
  if (!in.placement) return in;
  // The candidates travel as one JSON array parameter (json_each), however many there are.
  std::string ids = columns::dumpJson(in.placement->candidates);
  NodeLoads loads(in.placement->limits);
  Stmt nodes(db,
             "SELECT id, name, capacity FROM nodes WHERE id IN (SELECT value FROM json_each(?))");
  nodes.bind(1, ids);
  int rc;
  while ((rc = nodes.step()) == SQLITE_ROW)
    loads.addNode(nodes.text(0), nodes.text(1), nodes.optText(2));
  if (rc != SQLITE_DONE) return toError(db, rc, "place instance: read nodes");
  // A covering index (node_id, reserved_memory_mb, reserved_disk_mb) answers this alone.
  Stmt instances(db,
                 "SELECT node_id, count(*), coalesce(sum(reserved_memory_mb), 0), "
                 "coalesce(sum(reserved_disk_mb), 0), count(*) - count(reserved_memory_mb), "
                 "count(*) - count(reserved_disk_mb) FROM instances "
                 "WHERE node_id IN (SELECT value FROM json_each(?)) GROUP BY node_id");
  instances.bind(1, ids);
  while ((rc = instances.step()) == SQLITE_ROW)
    loads.addInstances(instances.text(0), instances.int64(1),
                       {instances.int64(2), instances.int64(3)}, instances.int64(4),
                       instances.int64(5));
  if (rc != SQLITE_DONE) return toError(db, rc, "place instance: read instances");
  return placedInstance(in, loads.loads());
}

}  // namespace zlh::coordinator::store::sqlite
