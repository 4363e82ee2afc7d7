#pragma once
/// @file
/// Task: a move-only `void()` callable (std::move_only_function arrives with C++23). Lets a plugin
/// move a JobReply into work it posts or runs on the pool.
#include <memory>
#include <type_traits>
#include <utility>

namespace zlh::agent::sdk {

class Task {
 public:
  Task() = default;
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, Task> &&
                                              std::is_invocable_v<std::decay_t<F>&>>>
  Task(F&& f) : impl_(std::make_unique<Impl<std::decay_t<F>>>(std::forward<F>(f))) {}  // NOLINT

  Task(Task&&) noexcept = default;
  Task& operator=(Task&&) noexcept = default;

  void operator()() {
    if (impl_) impl_->call();
  }
  explicit operator bool() const { return impl_ != nullptr; }

 private:
  struct Base {
    virtual ~Base() = default;
    virtual void call() = 0;
  };
  template <class F>
  struct Impl : Base {
    explicit Impl(F&& f) : fn(std::move(f)) {}
    explicit Impl(const F& f) : fn(f) {}
    void call() override { fn(); }
    F fn;
  };
  std::unique_ptr<Base> impl_;
};

}  // namespace zlh::agent::sdk
