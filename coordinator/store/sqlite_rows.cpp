#include "coordinator/store/sqlite_rows.h"

namespace zlh::coordinator::store::sqlite {
using nlohmann::json;

Instance readInstance(const Stmt& s) {
  Instance i;
  i.id = s.text(0);
  i.name = s.text(1);
  i.owner_id = s.text(2);
  i.template_name = s.text(3);
  i.node_id = s.text(4);
  i.state = s.text(5);
  i.desired_state = s.text(6);
  i.unresponsive = s.int64(7) != 0;
  i.address = s.optText(8);
  i.state_version = static_cast<uint64_t>(s.int64(9));
  i.params = jsonColumn(s.text(10), json::object());
  i.env = jsonColumn(s.text(11), json::object());
  i.resources = jsonColumn(s.text(12), json::object());
  i.created_at = common::fromUnixMs(s.int64(13));
  i.updated_at = common::fromUnixMs(s.int64(14));
  return i;
}

Operation readOperation(const Stmt& s) {
  Operation o;
  o.id = s.text(0);
  o.kind = parseOperationKind(s.text(1)).value_or(OperationKind::kInstanceCreate);
  o.state = parseOperationState(s.text(2)).value_or(OperationState::kFailed);
  o.instance_id = s.text(3);
  o.user_id = s.text(4);
  o.node_id = s.text(5);
  o.attempts = s.int64(6);
  o.error = errorColumn(s.optText(7));
  o.params = jsonColumn(s.text(8), json::object());
  o.created_at = common::fromUnixMs(s.int64(9));
  o.updated_at = common::fromUnixMs(s.int64(10));
  if (auto d = s.optInt64(11)) o.deadline = common::fromUnixMs(*d);
  return o;
}

IdempotencyRecord readIdempotency(const Stmt& s) {
  return IdempotencyRecord{s.text(0), s.text(1), s.text(2),
                           s.text(3), s.text(4), common::fromUnixMs(s.int64(5))};
}

Time nowMs() { return common::fromUnixMs(common::toUnixMs(common::now())); }

}  // namespace zlh::coordinator::store::sqlite
