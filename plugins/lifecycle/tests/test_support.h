#pragma once
// Test helpers: a child process with captured output, a tiny HTTP server on 127.0.0.1, a silent
// TCP listener, temp dirs and a free port. Everything cleans up after itself.
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace zlh::plugins::lifecycle::test {

/// A fresh directory under the temp dir, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// An ephemeral port that was free a moment ago (bind port 0, read it, close).
uint16_t freePort();

/// A child process (own process group) whose stdout+stderr are collected by a thread.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::filesystem::path& cwd,
        const std::map<std::string, std::string>& extra_env = {});
  ~Child();  // SIGKILLs the group and reaps
  /// Waits until the output contains `text`; false at the deadline or when the child is gone.
  bool waitForOutput(const std::string& text, std::chrono::milliseconds timeout);
  std::string output() const;
  /// Writes to the child's stdin.
  void input(const std::string& text);
  pid_t pid() const { return pid_; }
  /// Waits for the exit; the exit code, or -1 on timeout / signal.
  int wait(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  int in_fd_ = -1;
  bool reaped_ = false;
  mutable std::mutex mu_;
  std::string out_;
  std::thread reader_;
};

/// Serves fixed bodies by path (HTTP/1.0, one request per connection); 404 otherwise.
class HttpServer {
 public:
  HttpServer();
  ~HttpServer();
  /// Answers GET `path` with `status` and `body`; for a 3xx status `body` is the Location.
  void serve(const std::string& path, std::string body, int status = 200);
  uint16_t port() const { return port_; }
  std::string url(const std::string& path) const;
  int requests() const { return requests_.load(); }

 private:
  void loop();
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::mutex mu_;
  std::map<std::string, std::pair<int, std::string>> routes_;
  std::thread thread_;
};

/// Accepts connections and never says a word (for probe timeouts).
class SilentServer {
 public:
  SilentServer();
  ~SilentServer();
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::vector<int> conns_;
  std::thread thread_;
};

/// Polls `cond` every 10 ms until it holds or `timeout` passes.
bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds timeout);

}  // namespace zlh::plugins::lifecycle::test
