#include "agent/shim/shim.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "agent/shim/child_process.h"
#include "agent/shim/shim_log.h"

namespace zlh::agent::shim {
namespace {

Error sysError(const std::string& what) {
  return Error{ErrorCode::kInternal, what + ": " + strerror(errno)};
}

int msUntil(Shim::Clock::time_point t) {
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(t - Shim::Clock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(ms, 0, 60 * 60 * 1000));
}

}  // namespace

Shim::Shim(ShimSpec spec)
    : spec_(std::move(spec)), cols_(spec_.cols), rows_(spec_.rows), ring_(spec_.scrollback_bytes) {}

Shim::~Shim() {
  // Only a failed start() leaves a child or a socket behind: a half-started instance is undone.
  if (phase_ == Phase::kRunning && child_pid_ > 0) {
    signalChildGroup(SIGKILL);
    ::waitpid(child_pid_, nullptr, 0);
    cgroup_.killAll();
    (void)cgroup_.remove();
  }
  if (socket_bound_) ::unlink(spec_.socket.c_str());
  for (int fd : {signal_fd_, listen_fd_, master_fd_}) {
    if (fd >= 0) ::close(fd);
  }
}

Status Shim::setupSignals() {
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) {
    // An inherited SIG_IGN would discard them (and SIGCHLD ignored means no exit status).
    ::signal(sig, SIG_DFL);
    sigaddset(&set, sig);
  }
  if (::sigprocmask(SIG_BLOCK, &set, nullptr) != 0) return sysError("sigprocmask");
  signal_fd_ = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signal_fd_ < 0) return sysError("signalfd");
  return {};
}

