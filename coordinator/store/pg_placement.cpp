#include "coordinator/store/pg_placement.h"

#include "coordinator/store/json_columns.h"
#include "coordinator/store/placement.h"

namespace zlh::coordinator::store::pg {

proto::Result<NewInstance> placeInstance(Conn& conn, const NewInstance& in) {
  if (!in.placement) return in;
  // The candidates travel as one JSON array parameter, however many there are.
  std::string ids = columns::dumpJson(in.placement->candidates);
  auto nodes = conn.exec("place instance: lock nodes",
                         "SELECT id, name, capacity FROM nodes "
                         "WHERE id IN (SELECT jsonb_array_elements_text($1::jsonb)) "
                         "ORDER BY id FOR UPDATE",
                         {ids});
  if (!nodes) return nodes.error();
  NodeLoads loads(in.placement->limits);
  for (int i = 0; i < nodes->size(); ++i)
    loads.addNode(nodes->text(i, 0), nodes->text(i, 1), nodes->optText(i, 2));
  // READ COMMITTED: this statement's snapshot is taken after the locks were granted, so it sees
  // the instances of every create that held them before.
  auto instances = conn.exec(
      "place instance: read instances",
      "SELECT node_id, count(*), coalesce(sum(reserved_memory_mb), 0)::bigint, "
      "coalesce(sum(reserved_disk_mb), 0)::bigint, count(*) - count(reserved_memory_mb), "
      "count(*) - count(reserved_disk_mb) FROM instances "
      "WHERE node_id IN (SELECT jsonb_array_elements_text($1::jsonb)) GROUP BY node_id",
      {ids});
  if (!instances) return instances.error();
  for (int i = 0; i < instances->size(); ++i)
    loads.addInstances(instances->text(i, 0), instances->int64(i, 1),
                       {instances->int64(i, 2), instances->int64(i, 3)}, instances->int64(i, 4),
                       instances->int64(i, 5));
  return placedInstance(in, loads.loads());
}

}  // namespace zlh::coordinator::store::pg
