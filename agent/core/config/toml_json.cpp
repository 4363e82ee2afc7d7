#include "agent/core/config/toml_json.h"

#include <toml++/toml.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace zlh::agent::core {
namespace {
using nlohmann::json;

json toJson(const toml::node& node) {
  if (auto* t = node.as_table()) {
    json out = json::object();
    for (const auto& [k, v] : *t) out[std::string(k.str())] = toJson(v);
    return out;
  }
  if (auto* a = node.as_array()) {
    json out = json::array();
    for (const auto& v : *a) out.push_back(toJson(v));
    return out;
  }
  if (auto* s = node.as_string()) return s->get();
  if (auto* i = node.as_integer()) return i->get();
  if (auto* f = node.as_floating_point()) return f->get();
  if (auto* b = node.as_boolean()) return b->get();
  std::ostringstream text;  // date, time, date-time
  node.visit([&](const auto& v) { text << v; });
  return text.str();
}
}  // namespace

sdk::Result<json> parseToml(std::string_view text) {
  try {
    toml::table table = toml::parse(text);
    return toJson(table);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    return sdk::makeError(sdk::ErrorCode::kInvalidArgument,
                          "line " + std::to_string(where.line) + ", column " +
                              std::to_string(where.column) + ": " + std::string(e.description()));
  }
}

sdk::Result<json> readTomlFile(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in)
    return sdk::makeError(sdk::ErrorCode::kInvalidArgument,
                          std::string("cannot read: ") + std::strerror(errno));
  std::ostringstream buf;
  buf << in.rdbuf();
  return parseToml(buf.str());
}

}  // namespace zlh::agent::core
