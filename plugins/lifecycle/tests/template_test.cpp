#include "plugins/lifecycle/template.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "plugins/lifecycle/template_render.h"

namespace zlh::plugins::lifecycle {
namespace {
namespace sdk = agent::sdk;

const char* kMinimal = R"(
name = "t"
[start]
command = ["run"]
)";

std::string parseError(const std::string& text) {
  auto t = parseTemplate(text, "t.toml");
  if (t.ok()) return "(parsed)";
  EXPECT_EQ(t.error().code, sdk::ErrorCode::kInvalidArgument);
  return t.error().message;
}

TEST(TemplateTest, BuiltinsParse) {
  for (const char* name : {"minecraft-java", "process", "mc-test"}) {
    auto t = loadTemplate(ZLH_TEMPLATES_DIR, name);
    ASSERT_TRUE(t.ok()) << name << ": " << t.error().message;
    EXPECT_EQ(t->name, name);
    EXPECT_FALSE(t->start_command.empty());
    EXPECT_TRUE(t->game_port);
  }
  auto mc = loadTemplate(ZLH_TEMPLATES_DIR, "mc-test");
  ASSERT_TRUE(mc.ok());
  EXPECT_EQ(mc->readiness.log_line, "Done (");
  EXPECT_EQ(mc->readiness.ping, PingKind::kMinecraft);
  EXPECT_EQ(mc->stop.method, StopMethod::kCommand);
  EXPECT_EQ(mc->stop.command, "stop");
  EXPECT_EQ(mc->quiesce.before, (std::vector<std::string>{"save-off", "save-all flush"}));
  EXPECT_EQ(mc->restart.crash_loop_count, 5u);
  auto java = loadTemplate(ZLH_TEMPLATES_DIR, "minecraft-java");
  ASSERT_TRUE(java.ok());
  ASSERT_EQ(java->install.artifacts.size(), 1u);
  EXPECT_EQ(java->install.files.size(), 2u);
  ASSERT_NE(java->findParam("eula"), nullptr);
  EXPECT_TRUE(java->findParam("eula")->required);
  EXPECT_EQ(java->findParam("max_players")->default_int, 20);
  std::vector<std::string> order;
  for (const auto& p : java->params) order.push_back(p.name);
  EXPECT_EQ(order, (std::vector<std::string>{"jar_url", "jar_sha256", "eula", "motd", "max_players",
                                             "difficulty", "java"}));  // file order
  auto proc = loadTemplate(ZLH_TEMPLATES_DIR, "process");
  ASSERT_TRUE(proc.ok());
  EXPECT_EQ(proc->readiness.ping, PingKind::kHttp);
  EXPECT_EQ(proc->readiness.expect_status, 0);
  EXPECT_EQ(proc->stop.method, StopMethod::kSignal);
}

TEST(TemplateTest, MinimalDefaults) {
  auto t = parseTemplate(kMinimal, "t.toml");
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->stop.method, StopMethod::kSignal);
  EXPECT_EQ(t->stop.signal, "TERM");
  EXPECT_EQ(t->stop.timeout_s, 30u);
  EXPECT_EQ(t->readiness.ping, PingKind::kNone);
  EXPECT_EQ(t->restart.backoff_initial_s, 2u);
  EXPECT_EQ(t->restart.backoff_max_s, 60u);
  EXPECT_EQ(t->restart.crash_loop_window_s, 600u);
  EXPECT_EQ(t->source, kMinimal);
}

TEST(TemplateTest, SyntaxErrorNamesFileLineAndColumn) {
  std::string msg = parseError("name = \"t\"\n[start\n");
  EXPECT_EQ(msg.rfind("t.toml: line 2, column", 0), 0u) << msg;
}

