#include "agent/sdk/supervisor.h"

#include <array>
#include <cctype>

namespace zlh::agent::sdk {
namespace {

constexpr std::array<std::string_view, 31> kSignals{
    "HUP",  "INT",  "QUIT", "ILL",    "TRAP",   "ABRT",  "BUS",  "FPE",  "KILL", "USR1", "SEGV",
    "USR2", "PIPE", "ALRM", "TERM",   "STKFLT", "CHLD",  "CONT", "STOP", "TSTP", "TTIN", "TTOU",
    "URG",  "XCPU", "XFSZ", "VTALRM", "PROF",   "WINCH", "IO",   "PWR",  "SYS"};

std::string optString(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

nlohmann::json ExitRecord::toJson() const {
  nlohmann::json j = {{"code", nullptr},
                      {"signal", nullptr},
                      {"oom_killed", oom_killed},
                      {"started_at", started_at},
                      {"exited_at", exited_at},
                      {"last_lines", last_lines},
                      {"lost", lost}};
  if (code) j["code"] = *code;
  if (signal) j["signal"] = *signal;
  return j;
}

Result<ExitRecord> ExitRecord::fromJson(const nlohmann::json& j) {
  if (!j.is_object()) return makeError(ErrorCode::kInvalidArgument, "exit record: not an object");
  ExitRecord r;
  if (auto it = j.find("code"); it != j.end() && !it->is_null()) {
    if (!it->is_number_integer())
      return makeError(ErrorCode::kInvalidArgument, "exit record: code: not an integer");
    r.code = it->get<int>();
  }
  if (auto it = j.find("signal"); it != j.end() && !it->is_null()) {
    if (!it->is_string())
      return makeError(ErrorCode::kInvalidArgument, "exit record: signal: not a string");
    r.signal = it->get<std::string>();
  }
  if (auto it = j.find("oom_killed"); it != j.end() && it->is_boolean()) r.oom_killed = *it;
  if (auto it = j.find("lost"); it != j.end() && it->is_boolean()) r.lost = *it;
  r.started_at = optString(j, "started_at");
  r.exited_at = optString(j, "exited_at");
  if (auto it = j.find("last_lines"); it != j.end() && it->is_array())
    for (const auto& line : *it)
      if (line.is_string()) r.last_lines.push_back(line.get<std::string>());
  return r;
}

std::optional<std::string> normalizeSignalName(std::string_view name) {
  std::string upper;
  for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper.rfind("SIG", 0) == 0) upper.erase(0, 3);
  for (auto s : kSignals)
    if (s == upper) return upper;
  return std::nullopt;
}

}  // namespace zlh::agent::sdk
