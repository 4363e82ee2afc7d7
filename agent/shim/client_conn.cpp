#include "agent/shim/client_conn.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

namespace zlh::agent::shim {

ClientConn::ClientConn(int fd, size_t output_limit) : fd_(fd), output_limit_(output_limit) {}

ClientConn::~ClientConn() {
  if (fd_ >= 0) ::close(fd_);
}

void ClientConn::push(FrameType type, std::string_view payload, bool output) {
  Entry e{std::string(), output};
  e.bytes.reserve(kFrameHeaderBytes + payload.size());
  appendFrame(e.bytes, type, payload);
  (output ? queued_output_ : queued_control_) += e.bytes.size();
  out_.push_back(std::move(e));
}

void ClientConn::closeGap() {
  if (gap_ == 0) return;
  push(FrameType::kDropped, droppedPayload(gap_), false);
  gap_ = 0;
}

bool ClientConn::queueControl(FrameType type, std::string_view payload) {
  closeGap();
  push(type, payload, false);
  return queued_control_ <= output_limit_;
}

void ClientConn::dropQueuedOutput() {
  // The frame being written stays whole; every other queued OUTPUT frame goes.
  std::deque<Entry> kept;
  for (size_t i = 0; i < out_.size(); ++i) {
    Entry& e = out_[i];
    if (e.output && !(i == 0 && head_offset_ > 0)) {
      gap_ += e.bytes.size() - kFrameHeaderBytes;
      queued_output_ -= e.bytes.size();
    } else {
      kept.push_back(std::move(e));
    }
  }
  out_.swap(kept);
}

void ClientConn::queueOutput(std::string_view payload) {
  if (payload.empty()) return;
  if (gap_ > 0) {  // still behind: keep dropping until the queue has drained
    gap_ += payload.size();
    dropped_total_ += payload.size();
    return;
  }
  if (queued_output_ + payload.size() + kFrameHeaderBytes > output_limit_) {
    uint64_t before = gap_;
    dropQueuedOutput();
    gap_ += payload.size();
    dropped_total_ += gap_ - before;
    return;
  }
  // Output that waits behind the socket joins the last queued OUTPUT frame (not the one being
  // written), up to a chunk: a client that falls behind gets fewer, larger frames, and each hop
  // after it (agent, coordinator, browser) pays its per-message cost less often. An idle client's
  // queue is empty, so this adds no delay.
  if (!out_.empty() && (out_.size() > 1 || head_offset_ == 0)) {
    Entry& last = out_.back();
    const size_t joined = last.bytes.size() - kFrameHeaderBytes + payload.size();
    if (last.output && joined <= kOutputChunkBytes) {  // output entries are OUTPUT frames
      last.bytes.append(payload);
      setFramePayloadSize(last.bytes, joined);
      queued_output_ += payload.size();
      return;
    }
  }
  push(FrameType::kOutput, payload, true);
}

void ClientConn::queueReplay(std::string_view payload) {
  closeGap();
  push(FrameType::kOutput, payload, true);
}

bool ClientConn::flush() {
  for (;;) {
    if (out_.empty()) {
      if (gap_ == 0) return true;
      closeGap();  // caught up: report what was skipped, then live output resumes
    }
    Entry& e = out_.front();
    ssize_t n = ::send(fd_, e.bytes.data() + head_offset_, e.bytes.size() - head_offset_,
                       MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK;
    }
    head_offset_ += static_cast<size_t>(n);
    if (head_offset_ < e.bytes.size()) return true;
    (e.output ? queued_output_ : queued_control_) -= e.bytes.size();
    out_.pop_front();
    head_offset_ = 0;
  }
}

}  // namespace zlh::agent::shim
