#include "plugins/lifecycle/tests/test_support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>

extern char** environ;

namespace zlh::plugins::lifecycle::test {

namespace {

int listenLoopback(uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::listen(fd, 16);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return fd;
}

int acceptWithin(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, ms) <= 0) return -1;
  return ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
}

}  // namespace

TempDir::TempDir() {
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() /
          ("zlh-life-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

uint16_t freePort() {
  uint16_t port = 0;
  ::close(listenLoopback(port));
  return port;
}

bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!cond()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    ::poll(nullptr, 0, 10);
  }
  return true;
}

Child::Child(const std::vector<std::string>& argv, const std::filesystem::path& cwd,
             const std::map<std::string, std::string>& extra_env) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  for (const auto& [k, v] : extra_env) env.push_back(k + "=" + v);
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  int p[2], in[2];
  if (::pipe2(p, O_CLOEXEC) != 0 || ::pipe2(in, O_CLOEXEC) != 0) return;
  std::string dir = cwd.string();
  pid_ = ::fork();
  if (pid_ == 0) {
    ::setpgid(0, 0);
    ::dup2(in[0], 0);
    ::dup2(p[1], 1);
    ::dup2(p[1], 2);
    if (::chdir(dir.c_str()) != 0) ::_exit(126);
    ::execvpe(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  ::setpgid(pid_, pid_);
  ::close(p[1]);
  ::close(in[0]);
  fd_ = p[0];
  in_fd_ = in[1];
  reader_ = std::thread([this] {
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) return;
      std::lock_guard lock(mu_);
      out_.append(buf, size_t(n));
    }
  });
}

Child::~Child() {
  if (pid_ > 0) {
    ::kill(-pid_, SIGKILL);
    if (!reaped_) ::waitpid(pid_, nullptr, 0);
  }
  if (reader_.joinable()) reader_.join();
  if (fd_ >= 0) ::close(fd_);
  if (in_fd_ >= 0) ::close(in_fd_);
}

void Child::input(const std::string& text) {
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(in_fd_, text.data() + off, text.size() - off);
    if (n <= 0) return;
    off += size_t(n);
  }
}

bool Child::waitForOutput(const std::string& text, std::chrono::milliseconds timeout) {
  return eventually([&] { return output().find(text) != std::string::npos; }, timeout);
}

std::string Child::output() const {
  std::lock_guard lock(mu_);
  return out_;
}

int Child::wait(std::chrono::milliseconds timeout) {
  int status = 0;
  bool done = eventually([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, timeout);
  if (!done) return -1;
  reaped_ = true;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

HttpServer::HttpServer() {
  fd_ = listenLoopback(port_);
  thread_ = std::thread([this] { loop(); });
}

HttpServer::~HttpServer() {
  stop_ = true;
  thread_.join();
  ::close(fd_);
}

void HttpServer::serve(const std::string& path, std::string body, int status) {
  std::lock_guard lock(mu_);
  routes_[path] = {status, std::move(body)};
}

std::string HttpServer::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void HttpServer::loop() {
  while (!stop_) {
    int c = acceptWithin(fd_, 50);
    if (c < 0) continue;
    std::string req;
    char buf[2048];
    // Up to the end of the headers, or whatever came within 300 ms (a client speaking another
    // protocol gets an answer too).
    while (req.find("\r\n\r\n") == std::string::npos) {
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 300) <= 0) break;
      ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) break;
      req.append(buf, size_t(n));
    }
    requests_++;
    size_t sp1 = req.find(' '), sp2 = req.find(' ', sp1 + 1);
    std::string path = sp1 == std::string::npos || sp2 == std::string::npos
                           ? ""
                           : req.substr(sp1 + 1, sp2 - sp1 - 1);
    path = path.substr(0, path.find('?'));
    std::pair<int, std::string> route{404, "not found"};
    {
      std::lock_guard lock(mu_);
      if (auto it = routes_.find(path); it != routes_.end()) route = it->second;
    }
    // A 3xx route's "body" is its Location.
    bool redirect = route.first >= 300 && route.first < 400;
    std::string body = redirect ? "" : route.second;
    std::string resp = "HTTP/1.0 " + std::to_string(route.first) + " X\r\n" +
                       (redirect ? "Location: " + route.second + "\r\n" : "") +
                       "Content-Length: " + std::to_string(body.size()) +
                       "\r\nConnection: close\r\n\r\n" + body;
    size_t off = 0;
    while (off < resp.size()) {
      ssize_t n = ::send(c, resp.data() + off, resp.size() - off, MSG_NOSIGNAL);
      if (n <= 0) break;
      off += size_t(n);
    }
    ::close(c);
  }
}

SilentServer::SilentServer() {
  fd_ = listenLoopback(port_);
  thread_ = std::thread([this] {
    while (!stop_) {
      int c = acceptWithin(fd_, 50);
      if (c >= 0) conns_.push_back(c);
    }
  });
}

SilentServer::~SilentServer() {
  stop_ = true;
  thread_.join();
  for (int c : conns_) ::close(c);
  ::close(fd_);
}

}  // namespace zlh::plugins::lifecycle::test
