// lifecycle.create: template + params -> record, files, port; install on the pool; then
// optionally the first start. Any failure removes everything it made.
#include <set>

#include "plugins/lifecycle/install.h"
#include "plugins/lifecycle/lifecycle_plugin.h"
#include "plugins/lifecycle/params.h"

namespace zlh::plugins::lifecycle {
namespace sdk = agent::sdk;
using nlohmann::json;
using sdk::InstanceState;

namespace {

sdk::Error invalid(const std::string& msg) {
  return sdk::makeError(sdk::ErrorCode::kInvalidArgument, msg);
}

sdk::Result<std::string> stringParam(const json& p, const char* key) {
  auto it = p.find(key);
  if (it == p.end() || !it->is_string()) return invalid(std::string(key) + ": required string");
  const auto& s = it->get_ref<const std::string&>();
  bool control = false;
  for (char c : s) control = control || static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  if (s.empty() || s.size() > 128 || control)
    return invalid(std::string(key) + ": 1 to 128 characters, no control characters");
  return s;
}

json stopJson(const StopSpec& s) {
  return json{{"method", s.method == StopMethod::kCommand ? "command" : "signal"},
              {"command", s.command},
              {"signal", s.signal},
              {"timeout_s", s.timeout_s}};
}

}  // namespace

sdk::Result<json> LifecyclePlugin::buildSpec(const json& p, const Template& t,
                                             std::optional<uint16_t>& port) {
  auto params = resolveParams(t, p.value("params", json()));
  if (!params.ok()) return params.error();
  auto env = parseEnv(p.value("env", json()));
  if (!env.ok()) return env.error();
  auto res = resolveResources(t.resources, p.value("resources", json()));
  if (!res.ok()) return res.error();
  if (config_.fixtures_dir.empty() && t.source.find("{{fixtures_dir}}") != std::string::npos)
    return sdk::makeError(
        sdk::ErrorCode::kFailedPrecondition,
        "template \"" + t.name + "\" needs {{fixtures_dir}}: set [plugins.lifecycle] fixtures_dir");
  json spec{{"name", p.at("name")},
            {"template_source", t.source},
            {"params", *params},
            {"env", *env},
            {"resources", toJson(*res)},
            {"installed", false},
            {"host", config_.listenHost()},
            {"port", nullptr},
            {"address", nullptr},
            {"stop", stopJson(t.stop)},
            {"ping", std::string(toString(t.readiness.ping))},
            {"quiesce", {{"before", t.quiesce.before}, {"after", t.quiesce.after}}},
            {"console_shell", t.console_shell}};
  if (t.game_port) {
    std::set<uint16_t> taken;
    for (const auto& r : ctx_.instances().list())
      if (auto it = r.spec.find("port"); it != r.spec.end() && it->is_number_unsigned())
        taken.insert(it->get<uint16_t>());
    auto allocated = ports_.allocate(taken);
    if (!allocated.ok()) return allocated.error();
    port = *allocated;
    spec["port"] = *port;
    spec["address"] = config_.public_host + ":" + std::to_string(*port);
  }
  return spec;
}

void LifecyclePlugin::jobCreate(const sdk::Job& job, Reply reply) {
  const std::string id = *job.instance_id;
  const json p = job.params.is_object() ? job.params : json::object();
  auto tname = stringParam(p, "template");
  auto name = stringParam(p, "name");
  if (!tname.ok() || !name.ok()) return reply(tname.ok() ? name.error() : tname.error());
  auto start_it = p.find("start");
  if (start_it != p.end() && !start_it->is_boolean())
    return reply(invalid("start: expected a boolean"));
  bool start = start_it == p.end() || start_it->get<bool>();

  if (auto existing = ctx_.instances().get(id)) {
    Runtime& rt = runtime(id);
    if (rt.action)
      return reply(sdk::makeError(sdk::ErrorCode::kConflict, "instance " + id + " is busy"));
    if (existing->template_name != *tname)
      return reply(sdk::makeError(
          sdk::ErrorCode::kConflict,
          "instance " + id + " exists with template \"" + existing->template_name + "\""));
    if (existing->spec.value("installed", false)) return reply(viewResult(id));  // redelivery
    // An install interrupted by an agent restart: start over.
    runtimes_.erase(id);
    if (auto st = ctx_.instances().remove(id); !st.ok()) return reply(st.error());
  }
  auto t = loadTemplate(config_.templates_dir, *tname);
  if (!t.ok())
    return reply(t.error().code == sdk::ErrorCode::kNotFound
                     ? invalid("template: " + t.error().message)
                     : t.error());
  std::optional<uint16_t> port;
  auto spec = buildSpec(p, *t, port);
  if (!spec.ok()) return reply(spec.error());
  auto rec = ctx_.instances().create(id, *tname, std::move(spec.value()));
  if (port) ports_.release(*port);  // from now on the record holds it (or nobody does)
  if (!rec.ok()) return reply(rec.error());
  if (!start) setDesired(id, "stopped");
  beginAction(id, ActionKind::kCreate, Phase::kInstalling, std::move(reply));
  Action& a = *runtime(id).action;
  a.start_after = start;
  a.signals = job.signals;
  a.abort = std::make_shared<std::atomic<bool>>(false);
  // Render once now so a template that cannot start fails before anything is downloaded.
  auto vars = varsFor(*ctx_.instances().get(id));
  if (auto argv = renderAll(t->start_command, vars); !argv.ok())
    return abandonCreate(id, argv.error().withContext("start.command"));
  armDeadline(id,
              std::chrono::seconds(std::min(t->install.timeout_s, config_.install_timeout_s) + 30));
  runtime(id).tmpl = std::make_shared<const Template>(std::move(t.value()));
  runInstallStep(id, *runtime(id).tmpl);
}

void LifecyclePlugin::runInstallStep(const std::string& id, const Template& t) {
  auto rec = ctx_.instances().get(id);
  Action& a = *runtime(id).action;
  InstallContext ic;
  ic.data_dir = rec->data_dir;
  ic.vars = varsFor(*rec);
  ic.timeout_s = std::min(t.install.timeout_s, config_.install_timeout_s);
  ic.script_env = {{"PATH", config_.path_env},
                   {"HOME", rec->data_dir.string()},
                   {"LANG", "C.UTF-8"},
                   {"ZLH_INSTANCE_ID", id}};
  ic.max_artifact_bytes = config_.max_artifact_bytes;
  ic.cancelled = [abort = a.abort, signals = a.signals] {
    return abort->load() || (signals && signals->cancelled());
  };
  ic.progress = [signals = a.signals](std::string msg) {
    if (signals) signals->progress(std::nullopt, std::move(msg));
  };
  auto done =
      guard([this, id, action_id = a.id](sdk::Status st) { onInstalled(id, action_id, st); });
  ctx_.runBlocking(
      [ctx = &ctx_, spec = t.install, ic = std::move(ic), done = std::move(done)]() mutable {
        sdk::Status st = runInstall(spec, ic);
        ctx->post([done = std::move(done), st = std::move(st)]() mutable { done(std::move(st)); });
      });
}

void LifecyclePlugin::onInstalled(const std::string& id, uint64_t action_id, sdk::Status result) {
  auto it = runtimes_.find(id);
  if (it == runtimes_.end() || !it->second.action || it->second.action->id != action_id) return;
  Action& a = *it->second.action;
  if (!a.delete_replies.empty()) {
    auto deletes = std::move(a.delete_replies);
    abandonCreate(id, sdk::makeError(sdk::ErrorCode::kConflict,
                                     "create " + id + ": aborted by lifecycle.delete"));
    for (auto& r : deletes) r(json{{"deleted", true}, {"existed", true}});
    return;
  }
  if (!result.ok()) {
    installs_failed_++;
    return abandonCreate(id, result.error().withContext("create " + id));
  }
  installs_ok_++;
  if (!transition(id, InstanceState::kInstalled, "installed").ok())
    return abandonCreate(id,
                         sdk::makeError(sdk::ErrorCode::kInternal, "create " + id + ": registry"));
  (void)ctx_.instances().update(id, [](Record& r) { r.spec["installed"] = true; });
  if (!a.start_after) return finishAction(id, viewResult(id));
  a.phase = Phase::kSpawning;
  armDeadline(id, std::chrono::seconds(config_.start_timeout_s));
  if (auto st = startProcess(id, "starting after install"); !st.ok())
    abandonCreate(id, st.error().withContext("create " + id));
}

void LifecyclePlugin::abandonCreate(const std::string& id, const sdk::Error& error) {
  ctx_.log().warn(id, ": create failed, removing it: ", error.message);
  if (ctx_.supervisor().alive(id)) (void)ctx_.supervisor().signal(id, "KILL");
  if (auto st = ctx_.instances().remove(id); !st.ok())
    ctx_.log().error(id, ": remove after failed create: ", st.error().message);
  finishAction(id, error);
  runtimes_.erase(id);
}

}  // namespace zlh::plugins::lifecycle
