#include "agent/core/supervisor/shim_connection.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <memory>

namespace zlh::agent::core {
namespace {
namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

class AsioShimConnection : public ShimConnection,
                           public std::enable_shared_from_this<AsioShimConnection> {
 public:
  AsioShimConnection(asio::io_context& io, Handlers h, size_t buffer_bytes)
      : socket_(io),
        handlers_(std::move(h)),
        buf_(std::make_unique_for_overwrite<char[]>(buffer_bytes)),  // untouched until read
        buf_size_(buffer_bytes) {}

  void connect(const std::filesystem::path& path, std::function<void(sdk::Status)> done) override {
    state_ = State::kConnecting;
    socket_.async_connect(
        stream::endpoint(path.string()), [self = shared_from_this(), done = std::move(done),
                                          path](const boost::system::error_code& ec) {
          if (self->state_ == State::kClosed) return;
          if (ec) {
            self->shutdownSocket();
            done(sdk::makeError(sdk::ErrorCode::kUnavailable,
                                "connect " + path.string() + ": " + ec.message()));
            return;
          }
          self->state_ = State::kOpen;
          done({});
          if (self->state_ != State::kOpen) return;
          self->readMore();
          self->writeMore();
        });
  }

  sdk::Status send(shim::FrameType type, std::string_view payload) override {
    if (state_ == State::kClosed)  // queued while idle or connecting, written once open
      return sdk::makeError(sdk::ErrorCode::kUnavailable, "shim connection is closed");
    if (payload.size() > shim::kMaxFramePayloadBytes)
      return sdk::makeError(sdk::ErrorCode::kInvalidArgument, "frame payload over 1 MiB");
    if (backlog_ + payload.size() > kMaxWriteBacklog)
      return sdk::makeError(sdk::ErrorCode::kUnavailable, "shim connection backlog is full");
    std::string frame;
    shim::appendFrame(frame, type, payload);
    backlog_ += frame.size();
    out_.push_back(std::move(frame));
    if (state_ == State::kOpen) writeMore();
    return {};
  }

  void close() override {
    state_ = State::kClosed;
    handlers_ = {};
    shutdownSocket();
  }

  bool isOpen() const override { return state_ == State::kOpen || state_ == State::kConnecting; }

 private:
  enum class State { kIdle, kConnecting, kOpen, kClosed };

  void shutdownSocket() {
    boost::system::error_code ignored;
    socket_.close(ignored);
    out_.clear();
    backlog_ = 0;
  }

  void fail(const std::string& why) {
    if (state_ == State::kClosed) return;
    auto on_closed = std::move(handlers_.on_closed);
    close();
    if (on_closed) on_closed(why);
  }

  void readMore() {
    socket_.async_read_some(
        asio::buffer(buf_.get(), buf_size_),
        [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
          if (self->state_ != State::kOpen) return;
          if (ec) {
            self->fail(ec == asio::error::eof ? "closed by the shim" : ec.message());
            return;
          }
          self->decoder_.feed(std::string_view(self->buf_.get(), n));
          if (!self->dispatchFrames()) return;
          self->readMore();
        });
  }

  // False when the connection ended while handling (closed by a handler or a bad frame).
  bool dispatchFrames() {
    for (;;) {
      auto next = decoder_.next();
      if (!next.ok()) {
        fail("bad frame from the shim: " + next.error().message);
        return false;
      }
      if (!next.value()) return state_ == State::kOpen;
      if (handlers_.on_frame) handlers_.on_frame(std::move(*next.value()));
      if (state_ != State::kOpen) return false;
    }
  }

  void writeMore() {
    if (writing_ || out_.empty() || state_ != State::kOpen) return;
    writing_ = true;
    asio::async_write(socket_, asio::buffer(out_.front()),
                      [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                        self->writing_ = false;
                        if (self->state_ != State::kOpen) return;
                        if (ec) {
                          self->fail("write: " + ec.message());
                          return;
                        }
                        self->backlog_ -= self->out_.front().size();
                        self->out_.pop_front();
                        self->writeMore();
                      });
  }

  stream::socket socket_;
  Handlers handlers_;
  State state_ = State::kIdle;
  std::unique_ptr<char[]> buf_;
  size_t buf_size_;
  shim::FrameDecoder decoder_;
  std::deque<std::string> out_;
  size_t backlog_ = 0;
  bool writing_ = false;
};

}  // namespace

std::shared_ptr<ShimConnection> makeShimConnection(EventLoop& loop,
                                                   ShimConnection::Handlers handlers,
                                                   size_t read_buffer_bytes) {
  return std::make_shared<AsioShimConnection>(loop.io(), std::move(handlers),
                                              read_buffer_bytes == 0 ? 4096 : read_buffer_bytes);
}

}  // namespace zlh::agent::core