TEST(TemplateTest, UnknownKeysAreRefusedWithTheirPath) {
  EXPECT_EQ(parseError("colour = 1\n" + std::string(kMinimal)), "t.toml: colour: unknown key");
  EXPECT_EQ(parseError(std::string(kMinimal) + "colour = 1\n"),
            "t.toml: start.colour: unknown key");
  EXPECT_EQ(parseError(std::string(kMinimal) + "[stop]\nsignl = \"TERM\"\n"),
            "t.toml: stop.signl: unknown key");
  EXPECT_EQ(parseError(std::string(kMinimal) + "[[install.files]]\npath = \"a\"\ncontent = \"\"\n"
                                               "owner = \"x\"\n"),
            "t.toml: install.files[0].owner: unknown key");
  EXPECT_EQ(parseError(std::string(kMinimal) + "[params.x]\ntype = \"int\"\nchoices = [\"a\"]\n"),
            "t.toml: params.x.choices: unknown key");
  EXPECT_EQ(parseError(std::string(kMinimal) + "[health]\ninterval = 3\n"),
            "t.toml: health.interval: unknown key");
}

TEST(TemplateTest, TypeAndRangeErrors) {
  EXPECT_EQ(parseError("name = 3\n[start]\ncommand=[\"x\"]\n"),
            "t.toml: name: expected a string, got an integer");
  EXPECT_EQ(parseError(std::string(kMinimal) + "[stop]\ntimeout_s = \"10\"\n"),
            "t.toml: stop.timeout_s: expected an integer, got a string");
  EXPECT_EQ(parseError(std::string(kMinimal) + "[stop]\ntimeout_s = 0\n"),
            "t.toml: stop.timeout_s: must be between 1 and 3600, got 0");
  EXPECT_EQ(parseError("name = \"t\"\n[start]\ncommand = [\"a\", 2]\n"),
            "t.toml: start.command[1]: expected a string, got an integer");
  EXPECT_EQ(parseError("name = \"t\"\n[start]\ncommand = []\n"),
            "t.toml: start.command: must not be empty");
  EXPECT_EQ(parseError(std::string(kMinimal) + "[ports]\ngame = \"yes\"\n"),
            "t.toml: ports.game: expected a boolean, got a string");
}

TEST(TemplateTest, MissingRequiredKeys) {
  EXPECT_EQ(parseError("[start]\ncommand = [\"x\"]\n"), "t.toml: name: missing (required)");
  EXPECT_EQ(parseError("name = \"t\"\n"), "t.toml: start: missing (required)");
  EXPECT_EQ(parseError("name = \"t\"\n[start]\nenv = {}\n"),
            "t.toml: start.command: missing (required)");
  EXPECT_EQ(parseError(std::string(kMinimal) +
                       "[[install.artifacts]]\nurl = \"http://x\"\npath = \"a\"\n"),
            "t.toml: install.artifacts[0].sha256: missing (required)");
}

TEST(TemplateTest, CrossFieldRules) {
  EXPECT_EQ(parseError(std::string(kMinimal) + "[stop]\nmethod = \"command\"\n"),
            "t.toml: stop.command: required when method = \"command\"");
  EXPECT_EQ(parseError(std::string(kMinimal) + "[stop]\nmethod = \"pray\"\n"),
            "t.toml: stop.method: must be \"command\" or \"signal\"");
  EXPECT_EQ(parseError(std::string(kMinimal) + "[stop]\nsignal = \"KILL\"\n"),
            "t.toml: stop.signal: must be one of TERM, INT, HUP, QUIT, USR1, USR2");
  EXPECT_EQ(parseError(std::string(kMinimal) + "[readiness]\nping = \"tcp\"\npath = \"/x\"\n"),
            "t.toml: readiness.path: only for ping = \"http\"");
  EXPECT_EQ(parseError(std::string(kMinimal) + "[readiness]\non_timeout = \"explode\"\n"),
            "t.toml: readiness.on_timeout: must be \"keep\" or \"fail\"");
  EXPECT_EQ(parseError(std::string(kMinimal) + "[readiness]\nping = \"icmp\"\n"),
            "t.toml: readiness.ping: must be one of none, minecraft, http, tcp");
  EXPECT_EQ(
      parseError(std::string(kMinimal) + "[restart]\nbackoff_initial_s = 10\nbackoff_max_s = 5\n"),
      "t.toml: restart.backoff_max_s: must be at least backoff_initial_s");
  EXPECT_EQ(parseError(std::string(kMinimal) + "[params.x]\ntype = \"string\"\nrequired = true\n"
                                               "default = \"a\"\n"),
            "t.toml: params.x.default: a required param cannot have a default");
  EXPECT_EQ(parseError(std::string(kMinimal) + "[params.x]\ntype = \"float\"\n"),
            "t.toml: params.x.type: must be one of string, int, bool");
  EXPECT_EQ(parseError(std::string(kMinimal) + "[params.x]\ntype = \"int\"\ndefault = \"3\"\n"),
            "t.toml: params.x.default: expected an integer (the param's type), got a string");
  EXPECT_EQ(parseError(std::string(kMinimal) + "[[install.files]]\npath = \"a\"\ncontent = \"\"\n"
                                               "mode = \"rwx\"\n"),
            "t.toml: install.files[0].mode: expected an octal mode such as \"0644\"");
  EXPECT_EQ(parseError("name = \"Bad Name\"\n[start]\ncommand = [\"x\"]\n"),
            "t.toml: name: bad template name (want [a-z0-9][a-z0-9_-]{0,63})");
}

