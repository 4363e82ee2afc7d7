// zlhctl: the everyday command line over the public API (docs/zlhctl.md). For now: `console`.
//   ZLH_URL=http://127.0.0.1:7420 ZLH_TOKEN=zlh_... zlhctl console INSTANCE
// The token never goes on the command line (other users can read it in ps): ZLH_TOKEN or
// --token-file. Exit 0 when the console ended normally (the process exited) or was detached,
// 1 when it was refused or lost, 2 on bad usage.
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <fstream>
#include <iostream>

#include "coordinator/common/version.h"
#include "coordinator/ctl/console_client.h"

using namespace zlh::coordinator;

namespace {

std::string readToken(const std::string& file) {
  if (file.empty()) {
    const char* env = std::getenv("ZLH_TOKEN");
    return env ? env : "";
  }
  std::ifstream in(file);
  std::string t;
  std::getline(in, t);
  while (!t.empty() && (t.back() == '\r' || t.back() == ' ')) t.pop_back();
  return t;
}

int console(const ctl::BaseUrl& base, const std::string& token, const std::string& instance,
            bool shell) {
  const nlohmann::json body = {{"shell", shell}};
  auto t = ctl::apiRequest(base, "POST", "/api/v1/instances/" + instance + "/console/tickets",
                           token, &body);
  if (!t) return std::cerr << "zlhctl: " << t.error().message << "\n", 1;
  if (t->status != 201) {
    std::string msg = t->body.is_object() && t->body.contains("error")
                          ? t->body["error"].value("message", "")
                          : "unexpected answer";
    std::cerr << "zlhctl: console ticket refused: " << msg << " (HTTP " << t->status << ")\n";
    return 1;
  }
  std::cerr << "zlhctl: attached to " << instance << " (detach: Ctrl-])\n";
  auto out = ctl::attachConsole(base, t->body.value("ticket", ""));
  if (!out) return std::cerr << "\nzlhctl: " << out.error().message << "\n", 1;
  if (out->detached) return std::cerr << "\r\nzlhctl: detached\n", 0;
  std::cerr << "\r\nzlhctl: console closed: " << (out->reason.empty() ? "no reason" : out->reason);
  if (out->close_code) std::cerr << " (" << out->close_code << ")";
  std::cerr << "\n";
  return out->close_code == 1000 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"zlhctl: everyday commands over the zlh API"};
  app.set_version_flag("--version", std::string(common::version()));
  app.require_subcommand(1);
  app.fallthrough();
  std::string url = std::getenv("ZLH_URL") ? std::getenv("ZLH_URL") : "http://127.0.0.1:7420";
  std::string token_file;
  app.add_option("--url", url, "coordinator base URL (env ZLH_URL)")->capture_default_str();
  app.add_option("--token-file", token_file, "file holding the API token (default: env ZLH_TOKEN)");
  auto* console_cmd = app.add_subcommand("console", "attach this terminal to an instance's console");
  std::string instance;
  console_cmd->add_option("INSTANCE", instance, "instance id")->required();
  bool shell = false;
  console_cmd->add_flag("--shell", shell,
                        "a plain shell in the instance's directory instead of its process's "
                        "console (templates that offer one, e.g. a hosted IDE)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  auto base = ctl::parseBaseUrl(url);
  if (!base) return std::cerr << "zlhctl: --url: " << base.error().message << "\n", 2;
  std::string token = readToken(token_file);
  if (token.empty())
    return std::cerr << "zlhctl: no API token: set ZLH_TOKEN or pass --token-file\n", 2;
  if (console_cmd->parsed()) return console(*base, token, instance, shell);
  return 2;
}
