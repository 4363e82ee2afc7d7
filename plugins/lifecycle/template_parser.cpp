// TOML -> Template, section by section. Every key is read through TomlReader so unknown keys are
// refused; cross-field rules (variables, ports, stop method) are checked at the end.
#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "plugins/lifecycle/template.h"
#include "plugins/lifecycle/template_render.h"
#include "plugins/lifecycle/toml_reader.h"

namespace zlh::plugins::lifecycle {
namespace sdk = agent::sdk;

namespace {

constexpr uint32_t kMaxU32 = 0xffffffffu;

bool validIdent(const std::string& s, size_t max_len, bool allow_upper) {
  if (s.empty() || s.size() > max_len) return false;
  if (std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return std::islower(static_cast<unsigned char>(c)) ||
           std::isdigit(static_cast<unsigned char>(c)) || c == '_' ||
           (allow_upper && std::isupper(static_cast<unsigned char>(c)));
  });
}

void parseParamDefault(TomlReader& r, ParamSpec& p) {
  const toml::node* d = r.node("default");
  if (!d) return;
  bool ok = (p.type == ParamType::kString && d->is_string()) ||
            (p.type == ParamType::kInt && d->is_integer()) ||
            (p.type == ParamType::kBool && d->is_boolean());
  if (!ok) {
    r.errors().fail(r.path("default"), "expected " +
                                           std::string(p.type == ParamType::kInt    ? "an integer"
                                                       : p.type == ParamType::kBool ? "a boolean"
                                                                                    : "a string") +
                                           " (the param's type), got " + describeNode(*d));
    return;
  }
  if (d->is_string()) p.default_string = d->as_string()->get();
  if (d->is_integer()) p.default_int = d->as_integer()->get();
  if (d->is_boolean()) p.default_bool = d->as_boolean()->get();
}

void parseParam(TomlErrors& errs, const std::string& name, const toml::table* t,
                std::vector<ParamSpec>& out) {
  TomlReader r(errs, t, "params." + name);
  ParamSpec p;
  p.name = name;
  if (!validIdent(name, 32, false))
    errs.fail("params." + name, "bad param name (want [a-z_][a-z0-9_]{0,31})");
  std::string type;
  r.str("type", type, true);
  if (type == "string")
    p.type = ParamType::kString;
  else if (type == "int")
    p.type = ParamType::kInt;
  else if (type == "bool")
    p.type = ParamType::kBool;
  else if (!type.empty())
    errs.fail(r.path("type"), "must be one of string, int, bool");
  r.str("description", p.description);
  r.boolean("required", p.required);
  parseParamDefault(r, p);
  if (p.type == ParamType::kInt) {
    r.i64("min", p.min);
    r.i64("max", p.max);
  }
  if (p.type == ParamType::kString) {
    r.strList("choices", p.choices);
    r.uint("max_length", p.max_length, 1, 65536);
  }
  bool has_default = p.default_string || p.default_int || p.default_bool;
  if (p.required && has_default)
    errs.fail(r.path("default"), "a required param cannot have a default");
  r.finish();
  out.push_back(std::move(p));
}

void parseParams(TomlReader& top, Template& t) {
  const toml::table* params = top.table("params");
  if (!params) return;
  // toml++ tables iterate sorted by key: restore the file's order (it is the documented order,
  // and the order in which missing params are reported).
  std::vector<std::pair<toml::source_position, std::string>> order;
  for (const auto& [k, v] : *params) order.emplace_back(v.source().begin, std::string(k.str()));
  std::sort(order.begin(), order.end());
  for (const auto& [pos, name] : order) {
    const toml::node& v = *params->get(name);
    if (!v.is_table()) {
      top.errors().fail("params." + name, "expected a table, got " + describeNode(v));
      return;
    }
    parseParam(top.errors(), name, v.as_table(), t.params);
  }
}

uint32_t parseMode(TomlReader& r) {
  std::string mode;
  r.str("mode", mode);
  if (mode.empty()) return 0644;
  bool ok = mode.size() <= 4 &&
            std::all_of(mode.begin(), mode.end(), [](char c) { return c >= '0' && c <= '7'; });
  if (!ok) {
    r.errors().fail(r.path("mode"), "expected an octal mode such as \"0644\"");
    return 0644;
  }
  return uint32_t(std::stoul(mode, nullptr, 8)) & 0777;
}

void parseInstall(TomlReader& top, Template& t) {
  TomlReader r(top.errors(), top.table("install"), "install");
  r.uint("timeout_s", t.install.timeout_s, 1, 86400);
  auto files = r.tableArray("files");
  for (size_t i = 0; i < files.size(); ++i) {
    TomlReader f(top.errors(), files[i], "install.files[" + std::to_string(i) + "]");
    InstallFile file;
    f.str("path", file.path, true);
    f.str("content", file.content, true);
    file.mode = parseMode(f);
    f.finish();
    t.install.files.push_back(std::move(file));
  }
  auto artifacts = r.tableArray("artifacts");
  for (size_t i = 0; i < artifacts.size(); ++i) {
    TomlReader a(top.errors(), artifacts[i], "install.artifacts[" + std::to_string(i) + "]");
    InstallArtifact art;
    a.str("url", art.url, true);
    a.str("sha256", art.sha256, true);
    a.str("path", art.path, true);
    a.finish();
    t.install.artifacts.push_back(std::move(art));
  }
  if (const toml::table* s = r.table("script")) {
    TomlReader sr(top.errors(), s, "install.script");
    InstallScript script;
    sr.strList("command", script.command, true);
    sr.uint("timeout_s", script.timeout_s, 1, 86400);
    if (sr.present("command") && script.command.empty())
      top.errors().fail("install.script.command", "must not be empty");
    sr.finish();
    t.install.script = std::move(script);
  }
  r.finish();
}

void parseStart(TomlReader& top, Template& t) {
  const toml::table* s = top.table("start");
  if (!s && top.errors().ok()) top.errors().fail("start", "missing (required)");
  TomlReader r(top.errors(), s, "start");
  r.strList("command", t.start_command, s != nullptr);
  if (s && r.present("command") && t.start_command.empty())
    top.errors().fail("start.command", "must not be empty");
  r.strMap("env", t.start_env);
  for (const auto& [k, v] : t.start_env)
    if (!validIdent(k, 128, true)) top.errors().fail("start.env." + k, "bad variable name");
  r.finish();
}

void parseStop(TomlReader& top, Template& t) {
  TomlReader r(top.errors(), top.table("stop"), "stop");
  std::string method = "signal";
  r.str("method", method);
  if (method == "command")
    t.stop.method = StopMethod::kCommand;
  else if (method == "signal")
    t.stop.method = StopMethod::kSignal;
  else
    top.errors().fail("stop.method", "must be \"command\" or \"signal\"");
  r.str("command", t.stop.command);
  r.str("signal", t.stop.signal);
  static const std::vector<std::string> kSignals = {"TERM", "INT", "HUP", "QUIT", "USR1", "USR2"};
  if (std::find(kSignals.begin(), kSignals.end(), t.stop.signal) == kSignals.end())
    top.errors().fail("stop.signal", "must be one of TERM, INT, HUP, QUIT, USR1, USR2");
  r.uint("timeout_s", t.stop.timeout_s, 1, 3600);
  if (t.stop.method == StopMethod::kCommand && t.stop.command.empty())
    top.errors().fail("stop.command", "required when method = \"command\"");
  if (t.stop.command.find_first_of("\r\n") != std::string::npos)
    top.errors().fail("stop.command", "must be one line");
  r.finish();
}

void parseReadiness(TomlReader& top, Template& t) {
  TomlReader r(top.errors(), top.table("readiness"), "readiness");
  ReadinessSpec& rd = t.readiness;
  r.str("log_line", rd.log_line);
  std::string ping = "none";
  r.str("ping", ping);
  if (ping == "none")
    rd.ping = PingKind::kNone;
  else if (ping == "minecraft")
    rd.ping = PingKind::kMinecraft;
  else if (ping == "http")
    rd.ping = PingKind::kHttp;
  else if (ping == "tcp")
    rd.ping = PingKind::kTcp;
  else
    top.errors().fail("readiness.ping", "must be one of none, minecraft, http, tcp");
  if (rd.ping != PingKind::kHttp && (r.present("path") || r.present("expect_status")))
    top.errors().fail(r.present("path") ? "readiness.path" : "readiness.expect_status",
                      "only for ping = \"http\"");
  r.str("path", rd.http_path);
  if (rd.http_path.empty() || (rd.http_path[0] != '/' && rd.http_path[0] != '{'))
    top.errors().fail("readiness.path", "must start with \"/\"");
  if (r.present("expect_status")) {
    uint32_t status = 200;
    r.uint("expect_status", status, 100, 599);
    rd.expect_status = int(status);
  }
  r.uint("timeout_s", rd.timeout_s, 1, 86400);
  r.uint("interval_ms", rd.interval_ms, 50, 60000);
  std::string on_timeout = "keep";
  r.str("on_timeout", on_timeout);
  if (on_timeout != "keep" && on_timeout != "fail")
    top.errors().fail("readiness.on_timeout", "must be \"keep\" or \"fail\"");
  rd.fail_on_timeout = on_timeout == "fail";
  r.finish();
}

void parseSmallSections(TomlReader& top, Template& t) {
  TomlReader h(top.errors(), top.table("health"), "health");
  h.uint("interval_s", t.health.interval_s, 1, 3600);
  h.uint("unresponsive_after_s", t.health.unresponsive_after_s, 0, 86400);
  h.finish();
  TomlReader q(top.errors(), top.table("quiesce"), "quiesce");
  q.strList("before", t.quiesce.before);
  q.strList("after", t.quiesce.after);
  q.finish();
  TomlReader p(top.errors(), top.table("ports"), "ports");
  p.boolean("game", t.game_port);
  p.finish();
  TomlReader con(top.errors(), top.table("console"), "console");
  con.boolean("shell", t.console_shell);
  con.finish();
  TomlReader rs(top.errors(), top.table("restart"), "restart");
  rs.uint("backoff_initial_s", t.restart.backoff_initial_s, 1, 3600);
  rs.uint("backoff_max_s", t.restart.backoff_max_s, 1, 86400);
  rs.uint("crash_loop_count", t.restart.crash_loop_count, 1, 1000);
  rs.uint("crash_loop_window_s", t.restart.crash_loop_window_s, 1, 604800);
  rs.uint("stable_after_s", t.restart.stable_after_s, 1, 86400);
  if (t.restart.backoff_max_s < t.restart.backoff_initial_s)
    top.errors().fail("restart.backoff_max_s", "must be at least backoff_initial_s");
  rs.finish();
  TomlReader res(top.errors(), top.table("resources"), "resources");
  res.uint("memory_mb", t.resources.memory_mb, 0, kMaxU32);
  res.uint("disk_mb", t.resources.disk_mb, 0, kMaxU32);
  res.uint("cpu_pct", t.resources.cpu_pct, 0, 100000);
  res.uint("pids_max", t.resources.pids_max, 0, 4194304);
  res.finish();
}

void checkVars(TomlErrors& errs, const Template& t, const std::string& key,
               const std::string& text) {
  auto refs = referencedVariables(text);
  if (!refs.ok()) return errs.fail(key, refs.error().message);
  const auto& builtins = builtinVariables();
  for (const auto& name : *refs) {
    if (name.rfind("params.", 0) == 0) {
      if (!t.findParam(name.substr(7))) errs.fail(key, "unknown param \"{{" + name + "}}\"");
    } else if (std::find(builtins.begin(), builtins.end(), name) == builtins.end()) {
      errs.fail(key, "unknown variable \"{{" + name + "}}\"");
    } else if (name == "port" && !t.game_port) {
      errs.fail(key, "\"{{port}}\" used but [ports] game = false");
    }
  }
}

void checkTemplateVars(TomlErrors& errs, const Template& t) {
  for (size_t i = 0; i < t.install.files.size(); ++i) {
    std::string k = "install.files[" + std::to_string(i) + "].";
    checkVars(errs, t, k + "path", t.install.files[i].path);
    checkVars(errs, t, k + "content", t.install.files[i].content);
  }
  for (size_t i = 0; i < t.install.artifacts.size(); ++i) {
    std::string k = "install.artifacts[" + std::to_string(i) + "].";
    checkVars(errs, t, k + "url", t.install.artifacts[i].url);
    checkVars(errs, t, k + "sha256", t.install.artifacts[i].sha256);
    checkVars(errs, t, k + "path", t.install.artifacts[i].path);
  }
  if (t.install.script)
    for (size_t i = 0; i < t.install.script->command.size(); ++i)
      checkVars(errs, t, "install.script.command[" + std::to_string(i) + "]",
                t.install.script->command[i]);
  for (size_t i = 0; i < t.start_command.size(); ++i)
    checkVars(errs, t, "start.command[" + std::to_string(i) + "]", t.start_command[i]);
  for (const auto& [k, v] : t.start_env) checkVars(errs, t, "start.env." + k, v);
  checkVars(errs, t, "readiness.path", t.readiness.http_path);
}

}  // namespace

