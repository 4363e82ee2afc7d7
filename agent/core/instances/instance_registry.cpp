#include "agent/core/instances/instance_registry.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include "agent/core/instances/instance_record_json.h"
#include "agent/core/util/files.h"

namespace zlh::agent::core {
namespace fs = std::filesystem;
using sdk::ErrorCode;
using sdk::InstanceRecord;
using sdk::InstanceState;
using sdk::makeError;

namespace {

constexpr const char* kRecordFile = "instance.json";
constexpr const char* kTrashPrefix = ".trash-";

sdk::Error notFound(const std::string& id) {
  return makeError(ErrorCode::kNotFound, "instance " + id + " not found");
}

bool isEmptyLeftover(const fs::path& dir) {
  // A create interrupted before its record was written leaves at most an empty data dir.
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().filename() == "data" && fs::is_empty(e.path(), ec)) continue;
    return false;
  }
  return !ec;
}

}  // namespace

CoreInstanceRegistry::CoreInstanceRegistry(fs::path state_dir, Emit emit, RunBlocking run_blocking)
    : instances_dir_(std::move(state_dir) / "instances"),
      emit_(std::move(emit)),
      run_blocking_(std::move(run_blocking)) {}

sdk::Result<CoreInstanceRegistry::LoadReport> CoreInstanceRegistry::load() {
  if (auto s = makeDir(instances_dir_); !s.ok()) return s.error();
  LoadReport report;
  std::error_code ec;
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(instances_dir_, ec))
    if (e.is_directory()) dirs.push_back(e.path());
  if (ec)
    return makeError(ErrorCode::kInternal, "read " + instances_dir_.string() + ": " + ec.message());
  std::map<std::string, InstanceRecord> loaded;
  for (const auto& dir : dirs) {
    const std::string name = dir.filename().string();
    if (name.rfind(kTrashPrefix, 0) == 0) {  // an earlier remove() did not finish deleting
      discard(dir);
      continue;
    }
    const fs::path file = dir / kRecordFile;
    auto text = readFile(file);
    if (!text.ok()) {
      spdlog::warn("instances: {} has no readable {} ({}): skipped", dir.string(), kRecordFile,
                   text.error().message);
      ++report.without_record;
      continue;
    }
    auto json = nlohmann::json::parse(text.value(), nullptr, /*allow_exceptions=*/false);
    auto record =
        json.is_discarded()
            ? sdk::Result<InstanceRecord>(makeError(ErrorCode::kInvalidArgument, "invalid JSON"))
            : recordFromJson(json, dir);
    if (!record.ok()) {
      fs::path aside = file.string() + ".corrupt";
      fs::rename(file, aside, ec);
      spdlog::error("instances: {}: {}: moved aside to {}{}", file.string(), record.error().message,
                    aside.string(), ec ? " (failed: " + ec.message() + ")" : "");
      ++report.corrupt;
      continue;
    }
    loaded.emplace(record.value().id, std::move(record.value()));
    ++report.loaded;
  }
  std::lock_guard lock(mu_);
  records_ = std::move(loaded);
  return report;
}

std::vector<proto::InstanceSummary> CoreInstanceRegistry::summaries() const {
  std::lock_guard lock(mu_);
  std::vector<proto::InstanceSummary> out;
  for (const auto& [id, r] : records_)
    out.push_back(proto::InstanceSummary{r.id, r.template_name, std::string(sdk::toString(r.state)),
                                         r.state_version});
  return out;
}

std::optional<InstanceRecord> CoreInstanceRegistry::get(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = records_.find(id);
  if (it == records_.end()) return std::nullopt;
  return it->second;
}

std::vector<InstanceRecord> CoreInstanceRegistry::list() const {
  std::lock_guard lock(mu_);
  std::vector<InstanceRecord> out;
  for (const auto& [id, r] : records_) out.push_back(r);
  return out;
}

sdk::Status CoreInstanceRegistry::persist(const InstanceRecord& r) const {
  auto s = writeFileAtomic(r.dir / kRecordFile, recordToJson(r).dump(2) + "\n", 0600);
  if (!s.ok()) return s.error().withContext("instance " + r.id + ": save record");
  return {};
}

sdk::Status CoreInstanceRegistry::prepareDir(const std::string& id, const fs::path& dir) const {
  std::error_code ec;
  if (fs::exists(dir, ec) && !isEmptyLeftover(dir))
    return makeError(ErrorCode::kConflict,
                     "instance " + id + ": " + dir.string() +
                         " exists without a record (a corrupt record moved aside?): remove it "
                         "or choose another id");
  if (auto s = makeDir(dir); !s.ok()) return s;
  return makeDir(dir / "data");
}

