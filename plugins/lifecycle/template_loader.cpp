// Finding template files on disk and the enum spellings of the format.
#include <algorithm>
#include <fstream>
#include <sstream>
#include <system_error>

#include "plugins/lifecycle/template.h"

namespace zlh::plugins::lifecycle {
namespace sdk = agent::sdk;
namespace fs = std::filesystem;

namespace {

constexpr std::uintmax_t kMaxTemplateBytes = 1 << 20;

sdk::Result<Template> loadFile(const fs::path& file, const std::string& expected_name) {
  std::error_code ec;
  auto size = fs::file_size(file, ec);
  if (ec)
    return sdk::makeError(ec == std::errc::no_such_file_or_directory ? sdk::ErrorCode::kNotFound
                                                                     : sdk::ErrorCode::kInternal,
                          file.string() + ": " + ec.message());
  if (size > kMaxTemplateBytes)
    return sdk::makeError(sdk::ErrorCode::kInvalidArgument, file.string() + ": larger than 1 MiB");
  std::ifstream in(file, std::ios::binary);
  if (!in) return sdk::makeError(sdk::ErrorCode::kInternal, file.string() + ": cannot read");
  std::ostringstream text;
  text << in.rdbuf();
  auto t = parseTemplate(text.str(), file.string());
  if (!t.ok()) return t;
  if (t->name != expected_name)
    return sdk::makeError(sdk::ErrorCode::kInvalidArgument,
                          file.string() + ": name: \"" + t->name +
                              "\" does not match the file name (want \"" + expected_name + "\")");
  return t;
}

}  // namespace

std::string_view toString(ParamType type) {
  switch (type) {
    case ParamType::kString:
      return "string";
    case ParamType::kInt:
      return "int";
    case ParamType::kBool:
      return "bool";
  }
  return "string";
}

std::string_view toString(PingKind kind) {
  switch (kind) {
    case PingKind::kNone:
      return "none";
    case PingKind::kMinecraft:
      return "minecraft";
    case PingKind::kHttp:
      return "http";
    case PingKind::kTcp:
      return "tcp";
  }
  return "none";
}

sdk::Result<Template> loadTemplate(const fs::path& dir, const std::string& name) {
  if (!validTemplateName(name))
    return sdk::makeError(sdk::ErrorCode::kInvalidArgument,
                          "bad template name \"" + name + "\" (want [a-z0-9][a-z0-9_-]{0,63})");
  auto t = loadFile(dir / (name + ".toml"), name);
  if (!t.ok() && t.error().code == sdk::ErrorCode::kNotFound)
    return sdk::makeError(sdk::ErrorCode::kNotFound, "unknown template \"" + name + "\"");
  return t;
}

TemplateScan scanTemplates(const fs::path& dir) {
  TemplateScan scan;
  std::error_code ec;
  std::vector<fs::path> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().extension() == ".toml") files.push_back(it->path());
  if (ec) {
    scan.errors.push_back(
        sdk::makeError(sdk::ErrorCode::kNotFound, dir.string() + ": " + ec.message()));
    return scan;
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    auto t = loadFile(f, f.stem().string());
    if (t.ok())
      scan.templates.push_back(std::move(t.value()));
    else
      scan.errors.push_back(t.error());
  }
  return scan;
}

}  // namespace zlh::plugins::lifecycle
