#include "agent/core/streams/stream_router.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "proto/v1/codec.h"
#include "proto/v1/stream_frame.h"

namespace zlh::agent::core {

// Credit above this is as good as unlimited (and cannot overflow).
constexpr uint64_t kMaxCredit = uint64_t{1} << 48;

class StreamRouter::Channel final : public sdk::StreamChannel {
 public:
  Channel(StreamRouter* router, uint32_t id, uint64_t credit)
      : router_(router), id_(id), credit_(std::min(credit, kMaxCredit)) {}

  bool write(std::string_view bytes) override {
    if (ended_ || closing_ || !router_) return false;
    if (bytes.size() > room()) return false;
    queue_.append(bytes);
    router_->pump(*this);
    return true;
  }
  size_t queued() const override { return queue_.size() - sent_; }
  void close(std::optional<sdk::Error> error) override {
    if (ended_ || closing_ || !router_) return;
    closing_ = true;
    close_error_ = std::move(error);
    router_->pump(*this);
  }
  bool ended() const override { return ended_ || closing_ || !router_; }

 private:
  friend class StreamRouter;
  StreamRouter* router_;  // null once the router is gone
  const uint32_t id_;
  uint64_t credit_;        // bytes the peer still accepts
  uint64_t input_left_ = kInputWindow;  // bytes the peer may still send us
  uint64_t input_used_ = 0;             // consumed since the last grant
  std::string queue_;
  size_t sent_ = 0;  // bytes of queue_ already sent
  bool accepted_ = false;
  bool closing_ = false;
  bool ended_ = false;
  std::optional<sdk::Error> close_error_;
};

StreamRouter::StreamRouter(Output out, Opener open) : out_(std::move(out)), open_(std::move(open)) {}

StreamRouter::~StreamRouter() {
  for (auto& [id, e] : streams_) e.channel->router_ = nullptr;
}

template <class Fn>
void StreamRouter::guarded(uint32_t id, const char* what, Fn fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    spdlog::error("stream {}: {} threw: {}", id, what, e.what());
    auto it = streams_.find(id);
    if (it == streams_.end()) return;
    sendClose(id, sdk::makeError(sdk::ErrorCode::kInternal, std::string(what) + " failed"));
    retire(id, false);
  }
}

void StreamRouter::onOpen(const proto::StreamOpen& open) {
  const uint32_t id = open.stream_id;
  if (streams_.count(id))
    return sendClose(id, sdk::makeError(sdk::ErrorCode::kConflict,
                                        "stream " + std::to_string(id) + " is already open"));
  auto channel = std::make_shared<Channel>(this, id, open.initial_credit);
  streams_[id].channel = channel;
  sdk::StreamRequest req{id, open.kind, open.instance_id, open.params};
  sdk::Result<std::unique_ptr<sdk::StreamHandler>> handler =
      sdk::makeError(sdk::ErrorCode::kInternal, "stream provider threw");
  try {
    handler = open_(req, channel);
  } catch (const std::exception& e) {
    spdlog::error("stream {} ({}): open threw: {}", id, open.kind, e.what());
  }
  auto it = streams_.find(id);
  if (it == streams_.end()) return;  // cannot happen: nothing else runs meanwhile
  if (!handler.ok()) {
    channel->ended_ = true;
    channel->router_ = nullptr;
    streams_.erase(it);
    spdlog::info("stream {} ({} {}) refused: {}", id, open.kind, open.instance_id,
                 handler.error().message);
    return sendClose(id, handler.error());
  }
  it->second.handler = std::move(*handler);
  spdlog::debug("stream {} ({} {}) open", id, open.kind, open.instance_id);
  // Accepted: the peer learns it from our input window, then queued output may flow.
  channel->accepted_ = true;
  out_.text(proto::encode(proto::StreamCredit{id, kInputWindow}));
  pump(*channel);
}

void StreamRouter::onClose(const proto::StreamClose& close) {
  if (!streams_.count(close.stream_id)) return;
  retire(close.stream_id, true);
}

