#pragma once
// When the shim hands PTY output on. Output in bursts (a read of at least kBurstBytes, and
// whatever follows it while held) is held until kOutputChunkBytes have gathered or kHold has
// passed since the first held byte: a flood then crosses every hop (console log, shim socket,
// agent link, coordinator, browser) in messages of up to 64 KiB instead of the PTY's 2-4 KB
// reads, which halved the agent's and the coordinator's CPU per MB (docs/benchmarks.md,
// "Console"). Keystroke echoes and short lines are smaller than kBurstBytes and pass at once.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "agent/shim/shim_protocol.h"

namespace zlh::agent::shim {

class OutputHold {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kBurstBytes = 1024;
  static constexpr std::chrono::milliseconds kHold{2};

  explicit OutputHold(size_t release_bytes = kOutputChunkBytes) : release_bytes_(release_bytes) {}

  /// Output read at `now`. Returns what is to be delivered now, in order: `bytes` itself when
  /// nothing is held and it is short; the first release_bytes of the held bytes (these included)
  /// once that many have gathered, the rest staying held; else nothing. A returned view is valid
  /// until the next call; none is longer than release_bytes (an OUTPUT frame's 64 KiB).
  std::string_view add(std::string_view bytes, Clock::time_point now);
  /// The held bytes if their time has come by `now` (any time with `force`: before an exit
  /// or shutdown), else nothing; at most release_bytes at a time (call until it returns
  /// nothing). Valid until the next call.
  std::string_view due(Clock::time_point now, bool force = false);
  /// When the held bytes are due; nothing while none are held.
  std::optional<Clock::time_point> deadline() const;

 private:
  std::string_view release(size_t n);
  void dropReleased();

  size_t release_bytes_;
  std::string held_;
  size_t released_ = 0;  // the front of held_ handed out: erased at the next call
  Clock::time_point due_at_;
};

}  // namespace zlh::agent::shim
