#include "plugins/lifecycle/install.h"

#include <algorithm>

#include "plugins/lifecycle/artifact_fetch.h"
#include "plugins/lifecycle/safe_fs.h"
#include "plugins/lifecycle/script_runner.h"

namespace zlh::plugins::lifecycle {
namespace sdk = agent::sdk;
using Clock = std::chrono::steady_clock;

namespace {

struct Runner {
  const InstallContext& ctx;
  const SafeRoot& root;
  Clock::time_point deadline;

  uint32_t remainingS() const {
    auto left = std::chrono::duration_cast<std::chrono::seconds>(deadline - Clock::now()).count();
    return uint32_t(std::max<int64_t>(left, 1));
  }
  bool expired() const { return Clock::now() >= deadline; }
  bool cancelled() const { return expired() || (ctx.cancelled && ctx.cancelled()); }
  void progress(const std::string& what) const {
    if (ctx.progress) ctx.progress(what);
  }
  sdk::Error stopped(const std::string& step) const {
    if (expired())
      return sdk::makeError(
          sdk::ErrorCode::kDeadlineExceeded,
          step + ": install timed out after " + std::to_string(ctx.timeout_s) + " s");
    return sdk::makeError(sdk::ErrorCode::kDeadlineExceeded, step + ": install cancelled");
  }

  sdk::Status files(const std::vector<InstallFile>& files) const {
    for (size_t i = 0; i < files.size(); ++i) {
      std::string step = "install.files[" + std::to_string(i) + "]";
      if (cancelled()) return stopped(step);
      auto path = render(files[i].path, ctx.vars);
      if (!path.ok()) return path.error().withContext(step + ".path");
      auto content = render(files[i].content, ctx.vars);
      if (!content.ok()) return content.error().withContext(step + ".content");
      progress("writing " + *path);
      if (auto st = root.writeFile(*path, *content, files[i].mode); !st.ok())
        return st.error().withContext(step + " (" + *path + ")");
    }
    return {};
  }

  sdk::Status artifacts(const std::vector<InstallArtifact>& artifacts) const {
    for (size_t i = 0; i < artifacts.size(); ++i) {
      std::string step = "install.artifacts[" + std::to_string(i) + "]";
      if (cancelled()) return stopped(step);
      auto url = render(artifacts[i].url, ctx.vars);
      auto sha = render(artifacts[i].sha256, ctx.vars);
      auto path = render(artifacts[i].path, ctx.vars);
      if (!url.ok()) return url.error().withContext(step + ".url");
      if (!sha.ok()) return sha.error().withContext(step + ".sha256");
      if (!path.ok()) return path.error().withContext(step + ".path");
      progress("downloading " + *path);
      FetchOptions o;
      o.timeout_s = remainingS();
      o.max_bytes = ctx.max_artifact_bytes;
      o.cancelled = [this] { return cancelled(); };
      if (auto st = fetchArtifact(root, *url, *sha, *path, o); !st.ok()) {
        if (cancelled()) return stopped(step + " (" + *path + ")");
        return st.error().withContext(step + " (" + *path + ")");
      }
    }
    return {};
  }

  sdk::Status script(const InstallScript& script) const {
    if (cancelled()) return stopped("install.script");
    auto argv = renderAll(script.command, ctx.vars);
    if (!argv.ok()) return argv.error().withContext("install.script.command");
    progress("running " + argv->front());
    ScriptOptions o;
    o.cwd = ctx.data_dir;
    o.env = ctx.script_env;
    o.timeout_s = std::min(script.timeout_s, remainingS());
    o.cancelled = ctx.cancelled;
    if (auto st = runScriptChecked(*argv, o); !st.ok())
      return st.error().withContext("install.script");
    return {};
  }
};

}  // namespace

sdk::Status runInstall(const InstallSpec& spec, const InstallContext& ctx) {
  auto root = SafeRoot::open(ctx.data_dir);
  if (!root.ok()) return root.error().withContext("install");
  Runner run{ctx, *root, Clock::now() + std::chrono::seconds(ctx.timeout_s)};
  if (auto st = run.files(spec.files); !st.ok()) return st;
  if (auto st = run.artifacts(spec.artifacts); !st.ok()) return st;
  if (spec.script)
    if (auto st = run.script(*spec.script); !st.ok()) return st;
  return {};
}

}  // namespace zlh::plugins::lifecycle
