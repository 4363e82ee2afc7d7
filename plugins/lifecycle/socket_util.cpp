#include "plugins/lifecycle/socket_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace zlh::plugins::lifecycle {
namespace sdk = agent::sdk;
using Clock = std::chrono::steady_clock;

namespace {

int msLeft(Clock::time_point deadline) {
  auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : int(std::min<long long>(left, 60000));
}

// Waits for `events` on fd; DeadlineExceeded when the deadline passes first.
sdk::Status waitFor(int fd, short events, Clock::time_point deadline, const char* what) {
  for (;;) {
    int left = msLeft(deadline);
    if (left == 0)
      return sdk::makeError(sdk::ErrorCode::kDeadlineExceeded, std::string(what) + ": timed out");
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, left);
    if (n > 0) return {};
    if (n < 0 && errno != EINTR)
      return sdk::makeError(sdk::ErrorCode::kInternal,
                            std::string("poll: ") + std::strerror(errno));
  }
}

using AddrPtr = std::unique_ptr<addrinfo, decltype(&freeaddrinfo)>;

sdk::Result<AddrPtr> resolve(const std::string& host, uint16_t port, bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if (passive) hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (rc != 0 || !res)
    return sdk::makeError(sdk::ErrorCode::kUnavailable,
                          "resolve " + host + ": " + ::gai_strerror(rc));
  return AddrPtr(res, freeaddrinfo);
}

}  // namespace

sdk::Result<UniqueFd> connectWithDeadline(const std::string& host, uint16_t port,
                                          Clock::time_point deadline) {
  auto addrs = resolve(host, port, false);
  if (!addrs.ok()) return addrs.error();
  std::string where = "connect " + host + ":" + std::to_string(port);
  const addrinfo* ai = addrs->get();
  UniqueFd fd(::socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return sdk::makeError(sdk::ErrorCode::kInternal, where + ": " + std::strerror(errno));
  if (::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
    if (errno != EINPROGRESS)
      return sdk::makeError(sdk::ErrorCode::kUnavailable, where + ": " + std::strerror(errno));
    if (auto st = waitFor(fd.get(), POLLOUT, deadline, where.c_str()); !st.ok()) return st.error();
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0)
      return sdk::makeError(sdk::ErrorCode::kUnavailable, where + ": " + std::strerror(err));
  }
  return fd;
}

sdk::Status sendAll(int fd, const void* data, size_t size, Clock::time_point deadline) {
  auto* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::send(fd, p, size, MSG_NOSIGNAL);
    if (n > 0) {
      p += n;
      size -= size_t(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      return sdk::makeError(sdk::ErrorCode::kUnavailable,
                            std::string("send: ") + std::strerror(errno));
    if (auto st = waitFor(fd, POLLOUT, deadline, "send"); !st.ok()) return st;
  }
  return {};
}

sdk::Result<size_t> recvSome(int fd, void* data, size_t size, Clock::time_point deadline) {
  for (;;) {
    ssize_t n = ::recv(fd, data, size, 0);
    if (n >= 0) return size_t(n);
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      return sdk::makeError(sdk::ErrorCode::kUnavailable,
                            std::string("recv: ") + std::strerror(errno));
    if (auto st = waitFor(fd, POLLIN, deadline, "read"); !st.ok()) return st.error();
  }
}

bool tcpPortFree(const std::string& host, uint16_t port) {
  auto addrs = resolve(host, port, true);
  if (!addrs.ok()) return false;
  const addrinfo* ai = addrs->get();
  UniqueFd fd(::socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return false;
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  return ::bind(fd.get(), ai->ai_addr, ai->ai_addrlen) == 0;
}

}  // namespace zlh::plugins::lifecycle
