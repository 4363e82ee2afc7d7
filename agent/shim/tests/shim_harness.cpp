#include "agent/shim/tests/shim_harness.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

namespace zlh::agent::shim::testing {

namespace fs = std::filesystem;

bool waitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
}

bool processGone(pid_t pid) {
  if (pid <= 0) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  auto paren = line.rfind(')');
  return paren == std::string::npos || paren + 2 >= line.size() || line[paren + 2] == 'Z';
}

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void readInto(ShimClient& client, Seen& seen, const std::function<bool(const Seen&)>& stop,
              std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!stop(seen)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return;
    auto frame = client.receive(left);
    if (!frame.ok()) {
      if (frame.error().code == ErrorCode::kUnavailable) seen.closed = true;
      return;
    }
    switch (frame->type) {
      case FrameType::kOutput:
        (seen.replay_end ? seen.live : seen.replay) += frame->payload;
        seen.largest_output = std::max(seen.largest_output, frame->payload.size());
        break;
      case FrameType::kReplayEnd:
        seen.replay_end = true;
        break;
      case FrameType::kDropped:
        seen.dropped += parseDropped(frame->payload).ok() ? *parseDropped(frame->payload) : 0;
        ++seen.dropped_frames;
        break;
      case FrameType::kExit:
        seen.exit = nlohmann::json::parse(frame->payload);
        break;
      case FrameType::kError:
        seen.errors.push_back(parseErrorPayload(frame->payload));
        break;
      default:
        break;
    }
  }
}

ShimHarness::ShimHarness(std::vector<std::string> command) {
  char tmpl[] = "/tmp/zlh-shim-test-XXXXXX";
  dir_ = mkdtemp(tmpl);
  fs::create_directories(dir_ / "run");
  fs::create_directories(dir_ / "data");
  spec_ = {{"instance_id", "test-1"},
           {"command", command},
           {"cwd", (dir_ / "data").string()},
           {"env", {{"PATH", "/usr/local/bin:/usr/bin:/bin"}, {"LC_ALL", "C"}}},
           {"socket", (dir_ / "run" / "shim.sock").string()},
           {"console_log", (dir_ / "console.log").string()},
           {"console_log_max_bytes", 8 * 1024 * 1024},
           {"scrollback_bytes", 256 * 1024},
           {"exit_record", (dir_ / "exit.json").string()},
           {"pid_file", (dir_ / "run" / "shim.pid").string()},
           {"cols", 120},
           {"rows", 40},
           {"stop_grace_s", 10},
           {"cgroup_root", dir_.string()}};
}

ShimHarness::~ShimHarness() {
  // End what we started, by pid: the child's process group first, then the shim.
  if (child_pid_ > 1 && !processGone(child_pid_)) ::kill(-child_pid_, SIGKILL);
  if (shim_pid_ > 1 && !processGone(shim_pid_)) ::kill(shim_pid_, SIGKILL);
  if (launched_ > 0 && !reaped_) {
    ::kill(launched_, SIGKILL);
    ::waitpid(launched_, nullptr, 0);
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string ShimHarness::writeSpec(const std::string& name) const {
  auto path = dir_ / name;
  std::ofstream(path) << spec_.dump(2);
  return path.string();
}

pid_t ShimHarness::spawn(const std::vector<std::string>& args) {
  std::string err_path = (dir_ / "shim.stderr").string();
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) ::dup2(fd, STDERR_FILENO), ::dup2(fd, STDOUT_FILENO);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

::testing::AssertionResult ShimHarness::awaitPidFile() {
  // A short-lived child may come and go (pid file written and removed) before we look: then
  // the exit record is what is left.
  auto pid_file = path("pid_file");
  auto record = path("exit_record");
  if (!waitFor([&] { return fs::exists(pid_file) || fs::exists(record); }, 10s)) {
    return ::testing::AssertionFailure() << "no pid file; stderr: " << shimStderr();
  }
  std::string pid_text = readFile(pid_file);
  if (!pid_text.empty()) shim_pid_ = std::stoi(pid_text);
  if (shim_pid_ <= 1) shim_pid_ = -1;
  auto client = connect();
  auto status = client.ok() ? client->status(5s) : Result<nlohmann::json>(client.error());
  if (status.ok()) {
    child_pid_ = (*status)["child_pid"].get<pid_t>();
    if (child_pid_ <= 1) return ::testing::AssertionFailure() << "bad child_pid";
    return ::testing::AssertionSuccess();
  }
  if (waitFor([&] { return fs::exists(record); }, 5s)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "status: " << status.error().message;
}

::testing::AssertionResult ShimHarness::startForeground() {
  launched_ = spawn({ZLH_SHIM_BIN, "--foreground", "--spec", writeSpec()});
  return awaitPidFile();
}

::testing::AssertionResult ShimHarness::startDaemon() {
  launched_ = spawn({ZLH_SHIM_BIN, "--spec", writeSpec()});
  int status = 0;
  bool exited = waitFor([&] { return ::waitpid(launched_, &status, WNOHANG) == launched_; }, 10s);
  if (!exited) return ::testing::AssertionFailure() << "launcher did not return";
  reaped_ = true;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return ::testing::AssertionFailure() << "launcher status " << status << ": " << shimStderr();
  }
  return awaitPidFile();
}

int ShimHarness::runToExit(const std::vector<std::string>& args, std::string* stderr_text,
                           std::chrono::milliseconds timeout) {
  int pipefd[2];
  if (::pipe(pipefd) != 0) return -1;
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    return -1;
  }
  if (pid == 0) {
    ::dup2(pipefd[1], STDERR_FILENO);
    ::close(pipefd[0]);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    _exit(127);
  }
  ::close(pipefd[1]);
  ::fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
  int status = 0;
  bool exited = waitFor(
      [&] {
        char buf[4096];
        ssize_t n;
        while ((n = ::read(pipefd[0], buf, sizeof(buf))) > 0) {
          if (stderr_text) stderr_text->append(buf, static_cast<size_t>(n));
        }
        return ::waitpid(pid, &status, WNOHANG) == pid;
      },
      timeout);
  ::close(pipefd[0]);
  if (!exited) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

Result<ShimClient> ShimHarness::connect() const { return ShimClient::connect(path("socket")); }

std::optional<int> ShimHarness::waitExit(std::chrono::milliseconds timeout) {
  if (launched_ > 0 && !reaped_) {
    int status = 0;
    if (!waitFor([&] { return ::waitpid(launched_, &status, WNOHANG) == launched_; }, timeout)) {
      return std::nullopt;
    }
    reaped_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  if (!waitFor([&] { return processGone(shim_pid_); }, timeout)) return std::nullopt;
  return 0;
}

nlohmann::json ShimHarness::exitRecord() const {
  return nlohmann::json::parse(readFile(path("exit_record")), nullptr, false);
}

std::string ShimHarness::consoleLog() const {
  return readFile(path("console_log") + ".1") + readFile(path("console_log"));
}

std::string ShimHarness::shimStderr() const { return readFile(dir_ / "shim.stderr"); }

}  // namespace zlh::agent::shim::testing
