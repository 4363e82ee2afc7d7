#include "plugins/lifecycle/script_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>

#include "plugins/lifecycle/safe_fs.h"

namespace zlh::plugins::lifecycle {
namespace sdk = agent::sdk;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kMaxLineBytes = 512;

class LineTail {
 public:
  explicit LineTail(size_t keep) : keep_(keep) {}
  void feed(std::string_view data) {
    for (char c : data) {
      if (c == '\n') {
        flush();
      } else if (c != '\r' && partial_.size() < kMaxLineBytes) {
        partial_.push_back(c);
      }
    }
  }
  std::vector<std::string> finish() {
    flush();
    return {lines_.begin(), lines_.end()};
  }

 private:
  void flush() {
    if (partial_.empty()) return;
    lines_.push_back(std::move(partial_));
    partial_.clear();
    while (lines_.size() > keep_) lines_.pop_front();
  }
  size_t keep_;
  std::string partial_;
  std::deque<std::string> lines_;
};

struct ChildSetup {
  std::vector<std::string> env_strings;
  std::vector<char*> argv;
  std::vector<char*> envp;
  std::string exe;
};

// Everything the child needs is prepared before fork: after it only async-signal-safe calls.
[[noreturn]] void execChild(const ChildSetup& s, const std::string& cwd, int out_fd, int null_fd) {
  ::setpgid(0, 0);
  ::dup2(null_fd, 0);
  ::dup2(out_fd, 1);
  ::dup2(out_fd, 2);
  ::close_range(3, ~0u, 0);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (::chdir(cwd.c_str()) != 0) ::_exit(126);
  ::execve(s.exe.c_str(), s.argv.data(), s.envp.data());
  ::_exit(127);
}

void reap(pid_t pid, ScriptResult& r) {
  int status = 0;
  pid_t w;
  do {
    w = ::waitpid(pid, &status, 0);
  } while (w < 0 && errno == EINTR);
  if (w != pid) return;
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
}

bool exited(pid_t pid, ScriptResult& r) {
  int status = 0;
  if (::waitpid(pid, &status, WNOHANG) != pid) return false;
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  return true;
}

// Reads output until the child exits, the deadline passes or the job is cancelled. (EOF alone
// does not end it: a script may close its output and go on; its exit does, even while a
// straggler it started still holds the pipe.)
void pump(pid_t pid, int fd, const ScriptOptions& o, LineTail& tail, ScriptResult& r) {
  auto deadline = Clock::now() + std::chrono::seconds(o.timeout_s);
  char buf[4096];
  bool eof = false;
  for (;;) {
    if (Clock::now() >= deadline) {
      r.timed_out = true;
      return;
    }
    if (o.cancelled && o.cancelled()) {
      r.cancelled = true;
      return;
    }
    pollfd p{eof ? -1 : fd, POLLIN, 0};
    int n = ::poll(&p, 1, eof ? 50 : 200);
    if (n > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t got = ::read(fd, buf, sizeof buf);
      if (got > 0)
        tail.feed(std::string_view(buf, size_t(got)));
      else if (got == 0 || errno != EINTR)
        eof = true;
    }
    if (exited(pid, r)) {
      while (!eof) {  // what is already in the pipe
        pollfd q{fd, POLLIN, 0};
        if (::poll(&q, 1, 0) <= 0) break;
        ssize_t got = ::read(fd, buf, sizeof buf);
        if (got <= 0) break;
        tail.feed(std::string_view(buf, size_t(got)));
      }
      return;
    }
  }
}

}  // namespace

std::string findExecutable(const std::string& name, const std::string& path) {
  if (name.find('/') != std::string::npos) return name;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t colon = path.find(':', pos);
    if (colon == std::string::npos) colon = path.size();
    // (Built in one expression: GCC 12 warns falsely (-Wrestrict) on `dir = "."`.)
    std::string dir = colon > pos ? path.substr(pos, colon - pos) : std::string(1, '.');
    std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    pos = colon + 1;
  }
  return {};
}

sdk::Result<ScriptResult> runScript(const std::vector<std::string>& argv, const ScriptOptions& o) {
  if (argv.empty()) return sdk::makeError(sdk::ErrorCode::kInvalidArgument, "empty command");
  ChildSetup s;
  auto path_it = o.env.find("PATH");
  s.exe = findExecutable(argv[0], path_it != o.env.end() ? path_it->second : "/usr/bin:/bin");
  if (s.exe.empty())
    return sdk::makeError(sdk::ErrorCode::kInvalidArgument,
                          "command \"" + argv[0] + "\" not found in PATH");
  for (const auto& a : argv) s.argv.push_back(const_cast<char*>(a.c_str()));
  s.argv.push_back(nullptr);
  for (const auto& [k, v] : o.env) s.env_strings.push_back(k + "=" + v);
  for (auto& e : s.env_strings) s.envp.push_back(e.data());
  s.envp.push_back(nullptr);

  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0)
    return sdk::makeError(sdk::ErrorCode::kInternal, std::string("pipe: ") + std::strerror(errno));
  UniqueFd rd(pipefd[0]), wr(pipefd[1]);
  UniqueFd null_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  std::string cwd = o.cwd.string();
  pid_t pid = ::fork();
  if (pid < 0)
    return sdk::makeError(sdk::ErrorCode::kInternal, std::string("fork: ") + std::strerror(errno));
  if (pid == 0) execChild(s, cwd, wr.get(), null_fd.get());
  ::setpgid(pid, pid);  // also in the parent: no window where a kill(-pid) misses
  wr.reset();
  ScriptResult r;
  LineTail tail(o.keep_lines);
  pump(pid, rd.get(), o, tail, r);
  // Kill the whole group: on timeout, and also stragglers a finished script left behind.
  ::kill(-pid, SIGKILL);
  if (!r.exit_code && !r.signal) reap(pid, r);
  r.last_lines = tail.finish();
  return r;
}

sdk::Status runScriptChecked(const std::vector<std::string>& argv, const ScriptOptions& o) {
  auto r = runScript(argv, o);
  if (!r.ok()) return r.error().withContext("script");
  std::string what;
  auto code = sdk::ErrorCode::kFailedPrecondition;
  if (r->timed_out) {
    what = "timed out after " + std::to_string(o.timeout_s) + " s (process group killed)";
    code = sdk::ErrorCode::kDeadlineExceeded;
  } else if (r->cancelled) {
    what = "cancelled (process group killed)";
    code = sdk::ErrorCode::kDeadlineExceeded;
  } else if (r->exit_code && *r->exit_code == 0) {
    return {};
  } else if (r->exit_code) {
    what = "exited with code " + std::to_string(*r->exit_code);
  } else {
    what = std::string("killed by signal ") + (r->signal ? sigabbrev_np(*r->signal) ?: "?" : "?");
  }
  std::string msg = "script " + argv[0] + " " + what;
  if (!r->last_lines.empty()) {
    msg += "; last output:";
    for (const auto& l : r->last_lines) msg += "\n" + l;
  }
  return sdk::makeError(code, msg);
}

}  // namespace zlh::plugins::lifecycle
