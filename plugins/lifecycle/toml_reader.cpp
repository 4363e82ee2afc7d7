#include "plugins/lifecycle/toml_reader.h"

namespace zlh::plugins::lifecycle {
namespace sdk = agent::sdk;

void TomlErrors::fail(const std::string& key, const std::string& reason) {
  if (first) return;
  first = sdk::makeError(sdk::ErrorCode::kInvalidArgument, origin + ": " + key + ": " + reason);
}

std::string describeNode(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time:
      return "a date/time";
    default:
      return "an unknown value";
  }
}

TomlReader::TomlReader(TomlErrors& errors, const toml::table* table, std::string prefix)
    : errors_(errors), table_(table), prefix_(std::move(prefix)) {}

bool TomlReader::present(const std::string& key) const {
  return table_ && table_->get(key) != nullptr;
}

const toml::node* TomlReader::get(const std::string& key) {
  seen_.insert(key);
  return table_ ? table_->get(key) : nullptr;
}

const toml::node* TomlReader::node(const std::string& key) { return get(key); }

void TomlReader::str(const std::string& key, std::string& out, bool required) {
  const toml::node* n = get(key);
  if (!n) {
    if (required) errors_.fail(path(key), "missing (required)");
    return;
  }
  if (auto v = n->value<std::string>(); v && n->is_string()) {
    out = *v;
    return;
  }
  errors_.fail(path(key), "expected a string, got " + describeNode(*n));
}

void TomlReader::uint(const std::string& key, uint32_t& out, uint32_t min, uint32_t max) {
  const toml::node* n = get(key);
  if (!n) return;
  if (!n->is_integer()) {
    errors_.fail(path(key), "expected an integer, got " + describeNode(*n));
    return;
  }
  int64_t v = n->as_integer()->get();
  if (v < int64_t(min) || v > int64_t(max)) {
    errors_.fail(path(key), "must be between " + std::to_string(min) + " and " +
                                std::to_string(max) + ", got " + std::to_string(v));
    return;
  }
  out = uint32_t(v);
}

void TomlReader::i64(const std::string& key, std::optional<int64_t>& out) {
  const toml::node* n = get(key);
  if (!n) return;
  if (!n->is_integer()) {
    errors_.fail(path(key), "expected an integer, got " + describeNode(*n));
    return;
  }
  out = n->as_integer()->get();
}

void TomlReader::boolean(const std::string& key, bool& out) {
  const toml::node* n = get(key);
  if (!n) return;
  if (!n->is_boolean()) {
    errors_.fail(path(key), "expected a boolean, got " + describeNode(*n));
    return;
  }
  out = n->as_boolean()->get();
}

void TomlReader::strList(const std::string& key, std::vector<std::string>& out, bool required) {
  const toml::node* n = get(key);
  if (!n) {
    if (required) errors_.fail(path(key), "missing (required)");
    return;
  }
  const toml::array* arr = n->as_array();
  if (!arr) {
    errors_.fail(path(key), "expected an array of strings, got " + describeNode(*n));
    return;
  }
  std::vector<std::string> values;
  for (size_t i = 0; i < arr->size(); ++i) {
    const toml::node& item = *arr->get(i);
    if (!item.is_string()) {
      errors_.fail(path(key) + "[" + std::to_string(i) + "]",
                   "expected a string, got " + describeNode(item));
      return;
    }
    values.push_back(item.as_string()->get());
  }
  out = std::move(values);
}

void TomlReader::strMap(const std::string& key, std::map<std::string, std::string>& out) {
  const toml::node* n = get(key);
  if (!n) return;
  const toml::table* t = n->as_table();
  if (!t) {
    errors_.fail(path(key), "expected a table of strings, got " + describeNode(*n));
    return;
  }
  for (const auto& [k, v] : *t) {
    std::string name(k.str());
    if (!v.is_string()) {
      errors_.fail(path(key) + "." + name, "expected a string, got " + describeNode(v));
      return;
    }
    out[name] = v.as_string()->get();
  }
}

const toml::table* TomlReader::table(const std::string& key) {
  const toml::node* n = get(key);
  if (!n) return nullptr;
  if (!n->is_table()) {
    errors_.fail(path(key), "expected a table, got " + describeNode(*n));
    return nullptr;
  }
  return n->as_table();
}

std::vector<const toml::table*> TomlReader::tableArray(const std::string& key) {
  std::vector<const toml::table*> out;
  const toml::node* n = get(key);
  if (!n) return out;
  const toml::array* arr = n->as_array();
  if (!arr) {
    errors_.fail(path(key), "expected an array of tables, got " + describeNode(*n));
    return out;
  }
  for (size_t i = 0; i < arr->size(); ++i) {
    const toml::node& item = *arr->get(i);
    if (!item.is_table()) {
      errors_.fail(path(key) + "[" + std::to_string(i) + "]",
                   "expected a table, got " + describeNode(item));
      return {};
    }
    out.push_back(item.as_table());
  }
  return out;
}

void TomlReader::finish() {
  if (!table_) return;
  for (const auto& [k, v] : *table_) {
    std::string name(k.str());
    if (!seen_.count(name)) {
      errors_.fail(path(name), "unknown key");
      return;
    }
  }
}

}  // namespace zlh::plugins::lifecycle
