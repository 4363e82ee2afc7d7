#include "plugins/lifecycle/install.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>

#include <fstream>
#include <sstream>

#include "plugins/lifecycle/artifact_fetch.h"
#include "plugins/lifecycle/script_runner.h"
#include "plugins/lifecycle/tests/test_support.h"

namespace zlh::plugins::lifecycle {
namespace {
namespace sdk = agent::sdk;
namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct InstallTest : ::testing::Test {
  test::TempDir tmp;
  fs::path data = tmp.path() / "data";
  InstallContext ctx;
  test::HttpServer http;
  void SetUp() override {
    fs::create_directories(data);
    ctx.data_dir = data;
    ctx.vars = {{"id", "i1"}, {"port", "25565"}, {"params.dir", "cfg"}};
    ctx.timeout_s = 30;
    ctx.script_env = {{"PATH", "/usr/bin:/bin"}, {"HOME", data.string()}};
  }
};

TEST_F(InstallTest, FilesAreRenderedBeneathTheDataDir) {
  InstallSpec spec;
  spec.files.push_back({"{{params.dir}}/server.properties", "server-port={{port}}\n", 0600});
  ASSERT_TRUE(runInstall(spec, ctx).ok());
  EXPECT_EQ(slurp(data / "cfg/server.properties"), "server-port=25565\n");
}

TEST_F(InstallTest, FileEscapeThroughAParamIsRefused) {
  ctx.vars["params.dir"] = "..";
  InstallSpec spec;
  spec.files.push_back({"{{params.dir}}/escaped.txt", "x", 0644});
  auto st = runInstall(spec, ctx);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, sdk::ErrorCode::kInvalidArgument);
  EXPECT_EQ(st.error().message,
            "install.files[0] (../escaped.txt): path \"../escaped.txt\" escapes the instance's "
            "data dir");
  EXPECT_FALSE(fs::exists(tmp.path() / "escaped.txt"));
}

TEST_F(InstallTest, ArtifactWithMatchingChecksumIsInstalled) {
  std::string body(100000, 'j');
  http.serve("/server.jar", body);
  InstallSpec spec;
  spec.artifacts.push_back({http.url("/server.jar"), sha256Hex(body), "bin/server.jar"});
  auto st = runInstall(spec, ctx);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(slurp(data / "bin/server.jar"), body);
  EXPECT_EQ(http.requests(), 1);
}

TEST_F(InstallTest, ArtifactChecksumMismatchNamesBothAndLeavesNothing) {
  http.serve("/server.jar", "tampered");
  std::string want = sha256Hex("original");
  InstallSpec spec;
  spec.artifacts.push_back({http.url("/server.jar?token=secret"), want, "server.jar"});
  auto st = runInstall(spec, ctx);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, sdk::ErrorCode::kFailedPrecondition);
  EXPECT_EQ(st.error().message, "install.artifacts[0] (server.jar): download " +
                                    http.url("/server.jar") + ": sha256 mismatch: expected " +
                                    want + ", got " + sha256Hex("tampered"));
  EXPECT_TRUE(fs::is_empty(data));  // no final file, no temp file
}

TEST_F(InstallTest, ArtifactHttpErrorAndBadInputs) {
  InstallSpec spec;
  spec.artifacts.push_back({http.url("/missing.jar"), sha256Hex("x"), "a.jar"});
  auto st = runInstall(spec, ctx);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, sdk::ErrorCode::kUnavailable);
  EXPECT_NE(st.error().message.find("HTTP status 404"), std::string::npos) << st.error().message;
  spec.artifacts[0] = {"file:///etc/passwd", sha256Hex("x"), "a.jar"};
  st = runInstall(spec, ctx);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, sdk::ErrorCode::kInvalidArgument) << st.error().message;
  spec.artifacts[0] = {http.url("/x"), "abc", "a.jar"};
  st = runInstall(spec, ctx);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("is not 64 hex digits"), std::string::npos);
  spec.artifacts[0] = {http.url("/x"), sha256Hex("x"), "../a.jar"};
  st = runInstall(spec, ctx);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("escapes"), std::string::npos);
  EXPECT_TRUE(fs::is_empty(data));
}