TEST(TemplateTest, VariablesAreCheckedAtLoad) {
  EXPECT_EQ(parseError("name = \"t\"\n[start]\ncommand = [\"{{nope}}\"]\n"),
            "t.toml: start.command[0]: unknown variable \"{{nope}}\"");
  EXPECT_EQ(parseError("name = \"t\"\n[start]\ncommand = [\"{{params.x}}\"]\n"),
            "t.toml: start.command[0]: unknown param \"{{params.x}}\"");
  EXPECT_EQ(parseError("name = \"t\"\n[start]\ncommand = [\"x\"]\nenv = { A = \"{{port\" }\n"),
            "t.toml: start.env.A: unterminated \"{{\" at offset 0");
  EXPECT_EQ(parseError("name = \"t\"\n[start]\ncommand = [\"{{port}}\"]\n[ports]\ngame = false\n"),
            "t.toml: start.command[0]: \"{{port}}\" used but [ports] game = false");
  EXPECT_EQ(
      parseError(std::string(kMinimal) + "[[install.files]]\npath = \"{{x y}}\"\ncontent = \"\"\n"),
      "t.toml: install.files[0].path: bad variable \"{{x y}}\"");
  EXPECT_EQ(parseError("name = \"t\"\n[start]\ncommand = [\"x\"]\nenv = { \"1A\" = \"v\" }\n"),
            "t.toml: start.env.1A: bad variable name");
}

TEST(TemplateTest, LoadChecksNameAndFile) {
  auto dir = std::filesystem::temp_directory_path() / ("zlh-tmpl-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "other.toml") << kMinimal;  // declares name "t"
  std::ofstream(dir / "broken.toml") << "name = \"broken\"\nzz = 1\n[start]\ncommand = [\"x\"]\n";
  auto r = loadTemplate(dir, "other");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("does not match the file name"), std::string::npos);
  auto missing = loadTemplate(dir, "absent");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, sdk::ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().message, "unknown template \"absent\"");
  auto bad = loadTemplate(dir, "../etc/passwd");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, sdk::ErrorCode::kInvalidArgument);
  auto broken = loadTemplate(dir, "broken");
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().message, (dir / "broken.toml").string() + ": zz: unknown key");
  auto scan = scanTemplates(dir);
  EXPECT_EQ(scan.templates.size(), 0u);
  EXPECT_EQ(scan.errors.size(), 2u);
  std::filesystem::remove_all(dir);
}

TEST(RenderTest, SubstitutesAndRefusesUnknown) {
  RenderVars v{{"id", "i1"}, {"port", "25565"}, {"params.motd", "hi"}};
  EXPECT_EQ(*render("--port {{port}} {{ id }}/{{params.motd}}", v), "--port 25565 i1/hi");
  EXPECT_EQ(*render("no vars", v), "no vars");
  auto unknown = render("{{fixtures_dir}}/x", v);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().message, "unknown variable \"{{fixtures_dir}}\"");
  EXPECT_FALSE(render("a {{id", v).ok());
  // Values are not re-expanded.
  RenderVars tricky{{"a", "{{b}}"}, {"b", "x"}};
  EXPECT_EQ(*render("{{a}}", tricky), "{{b}}");
  auto refs = referencedVariables("{{a}} and {{ params.b }}");
  ASSERT_TRUE(refs.ok());
  EXPECT_EQ(*refs, (std::vector<std::string>{"a", "params.b"}));
}

}  // namespace
}  // namespace zlh::plugins::lifecycle
