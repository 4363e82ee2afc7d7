#include "agent/core/loop/event_loop.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

namespace zlh::agent::core {
namespace asio = boost::asio;

struct EventLoop::Impl {
  explicit Impl(size_t threads) : pool(threads == 0 ? 1 : threads) {}
  asio::io_context io;
  asio::thread_pool pool;
  std::unique_ptr<asio::signal_set> signals;
  std::function<void(int)> on_signal;
  bool pool_joined = false;

  void armSignals() {
    signals->async_wait([this](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      on_signal(sig);
      armSignals();
    });
  }
};

namespace {
class AsioTimer : public sdk::TimerHandle {
 public:
  explicit AsioTimer(asio::io_context& io) : timer_(std::make_shared<asio::steady_timer>(io)) {}
  ~AsioTimer() override { cancel(); }
  void cancel() override {
    *cancelled_ = true;
    timer_->cancel();
  }
  void start(std::chrono::milliseconds delay, sdk::Task fn) {
    timer_->expires_after(delay);
    // The handler keeps the timer alive; the flag stops a handler already queued when cancelled.
    timer_->async_wait([t = timer_, c = cancelled_,
                        fn = std::move(fn)](const boost::system::error_code& ec) mutable {
      if (!ec && !*c) fn();
    });
  }

 private:
  std::shared_ptr<asio::steady_timer> timer_;
  std::shared_ptr<bool> cancelled_ = std::make_shared<bool>(false);
};
}  // namespace

EventLoop::EventLoop(size_t pool_threads) : impl_(std::make_unique<Impl>(pool_threads)) {}

EventLoop::~EventLoop() { joinPool(); }

void EventLoop::post(sdk::Task fn) { asio::post(impl_->io, std::move(fn)); }

sdk::TimerPtr EventLoop::after(std::chrono::milliseconds delay, sdk::Task fn) {
  auto timer = std::make_unique<AsioTimer>(impl_->io);
  timer->start(delay, std::move(fn));
  return timer;
}

void EventLoop::runBlocking(sdk::Task fn) { asio::post(impl_->pool, std::move(fn)); }

void EventLoop::onSignals(const std::vector<int>& signals, std::function<void(int)> fn) {
  impl_->signals = std::make_unique<asio::signal_set>(impl_->io);
  for (int s : signals) impl_->signals->add(s);
  impl_->on_signal = std::move(fn);
  impl_->armSignals();
}

void EventLoop::run() {
  auto guard = asio::make_work_guard(impl_->io);
  impl_->io.run();
  impl_->io.restart();
}

void EventLoop::stop() { impl_->io.stop(); }

bool EventLoop::runUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto guard = asio::make_work_guard(impl_->io);
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    impl_->io.run_one_for(std::chrono::milliseconds(10));
    if (impl_->io.stopped()) impl_->io.restart();
  }
  return done();
}

asio::io_context& EventLoop::io() { return impl_->io; }

void EventLoop::joinPool() {
  if (impl_->pool_joined) return;
  impl_->pool_joined = true;
  impl_->pool.stop();  // queued work is abandoned (a dropped JobReply answers by itself)
  impl_->pool.join();
}

}  // namespace zlh::agent::core