sdk::Result<InstanceRecord> CoreInstanceRegistry::create(const std::string& id,
                                                         const std::string& template_name,
                                                         nlohmann::json spec) {
  if (!sdk::validInstanceId(id))
    return makeError(ErrorCode::kInvalidArgument,
                     "instance id \"" + id + "\": expected [A-Za-z0-9_-]{1,64}");
  if (get(id)) return makeError(ErrorCode::kConflict, "instance " + id + " exists");
  InstanceRecord r;
  r.id = id;
  r.template_name = template_name;
  r.spec = spec.is_object() ? std::move(spec) : nlohmann::json::object();
  r.state_version = 1;
  r.dir = instances_dir_ / id;
  r.data_dir = r.dir / "data";
  r.created_at = r.updated_at = nowRfc3339();
  r.reason = "created";
  if (auto s = prepareDir(id, r.dir); !s.ok()) return s.error();
  if (auto s = persist(r); !s.ok()) return s.error();
  {
    std::lock_guard lock(mu_);
    records_[id] = r;
  }
  spdlog::info("instances: {} created (template {})", id, template_name);
  sendState(r);
  listeners_.notify(r, r.state);
  return r;
}

sdk::Result<InstanceRecord> CoreInstanceRegistry::transition(const std::string& id,
                                                             InstanceState to, std::string reason) {
  auto current = get(id);
  if (!current) return notFound(id);
  const InstanceState before = current->state;
  if (!sdk::transitionAllowed(before, to))
    return makeError(ErrorCode::kFailedPrecondition,
                     "instance " + id + ": transition " + std::string(sdk::toString(before)) +
                         " -> " + std::string(sdk::toString(to)) + " is not allowed");
  InstanceRecord r = std::move(*current);
  r.state = to;
  r.reason = std::move(reason);
  ++r.state_version;
  r.updated_at = nowRfc3339();
  if (auto s = persist(r); !s.ok()) return s.error();  // memory changes only once on disk
  {
    std::lock_guard lock(mu_);
    records_[id] = r;
  }
  spdlog::info("instances: {} {} -> {} (v{}){}{}", id, sdk::toString(before), sdk::toString(to),
               r.state_version, r.reason.empty() ? "" : ": ", r.reason);
  sendState(r);
  listeners_.notify(r, before);
  return r;
}

sdk::Result<InstanceRecord> CoreInstanceRegistry::update(
    const std::string& id, const std::function<void(InstanceRecord&)>& fn) {
  auto current = get(id);
  if (!current) return notFound(id);
  InstanceRecord r = *current;
  fn(r);
  if (r.id != current->id || r.state != current->state ||
      r.state_version != current->state_version || r.dir != current->dir ||
      r.data_dir != current->data_dir || r.created_at != current->created_at)
    return makeError(ErrorCode::kInvalidArgument,
                     "instance " + id + ": update may not change id, state, version or dirs");
  if (!r.spec.is_object())
    return makeError(ErrorCode::kInvalidArgument, "instance " + id + ": spec must be an object");
  ++r.state_version;
  r.updated_at = nowRfc3339();
  if (auto s = persist(r); !s.ok()) return s.error();
  {
    std::lock_guard lock(mu_);
    records_[id] = r;
  }
  listeners_.notify(r, r.state);
  return r;
}

void CoreInstanceRegistry::discard(const fs::path& dir) {
  auto work = [dir] {
    std::error_code ec;
    fs::remove_all(dir, ec);
    if (ec) spdlog::warn("instances: delete {}: {}", dir.string(), ec.message());
  };
  if (run_blocking_)
    run_blocking_(std::move(work));
  else
    work();
}

sdk::Status CoreInstanceRegistry::remove(const std::string& id) {
  auto current = get(id);
  if (!current) return notFound(id);
  // Rename first (instant, atomic), delete the files off the loop: a world can be gigabytes.
  fs::path trash = instances_dir_ / (kTrashPrefix + id + "-" + std::to_string(::getpid()) + "-" +
                                     std::to_string(++trash_seq_));
  std::error_code ec;
  fs::rename(current->dir, trash, ec);
  if (ec && fs::exists(current->dir))
    return makeError(ErrorCode::kInternal,
                     "instance " + id + ": remove " + current->dir.string() + ": " + ec.message());
  {
    std::lock_guard lock(mu_);
    records_.erase(id);
  }
  if (!ec) discard(trash);
  spdlog::info("instances: {} removed", id);
  return {};
}

sdk::SubscriptionPtr CoreInstanceRegistry::subscribe(sdk::InstanceListener listener) {
  return listeners_.add(std::move(listener));
}

void CoreInstanceRegistry::sendState(const InstanceRecord& r) {
  if (!emit_) return;
  proto::InstanceState ev;
  ev.instance_id = r.id;
  ev.state = std::string(sdk::toString(r.state));
  ev.state_version = r.state_version;
  if (!r.reason.empty()) ev.reason = r.reason;
  nlohmann::json body = ev;
  if (auto s = emit_(proto::InstanceState::kType, std::move(body)); !s.ok())
    spdlog::error("instances: {}: instance.state event: {}", r.id, s.error().message);
}

}  // namespace zlh::agent::core
