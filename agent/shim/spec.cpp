#include "agent/shim/spec.h"

#include <sys/stat.h>
#include <sys/un.h>

#include <fstream>
#include <set>
#include <sstream>

namespace zlh::agent::shim {
namespace {

using nlohmann::json;

Error invalid(const std::string& key, const std::string& message) {
  return Error{ErrorCode::kInvalidArgument, key + ": " + message};
}

std::string dirName(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

bool isDirectory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Reads an optional unsigned integer in [min, max] into `out`.
Status readUint(const json& j, const char* key, uint64_t min, uint64_t max, uint64_t& out) {
  auto it = j.find(key);
  if (it == j.end()) return {};
  if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<int64_t>() >= 0)) {
    return invalid(key, "must be a non-negative integer");
  }
  uint64_t v = it->get<uint64_t>();
  if (v < min || v > max) {
    return invalid(key, "must be in " + std::to_string(min) + ".." + std::to_string(max));
  }
  out = v;
  return {};
}

Status readPath(const json& j, const char* key, bool required, std::string& out) {
  auto it = j.find(key);
  if (it == j.end()) {
    return required ? invalid(key, "is required") : Status{};
  }
  if (!it->is_string() || it->get<std::string>().empty()) {
    return invalid(key, "must be a non-empty string");
  }
  out = it->get<std::string>();
  if (out.front() != '/') return invalid(key, "must be an absolute path");
  if (out.find('\0') != std::string::npos) return invalid(key, "must not contain NUL");
  return {};
}

bool validName(const std::string& s) {
  if (s.empty() || s.size() > 128 || s == "." || s == "..") return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

Status readCommandAndEnv(const json& j, ShimSpec& spec) {
  auto cmd = j.find("command");
  if (cmd == j.end()) return invalid("command", "is required");
  if (!cmd->is_array() || cmd->empty()) return invalid("command", "must be a non-empty array");
  for (const auto& arg : *cmd) {
    if (!arg.is_string()) return invalid("command", "every element must be a string");
    spec.command.push_back(arg.get<std::string>());
  }
  if (spec.command.front().empty()) return invalid("command", "program must not be empty");
  if (auto env = j.find("env"); env != j.end()) {
    if (!env->is_object()) return invalid("env", "must be an object of strings");
    for (const auto& [k, v] : env->items()) {
      if (!v.is_string()) return invalid("env." + k, "must be a string");
      if (k.empty() || k.find('=') != std::string::npos) {
        return invalid("env", "bad variable name \"" + k + "\"");
      }
      spec.env[k] = v.get<std::string>();
    }
  }
  return {};
}

Status readLimits(const json& j, ShimSpec& spec) {
  auto it = j.find("limits");
  if (it == j.end()) return {};
  if (!it->is_object()) return invalid("limits", "must be an object");
  static const std::set<std::string> kKeys = {"memory_max_bytes", "cpu_max_pct", "pids_max"};
  for (const auto& [k, v] : it->items()) {
    if (!kKeys.count(k)) return invalid("limits." + k, "unknown key");
  }
  uint64_t cpu = 0;
  Status s = readUint(*it, "memory_max_bytes", 0, UINT64_MAX / 2, spec.limits.memory_max_bytes);
  if (s.ok()) s = readUint(*it, "cpu_max_pct", 0, 100000, cpu);
  if (s.ok()) s = readUint(*it, "pids_max", 0, 1u << 30, spec.limits.pids_max);
  if (!s.ok()) return s.error().withContext("limits");
  spec.limits.cpu_max_pct = static_cast<uint32_t>(cpu);
  return {};
}

Status readSizes(const json& j, ShimSpec& spec) {
  uint64_t cols = spec.cols, rows = spec.rows, grace = spec.stop_grace_s;
  Status s =
      readUint(j, "console_log_max_bytes", 4096, uint64_t{1} << 40, spec.console_log_max_bytes);
  if (s.ok()) s = readUint(j, "scrollback_bytes", 0, 64 << 20, spec.scrollback_bytes);
  if (s.ok()) s = readUint(j, "cols", 1, 10000, cols);
  if (s.ok()) s = readUint(j, "rows", 1, 10000, rows);
  if (s.ok()) s = readUint(j, "stop_grace_s", 0, 3600, grace);
  if (!s.ok()) return s;
  spec.cols = static_cast<uint16_t>(cols);
  spec.rows = static_cast<uint16_t>(rows);
  spec.stop_grace_s = static_cast<uint32_t>(grace);
  return {};
}

}  // namespace

std::string ShimSpec::shimLogPath() const { return dirName(console_log) + "/shim.log"; }

Result<ShimSpec> parseSpec(const json& j) {
  if (!j.is_object()) return Error{ErrorCode::kInvalidArgument, "spec must be a json object"};
  static const std::set<std::string> kKeys = {"instance_id",
                                              "command",
                                              "cwd",
                                              "env",
                                              "socket",
                                              "console_log",
                                              "console_log_max_bytes",
                                              "scrollback_bytes",
                                              "exit_record",
                                              "pid_file",
                                              "cols",
                                              "rows",
                                              "stop_grace_s",
                                              "limits",
                                              "cgroup_root",
                                              "cgroup_name"};
  for (const auto& [k, v] : j.items()) {
    if (!kKeys.count(k)) return invalid(k, "unknown key");
  }
  ShimSpec spec;
  auto id = j.find("instance_id");
  if (id == j.end()) return invalid("instance_id", "is required");
  if (!id->is_string() || !validName(id->get<std::string>())) {
    return invalid("instance_id", "must be 1-128 characters of [A-Za-z0-9._-]");
  }
  spec.instance_id = id->get<std::string>();
  Status s = readCommandAndEnv(j, spec);
  if (s.ok()) s = readPath(j, "cwd", false, spec.cwd);
  if (s.ok()) s = readPath(j, "socket", true, spec.socket);
  if (s.ok()) s = readPath(j, "console_log", true, spec.console_log);
  if (s.ok()) s = readPath(j, "exit_record", true, spec.exit_record);
  if (s.ok()) s = readPath(j, "pid_file", true, spec.pid_file);
  if (s.ok()) s = readPath(j, "cgroup_root", false, spec.cgroup_root);
  if (s.ok()) s = readSizes(j, spec);
  if (s.ok()) s = readLimits(j, spec);
  if (!s.ok()) return s.error();
  if (spec.socket.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return invalid("socket", "path longer than " +
                                 std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes");
  }
  spec.cgroup_name = "zlh-" + spec.instance_id;
  if (auto cg = j.find("cgroup_name"); cg != j.end()) {
    if (!cg->is_string() || !validName(cg->get<std::string>())) {
      return invalid("cgroup_name", "must be 1-128 characters of [A-Za-z0-9._-]");
    }
    spec.cgroup_name = cg->get<std::string>();
  }
  return spec;
}

Status checkSpecPaths(const ShimSpec& spec) {
  if (!isDirectory(spec.cwd)) return invalid("cwd", spec.cwd + " is not an existing directory");
  const std::pair<const char*, const std::string*> files[] = {{"socket", &spec.socket},
                                                              {"console_log", &spec.console_log},
                                                              {"exit_record", &spec.exit_record},
                                                              {"pid_file", &spec.pid_file}};
  for (const auto& [key, path] : files) {
    if (!isDirectory(dirName(*path))) {
      return invalid(key, "directory " + dirName(*path) + " does not exist");
    }
  }
  return {};
}

Result<ShimSpec> loadSpec(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{ErrorCode::kInvalidArgument, path + ": cannot read"};
  std::stringstream text;
  text << in.rdbuf();
  json j = json::parse(text.str(), nullptr, false);
  if (j.is_discarded()) return Error{ErrorCode::kInvalidArgument, path + ": not valid json"};
  auto spec = parseSpec(j);
  if (!spec.ok()) return spec.error().withContext(path);
  if (auto paths = checkSpecPaths(*spec); !paths.ok()) return paths.error().withContext(path);
  return spec;
}

}  // namespace zlh::agent::shim
