#include "agent/shim/spec.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace zlh::agent::shim {
namespace {

using nlohmann::json;

json validSpec() {
  return json{{"instance_id", "mc-1"},
              {"command", {"java", "-jar", "server.jar"}},
              {"cwd", "/tmp"},
              {"env", {{"JAVA_HOME", "/usr/lib/jvm"}}},
              {"socket", "/tmp/shim.sock"},
              {"console_log", "/tmp/console.log"},
              {"console_log_max_bytes", 8388608},
              {"scrollback_bytes", 262144},
              {"exit_record", "/tmp/exit.json"},
              {"pid_file", "/tmp/shim.pid"},
              {"cols", 120},
              {"rows", 40},
              {"stop_grace_s", 10},
              {"limits", {{"memory_max_bytes", 0}, {"cpu_max_pct", 0}, {"pids_max", 0}}},
              {"cgroup_root", "/sys/fs/cgroup"},
              {"cgroup_name", "zlh-mc-1"}};
}

std::string errorOf(const json& j) {
  auto r = parseSpec(j);
  return r.ok() ? "" : r.error().message;
}

TEST(ShimSpec, ParsesTheDocumentedExample) {
  auto spec = parseSpec(validSpec());
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_EQ(spec->instance_id, "mc-1");
  EXPECT_EQ(spec->command.size(), 3u);
  EXPECT_EQ(spec->env.at("JAVA_HOME"), "/usr/lib/jvm");
  EXPECT_EQ(spec->cols, 120);
  EXPECT_EQ(spec->rows, 40);
  EXPECT_FALSE(spec->limits.any());
  EXPECT_EQ(spec->shimLogPath(), "/tmp/shim.log");
  EXPECT_EQ(spec->lockPath(), "/tmp/shim.sock.lock");
}

TEST(ShimSpec, DefaultsForOptionalKeys) {
  json j = {{"instance_id", "x"},           {"command", {"sh"}},
            {"socket", "/tmp/s.sock"},      {"console_log", "/tmp/c.log"},
            {"exit_record", "/tmp/e.json"}, {"pid_file", "/tmp/p.pid"}};
  auto spec = parseSpec(j);
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_EQ(spec->cwd, "/");
  EXPECT_EQ(spec->cgroup_name, "zlh-x");
  EXPECT_EQ(spec->console_log_max_bytes, 8u * 1024 * 1024);
  EXPECT_EQ(spec->scrollback_bytes, 256u * 1024);
  EXPECT_EQ(spec->stop_grace_s, 10u);
}

TEST(ShimSpec, ErrorsNameTheKey) {
  struct Case {
    const char* key;
    json value;
    const char* expect;
  };
  const Case cases[] = {
      {"instance_id", "bad/id", "instance_id"},
      {"command", json::array(), "command"},
      {"command", {"java", 1}, "command"},
      {"cwd", "relative/dir", "cwd: must be an absolute path"},
      {"env", {{"A", 1}}, "env.A"},
      {"socket", 5, "socket"},
      {"socket", "/" + std::string(120, 's'), "socket: path longer"},
      {"console_log_max_bytes", 10, "console_log_max_bytes"},
      {"scrollback_bytes", -1, "scrollback_bytes"},
      {"cols", 0, "cols"},
      {"rows", 20000, "rows"},
      {"stop_grace_s", "ten", "stop_grace_s"},
      {"limits", {{"memory_max_bytes", -5}}, "limits: memory_max_bytes"},
      {"limits", {{"swap", 1}}, "limits.swap: unknown key"},
      {"cgroup_name", "../escape", "cgroup_name"},
      {"surprise", 1, "surprise: unknown key"},
  };
  for (const auto& c : cases) {
    json j = validSpec();
    j[c.key] = c.value;
    auto message = errorOf(j);
    EXPECT_NE(message.find(c.expect), std::string::npos) << c.key << " -> \"" << message << "\"";
  }
  for (const char* required :
       {"instance_id", "command", "socket", "console_log", "exit_record", "pid_file"}) {
    json j = validSpec();
    j.erase(required);
    EXPECT_NE(errorOf(j).find(std::string(required) + ": is required"), std::string::npos)
        << required;
  }
  EXPECT_FALSE(parseSpec(json::array()).ok());
}

TEST(ShimSpec, LoadChecksFilesAndPaths) {
  char tmpl[] = "/tmp/zlh-shim-spec-XXXXXX";
  std::filesystem::path dir = mkdtemp(tmpl);
  auto write = [&](const std::string& text) {
    std::ofstream(dir / "spec.json") << text;
    return loadSpec((dir / "spec.json").string());
  };
  EXPECT_NE(write("{not json").error().message.find("not valid json"), std::string::npos);
  json j = validSpec();
  j["cwd"] = (dir / "missing").string();
  EXPECT_NE(write(j.dump()).error().message.find("cwd"), std::string::npos);
  j["cwd"] = dir.string();
  j["socket"] = (dir / "nodir" / "shim.sock").string();
  EXPECT_NE(write(j.dump()).error().message.find("socket: directory"), std::string::npos);
  j["socket"] = (dir / "shim.sock").string();
  EXPECT_TRUE(write(j.dump()).ok());
  EXPECT_FALSE(loadSpec((dir / "absent.json").string()).ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace zlh::agent::shim
