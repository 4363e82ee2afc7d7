// libwebsockets transport: context, vhosts, network thread and the command queue.
#include <arpa/inet.h>
#include <netdb.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <filesystem>

#include "agent/core/transport/lws_transport_impl.h"
#include "proto/v1/messages.h"

namespace zlh::agent::core {
namespace transport_detail {
namespace {

constexpr const char* kSystemCaBundle = "/etc/ssl/certs/ca-certificates.crt";

void lwsLog(int level, const char* line) {
  std::string_view text(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  if (level & LLL_ERR)
    spdlog::warn("lws: {}", text);
  else
    spdlog::debug("lws: {}", text);
}

// lws binds a listener to an interface name or an address literal, not a host name: resolve it.
std::string numericHost(const std::string& host) {
  in_addr a4{};
  in6_addr a6{};
  if (inet_pton(AF_INET, host.c_str(), &a4) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1)
    return host;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || !res) return "";
  char buf[INET6_ADDRSTRLEN] = {};
  const bool ok =
      getnameinfo(res->ai_addr, res->ai_addrlen, buf, sizeof buf, nullptr, 0, NI_NUMERICHOST) == 0;
  freeaddrinfo(res);
  return ok ? buf : "";
}

const lws_protocols kClientProtocols[] = {
    {"zlh-link", &LwsTransport::clientCallback, 0, 16 * 1024, 0, nullptr, kTxPacketBytes},
    {nullptr, nullptr, 0, 0, 0, nullptr, 0},
};
const lws_protocols kHttpProtocols[] = {
    {"http", &LwsTransport::httpCallback, sizeof(uint64_t), 0, 0, nullptr, kTxPacketBytes},
    {nullptr, nullptr, 0, 0, 0, nullptr, 0},
};

}  // namespace

LwsTransport::LwsTransport(TransportConfig config, Executor post, LinkHandler& link,
                           HttpHandler& http)
    : config_(std::move(config)), post_(std::move(post)), link_handler_(link), http_handler_(http) {
  retry_.retry_ms_table = retry_table_;
  retry_.retry_ms_table_count = 1;
  retry_.secs_since_valid_ping = config_.ping_secs;
  retry_.secs_since_valid_hangup = config_.hangup_secs;
}

LwsTransport::~LwsTransport() {
  shutdown();
  if (ctx_) lws_context_destroy(ctx_);  // init() failed before the thread started
}

sdk::Status LwsTransport::init() {
  lws_set_log_level(LLL_ERR | LLL_WARN, lwsLog);
  lws_context_creation_info ci{};
  ci.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
  if (config_.tls) ci.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
  ci.user = this;
  ci.timeout_secs = 10;
  ci.connect_timeout_secs = 10;
  ci.fd_limit_per_thread = kMaxSockets;
  ctx_ = lws_create_context(&ci);
  if (!ctx_) return sdk::makeError(sdk::ErrorCode::kInternal, "cannot create the network context");

  const std::string where = config_.http_host + ":" + std::to_string(config_.http_port);
  const std::string iface = numericHost(config_.http_host);
  if (iface.empty())
    return sdk::makeError(sdk::ErrorCode::kUnavailable,
                          "metrics.listen: cannot resolve " + config_.http_host);
  lws_context_creation_info hv{};
  hv.vhost_name = "metrics";
  hv.port = config_.http_port;
  hv.iface = iface.c_str();
  hv.protocols = kHttpProtocols;
  hv.server_string = "zlh-agent";
  lws_vhost* http_vh = lws_create_vhost(ctx_, &hv);
  const int bound = http_vh ? lws_get_vhost_listen_port(http_vh) : -1;
  if (bound <= 0)
    return sdk::makeError(
        sdk::ErrorCode::kUnavailable,
        "metrics.listen: cannot listen on " + where + " (address in use or not local?)");
  http_port_ = uint16_t(bound);

  lws_context_creation_info cv{};
  cv.vhost_name = "link";
  cv.port = CONTEXT_PORT_NO_LISTEN;
  cv.protocols = kClientProtocols;
  if (config_.tls) {
    cv.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    if (!config_.ca_file.empty())
      cv.client_ssl_ca_filepath = config_.ca_file.c_str();
    else if (std::filesystem::exists(kSystemCaBundle))
      cv.client_ssl_ca_filepath = kSystemCaBundle;
  }
  client_vh_ = lws_create_vhost(ctx_, &cv);
  if (!client_vh_)
    return sdk::makeError(sdk::ErrorCode::kInternal, "cannot create the client vhost");

  wake_ctx_ = ctx_;
  thread_ = std::thread([this] { serviceLoop(); });
  return {};
}

void LwsTransport::serviceLoop() {
  while (running_) {
    if (lws_service(ctx_, 0) < 0) break;
  }
  {
    std::lock_guard lock(wake_mu_);  // waits for a wake-up under way
    wake_ctx_ = nullptr;
  }
  lws_context_destroy(ctx_);  // closes what is left, on the thread that owns it
  ctx_ = nullptr;
}

void LwsTransport::push(Command cmd) {
  bool first;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    commands_.push_back(std::move(cmd));
    first = commands_.size() == 1;
  }
  // drain() takes every queued command at once: one wake-up per batch (a command pushed behind
  // others rides on the wake-up the first one sent). The wake-up comes after mu_ is let go: the
  // network thread, woken at once, takes mu_ first thing. (Waking under mu_ put both threads in
  // futex wait and wake on every scrape: 9% of the agent's CPU, perf.)
  if (first) wake();
}

void LwsTransport::wake() {
  std::lock_guard lock(wake_mu_);
  if (wake_ctx_) lws_cancel_service(wake_ctx_);
}

uint64_t LwsTransport::dial() {
  uint64_t id = next_link_.fetch_add(1);
  push(DialCmd{id});
  return id;
}

void LwsTransport::send(uint64_t link, std::string text) {
  push(SendCmd{link, std::move(text), false});
}

void LwsTransport::sendBinary(uint64_t link, std::string bytes) {
  push(SendCmd{link, std::move(bytes), true});
}

void LwsTransport::close(uint64_t link, int code, std::string reason) {
  push(CloseCmd{link, code, std::move(reason)});
}

void LwsTransport::respond(uint64_t request, HttpResponse response) {
  push(RespondCmd{request, std::move(response)});
}

void LwsTransport::shutdown() {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    if (thread_.joinable()) commands_.push_back(StopCmd{});
    stopped_ = true;
  }
  if (thread_.joinable()) {
    wake();
    thread_.join();
  }
}