Status Shim::listenSocket() {
  // We hold the instance lock, so whatever is at the path is a dead shim's leftover.
  struct stat st {};
  if (::lstat(spec_.socket.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return Error{ErrorCode::kFailedPrecondition, spec_.socket + " exists and is not a socket"};
    }
    ::unlink(spec_.socket.c_str());
  }
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return sysError("socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, spec_.socket.c_str(), spec_.socket.size() + 1);
  mode_t old = ::umask(0177);  // no window in which the socket is more open than 0600
  int rc = ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  ::umask(old);
  if (rc != 0) return sysError("bind " + spec_.socket);
  socket_bound_ = true;
  ::chmod(spec_.socket.c_str(), 0600);
  if (::listen(listen_fd_, 16) != 0) return sysError("listen " + spec_.socket);
  return {};
}

void Shim::setupLimits() {
  if (!spec_.limits.any()) {
    limits_reason_ = "no limits requested";
    return;
  }
  limits_reason_ = cgroupUnavailableReason(spec_.cgroup_root, spec_.limits);
  if (limits_reason_.empty()) {
    auto created = cgroup_.create(spec_.cgroup_root, spec_.cgroup_name, spec_.limits);
    if (!created.ok()) limits_reason_ = created.error().message;
  }
  if (!limits_reason_.empty()) log::warn("limits not applied: " + limits_reason_);
}

Status Shim::start() {
  if (auto s = setupSignals(); !s.ok()) return s;
  if (auto s = console_.open(spec_.console_log, spec_.console_log_max_bytes,
                             RotatingFile::Split::kExact);
      !s.ok()) {
    return s.error().withContext("console log");
  }
  if (auto s = listenSocket(); !s.ok()) return s;
  setupLimits();
  // An exit record on disk always describes this run once it exists: drop the previous one.
  ::unlink(spec_.exit_record.c_str());
  std::string cgroup_error;
  auto child = spawnChild(spec_, cgroup_, cgroup_error);
  if (!child.ok()) {
    (void)cgroup_.remove();
    return child.error().withContext("start " + spec_.command.front());
  }
  child_pid_ = child->pid;
  master_fd_ = child->master_fd;
  started_at_ = std::chrono::system_clock::now();
  if (!cgroup_error.empty()) {
    limits_reason_ = "joining cgroup: " + cgroup_error;
    log::warn("limits not applied: " + limits_reason_);
  }
  limits_applied_ = cgroup_.active();
  if (auto s = writeFileAtomic(spec_.pid_file, std::to_string(::getpid()) + "\n", 0644); !s.ok()) {
    return s.error().withContext("pid file");
  }
  log::info("instance " + spec_.instance_id + ": child " + std::to_string(child_pid_) +
            " started (" + spec_.command.front() + "), socket " + spec_.socket +
            (limits_applied_ ? ", limits in " + cgroup_.path() : ""));
  return {};
}

int Shim::signalChildGroup(int sig) {
  // Never kill(-1) or kill(0): a root daemon would signal every process or its own group.
  if (child_pid_ <= 1) {
    errno = ESRCH;
    return -1;
  }
  return ::kill(-child_pid_, sig);
}

int Shim::pollTimeoutMs() const {
  std::optional<Clock::time_point> next;
  auto consider = [&next](Clock::time_point t) { next = next ? std::min(*next, t) : t; };
  if (phase_ == Phase::kRunning && kill_at_) consider(*kill_at_);
  if (phase_ == Phase::kDraining) consider(std::min(drain_until_, drain_idle_until_));
  if (phase_ == Phase::kFinishing) consider(flush_until_);
  if (auto held = hold_.deadline()) consider(*held);
  return next ? msUntil(*next) : -1;
}

void Shim::beginStop() {
  if (phase_ != Phase::kRunning || stopping_) return;
  stopping_ = true;
  log::info("stop requested: SIGTERM to the child, SIGKILL after " +
            std::to_string(spec_.stop_grace_s) + " s");
  signalChildGroup(SIGTERM);
  signalChildGroup(SIGCONT);  // a stopped child could not act on SIGTERM
  kill_at_ = Clock::now() + std::chrono::seconds(spec_.stop_grace_s);
}

void Shim::onSignal() {
  signalfd_siginfo info{};
  while (::read(signal_fd_, &info, sizeof(info)) == static_cast<ssize_t>(sizeof(info))) {
    switch (static_cast<int>(info.ssi_signo)) {
      case SIGCHLD:
        checkChild();
        break;
      case SIGTERM:
      case SIGINT:
        beginStop();
        break;
      default:  // SIGHUP: the shim has no terminal to lose
        break;
    }
  }
}

void Shim::onTimers() {
  auto now = Clock::now();
  releaseHeldOutput(false);
  if (phase_ == Phase::kRunning && kill_at_ && now >= *kill_at_) {
    log::warn("child did not stop within the grace period: SIGKILL");
    signalChildGroup(SIGKILL);
    kill_at_.reset();
  }
  if (phase_ == Phase::kDraining && (now >= drain_until_ || now >= drain_idle_until_)) {
    finishDrain();
  }
  if (phase_ == Phase::kFinishing) {
    bool flushed = std::none_of(clients_.begin(), clients_.end(),
                                [](const auto& c) { return c->wantsWrite(); });
    if (flushed || now >= flush_until_) phase_ = Phase::kDone;
  }
}

int Shim::run() {
  std::vector<pollfd> fds;
  while (phase_ != Phase::kDone) {
    fds.clear();
    fds.push_back({signal_fd_, POLLIN, 0});
    fds.push_back({listen_fd_, POLLIN, 0});
    short master_events = pending_input_.empty() ? POLLIN : POLLIN | POLLOUT;
    fds.push_back({master_eof_ ? -1 : master_fd_, master_events, 0});
    size_t nclients = clients_.size();
    for (const auto& c : clients_) {
      short ev = c->closing ? 0 : POLLIN;
      if (c->wantsWrite()) ev |= POLLOUT;
      fds.push_back({c->fd(), ev, 0});
    }
    int n = ::poll(fds.data(), fds.size(), pollTimeoutMs());
    if (n < 0 && errno != EINTR) {
      log::error(std::string("poll: ") + strerror(errno));
      break;
    }
    if (n > 0) {
      if (fds[0].revents) onSignal();
      if (fds[2].revents & POLLOUT) writeInput();
      if (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) readMaster();
      for (size_t i = 0; i < nclients; ++i) {
        auto& c = *clients_[i];
        short rev = fds[3 + i].revents;
        if ((rev & POLLOUT) && !c.flush()) c.closing = true, c.attached = false;
        if ((rev & (POLLIN | POLLHUP | POLLERR)) && !c.closing) readClient(c);
        if (rev & (POLLHUP | POLLERR)) c.closing = true;
      }
      if (fds[1].revents) acceptClients();
    }
    flushClients();
    onTimers();
  }
  cleanup();
  return 0;
}

void Shim::cleanup() {
  releaseHeldOutput(true);  // to the console log
  clients_.clear();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
  ::unlink(spec_.socket.c_str());
  socket_bound_ = false;
  ::unlink(spec_.pid_file.c_str());
  ::unlink(spec_.lockPath().c_str());
  log::info("shim exiting");
}

}  // namespace zlh::agent::shim
