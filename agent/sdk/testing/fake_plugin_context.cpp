#include "agent/sdk/testing/fake_plugin_context.h"

#include <random>
#include <system_error>

namespace zlh::agent::sdk::testing {

class FakePluginContext::FakeTimer : public TimerHandle {
 public:
  explicit FakeTimer(std::shared_ptr<TimerState> s) : state_(std::move(s)) {}
  ~FakeTimer() override { cancel(); }
  void cancel() override { state_->cancelled = true; }

 private:
  std::shared_ptr<TimerState> state_;
};

FakePluginContext::FakePluginContext(std::string plugin_name, std::filesystem::path state_dir,
                                     std::filesystem::path state_root)
    : plugin_name_(std::move(plugin_name)),
      state_dir_(std::move(state_dir)),
      state_root_(std::move(state_root)) {
  if (state_root_.empty()) {
    std::random_device rd;
    state_root_ = std::filesystem::temp_directory_path() /
                  ("zlh-fake-" + plugin_name_ + "-" + std::to_string(rd()));
    owns_state_root_ = true;
  }
  if (state_dir_.empty()) state_dir_ = state_root_ / "plugins" / plugin_name_;
  std::error_code ec;
  std::filesystem::create_directories(state_root_, ec);
  std::filesystem::create_directories(state_dir_, ec);
  logger_ = Logger([this](LogLevel level, std::string_view text) {
    std::lock_guard lock(mu_);
    log_lines_.push_back(LogLine{level, std::string(text)});
  });
  registry_ = std::make_unique<FakeInstanceRegistry>(
      state_root_, [this](const std::string& type, nlohmann::json body) {
        (void)emitEvent(type, std::move(body));
      });
  supervisor_ = std::make_unique<FakeSupervisor>([this](Task fn) { post(std::move(fn)); });
}

FakePluginContext::~FakePluginContext() {
  supervisor_.reset();
  registry_.reset();
  if (owns_state_root_) {
    std::error_code ec;
    std::filesystem::remove_all(state_root_, ec);
  }
}

Status FakePluginContext::emitEvent(const std::string& type, nlohmann::json body) {
  std::lock_guard lock(mu_);
  if (event_error_) return *event_error_;
  events_.push_back(Event{type, std::move(body)});
  return {};
}

void FakePluginContext::post(Task fn) {
  std::lock_guard lock(mu_);
  work_.push_back(std::move(fn));
}

void FakePluginContext::runBlocking(Task fn) { post(std::move(fn)); }

TimerPtr FakePluginContext::after(std::chrono::milliseconds delay, Task fn) {
  auto state = std::make_shared<TimerState>();
  state->fn = std::move(fn);
  std::lock_guard lock(mu_);
  state->due = now_ + delay;
  timers_.push_back(state);
  return std::make_unique<FakeTimer>(state);
}

size_t FakePluginContext::runPending() {
  size_t ran = 0;
  for (;;) {
    Task fn;
    {
      std::lock_guard lock(mu_);
      if (work_.empty()) return ran;
      fn = std::move(work_.front());
      work_.pop_front();
    }
    fn();
    ++ran;
  }
}

void FakePluginContext::advance(std::chrono::milliseconds by) {
  std::chrono::milliseconds target;
  {
    std::lock_guard lock(mu_);
    target = now_ + by;
  }
  for (;;) {
    runPending();
    std::shared_ptr<TimerState> next;
    {
      std::lock_guard lock(mu_);
      for (auto& t : timers_)
        if (!t->cancelled && t->due <= target && (!next || t->due < next->due)) next = t;
      if (!next) {
        now_ = target;
        std::erase_if(timers_, [](const auto& t) { return t->cancelled; });
        return;
      }
      now_ = next->due;
      next->cancelled = true;  // fired
    }
    next->fn();
  }
}

std::vector<FakePluginContext::Event> FakePluginContext::events() const {
  std::lock_guard lock(mu_);
  return events_;
}

std::vector<FakePluginContext::LogLine> FakePluginContext::logLines() const {
  std::lock_guard lock(mu_);
  return log_lines_;
}

}  // namespace zlh::agent::sdk::testing
