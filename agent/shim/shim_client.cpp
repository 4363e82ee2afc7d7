#include "agent/shim/shim_client.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace zlh::agent::shim {
namespace {

Error sysError(ErrorCode code, std::string_view what) {
  return Error{code, std::string(what) + ": " + strerror(errno)};
}

}  // namespace

Result<ShimClient> ShimClient::connect(const std::string& socket_path) {
  sockaddr_un addr{};
  if (socket_path.size() >= sizeof(addr.sun_path)) {
    return Error{ErrorCode::kInvalidArgument, "socket path too long: " + socket_path};
  }
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return sysError(ErrorCode::kInternal, "socket");
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    auto err = sysError(ErrorCode::kUnavailable, "connect " + socket_path);
    ::close(fd);
    return err;
  }
  return ShimClient(fd);
}

ShimClient::ShimClient(ShimClient&& other) noexcept
    : fd_(other.fd_), decoder_(std::move(other.decoder_)) {
  other.fd_ = -1;
}

ShimClient& ShimClient::operator=(ShimClient&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = other.fd_;
    decoder_ = std::move(other.decoder_);
    other.fd_ = -1;
  }
  return *this;
}

ShimClient::~ShimClient() { close(); }

void ShimClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Status ShimClient::send(FrameType type, std::string_view payload) {
  auto frame = encodeFrame(type, payload);
  if (!frame.ok()) return frame.error();
  size_t off = 0;
  while (off < frame->size()) {
    ssize_t n = ::send(fd_, frame->data() + off, frame->size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sysError(ErrorCode::kUnavailable, "send to shim");
    off += static_cast<size_t>(n);
  }
  return {};
}

Result<Frame> ShimClient::receive(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[64 * 1024];
  for (;;) {
    auto next = decoder_.next();
    if (!next.ok()) return next.error();
    if (next->has_value()) return std::move(**next);
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Error{ErrorCode::kDeadlineExceeded, "no frame from shim in time"};
    pollfd pfd{fd_, POLLIN, 0};
    int r = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return sysError(ErrorCode::kInternal, "poll");
    if (r == 0) continue;
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sysError(ErrorCode::kUnavailable, "recv from shim");
    if (n == 0) return Error{ErrorCode::kUnavailable, "shim closed the connection"};
    decoder_.feed(std::string_view(buf, static_cast<size_t>(n)));
  }
}

Result<Frame> ShimClient::receiveUntil(FrameType type, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    auto frame = receive(std::max(left, std::chrono::milliseconds(0)));
    if (!frame.ok() || frame->type == type) return frame;
    if (frame->type == FrameType::kError) return parseErrorPayload(frame->payload);
  }
}

Result<nlohmann::json> ShimClient::status(std::chrono::milliseconds timeout) {
  if (auto sent = send(FrameType::kStatus); !sent.ok()) return sent.error();
  auto frame = receiveUntil(FrameType::kStatusReply, timeout);
  if (!frame.ok()) return frame.error();
  auto j = nlohmann::json::parse(frame->payload, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Error{ErrorCode::kInternal, "malformed STATUS_REPLY from shim"};
  }
  return j;
}

}  // namespace zlh::agent::shim
