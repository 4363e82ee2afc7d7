#include "agent/core/link/link.h"

#include <spdlog/spdlog.h>

namespace zlh::agent::core {
namespace {
constexpr int kCloseGoingAway = 1001;
constexpr int kCloseProtocolError = 4400;  // the coordinator's own code for the same thing

bool refused(const LinkClosed& c) {
  return c.http_status == 401 || c.http_status == 403 || c.close_code == 4003 ||
         c.close_code == 4009;
}
}  // namespace

Link::Link(EventLoop& loop, AgentMetrics& metrics, Options options, HelloBuilder hello,
           JobHandler on_job)
    : loop_(loop),
      metrics_(metrics),
      options_(options),
      hello_(std::move(hello)),
      on_job_(std::move(on_job)),
      backoff_(options.backoff_initial, options.backoff_max),
      outbox_(options.max_queued_events) {}

Link::~Link() = default;

std::string_view Link::stateName() const {
  switch (state_) {
    case State::kConnected:
      return "connected";
    case State::kBackoff:
      return "backoff";
    default:
      return "connecting";
  }
}

void Link::start() { dial(); }

void Link::dial() {
  state_ = State::kDialing;
  link_ = transport_->dial();
  spdlog::debug("link {}: dialing", link_);
  timer_ = loop_.after(options_.dial_timeout, [this] {
    transport_->close(link_, 1000, "dial timeout");
    linkDown("no connection within " + std::to_string(options_.dial_timeout.count()) + " ms",
             DialResult::kError);
  });
}

void Link::onLinkOpen(uint64_t link) {
  if (link != link_ || state_ != State::kDialing) {
    transport_->close(link, 1000, "stale link");
    return;
  }
  state_ = State::kHandshake;
  bad_.clear();
  sendMessage(hello_());
  timer_ = loop_.after(options_.welcome_timeout, [this] {
    transport_->close(link_, kCloseProtocolError, "no welcome in time");
    linkDown("no welcome within " + std::to_string(options_.welcome_timeout.count()) + " ms",
             DialResult::kError);
  });
}

void Link::onLinkText(uint64_t link, std::string text) {
  if (link != link_ || (state_ != State::kHandshake && state_ != State::kConnected)) return;
  auto env = proto::decode(text);
  if (!env.ok()) {
    const auto& e = env.error();
    return badMessage(std::string(proto::toWire(e.kind)), e.message, e.ref);
  }
  if (env->type == proto::Welcome::kType) return handleWelcome(*env);
  if (env->type == proto::ProtocolError::kType) {
    auto pe = proto::bodyAs<proto::ProtocolError>(*env);
    if (pe.ok()) spdlog::warn("coordinator reported an error: {}: {}", pe->code, pe->message);
    return;
  }
  if (state_ != State::kConnected)
    return badMessage("failed_precondition", env->type + " before welcome", env->id);
  handleMessage(*env);
}

void Link::onLinkRejected(uint64_t link, std::string why) {
  if (link != link_ || (state_ != State::kHandshake && state_ != State::kConnected)) return;
  badMessage(why.rfind("message of", 0) == 0 ? "oversize" : "malformed", why, "");
}

void Link::onLinkBinary(uint64_t link, std::string bytes) {
  if (link != link_ || state_ != State::kConnected) return;
  if (!streams_) return badMessage("malformed", "binary frames are not expected here", "");
  if (auto st = streams_->onBinary(bytes); !st.ok()) badMessage("malformed", st.error().message, "");
}

void Link::sendBinary(std::string bytes) {
  if (link_ && state_ == State::kConnected) transport_->sendBinary(link_, std::move(bytes));
}

void Link::handleWelcome(const proto::Envelope& env) {
  if (state_ != State::kHandshake)
    return badMessage("failed_precondition", "unexpected welcome", env.id);
  auto w = proto::bodyAs<proto::Welcome>(env);
  if (!w.ok()) return badMessage("bad_shape", w.error().message, env.id);
  if (w->protocol != proto::kProtocolVersion) {
    transport_->close(link_, kCloseProtocolError, "unsupported protocol");
    return linkDown("coordinator chose protocol " + std::to_string(w->protocol),
                    DialResult::kError);
  }
  timer_.reset();
  state_ = State::kConnected;
  backoff_.reset();
  metrics_.countDial(DialResult::kOk);
  metrics_.setLinkUp(true);
  spdlog::info("link up: coordinator {} (node {})", w->coordinator_version, w->node_id);
  for (auto& text : outbox_.takeAll()) transport_->send(link_, std::move(text));
}

void Link::handleMessage(const proto::Envelope& env) {
  if (env.type == proto::JobStart::kType) {
    auto js = proto::bodyAs<proto::JobStart>(env);
    if (!js.ok()) return badMessage("bad_shape", js.error().message, env.id);
    return on_job_(*js);
  }
  if (env.type == proto::StreamOpen::kType) {
    auto so = proto::bodyAs<proto::StreamOpen>(env);
    if (!so.ok()) return badMessage("bad_shape", so.error().message, env.id);
    if (streams_) return streams_->onOpen(*so);
    proto::StreamClose close;
    close.stream_id = so->stream_id;
    close.error = sdk::makeError(sdk::ErrorCode::kUnimplemented, "this agent serves no streams");
    return sendMessage(close);
  }
  if (env.type == proto::StreamClose::kType) {
    auto sc = proto::bodyAs<proto::StreamClose>(env);
    if (!sc.ok()) return badMessage("bad_shape", sc.error().message, env.id);
    if (streams_) streams_->onClose(*sc);
    return;
  }
  if (env.type == proto::StreamCredit::kType) {
    auto cr = proto::bodyAs<proto::StreamCredit>(env);
    if (!cr.ok()) return badMessage("bad_shape", cr.error().message, env.id);
    if (streams_) streams_->onCredit(*cr);
    return;
  }
  badMessage("unknown_type", "unexpected message type \"" + env.type + "\" from the coordinator",
             env.id);
}

void Link::badMessage(const std::string& code, const std::string& message, const std::string& ref) {
  spdlog::warn("link {}: bad message from the coordinator: {}: {}", link_, code, message);
  proto::ProtocolError pe;
  pe.code = code;
  pe.message = message;
  if (!ref.empty()) pe.ref = ref;
  transport_->send(link_, proto::encode(pe));
  const auto now = std::chrono::steady_clock::now();
  bad_.push_back(now);
  while (!bad_.empty() && now - bad_.front() > options_.bad_window) bad_.pop_front();
  if (bad_.size() > options_.bad_limit) {
    transport_->close(link_, kCloseProtocolError, "too many bad messages");
    linkDown("more than " + std::to_string(options_.bad_limit) + " bad messages in " +
                 std::to_string(options_.bad_window.count() / 1000) + " s",
             DialResult::kError);
  }
}

void Link::onLinkClosed(uint64_t link, LinkClosed info) {
  if (link != link_) return;
  if (state_ == State::kStopped) {
    link_ = 0;
    stop_timer_.reset();
    if (stop_done_) std::exchange(stop_done_, sdk::Task())();
    return;
  }
  std::string why = info.http_status  ? "HTTP " + std::to_string(info.http_status)
                    : info.close_code ? "closed with " + std::to_string(info.close_code)
                                      : info.reason;
  if (info.close_code && !info.reason.empty() && info.http_status == 0)
    why += " (" + info.reason + ")";
  linkDown(why, refused(info) ? DialResult::kRefused : DialResult::kError);
}

void Link::linkDown(const std::string& why, DialResult outcome) {
  if (state_ == State::kConnected) {
    metrics_.setLinkUp(false);
    metrics_.countLinkLost();
    spdlog::warn("link down: {}", why);
  } else {
    metrics_.countDial(outcome);
    if (outcome == DialResult::kRefused)
      spdlog::error("coordinator refused the link: {} (check node_id and the token)", why);
    else
      spdlog::warn("dial failed: {}", why);
  }
  link_ = 0;
  if (streams_) streams_->closeAll();
  scheduleRedial();
}

void Link::scheduleRedial() {
  state_ = State::kBackoff;
  const auto delay = backoff_.next();
  spdlog::info("redialing in {} ms", delay.count());
  timer_ = loop_.after(delay, [this] { dial(); });
}

void Link::stop(std::chrono::milliseconds grace, sdk::Task done) {
  const bool active = link_ != 0 && state_ != State::kBackoff && state_ != State::kIdle;
  timer_.reset();
  if (state_ == State::kConnected) metrics_.setLinkUp(false);
  state_ = State::kStopped;
  if (streams_) streams_->closeAll();
  if (!active) {
    link_ = 0;
    done();
    return;
  }
  stop_done_ = std::move(done);
  transport_->close(link_, kCloseGoingAway, "agent shutting down");
  stop_timer_ = loop_.after(grace, [this] {
    if (stop_done_) std::exchange(stop_done_, sdk::Task())();
  });
}

void Link::sendNow(std::string text) {
  if (link_) transport_->send(link_, std::move(text));
}

void Link::sendJobDone(const proto::JobDone& done) {
  std::string text = proto::encode(done);
  if (state_ == State::kConnected)
    transport_->send(link_, std::move(text));
  else
    outbox_.pushResult(std::move(text));
}

void Link::sendProgress(const proto::JobProgress& progress) {
  if (state_ == State::kConnected) transport_->send(link_, proto::encode(progress));
}

void Link::sendEvent(std::string encoded) {
  if (state_ == State::kConnected) return transport_->send(link_, std::move(encoded));
  if (outbox_.pushEvent(std::move(encoded))) metrics_.countEventDropped();
}

}  // namespace zlh::agent::core
