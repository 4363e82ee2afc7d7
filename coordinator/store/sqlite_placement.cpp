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
  Stmt instances(db,
                 "SELECT node_id, resources FROM instances "
                 "WHERE node_id IN (SELECT value FROM json_each(?))");
  instances.bind(1, ids);
  while ((rc = instances.step()) == SQLITE_ROW)
    loads.addInstance(instances.text(0), instances.text(1));
  if (rc != SQLITE_DONE) return toError(db, rc, "place instance: read instances");
  return placedInstance(in, loads.loads());
}

}  // namespace zlh::coordinator::store::sqlite
