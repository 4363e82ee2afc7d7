#include "plugins/lifecycle/template_render.h"

#include <cctype>

namespace zlh::plugins::lifecycle {
namespace sdk = agent::sdk;

namespace {

bool validNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// Calls `on_text(literal)` and `on_var(name)` in order; returns an error for bad syntax.
template <class OnText, class OnVar>
sdk::Status walk(std::string_view text, OnText on_text, OnVar on_var) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) {
      on_text(text.substr(pos));
      break;
    }
    on_text(text.substr(pos, open - pos));
    size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos)
      return sdk::makeError(sdk::ErrorCode::kInvalidArgument,
                            "unterminated \"{{\" at offset " + std::to_string(open));
    std::string_view name = trim(text.substr(open + 2, close - open - 2));
    bool ok = !name.empty();
    for (char c : name) ok = ok && validNameChar(c);
    if (!ok)
      return sdk::makeError(
          sdk::ErrorCode::kInvalidArgument,
          "bad variable \"{{" + std::string(text.substr(open + 2, close - open - 2)) + "}}\"");
    if (auto st = on_var(name); !st.ok()) return st;
    pos = close + 2;
  }
  return {};
}

}  // namespace

const std::vector<std::string>& builtinVariables() {
  static const std::vector<std::string> kNames = {
      "id", "name", "host", "port", "data_dir", "memory_mb", "disk_mb", "cpu_pct", "fixtures_dir"};
  return kNames;
}

sdk::Result<std::string> render(std::string_view text, const RenderVars& vars) {
  std::string out;
  auto st = walk(
      text, [&](std::string_view lit) { out.append(lit); },
      [&](std::string_view name) -> sdk::Status {
        auto it = vars.find(name);
        if (it == vars.end())
          return sdk::makeError(sdk::ErrorCode::kInvalidArgument,
                                "unknown variable \"{{" + std::string(name) + "}}\"");
        out.append(it->second);
        return {};
      });
  if (!st.ok()) return st.error();
  return out;
}

sdk::Result<std::vector<std::string>> renderAll(const std::vector<std::string>& texts,
                                                const RenderVars& vars) {
  std::vector<std::string> out;
  out.reserve(texts.size());
  for (const auto& t : texts) {
    auto r = render(t, vars);
    if (!r.ok()) return r.error();
    out.push_back(std::move(r.value()));
  }
  return out;
}

sdk::Result<std::vector<std::string>> referencedVariables(std::string_view text) {
  std::vector<std::string> names;
  auto st = walk(
      text, [](std::string_view) {},
      [&](std::string_view name) -> sdk::Status {
        names.emplace_back(name);
        return {};
      });
  if (!st.ok()) return st.error();
  return names;
}

}  // namespace zlh::plugins::lifecycle
