#include "agent/sdk/config_schema.h"

namespace zlh::agent::sdk {
namespace {
using nlohmann::json;

std::string valueTypeName(const json& v) {
  switch (v.type()) {
    case json::value_t::string:
      return "a string";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "an integer";
    case json::value_t::number_float:
      return "a float";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::array:
      return "an array";
    case json::value_t::object:
      return "a table";
    case json::value_t::null:
      return "null";
    default:
      return "an unsupported value";
  }
}

bool matches(ConfigType type, const json& v) {
  switch (type) {
    case ConfigType::kString:
      return v.is_string();
    case ConfigType::kInt:
      return v.is_number_integer();
    case ConfigType::kBool:
      return v.is_boolean();
    case ConfigType::kStringList:
      return v.is_array();
  }
  return false;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}
}  // namespace

std::string_view describeType(ConfigType type) {
  switch (type) {
    case ConfigType::kString:
      return "a string";
    case ConfigType::kInt:
      return "an integer";
    case ConfigType::kBool:
      return "a boolean";
    case ConfigType::kStringList:
      return "a list of strings";
  }
  return "a value";
}

const json* ConfigValues::find(std::string_view key) const {
  auto it = flat_.find(std::string(key));
  return it == flat_.end() ? nullptr : &*it;
}

bool ConfigValues::has(std::string_view key) const { return find(key) != nullptr; }

std::string ConfigValues::getString(std::string_view key) const {
  const json* v = find(key);
  return v && v->is_string() ? v->get<std::string>() : std::string();
}

int64_t ConfigValues::getInt(std::string_view key) const {
  const json* v = find(key);
  return v && v->is_number_integer() ? v->get<int64_t>() : 0;
}

bool ConfigValues::getBool(std::string_view key) const {
  const json* v = find(key);
  return v && v->is_boolean() && v->get<bool>();
}

std::vector<std::string> ConfigValues::getStringList(std::string_view key) const {
  std::vector<std::string> out;
  const json* v = find(key);
  if (!v || !v->is_array()) return out;
  for (const auto& item : *v)
    if (item.is_string()) out.push_back(item.get<std::string>());
  return out;
}

ConfigKey& ConfigSchema::add(std::string name, ConfigType type, std::string description,
                             json default_value) {
  ConfigKey key;
  key.name = std::move(name);
  key.type = type;
  key.description = std::move(description);
  key.default_value = std::move(default_value);
  return keys_.emplace_back(std::move(key));
}

ConfigKey& ConfigSchema::addString(std::string name, std::string description,
                                   std::optional<std::string> default_value) {
  return add(std::move(name), ConfigType::kString, std::move(description),
             default_value ? json(*default_value) : json());
}

ConfigKey& ConfigSchema::addInt(std::string name, std::string description,
                                std::optional<int64_t> default_value) {
  return add(std::move(name), ConfigType::kInt, std::move(description),
             default_value ? json(*default_value) : json());
}

ConfigKey& ConfigSchema::addBool(std::string name, std::string description,
                                 std::optional<bool> default_value) {
  return add(std::move(name), ConfigType::kBool, std::move(description),
             default_value ? json(*default_value) : json());
}

ConfigKey& ConfigSchema::addStringList(std::string name, std::string description,
                                       std::optional<std::vector<std::string>> default_value) {
  return add(std::move(name), ConfigType::kStringList, std::move(description),
             default_value ? json(*default_value) : json());
}

const ConfigKey* ConfigSchema::find(std::string_view name) const {
  for (const auto& k : keys_)
    if (k.name == name) return &k;
  return nullptr;
}

bool ConfigSchema::isTablePrefix(std::string_view path) const {
  for (const auto& k : keys_)
    if (k.name.size() > path.size() && k.name.compare(0, path.size(), path) == 0 &&
        k.name[path.size()] == '.')
      return true;
  return false;
}

std::optional<ConfigIssue> ConfigSchema::check(const ConfigKey& key, const json& v) const {
  if (!matches(key.type, v))
    return ConfigIssue{
        key.name, "expected " + std::string(describeType(key.type)) + ", got " + valueTypeName(v)};
  if (key.type == ConfigType::kStringList) {
    for (size_t i = 0; i < v.size(); ++i)
      if (!v[i].is_string())
        return ConfigIssue{key.name, "expected a list of strings, item " + std::to_string(i + 1) +
                                         " is " + valueTypeName(v[i])};
  }
  if (key.type == ConfigType::kInt) {
    // TOML integers are signed 64-bit; a JSON-sourced unsigned beyond that is out of range.
    if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX))
      return ConfigIssue{key.name, "is out of range"};
    int64_t n = v.get<int64_t>();
    if ((key.min && n < *key.min) || (key.max && n > *key.max)) {
      std::string reason = key.min && key.max ? "must be between " + std::to_string(*key.min) +
                                                    " and " + std::to_string(*key.max)
                           : key.min ? "must be >= " + std::to_string(*key.min)
                                     : "must be <= " + std::to_string(*key.max);
      return ConfigIssue{key.name, reason + ", got " + std::to_string(n)};
    }
  }
  if (key.type == ConfigType::kString && !key.one_of.empty()) {
    const auto s = v.get<std::string>();
    bool found = false;
    for (const auto& allowed : key.one_of) found = found || allowed == s;
    if (!found) return ConfigIssue{key.name, "must be one of: " + joined(key.one_of)};
  }
  return std::nullopt;
}

std::optional<ConfigIssue> ConfigSchema::walk(const json& table, const std::string& prefix,
                                              json& out) const {
  for (const auto& [name, value] : table.items()) {
    const std::string path = prefix.empty() ? name : prefix + "." + name;
    if (const ConfigKey* key = find(path)) {
      if (auto issue = check(*key, value)) return issue;
      out[path] = value;
    } else if (isTablePrefix(path)) {
      if (!value.is_object())
        return ConfigIssue{path, "expected a table, got " + valueTypeName(value)};
      if (auto issue = walk(value, path, out)) return issue;
    } else {
      return ConfigIssue{path, "unknown key"};
    }
  }
  return std::nullopt;
}

Result<ConfigValues, ConfigIssue> ConfigSchema::validate(const json& table) const {
  if (!table.is_null() && !table.is_object())
    return ConfigIssue{"", "expected a table, got " + valueTypeName(table)};
  json out = json::object();
  if (table.is_object()) {
    if (auto issue = walk(table, "", out)) return *issue;
  }
  for (const auto& key : keys_) {
    if (out.contains(key.name)) continue;
    if (key.is_required) return ConfigIssue{key.name, "missing (required)"};
    if (!key.default_value.is_null()) out[key.name] = key.default_value;
  }
  return ConfigValues(std::move(out));
}

std::string ConfigSchema::describe() const {
  std::string out;
  for (const auto& k : keys_) {
    out += k.name + " (" + std::string(describeType(k.type));
    if (k.is_required)
      out += ", required";
    else if (!k.default_value.is_null())
      out += ", default " + k.default_value.dump();
    out += "): " + k.description + "\n";
  }
  return out;
}

}  // namespace zlh::agent::sdk
