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
  // Summed here, by reservationOf's rule (a positive integer, else the default): a node's every
  // instance row was read and parsed in C++ on each create, which took half the logic thread
  // with a few thousand instances on the node (docs/benchmarks.md, "Operations").
  Stmt instances(
      db,
      "SELECT node_id, count(*), "
      "sum(CASE WHEN json_valid(resources) AND json_type(resources, '$.memory_mb') = 'integer' "
      "AND json_extract(resources, '$.memory_mb') > 0 THEN json_extract(resources, '$.memory_mb') "
      "ELSE ?2 END), "
      "sum(CASE WHEN json_valid(resources) AND json_type(resources, '$.disk_mb') = 'integer' "
      "AND json_extract(resources, '$.disk_mb') > 0 THEN json_extract(resources, '$.disk_mb') "
      "ELSE ?3 END) "
      "FROM instances WHERE node_id IN (SELECT value FROM json_each(?1)) GROUP BY node_id");
  instances.bind(1, ids).bind(2, in.placement->limits.default_memory_mb);
  instances.bind(3, in.placement->limits.default_disk_mb);
  while ((rc = instances.step()) == SQLITE_ROW)
    loads.addInstances(instances.text(0), instances.int64(1),
                       Reservation{instances.int64(2), instances.int64(3)});
  if (rc != SQLITE_DONE) return toError(db, rc, "place instance: read instances");
  return placedInstance(in, loads.loads());
}

}  // namespace zlh::coordinator::store::sqlite
