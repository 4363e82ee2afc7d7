#include "agent/sdk/testing/fake_instance_registry.h"

#include <sys/stat.h>

#include <chrono>
#include <ctime>
#include <system_error>

namespace zlh::agent::sdk::testing {
namespace {
namespace fs = std::filesystem;

std::string nowRfc3339() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void makeDir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  ::chmod(dir.c_str(), 0700);
}

}  // namespace

FakeInstanceRegistry::FakeInstanceRegistry(fs::path root, Emit emit)
    : root_(std::move(root)), emit_(std::move(emit)) {}

std::optional<Error> FakeInstanceRegistry::takeFailure() {
  auto e = std::move(fail_next_);
  fail_next_.reset();
  return e;
}

InstanceRecord* FakeInstanceRegistry::find(const std::string& id) {
  auto it = records_.find(id);
  return it == records_.end() ? nullptr : &it->second;
}

std::optional<InstanceRecord> FakeInstanceRegistry::get(const std::string& id) const {
  auto it = records_.find(id);
  if (it == records_.end()) return std::nullopt;
  return it->second;
}

std::vector<InstanceRecord> FakeInstanceRegistry::list() const {
  std::vector<InstanceRecord> out;
  for (const auto& [id, r] : records_) out.push_back(r);
  return out;
}

Result<InstanceRecord> FakeInstanceRegistry::create(const std::string& id,
                                                    const std::string& template_name,
                                                    nlohmann::json spec) {
  if (auto e = takeFailure()) return *e;
  if (!validInstanceId(id))
    return makeError(ErrorCode::kInvalidArgument,
                     "instance id \"" + id + "\": expected [A-Za-z0-9_-]{1,64}");
  if (records_.count(id)) return makeError(ErrorCode::kConflict, "instance " + id + " exists");
  InstanceRecord r;
  r.id = id;
  r.template_name = template_name;
  r.spec = std::move(spec);
  r.state_version = 1;
  r.dir = root_ / "instances" / id;
  r.data_dir = r.dir / "data";
  r.created_at = r.updated_at = nowRfc3339();
  r.reason = "created";
  makeDir(r.data_dir);
  ::chmod(r.dir.c_str(), 0700);
  records_[id] = r;
  history_[id] = {r.state};
  sendState(r);
  listeners_.notify(r, r.state);
  return r;
}

void FakeInstanceRegistry::sendState(const InstanceRecord& r) {
  nlohmann::json body = {{"instance_id", r.id},
                         {"state", std::string(toString(r.state))},
                         {"state_version", r.state_version}};
  if (!r.reason.empty()) body["reason"] = r.reason;
  events_.push_back(Event{"instance.state", body});
  if (emit_) emit_("instance.state", body);
}

Result<InstanceRecord> FakeInstanceRegistry::transition(const std::string& id, InstanceState to,
                                                        std::string reason) {
  if (auto e = takeFailure()) return *e;
  InstanceRecord* r = find(id);
  if (!r) return makeError(ErrorCode::kNotFound, "instance " + id + " not found");
  InstanceState before = r->state;
  if (!transitionAllowed(before, to))
    return makeError(ErrorCode::kFailedPrecondition,
                     "instance " + id + ": transition " + std::string(toString(before)) + " -> " +
                         std::string(toString(to)) + " is not allowed");
  r->state = to;
  r->reason = std::move(reason);
  ++r->state_version;
  r->updated_at = nowRfc3339();
  history_[id].push_back(to);
  InstanceRecord now = *r;
  sendState(now);
  listeners_.notify(now, before);
  return now;
}

Result<InstanceRecord> FakeInstanceRegistry::update(
    const std::string& id, const std::function<void(InstanceRecord&)>& fn) {
  if (auto e = takeFailure()) return *e;
  InstanceRecord* r = find(id);
  if (!r) return makeError(ErrorCode::kNotFound, "instance " + id + " not found");
  InstanceRecord copy = *r;
  fn(copy);
  if (copy.id != r->id || copy.state != r->state || copy.state_version != r->state_version ||
      copy.dir != r->dir || copy.data_dir != r->data_dir || copy.created_at != r->created_at ||
      !copy.spec.is_object())
    return makeError(ErrorCode::kInvalidArgument,
                     "instance " + id + ": update may not change id, state, version or dirs");
  ++copy.state_version;
  copy.updated_at = nowRfc3339();
  *r = copy;
  listeners_.notify(copy, copy.state);
  return copy;
}

Status FakeInstanceRegistry::remove(const std::string& id) {
  if (auto e = takeFailure()) return *e;
  auto it = records_.find(id);
  if (it == records_.end()) return makeError(ErrorCode::kNotFound, "instance " + id + " not found");
  std::error_code ec;
  fs::remove_all(it->second.dir, ec);
  records_.erase(it);
  return {};
}

SubscriptionPtr FakeInstanceRegistry::subscribe(InstanceListener listener) {
  return listeners_.add(std::move(listener));
}

void FakeInstanceRegistry::seed(InstanceRecord record) {
  if (record.dir.empty()) record.dir = root_ / "instances" / record.id;
  if (record.data_dir.empty()) record.data_dir = record.dir / "data";
  if (record.state_version == 0) record.state_version = 1;
  if (record.created_at.empty()) record.created_at = record.updated_at = nowRfc3339();
  makeDir(record.data_dir);
  history_[record.id] = {record.state};
  records_[record.id] = std::move(record);
}

std::vector<InstanceState> FakeInstanceRegistry::history(const std::string& id) const {
  auto it = history_.find(id);
  return it == history_.end() ? std::vector<InstanceState>{} : it->second;
}

}  // namespace zlh::agent::sdk::testing
