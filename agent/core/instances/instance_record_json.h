#pragma once
// instance.json: the persisted form of an sdk::InstanceRecord (dirs are derived, not stored).
#include <filesystem>
#include <nlohmann/json.hpp>

#include "agent/sdk/instances.h"

namespace zlh::agent::core {

inline constexpr int kInstanceRecordFormat = 1;

nlohmann::json recordToJson(const sdk::InstanceRecord& r);
/// Checks every field; `dir` becomes r.dir (and dir/"data" r.data_dir). The id must equal the
/// dir's name. InvalidArgument naming the field otherwise.
sdk::Result<sdk::InstanceRecord> recordFromJson(const nlohmann::json& j,
                                                const std::filesystem::path& dir);

}  // namespace zlh::agent::core
