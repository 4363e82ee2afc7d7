#pragma once
// One connected client of the shim socket: its frame decoder and a bounded output queue. A client
// that cannot keep up loses output (counted, reported in one DROPPED frame once it catches up),
// never stalls the shim and never grows memory without bound (README.md, "Flow control").
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "agent/shim/shim_protocol.h"

namespace zlh::agent::shim {

class ClientConn {
 public:
  /// Output bytes a client may have queued before output is dropped.
  static constexpr size_t kDefaultOutputLimit = 1024 * 1024;

  ClientConn(int fd, size_t output_limit = kDefaultOutputLimit);
  ClientConn(const ClientConn&) = delete;
  ClientConn& operator=(const ClientConn&) = delete;
  ~ClientConn();

  int fd() const { return fd_; }
  FrameDecoder& decoder() { return decoder_; }

  /// Queues a control frame (STATUS_REPLY, EXIT, ERROR, REPLAY_END): never dropped. A pending
  /// DROPPED marker goes first. False when the client let control frames pile up beyond reason:
  /// the caller closes it.
  bool queueControl(FrameType type, std::string_view payload);
  /// Queues one OUTPUT frame, or counts it as dropped while the client is behind.
  void queueOutput(std::string_view payload);
  /// Queues OUTPUT regardless of the limit (the scrollback replay: bounded by its own size).
  void queueReplay(std::string_view payload);
  /// Writes what the socket takes without blocking. False when the peer is gone.
  bool flush();
  /// True while frames are queued or a DROPPED report is owed.
  bool wantsWrite() const { return !out_.empty() || gap_ > 0; }

  bool attached = false;
  /// Set after a protocol error: flush what is queued (the ERROR frame), then close.
  bool closing = false;

  uint64_t droppedTotal() const { return dropped_total_; }

 private:
  struct Entry {
    std::string bytes;
    bool output;
  };
  void push(FrameType type, std::string_view payload, bool output);
  void dropQueuedOutput();
  void closeGap();

  int fd_;
  size_t output_limit_;
  FrameDecoder decoder_;
  std::deque<Entry> out_;
  size_t head_offset_ = 0;     // bytes of out_.front() already written
  size_t queued_output_ = 0;   // bytes of OUTPUT entries in out_
  size_t queued_control_ = 0;  // bytes of other entries in out_
  uint64_t gap_ = 0;           // output bytes dropped and not yet reported
  uint64_t dropped_total_ = 0;
};

}  // namespace zlh::agent::shim
