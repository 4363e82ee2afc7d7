#include "agent/core/instances/instance_record_json.h"

namespace zlh::agent::core {
namespace {
using nlohmann::json;

sdk::Error bad(const std::string& field, const std::string& why) {
  return sdk::makeError(sdk::ErrorCode::kInvalidArgument, field + ": " + why);
}

}  // namespace

json recordToJson(const sdk::InstanceRecord& r) {
  return json{{"format", kInstanceRecordFormat},
              {"id", r.id},
              {"template", r.template_name},
              {"state", std::string(sdk::toString(r.state))},
              {"desired_state", r.desired_state},
              {"unresponsive", r.unresponsive},
              {"state_version", r.state_version},
              {"reason", r.reason},
              {"spec", r.spec},
              {"created_at", r.created_at},
              {"updated_at", r.updated_at}};
}

sdk::Result<sdk::InstanceRecord> recordFromJson(const json& j, const std::filesystem::path& dir) {
  if (!j.is_object()) return bad("instance.json", "not an object");
  auto str = [&](const char* key, std::string& out) -> sdk::Status {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return bad(key, "missing or not a string");
    out = it->get<std::string>();
    return {};
  };
  sdk::InstanceRecord r;
  std::string state;
  for (auto [key, out] : {std::pair{"id", &r.id},
                          {"template", &r.template_name},
                          {"state", &state},
                          {"desired_state", &r.desired_state},
                          {"reason", &r.reason},
                          {"created_at", &r.created_at},
                          {"updated_at", &r.updated_at}})
    if (auto s = str(key, *out); !s.ok()) return s.error();
  if (!sdk::validInstanceId(r.id)) return bad("id", "not a valid instance id");
  if (r.id != dir.filename().string())
    return bad("id", "\"" + r.id + "\" does not match its directory " + dir.string());
  auto parsed = sdk::instanceStateFromString(state);
  if (!parsed) return bad("state", "unknown state \"" + state + "\"");
  r.state = *parsed;
  auto version = j.find("state_version");
  if (version == j.end() || !version->is_number_unsigned())
    return bad("state_version", "missing or not an unsigned integer");
  r.state_version = version->get<uint64_t>();
  auto unresponsive = j.find("unresponsive");
  if (unresponsive == j.end() || !unresponsive->is_boolean())
    return bad("unresponsive", "missing or not a boolean");
  r.unresponsive = unresponsive->get<bool>();
  auto spec = j.find("spec");
  if (spec == j.end() || !spec->is_object()) return bad("spec", "missing or not an object");
  r.spec = *spec;
  r.dir = dir;
  r.data_dir = dir / "data";
  return r;
}

}  // namespace zlh::agent::core
