// The shim's I/O: PTY output to scrollback, console log and clients; client frames.
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "agent/shim/shim.h"
#include "agent/shim/shim_log.h"

namespace zlh::agent::shim {
namespace {

// One buffer for every read: the shim is single-threaded.
char g_buf[kOutputChunkBytes];

}  // namespace

void Shim::readMaster() {
  // Coalesce the PTY's small reads (the line discipline hands out ~4 KB at a time) into chunks,
  // and bound the work per wakeup so clients and signals get their turn.
  for (int chunk = 0; chunk < 16 && !master_eof_; ++chunk) {
    size_t len = 0;
    bool again = false;
    while (len < sizeof(g_buf)) {
      ssize_t n = ::read(master_fd_, g_buf + len, sizeof(g_buf) - len);
      if (n > 0) {
        len += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        again = true;
      } else {
        master_eof_ = true;  // EIO: no process holds the PTY's other end any more
      }
      break;
    }
    if (len > 0) {
      onOutput(std::string_view(g_buf, len));
      // Clients get each chunk now, not after the last one: while the PTY keeps up with a
      // flood this loop runs for up to 16 chunks, and queueing them all before one flush made a
      // client's queue pass its 1 MiB bound (all of it dropped) while its socket sat idle.
      writeClients();
    }
    if (again) break;
  }
  if (master_eof_ && phase_ == Phase::kDraining) finishDrain();
}

void Shim::onOutput(std::string_view bytes) {
  if (auto now = hold_.add(bytes, Clock::now()); !now.empty()) deliverOutput(now);
}

void Shim::releaseHeldOutput(bool force) {
  const auto now = Clock::now();
  for (auto due = hold_.due(now, force); !due.empty(); due = hold_.due(now, force))
    deliverOutput(due);
}

void Shim::deliverOutput(std::string_view bytes) {
  output_bytes_ += bytes.size();
  ring_.append(bytes);
  tail_.feed(bytes);
  auto logged = console_.append(bytes);
  if (!logged.ok() && !console_failing_) {
    log::error("console log: " + logged.error().message);
  } else if (logged.ok() && console_failing_) {
    log::info("console log writable again");
  }
  console_failing_ = !logged.ok();
  for (auto& c : clients_) {
    if (c->attached && !c->closing) c->queueOutput(bytes);
  }
  if (phase_ == Phase::kDraining) drain_idle_until_ = Clock::now() + kDrainIdle;
}

void Shim::writeInput() {
  while (!pending_input_.empty() && master_fd_ >= 0) {
    ssize_t n = ::write(master_fd_, pending_input_.data(), pending_input_.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) pending_input_.clear();
      return;
    }
    pending_input_.erase(0, static_cast<size_t>(n));
  }
}

void Shim::acceptClients() {
  for (;;) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or a transient error (EMFILE): the next poll retries
    auto client = std::make_unique<ClientConn>(fd);
    if (clients_.size() >= kMaxClients) {
      sendError(*client, ErrorCode::kUnavailable, "too many clients", true);
      (void)client->flush();
      continue;
    }
    clients_.push_back(std::move(client));
  }
}

void Shim::readClient(ClientConn& client) {
  ssize_t n = ::recv(client.fd(), g_buf, sizeof(g_buf), 0);
  if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) return;
  if (n <= 0) {
    client.closing = true;
    client.attached = false;
    return;
  }
  client.decoder().feed(std::string_view(g_buf, static_cast<size_t>(n)));
  while (!client.closing) {
    auto next = client.decoder().next();
    if (!next.ok()) {
      sendError(client, ErrorCode::kInvalidArgument, next.error().message, true);
      return;
    }
    if (!next->has_value()) return;
    handleFrame(client, **next);
  }
}

void Shim::sendError(ClientConn& client, ErrorCode code, std::string message, bool close) {
  bool ok = client.queueControl(FrameType::kError, errorPayload(Error{code, std::move(message)}));
  if (close || !ok) {
    client.closing = true;
    client.attached = false;
  }
}

