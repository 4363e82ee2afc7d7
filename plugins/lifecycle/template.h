#pragma once
// An instance template: a TOML data file describing how to install, start, stop, probe and
// restart one kind of instance (docs/templates.md is the reference of the format).
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/sdk/result.h"

namespace zlh::plugins::lifecycle {

enum class ParamType { kString, kInt, kBool };
std::string_view toString(ParamType type);

/// One declared `[params.NAME]` entry.
struct ParamSpec {
  std::string name;
  ParamType type = ParamType::kString;
  std::string description;
  bool required = false;
  /// Default as the param's JSON value (string, integer or boolean); null when none.
  std::optional<std::string> default_string;
  std::optional<int64_t> default_int;
  std::optional<bool> default_bool;
  std::optional<int64_t> min;  ///< integers only
  std::optional<int64_t> max;
  std::vector<std::string> choices;  ///< strings only; empty = any
  uint32_t max_length = 256;         ///< strings only
};

struct InstallFile {
  std::string path;  ///< relative to the data dir (templated)
  std::string content;
  uint32_t mode = 0644;
};

struct InstallArtifact {
  std::string url;     ///< templated; http or https
  std::string sha256;  ///< templated; 64 lowercase hex digits after rendering
  std::string path;    ///< templated; relative to the data dir
};

struct InstallScript {
  std::vector<std::string> command;  ///< templated argv, run in the data dir
  uint32_t timeout_s = 300;
};

struct InstallSpec {
  uint32_t timeout_s = 1800;  ///< whole install; capped by the plugin's install_timeout_s
  std::vector<InstallFile> files;
  std::vector<InstallArtifact> artifacts;
  std::optional<InstallScript> script;
};

enum class StopMethod { kCommand, kSignal };

struct StopSpec {
  StopMethod method = StopMethod::kSignal;
  std::string command;          ///< console text for kCommand ("\n" is appended)
  std::string signal = "TERM";  ///< for kSignal
  uint32_t timeout_s = 30;      ///< then SIGKILL
};

enum class PingKind { kNone, kMinecraft, kHttp, kTcp };
std::string_view toString(PingKind kind);

struct ReadinessSpec {
  std::string log_line;  ///< substring of a console line; empty = do not wait for one
  PingKind ping = PingKind::kNone;
  std::string http_path = "/";  ///< for kHttp (templated)
  int expect_status = 0;        ///< for kHttp; 0 = any status below 400
  uint32_t timeout_s = 120;
  uint32_t interval_ms = 1000;
  bool fail_on_timeout = false;  ///< on_timeout = "fail": kill the process and mark it failed
};

struct HealthSpec {
  uint32_t interval_s = 10;
  uint32_t unresponsive_after_s = 60;  ///< 0 = no hang detection
};

struct QuiesceSpec {
  std::vector<std::string> before;  ///< console commands before a backup ("save-off", ...)
  std::vector<std::string> after;
};

struct RestartSpec {
  uint32_t backoff_initial_s = 2;
  uint32_t backoff_max_s = 60;
  uint32_t crash_loop_count = 5;
  uint32_t crash_loop_window_s = 600;
  uint32_t stable_after_s = 60;  ///< ready this long: crash counter reset
};

struct ResourceSpec {
  uint32_t memory_mb = 1024;
  uint32_t disk_mb = 10240;
  uint32_t cpu_pct = 0;  ///< 0 = no limit
  uint32_t pids_max = 0;
};

struct Template {
  std::string name;
  std::string description;
  std::vector<ParamSpec> params;  ///< in file order
  InstallSpec install;
  std::vector<std::string> start_command;        ///< templated argv
  std::map<std::string, std::string> start_env;  ///< templated values
  StopSpec stop;
  ReadinessSpec readiness;
  HealthSpec health;
  QuiesceSpec quiesce;
  bool game_port = true;  ///< `[ports] game`: allocate one port ({{port}})
  /// `[console] shell`: viewers may open a plain shell in the data dir (hosted IDEs), not only
  /// the process's own console.
  bool console_shell = false;
  RestartSpec restart;
  ResourceSpec resources;
  std::string source;  ///< the TOML text it was parsed from (kept in the instance's spec)

  const ParamSpec* findParam(std::string_view name) const;
};

/// [a-z0-9][a-z0-9_-]{0,63}: template names (and so file names) are plain.
bool validTemplateName(std::string_view name);

/// Parses a template from TOML text. `origin` (usually the file path) prefixes every error:
/// "<origin>: <key>: <reason>" (InvalidArgument). Unknown keys are errors.
agent::sdk::Result<Template> parseTemplate(std::string_view toml_text, const std::string& origin);

/// Reads and parses `<dir>/<name>.toml`. NotFound for an unknown template; InvalidArgument for a
/// bad name ([a-z0-9][a-z0-9_-]{0,63}) or a bad file.
agent::sdk::Result<Template> loadTemplate(const std::filesystem::path& dir,
                                          const std::string& name);

/// Every `*.toml` in `dir`, parsed; files that fail are returned as errors beside the good ones.
struct TemplateScan {
  std::vector<Template> templates;
  std::vector<agent::sdk::Error> errors;
};
TemplateScan scanTemplates(const std::filesystem::path& dir);

}  // namespace zlh::plugins::lifecycle