bool validTemplateName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(name[0])) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return alnum(c) || c == '_' || c == '-'; });
}

const ParamSpec* Template::findParam(std::string_view n) const {
  for (const auto& p : params)
    if (p.name == n) return &p;
  return nullptr;
}

sdk::Result<Template> parseTemplate(std::string_view toml_text, const std::string& origin) {
  toml::table doc;
  try {
    doc = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& e) {
    const auto& src = e.source();
    return sdk::makeError(sdk::ErrorCode::kInvalidArgument,
                          origin + ": line " + std::to_string(src.begin.line) + ", column " +
                              std::to_string(src.begin.column) + ": " +
                              std::string(e.description()));
  }
  TomlErrors errs{origin, std::nullopt};
  TomlReader top(errs, &doc, "");
  Template t;
  t.source = std::string(toml_text);
  top.str("name", t.name, true);
  if (top.present("name") && !validTemplateName(t.name))
    errs.fail("name", "bad template name (want [a-z0-9][a-z0-9_-]{0,63})");
  top.str("description", t.description);
  parseParams(top, t);
  parseInstall(top, t);
  parseStart(top, t);
  parseStop(top, t);
  parseReadiness(top, t);
  parseSmallSections(top, t);
  top.finish();
  if (errs.ok()) checkTemplateVars(errs, t);
  if (!errs.ok()) return *errs.first;
  return t;
}

}  // namespace zlh::plugins::lifecycle
