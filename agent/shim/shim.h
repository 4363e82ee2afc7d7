#pragma once
// The shim's single-threaded poll(2) loop: one child in a PTY, a scrollback ring, the console log,
// the socket and its clients, and the exit path (README.md, "Lifecycle").
#include <poll.h>
#include <sys/types.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "agent/shim/byte_ring.h"
#include "agent/shim/cgroup.h"
#include "agent/shim/client_conn.h"
#include "agent/shim/exit_record.h"
#include "agent/shim/line_tail.h"
#include "agent/shim/output_hold.h"
#include "agent/shim/rotating_file.h"
#include "agent/shim/shim_protocol.h"
#include "agent/shim/spec.h"

namespace zlh::agent::shim {

class Shim {
 public:
  using Clock = std::chrono::steady_clock;

  static constexpr size_t kMaxClients = 64;
  static constexpr size_t kMaxPendingInput = 1024 * 1024;
  /// After the child exits: how long to wait for more PTY output at most, and after silence.
  static constexpr std::chrono::milliseconds kDrainMax{2000};
  static constexpr std::chrono::milliseconds kDrainIdle{200};
  /// After EXIT is broadcast: how long clients get to read what is queued for them.
  static constexpr std::chrono::milliseconds kFlushMax{2000};

  explicit Shim(ShimSpec spec);
  Shim(const Shim&) = delete;
  Shim& operator=(const Shim&) = delete;
  ~Shim();

  /// Listens on the socket, applies limits, starts the child and writes the pid file.
  Status start();
  /// Runs until the child has exited, the exit record is written and clients are flushed (or
  /// kFlushMax passed); removes socket and pid file. Returns the process exit code.
  int run();

 private:
  enum class Phase { kRunning, kDraining, kFinishing, kDone };

  // shim.cpp: setup and the loop
  Status setupSignals();
  Status listenSocket();
  void setupLimits();
  /// kill() on the child's process group; -1/ESRCH when there is no child.
  int signalChildGroup(int sig);
  int pollTimeoutMs() const;
  void onSignal();
  void onTimers();
  void beginStop();
  void cleanup();
  // shim_io.cpp: PTY and clients
  void readMaster();
  /// Output read from the PTY: through hold_ to deliverOutput.
  void onOutput(std::string_view bytes);
  /// Delivers held output that is due (all of it with `force`).
  void releaseHeldOutput(bool force);
  /// Scrollback, console log, tail and clients get `bytes`.
  void deliverOutput(std::string_view bytes);
  void writeInput();
  void acceptClients();
  void readClient(ClientConn& client);
  void handleFrame(ClientConn& client, Frame& frame);
  void handleInput(ClientConn& client, std::string_view bytes);
  void sendError(ClientConn& client, ErrorCode code, std::string message, bool close);
  /// Writes what each client's socket takes now.
  void writeClients();
  /// writeClients(), then removes the clients marked closing.
  void flushClients();
  nlohmann::json statusJson() const;
  // shim_exit.cpp: the exit path
  void checkChild();
  void finishDrain();

  ShimSpec spec_;
  Phase phase_ = Phase::kRunning;
  int signal_fd_ = -1;
  int listen_fd_ = -1;
  bool socket_bound_ = false;
  int master_fd_ = -1;
  bool master_eof_ = false;
  pid_t child_pid_ = -1;
  uint16_t cols_;
  uint16_t rows_;

  ByteRing ring_;
  RotatingFile console_;
  bool console_failing_ = false;
  LineTail tail_;
  uint64_t output_bytes_ = 0;
  OutputHold hold_;
  std::string pending_input_;

  Cgroup cgroup_;
  bool limits_applied_ = false;
  std::string limits_reason_;

  std::vector<std::unique_ptr<ClientConn>> clients_;

  bool stopping_ = false;
  std::optional<Clock::time_point> kill_at_;  // SIGKILL after the stop grace period
  Clock::time_point drain_until_;
  Clock::time_point drain_idle_until_;
  Clock::time_point flush_until_;
  std::chrono::system_clock::time_point started_at_;
  std::optional<ExitRecord> exit_;
  nlohmann::json exit_json_;  // null until the record is complete
};

}  // namespace zlh::agent::shim
