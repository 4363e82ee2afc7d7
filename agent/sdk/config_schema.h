#pragma once
/// @file
/// Typed configuration schemas (fluent-bit's config maps): a plugin declares its keys with a type,
/// a description, a default and whether they are required; the core validates the operator's
/// `[plugins.<name>]` table against it before the plugin is created. The agent's own config file is
/// validated by the same mechanism, so every error reads the same: `<key>: <reason>`.
#include <cstdint>
#include <deque>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/sdk/result.h"

namespace zlh::agent::sdk {

/// Value types a key can hold.
enum class ConfigType { kString, kInt, kBool, kStringList };

/// "a string", "an integer", "a boolean", "a list of strings".
std::string_view describeType(ConfigType type);

/// One declared key. `name` may be a dotted path ("coordinator.url") naming a key inside a
/// nested table; plugin schemas normally use plain names.
struct ConfigKey {
  std::string name;
  ConfigType type = ConfigType::kString;
  std::string description;
  nlohmann::json default_value;  ///< null when the key has no default
  bool is_required = false;
  std::optional<int64_t> min;       ///< integers only
  std::optional<int64_t> max;       ///< integers only
  std::vector<std::string> one_of;  ///< strings only; empty = any string

  /// The key must be present (a default makes no sense then).
  ConfigKey& required() {
    is_required = true;
    return *this;
  }
  /// Inclusive bounds for an integer key.
  ConfigKey& range(int64_t lo, int64_t hi) {
    min = lo;
    max = hi;
    return *this;
  }
  ConfigKey& atLeast(int64_t lo) {
    min = lo;
    return *this;
  }
  /// Allowed values of a string key.
  ConfigKey& oneOf(std::vector<std::string> values) {
    one_of = std::move(values);
    return *this;
  }
};

/// Why a config table was refused: the dotted key and the reason ("unknown key",
/// "expected an integer, got a string", "missing (required)").
struct ConfigIssue {
  std::string key;
  std::string reason;
  /// "<key>: <reason>" (just the reason when the issue is not about one key).
  std::string message() const { return key.empty() ? reason : key + ": " + reason; }
};

/// Validated values, defaults filled in. Getters take the dotted key as declared; asking for an
/// undeclared key or the wrong type returns an empty value (a programming error, not input).
class ConfigValues {
 public:
  ConfigValues() = default;
  explicit ConfigValues(nlohmann::json flat) : flat_(std::move(flat)) {}

  /// True when the key was given or has a default.
  bool has(std::string_view key) const;
  std::string getString(std::string_view key) const;
  int64_t getInt(std::string_view key) const;
  bool getBool(std::string_view key) const;
  std::vector<std::string> getStringList(std::string_view key) const;
  /// Flat object: dotted key -> value.
  const nlohmann::json& flat() const { return flat_; }

 private:
  const nlohmann::json* find(std::string_view key) const;
  nlohmann::json flat_ = nlohmann::json::object();
};

/// A set of declared keys. Build once (usually in the plugin factory), validate many times.
class ConfigSchema {
 public:
  ConfigKey& addString(std::string name, std::string description,
                       std::optional<std::string> default_value = std::nullopt);
  ConfigKey& addInt(std::string name, std::string description,
                    std::optional<int64_t> default_value = std::nullopt);
  ConfigKey& addBool(std::string name, std::string description,
                     std::optional<bool> default_value = std::nullopt);
  ConfigKey& addStringList(std::string name, std::string description,
                           std::optional<std::vector<std::string>> default_value = std::nullopt);

  /// Declared keys in declaration order.
  const std::deque<ConfigKey>& keys() const { return keys_; }
  const ConfigKey* find(std::string_view name) const;

  /// Validates a table (a JSON object as converted from TOML; nested tables are objects).
  /// Rejects unknown keys, wrong types, out-of-range values and missing required keys; the first
  /// problem found is returned, keys in the input's order, then missing keys in declaration order.
  Result<ConfigValues, ConfigIssue> validate(const nlohmann::json& table) const;

  /// One line per key: "name (type, default ...): description" — for docs and --help output.
  std::string describe() const;

 private:
  ConfigKey& add(std::string name, ConfigType type, std::string description,
                 nlohmann::json default_value);
  bool isTablePrefix(std::string_view path) const;
  std::optional<ConfigIssue> walk(const nlohmann::json& table, const std::string& prefix,
                                  nlohmann::json& out) const;
  std::optional<ConfigIssue> check(const ConfigKey& key, const nlohmann::json& value) const;

  std::deque<ConfigKey> keys_;  // deque: references returned by add* stay valid
};

}  // namespace zlh::agent::sdk