void Shim::handleFrame(ClientConn& client, Frame& frame) {
  switch (frame.type) {
    case FrameType::kAttach: {
      auto replay = parseAttach(frame.payload);
      if (!replay.ok())
        return sendError(client, replay.error().code, replay.error().message, false);
      if (*replay) {
        auto [a, b] = ring_.views();
        for (std::string_view part : {a, b}) {
          for (size_t off = 0; off < part.size(); off += kOutputChunkBytes) {
            client.queueReplay(part.substr(off, kOutputChunkBytes));
          }
        }
      }
      client.attached = true;
      (void)client.queueControl(FrameType::kReplayEnd, "");
      if (!exit_json_.is_null()) (void)client.queueControl(FrameType::kExit, dumpJson(exit_json_));
      return;
    }
    case FrameType::kInput:
      return handleInput(client, frame.payload);
    case FrameType::kResize: {
      auto size = parseResize(frame.payload);
      if (!size.ok()) return sendError(client, size.error().code, size.error().message, false);
      struct winsize ws {};
      ws.ws_col = size->cols;
      ws.ws_row = size->rows;
      if (master_fd_ >= 0 && ::ioctl(master_fd_, TIOCSWINSZ, &ws) != 0) {
        return sendError(client, ErrorCode::kInternal, std::string("resize: ") + strerror(errno),
                         false);
      }
      cols_ = size->cols;
      rows_ = size->rows;
      return;
    }
    case FrameType::kSignal: {
      auto sig = parseSignal(frame.payload);
      if (!sig.ok()) return sendError(client, sig.error().code, sig.error().message, false);
      if (phase_ != Phase::kRunning) {
        return sendError(client, ErrorCode::kFailedPrecondition, "child is not running", false);
      }
      if (signalChildGroup(*sig) != 0) {
        return sendError(client, ErrorCode::kInternal, std::string("kill: ") + strerror(errno),
                         false);
      }
      log::info("signal " + signalName(*sig) + " sent to the child's process group");
      return;
    }
    case FrameType::kStatus:
      if (!client.queueControl(FrameType::kStatusReply, dumpJson(statusJson()))) {
        sendError(client, ErrorCode::kUnavailable, "client does not read its replies", true);
      }
      return;
    case FrameType::kDetach:
      client.attached = false;
      return;
    default:
      return sendError(client, ErrorCode::kInvalidArgument,
                       "unexpected frame type " + std::string(frameTypeName(frame.type)), true);
  }
}

void Shim::handleInput(ClientConn& client, std::string_view bytes) {
  if (phase_ != Phase::kRunning || master_eof_) {
    return sendError(client, ErrorCode::kFailedPrecondition, "child is not running", false);
  }
  if (pending_input_.size() + bytes.size() > kMaxPendingInput) {
    return sendError(client, ErrorCode::kUnavailable,
                     "input dropped: the child is not reading its input", false);
  }
  pending_input_.append(bytes);
  writeInput();
}

void Shim::writeClients() {
  for (auto& c : clients_) {
    if (c->wantsWrite() && !c->flush()) c->closing = true;
  }
}

void Shim::flushClients() {
  writeClients();
  // A closing client had its one chance to receive the ERROR frame above.
  clients_.erase(
      std::remove_if(clients_.begin(), clients_.end(), [](const auto& c) { return c->closing; }),
      clients_.end());
}

nlohmann::json Shim::statusJson() const {
  nlohmann::json limits = {{"applied", limits_applied_},
                           {"memory_max_bytes", spec_.limits.memory_max_bytes},
                           {"cpu_max_pct", spec_.limits.cpu_max_pct},
                           {"pids_max", spec_.limits.pids_max}};
  if (limits_applied_) {
    limits["cgroup"] = spec_.cgroup_root + "/" + spec_.cgroup_name;
  } else {
    limits["reason"] = limits_reason_;
  }
  return {{"protocol", kProtocolVersion},
          {"instance_id", spec_.instance_id},
          {"shim_pid", ::getpid()},
          {"child_pid", child_pid_},
          {"running", phase_ == Phase::kRunning},
          {"started_at", rfc3339(started_at_)},
          {"exit", exit_json_},
          {"limits", limits},
          {"cols", cols_},
          {"rows", rows_},
          {"output_bytes", output_bytes_},
          {"clients", clients_.size()}};
}

}  // namespace zlh::agent::shim
