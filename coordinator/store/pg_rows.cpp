#include "coordinator/store/pg_rows.h"

#include "coordinator/store/json_columns.h"

namespace zlh::coordinator::store::pg {
using columns::errorColumn;
using columns::jsonColumn;
using nlohmann::json;

Instance readInstance(const Rows& r, int row) {
  Instance i;
  i.id = r.text(row, 0);
  i.name = r.text(row, 1);
  i.owner_id = r.text(row, 2);
  i.template_name = r.text(row, 3);
  i.node_id = r.text(row, 4);
  i.state = r.text(row, 5);
  i.desired_state = r.text(row, 6);
  i.unresponsive = r.boolean(row, 7);
  i.address = r.optText(row, 8);
  i.state_version = static_cast<uint64_t>(r.int64(row, 9));
  i.params = jsonColumn(r.text(row, 10), json::object());
  i.env = jsonColumn(r.text(row, 11), json::object());
  i.resources = jsonColumn(r.text(row, 12), json::object());
  i.created_at = common::fromUnixMs(r.int64(row, 13));
  i.updated_at = common::fromUnixMs(r.int64(row, 14));
  return i;
}

Operation readOperation(const Rows& r, int row) {
  Operation o;
  o.id = r.text(row, 0);
  o.kind = parseOperationKind(r.text(row, 1)).value_or(OperationKind::kInstanceCreate);
  o.state = parseOperationState(r.text(row, 2)).value_or(OperationState::kFailed);
  o.instance_id = r.text(row, 3);
  o.user_id = r.text(row, 4);
  o.node_id = r.text(row, 5);
  o.attempts = r.int64(row, 6);
  o.error = errorColumn(r.optText(row, 7));
  o.params = jsonColumn(r.text(row, 8), json::object());
  o.created_at = common::fromUnixMs(r.int64(row, 9));
  o.updated_at = common::fromUnixMs(r.int64(row, 10));
  if (auto d = r.optInt64(row, 11)) o.deadline = common::fromUnixMs(*d);
  return o;
}

IdempotencyRecord readIdempotency(const Rows& r, int row) {
  return IdempotencyRecord{r.text(row, 0), r.text(row, 1), r.text(row, 2),
                           r.text(row, 3), r.text(row, 4), common::fromUnixMs(r.int64(row, 5))};
}

Time nowMs() { return common::fromUnixMs(common::toUnixMs(common::now())); }

}  // namespace zlh::coordinator::store::pg
