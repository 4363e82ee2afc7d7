// ShimSupervisor's output watchers: one shim connection (ATTACH) per watcher and a bounded
// queue between the socket and the watcher's callbacks, delivered one item per loop turn. The
// socket is always read promptly; a watcher that takes its output slower than it comes loses
// output beyond the bound (reported by on_dropped, in order) and never holds up the loop, the
// other watchers or the game.
#include <spdlog/spdlog.h>

#include "agent/core/supervisor/shim_connection.h"
#include "agent/core/supervisor/shim_supervisor.h"

namespace zlh::agent::core {
namespace {
enum Kind { kOutput, kDropped, kReplayEnd, kClosed };
constexpr size_t kMergeBytes = 64 * 1024;  // small chunks are merged up to this size
}  // namespace

struct ShimSupervisor::Watch {
  struct Item {
    Kind kind;
    std::string data;
    uint64_t n = 0;
  };
  uint64_t key = 0;
  std::string id;
  sdk::OutputWatcher w;
  std::shared_ptr<ShimConnection> conn;
  std::deque<Item> queue;
  size_t queued_bytes = 0;
  bool pumping = false;
  bool closed = false;  // kClosed queued: nothing more is accepted
  bool done = false;    // unsubscribed or on_closed delivered: no more callbacks
};

class ShimSupervisor::WatchHandle : public sdk::Subscription {
 public:
  WatchHandle(ShimSupervisor* sup, std::weak_ptr<bool> token, uint64_t key)
      : sup_(sup), token_(std::move(token)), key_(key) {}
  ~WatchHandle() override {
    if (token_.expired()) return;
    auto it = sup_->watches_.find(key_);
    if (it == sup_->watches_.end()) return;
    it->second->done = true;
    if (it->second->conn) it->second->conn->close();
    sup_->watches_.erase(it);
  }

 private:
  ShimSupervisor* sup_;
  std::weak_ptr<bool> token_;
  uint64_t key_;
};

sdk::Result<sdk::SubscriptionPtr> ShimSupervisor::watchOutput(const std::string& id, bool replay,
                                                              sdk::OutputWatcher watcher) {
  Shim* s = nullptr;
  if (auto st = requireLive(id, &s); !st.ok()) return st.error();
  auto w = std::make_shared<Watch>();
  w->key = ++next_watch_;
  w->id = id;
  w->w = std::move(watcher);
  std::weak_ptr<bool> token = token_;
  std::weak_ptr<Watch> weak = w;
  ShimConnection::Handlers h;
  h.on_frame = [this, token, weak](shim::Frame f) {
    auto w = weak.lock();
    if (w && !token.expired()) watchFrame(w, std::move(f));
  };
  h.on_closed = [this, token, weak](const std::string&) {
    auto w = weak.lock();
    if (w && !token.expired()) enqueue(w, kClosed, {}, 0);
  };
  w->conn = makeShimConnection(loop_, std::move(h));
  if (auto st = w->conn->send(shim::FrameType::kAttach, shim::attachPayload(replay)); !st.ok())
    return st.error();
  w->conn->connect(layout_.paths(id).socket, [this, token, weak](sdk::Status st) {
    auto w = weak.lock();
    if (!w || token.expired() || st.ok()) return;
    spdlog::warn("supervisor: {}: output watcher: {}", w->id, st.error().message);
    enqueue(w, kClosed, {}, 0);
  });
  watches_[w->key] = w;
  return sdk::SubscriptionPtr(std::make_unique<WatchHandle>(this, token_, w->key));
}

void ShimSupervisor::closeWatches() {
  for (auto& [key, w] : watches_) {
    w->done = true;
    if (w->conn) w->conn->close();
  }
  watches_.clear();
}

void ShimSupervisor::watchFrame(const std::shared_ptr<Watch>& w, shim::Frame frame) {
  using shim::FrameType;
  switch (frame.type) {
    case FrameType::kOutput:
      enqueue(w, kOutput, std::move(frame.payload), 0);
      break;
    case FrameType::kDropped: {
      auto n = shim::parseDropped(frame.payload);
      if (n.ok()) enqueue(w, kDropped, {}, n.value());
      break;
    }
    case FrameType::kReplayEnd:
      enqueue(w, kReplayEnd, {}, 0);
      break;
    case FrameType::kExit:
      enqueue(w, kClosed, {}, 0);
      if (w->conn) w->conn->close();
      break;
    case FrameType::kError: {
      auto e = shim::parseErrorPayload(frame.payload);
      spdlog::warn("supervisor: {}: output watcher: shim answered {}: {}", w->id,
                   proto::toWire(e.code), e.message);
      break;
    }
    default:
      break;
  }
}

void ShimSupervisor::enqueue(const std::shared_ptr<Watch>& w, int kind, std::string data,
                             uint64_t n) {
  if (w->done || w->closed) return;
  auto& q = w->queue;
  auto addDropped = [&](uint64_t bytes) {
    if (!q.empty() && q.back().kind == kDropped)
      q.back().n += bytes;
    else
      q.push_back(Watch::Item{kDropped, {}, bytes});
  };
  if (kind == kOutput) {
    if (w->queued_bytes + data.size() > options_.watcher_queue_bytes) {
      addDropped(data.size());
    } else {
      w->queued_bytes += data.size();
      if (!q.empty() && q.back().kind == kOutput &&
          q.back().data.size() + data.size() <= kMergeBytes)
        q.back().data += data;
      else
        q.push_back(Watch::Item{kOutput, std::move(data), 0});
    }
  } else if (kind == kDropped) {
    addDropped(n);
  } else {
    if (kind == kClosed) w->closed = true;
    q.push_back(Watch::Item{static_cast<Kind>(kind), {}, 0});
  }
  pump(w);
}

void ShimSupervisor::pump(const std::shared_ptr<Watch>& w) {
  if (w->pumping || w->queue.empty() || w->done) return;
  w->pumping = true;
  loop_.post([this, token = std::weak_ptr<bool>(token_), weak = std::weak_ptr<Watch>(w)] {
    auto w = weak.lock();
    if (!w || token.expired()) return;
    w->pumping = false;
    if (w->done || w->queue.empty()) return;
    Watch::Item item = std::move(w->queue.front());
    w->queue.pop_front();
    switch (item.kind) {
      case kOutput:
        w->queued_bytes -= item.data.size();
        if (w->w.on_output) w->w.on_output(item.data);
        break;
      case kDropped:
        if (w->w.on_dropped) w->w.on_dropped(item.n);
        break;
      case kReplayEnd:
        if (w->w.on_replay_end) w->w.on_replay_end();
        break;
      case kClosed:
        w->done = true;
        if (w->conn) w->conn->close();
        watches_.erase(w->key);
        if (w->w.on_closed) w->w.on_closed();
        return;
    }
    pump(w);
  });
}

}  // namespace zlh::agent::core