void StreamRouter::onCredit(const proto::StreamCredit& credit) {
  auto it = streams_.find(credit.stream_id);
  if (it == streams_.end()) return;
  Channel& c = *it->second.channel;
  c.credit_ = std::min(kMaxCredit, c.credit_ + std::min(credit.bytes, kMaxCredit));
  pump(c);
  const uint32_t id = credit.stream_id;
  auto again = streams_.find(id);
  if (again == streams_.end() || again->second.channel->ended() || !again->second.handler ||
      again->second.channel->queued() > 0)
    return;
  guarded(id, "onWritable", [&] { again->second.handler->onWritable(); });
}

sdk::Status StreamRouter::onBinary(std::string_view frame) {
  auto f = proto::decodeStreamFrame(frame);
  if (!f)
    return sdk::makeError(sdk::ErrorCode::kInvalidArgument,
                          "binary frame of " + std::to_string(frame.size()) +
                              " bytes is not a stream frame (u32 id + at most 64 KiB)");
  auto it = streams_.find(f->stream_id);
  if (it == streams_.end() || !it->second.handler) return {};
  Channel& c = *it->second.channel;
  if (c.ended()) return {};
  const uint32_t id = f->stream_id;
  if (f->payload.size() > c.input_left_) {
    sendClose(id, sdk::makeError(sdk::ErrorCode::kInvalidArgument,
                                 "stream " + std::to_string(id) + ": sent more than its credit"));
    retire(id, true);
    return {};
  }
  c.input_left_ -= f->payload.size();
  c.input_used_ += f->payload.size();
  guarded(id, "input handler", [&] { it->second.handler->onData(f->payload); });
  // Consumed: grant it again once half the window is used (fewer, larger credit messages).
  auto again = streams_.find(id);
  if (again == streams_.end()) return {};
  Channel& c2 = *again->second.channel;
  if (!c2.ended() && c2.input_used_ >= kInputWindow / 2) {
    out_.text(proto::encode(proto::StreamCredit{id, c2.input_used_}));
    c2.input_left_ += c2.input_used_;
    c2.input_used_ = 0;
  }
  return {};
}

void StreamRouter::closeAll() {
  std::vector<uint32_t> ids;
  for (const auto& [id, e] : streams_) ids.push_back(id);
  for (uint32_t id : ids) retire(id, true);
}

void StreamRouter::pump(Channel& c) {
  if (!c.accepted_ || c.ended_) return;
  while (c.credit_ > 0 && c.queued() > 0) {
    const size_t n = static_cast<size_t>(
        std::min<uint64_t>({c.credit_, c.queued(), proto::kMaxStreamPayloadBytes}));
    out_.binary(proto::encodeStreamFrame(c.id_, std::string_view(c.queue_).substr(c.sent_, n)));
    c.sent_ += n;
    c.credit_ -= n;
  }
  if (c.sent_ == c.queue_.size()) {
    c.queue_.clear();
    c.sent_ = 0;
  } else if (c.sent_ > c.queue_.size() / 2) {
    c.queue_.erase(0, c.sent_);
    c.sent_ = 0;
  }
  if (c.closing_ && c.queued() == 0) {
    const uint32_t id = c.id_;
    sendClose(id, c.close_error_);
    retire(id, false);
  }
}

void StreamRouter::sendClose(uint32_t id, const std::optional<sdk::Error>& error) {
  proto::StreamClose msg;
  msg.stream_id = id;
  msg.error = error;
  out_.text(proto::encode(msg));
}

void StreamRouter::retire(uint32_t id, bool notify_handler) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  Entry e = std::move(it->second);
  streams_.erase(it);
  e.channel->ended_ = true;
  e.channel->router_ = nullptr;
  std::string().swap(e.channel->queue_);
  if (notify_handler && e.handler) {
    try {
      e.handler->onClosed();
    } catch (const std::exception& ex) {
      spdlog::error("stream {}: onClosed threw: {}", id, ex.what());
    }
  }
  // We may be inside one of this handler's calls: destroy it once that has returned.
  std::shared_ptr<sdk::StreamHandler> later(std::move(e.handler));
  if (later) out_.post([later] {});
}

}  // namespace zlh::agent::core
