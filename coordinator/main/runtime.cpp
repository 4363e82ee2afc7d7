#include "coordinator/main/runtime.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>

namespace zlh::coordinator::main {
namespace {
namespace asio = boost::asio;

class AsioTimer final : public common::Timer, public std::enable_shared_from_this<AsioTimer> {
 public:
  AsioTimer(asio::io_context& io, std::function<void()> fn) : timer_(io), fn_(std::move(fn)) {}
  void start(std::chrono::milliseconds delay) {
    timer_.expires_after(delay);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || !self->fn_) return;
      auto fn = std::move(self->fn_);
      self->fn_ = nullptr;
      fn();
    });
  }
  void cancel() override {
    fn_ = nullptr;
    timer_.cancel();
  }

 private:
  asio::steady_timer timer_;
  std::function<void()> fn_;
};

class AsioExecutor final : public common::Executor {
 public:
  explicit AsioExecutor(asio::io_context& io) : io_(io) {}
  void post(std::function<void()> fn) override { asio::post(io_, std::move(fn)); }
  std::shared_ptr<common::Timer> runAfter(std::chrono::milliseconds delay,
                                          std::function<void()> fn) override {
    auto t = std::make_shared<AsioTimer>(io_, std::move(fn));
    t->start(delay);
    return t;
  }
  std::chrono::steady_clock::time_point steadyNow() const override {
    return std::chrono::steady_clock::now();
  }

 private:
  asio::io_context& io_;
};
}  // namespace

struct Runtime::Impl {
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  AsioExecutor executor{io};
  asio::signal_set signals{io, SIGINT, SIGTERM};
};

Runtime::Runtime() : impl_(std::make_unique<Impl>()) {}
Runtime::~Runtime() = default;

common::Executor& Runtime::executor() { return impl_->executor; }

void Runtime::onTerminate(std::function<void(int)> fn) {
  impl_->signals.async_wait([fn = std::move(fn)](const boost::system::error_code& ec, int sig) {
    if (!ec) fn(sig);
  });
}

void Runtime::run() { impl_->io.run(); }

void Runtime::stop() {
  impl_->work.reset();
  impl_->io.stop();
}

}  // namespace zlh::coordinator::main