TEST_F(InstallTest, ArtifactOverTheSizeCapIsRefused) {
  http.serve("/big", std::string(5000, 'b'));
  ctx.max_artifact_bytes = 1000;
  InstallSpec spec;
  spec.artifacts.push_back({http.url("/big"), sha256Hex("x"), "big"});
  auto st = runInstall(spec, ctx);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("larger than 1000 bytes"), std::string::npos);
  EXPECT_TRUE(fs::is_empty(data));
}

TEST_F(InstallTest, ScriptRunsInTheDataDirWithRenderedArgs) {
  InstallSpec spec;
  spec.script = InstallScript{{"sh", "-c", "echo {{id}} > made-by-script; pwd > where"}, 10};
  auto st = runInstall(spec, ctx);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(slurp(data / "made-by-script"), "i1\n");
  EXPECT_EQ(slurp(data / "where"), fs::canonical(data).string() + "\n");
}

TEST_F(InstallTest, ScriptFailureCarriesItsLastLines) {
  InstallSpec spec;
  spec.script = InstallScript{
      {"sh", "-c", "for i in 1 2 3 4 5; do echo line $i; done; echo oops >&2; exit 3"}, 10};
  auto st = runInstall(spec, ctx);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, sdk::ErrorCode::kFailedPrecondition);
  EXPECT_EQ(
      st.error().message.rfind("install.script: script sh exited with code 3; last output:", 0), 0u)
      << st.error().message;
  EXPECT_NE(st.error().message.find("line 5\noops"), std::string::npos) << st.error().message;
}

TEST_F(InstallTest, ScriptTimeoutKillsTheWholeGroup) {
  InstallSpec spec;
  spec.script =
      InstallScript{{"sh", "-c", "sleep 100 & echo $! > bg.pid; echo started; sleep 100"}, 1};
  auto t0 = steady_clock::now();
  auto st = runInstall(spec, ctx);
  auto took = steady_clock::now() - t0;
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, sdk::ErrorCode::kDeadlineExceeded);
  EXPECT_NE(
      st.error().message.find("timed out after 1 s (process group killed); last output:\nstarted"),
      std::string::npos)
      << st.error().message;
  EXPECT_LT(took, std::chrono::seconds(5));
  pid_t bg = std::stoi(slurp(data / "bg.pid"));
  // Dead, or a zombie waiting for whoever inherited it.
  auto dead = [&] {
    std::string stat = slurp("/proc/" + std::to_string(bg) + "/stat");
    size_t paren = stat.rfind(')');
    return stat.empty() || (paren != std::string::npos && stat.substr(paren + 2, 1) == "Z");
  };
  EXPECT_TRUE(test::eventually(dead, milliseconds(2000)))
      << "background child " << bg << " survived";
}

TEST_F(InstallTest, ScriptMissingCommandAndCancellation) {
  InstallSpec spec;
  spec.script = InstallScript{{"no-such-program-zlh"}, 10};
  auto st = runInstall(spec, ctx);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("not found in PATH"), std::string::npos);
  std::atomic<bool> cancel{false};
  ctx.cancelled = [&] { return cancel.load(); };
  spec.script = InstallScript{{"sleep", "100"}, 60};
  std::thread canceller([&] {
    ::poll(nullptr, 0, 200);
    cancel = true;
  });
  st = runInstall(spec, ctx);
  canceller.join();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("cancelled"), std::string::npos) << st.error().message;
}

TEST_F(InstallTest, StepsRunInOrderAndStopAtTheFirstError) {
  http.serve("/a", "A");
  InstallSpec spec;
  spec.files.push_back({"f.txt", "F", 0644});
  spec.artifacts.push_back({http.url("/a"), sha256Hex("A"), "a.bin"});
  spec.script = InstallScript{{"sh", "-c", "cat f.txt a.bin > both"}, 10};
  ASSERT_TRUE(runInstall(spec, ctx).ok());
  EXPECT_EQ(slurp(data / "both"), "FA");
  EXPECT_EQ(redactUrl("https://user:pw@host/p/a.jar?sig=1#x"), "https://host/p/a.jar");
}

}  // namespace
}  // namespace zlh::plugins::lifecycle
