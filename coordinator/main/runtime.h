#pragma once
// The logic thread: a boost::asio::io_context run by the caller, with timers and SIGINT/SIGTERM.
// The only place that includes Asio (it is slow to compile), behind this Asio-free header.
#include <functional>
#include <memory>

#include "coordinator/common/executor.h"

namespace zlh::coordinator::main {

class Runtime {
 public:
  Runtime();
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  common::Executor& executor();
  /// `fn(signal)` runs on the logic thread at the first SIGINT or SIGTERM.
  void onTerminate(std::function<void(int)> fn);
  /// Runs the loop on the calling thread until stop().
  void run();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace zlh::coordinator::main
