#pragma once
// A strict reader over one toml++ table: typed getters that remember which keys were read, so
// finish() can refuse the rest as unknown. The first problem wins and reads
// "<origin>: <dotted key>: <reason>". Internal to the template parser.
#include <toml++/toml.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/sdk/result.h"

namespace zlh::plugins::lifecycle {

/// Shared by all readers of one document: the origin and the first error.
struct TomlErrors {
  std::string origin;
  std::optional<agent::sdk::Error> first;
  void fail(const std::string& key, const std::string& reason);
  bool ok() const { return !first.has_value(); }
};

class TomlReader {
 public:
  /// `table` may be null (an absent optional table reads as empty).
  TomlReader(TomlErrors& errors, const toml::table* table, std::string prefix);

  bool present(const std::string& key) const;
  void str(const std::string& key, std::string& out, bool required = false);
  void uint(const std::string& key, uint32_t& out, uint32_t min, uint32_t max);
  void i64(const std::string& key, std::optional<int64_t>& out);
  void boolean(const std::string& key, bool& out);
  void strList(const std::string& key, std::vector<std::string>& out, bool required = false);
  void strMap(const std::string& key, std::map<std::string, std::string>& out);
  /// A sub-table (null when absent; an error when present with another type).
  const toml::table* table(const std::string& key);
  /// An array of tables (empty when absent).
  std::vector<const toml::table*> tableArray(const std::string& key);
  /// The raw node of a key (marks it known); null when absent.
  const toml::node* node(const std::string& key);
  /// Refuses every key that no getter asked for.
  void finish();

  std::string path(const std::string& key) const {
    return prefix_.empty() ? key : prefix_ + "." + key;
  }
  TomlErrors& errors() { return errors_; }

 private:
  const toml::node* get(const std::string& key);

  TomlErrors& errors_;
  const toml::table* table_;
  std::string prefix_;
  std::set<std::string> seen_;
};

/// "a string", "an integer", ... for error messages.
std::string describeNode(const toml::node& node);

}  // namespace zlh::plugins::lifecycle