void LwsTransport::toCore(sdk::Task fn) {
  if (running_) post_(std::move(fn));
}

void LwsTransport::drain() {
  std::deque<Command> batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(commands_);
  }
  for (auto& cmd : batch) std::visit([this](auto& c) { handle(c); }, cmd);
}

void LwsTransport::handle(DialCmd& c) {
  const uint64_t id = c.link;
  links_[id];
  lws_client_connect_info ci{};
  ci.context = ctx_;
  ci.vhost = client_vh_;
  ci.address = config_.host.c_str();
  ci.port = config_.port;
  ci.path = config_.path.c_str();
  ci.host = config_.host_header.c_str();
  ci.origin = config_.host_header.c_str();
  ci.protocol = proto::kAgentSubprotocol;
  ci.local_protocol_name = "zlh-link";
  ci.retry_and_idle_policy = &retry_;
  ci.opaque_user_data = reinterpret_cast<void*>(uintptr_t(id));
  if (config_.tls) {
    ci.ssl_connection = LCCSCF_USE_SSL;
    if (config_.insecure)
      ci.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
                           LCCSCF_ALLOW_EXPIRED | LCCSCF_ALLOW_INSECURE;
  }
  lws* wsi = lws_client_connect_via_info(&ci);
  auto it = links_.find(id);
  if (it == links_.end()) return;  // failed synchronously and already reported
  if (wsi) {
    it->second.wsi = wsi;
  } else {
    reportClosed(id, it->second, 0, "connect failed");
    links_.erase(it);
  }
}

void LwsTransport::handle(SendCmd& c) {
  auto it = links_.find(c.link);
  if (it == links_.end() || it->second.reported || it->second.closing) return;
  it->second.out.emplace_back(std::move(c.data), c.binary);
  if (it->second.open && it->second.wsi) lws_callback_on_writable(it->second.wsi);
}

void LwsTransport::handle(CloseCmd& c) {
  auto it = links_.find(c.link);
  if (it == links_.end() || it->second.reported) return;
  ClientLink& l = it->second;
  l.closing = true;
  l.close_code = c.code;
  l.close_reason = std::move(c.reason);
  if (!l.wsi) return;
  if (l.open)
    lws_callback_on_writable(l.wsi);
  else
    lws_set_timeout(l.wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
}

void LwsTransport::handle(RespondCmd& c) {
  auto it = http_.find(c.request);
  if (it == http_.end()) return;  // the client went away
  it->second.answered = true;
  it->second.response = std::move(c.response);
  lws_callback_on_writable(it->second.wsi);
}

void LwsTransport::handle(StopCmd&) {
  for (auto& [id, l] : links_)
    if (l.wsi && !l.reported) lws_set_timeout(l.wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
  running_ = false;
}

void LwsTransport::reportClosed(uint64_t id, ClientLink& l, int http_status, std::string reason) {
  if (l.reported) return;
  l.reported = true;
  LinkClosed info;
  info.was_open = l.open;
  info.http_status = http_status;
  info.close_code = l.peer_code;
  info.reason = l.peer_code ? l.peer_reason : std::move(reason);
  toCore([h = &link_handler_, id, info = std::move(info)]() mutable {
    h->onLinkClosed(id, std::move(info));
  });
}

}  // namespace transport_detail

sdk::Result<std::unique_ptr<Transport>> makeLwsTransport(TransportConfig config,
                                                         Transport::Executor post,
                                                         LinkHandler& link, HttpHandler& http) {
  auto t = std::make_unique<transport_detail::LwsTransport>(std::move(config), std::move(post),
                                                            link, http);
  if (auto s = t->init(); !s.ok()) return s.error();
  return std::unique_ptr<Transport>(std::move(t));
}

}  // namespace zlh::agent::core
