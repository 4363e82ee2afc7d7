#include <spdlog/spdlog.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

#include "coordinator/net/server_impl.h"

namespace zlh::coordinator::net {
namespace {
using proto::ErrorCode;
using proto::makeError;

void lwsLog(int level, const char* line) {
  std::string_view text(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  // lws reports a client's abrupt disconnect as an error: keep its chatter below info.
  if (level & LLL_ERR) spdlog::debug("lws: {}", text);
  else spdlog::trace("lws: {}", text);
}

/// "ip:port" of the client ("[v6]:port"), so two agents behind one address can be told apart.
std::string peerAddress(lws* wsi) {
  char ip[128] = "";
  lws_get_peer_simple(wsi, ip, sizeof ip);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  int port = 0;
  if (::getpeername(lws_get_socket_fd(wsi), reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    if (ss.ss_family == AF_INET) port = ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    else if (ss.ss_family == AF_INET6) port = ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  }
  std::string host = std::strchr(ip, ':') ? "[" + std::string(ip) + "]" : std::string(ip);
  return port ? host + ":" + std::to_string(port) : host;
}
}  // namespace

HttpResponse errorResponse(int status, const std::string& code, const std::string& message) {
  nlohmann::json j = {{"error", {{"code", code}, {"message", message}}}};
  HttpResponse r;
  r.status = status;
  r.body = j.dump();
  return r;
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { stop(); }

proto::Result<std::unique_ptr<Server>> Server::start(const ServerOptions& options, Poster poster,
                                                     Handler& handler,
                                                     UpgradeAuthorizer authorizer) {
  lws_set_log_level(LLL_ERR | LLL_WARN, lwsLog);
  auto impl = std::make_unique<Impl>(options, std::move(poster), handler, std::move(authorizer));
  std::promise<proto::Result<uint16_t>> started;
  auto ready = started.get_future();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw, p = std::move(started)]() mutable { raw->run(std::move(p)); });
  auto result = ready.get();
  if (!result) {
    impl->thread.join();
    return result.error();
  }
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

uint16_t Server::port() const { return impl_->port.load(); }

void Server::respond(ConnId conn, HttpResponse response) {
  impl_->push(Command{Command::Kind::kRespond, conn, std::move(response), {}, 0});
}

void Server::sendText(ConnId conn, std::string text) {
  impl_->push(Command{Command::Kind::kText, conn, {}, std::move(text), 0});
}

void Server::sendBinary(ConnId conn, std::string bytes) {
  impl_->push(Command{Command::Kind::kBinary, conn, {}, std::move(bytes), 0});
}

void Server::close(ConnId conn, uint16_t code, std::string reason) {
  impl_->push(Command{Command::Kind::kClose, conn, {}, std::move(reason), code});
}

void Server::splice(ConnId client, ConnId link, uint32_t stream_id, uint64_t output_window) {
  Command cmd{Command::Kind::kSplice, client, {}, {}, 0};
  cmd.link = link;
  cmd.stream_id = stream_id;
  cmd.credit = output_window;
  impl_->push(std::move(cmd));
}

void Server::spliceCredit(ConnId client, uint64_t bytes) {
  Command cmd{Command::Kind::kSpliceCredit, client, {}, {}, 0};
  cmd.credit = bytes;
  impl_->push(std::move(cmd));
}

void Server::stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  impl_->stopping = true;
  impl_->wake();
  impl_->thread.join();
}

void Server::Impl::push(Command cmd) {
  bool first;
  {
    std::lock_guard lock(mu);
    first = commands.empty();
    commands.push_back(std::move(cmd));
  }
  // The lws thread takes every queued command at once (drainCommands): one wake-up per batch.
  // A command pushed behind others rides on the wake-up the first one sent.
  if (!first) return;
  wake();
}

void Server::Impl::wake() {
  std::lock_guard lock(wake_mu);
  if (context) lws_cancel_service(context);
}

void Server::Impl::run(std::promise<proto::Result<uint16_t>> started) {
  protocols.push_back({"http", lwsCallback, 0, 0, 0, nullptr, kTxPacketBytes});
  for (const auto& e : options.endpoints)
    protocols.push_back(
        {e.subprotocol.c_str(), lwsCallback, 0, 64 * 1024, 0, nullptr, kTxPacketBytes});
  protocols.push_back({nullptr, nullptr, 0, 0, 0, nullptr, 0});
  // Idle policy of the vhost: lws pings a WebSocket silent for ping_interval_s and hangs up one
  // that stays silent (no pong, no message) for link_timeout_s.
  retry.secs_since_valid_ping = static_cast<uint16_t>(options.ping_interval_s);
  retry.secs_since_valid_hangup = static_cast<uint16_t>(options.link_timeout_s);

  lws_context_creation_info info;
  std::memset(&info, 0, sizeof info);
  info.port = options.port;
  info.iface = options.host.c_str();
  info.protocols = protocols.data();
  info.user = this;
  info.uid = -1;
  info.gid = -1;
  info.vhost_name = "zlh";
  info.alpn = "http/1.1";
  info.retry_and_idle_policy = &retry;
  // RFC 7692 compression for clients that offer it (browsers do), when enabled (server.h).
  static const lws_extension kExtensions[] = {
      {"permessage-deflate", lws_extension_callback_pm_deflate,
       "permessage-deflate; client_no_context_takeover; client_max_window_bits"},
      {nullptr, nullptr, nullptr}};
  if (options.permessage_deflate) info.extensions = kExtensions;
  info.max_http_header_data = 8192;
  info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
  if (options.host.find(':') == std::string::npos) info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
  else info.options |= LWS_SERVER_OPTION_IPV6_V6ONLY_MODIFY | LWS_SERVER_OPTION_IPV6_V6ONLY_VALUE;
  if (!options.tls_cert.empty()) {
    info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.ssl_cert_filepath = options.tls_cert.c_str();
    info.ssl_private_key_filepath = options.tls_key.c_str();
  }
  lws_context* ctx = lws_create_context(&info);
  lws_vhost* vh = ctx ? lws_get_vhost_by_name(ctx, "zlh") : nullptr;
  int listen_port = vh ? lws_get_vhost_listen_port(vh) : -1;
  if (!ctx || !vh || listen_port <= 0) {
    if (ctx) lws_context_destroy(ctx);
    std::string where = options.host + ":" + std::to_string(options.port);
    started.set_value(makeError(ErrorCode::kUnavailable,
                                "cannot listen on " + where +
                                    (options.tls_cert.empty() ? "" : " (or load the TLS certificate/key)") +
                                    ": address in use, not local, or not permitted"));
    return;
  }
  port = static_cast<uint16_t>(listen_port);
  {
    std::lock_guard lock(wake_mu);
    context = ctx;
  }
  started.set_value(static_cast<uint16_t>(listen_port));
  while (!stopping.load()) {
    if (lws_service(ctx, 0) < 0) break;
  }
  {
    std::lock_guard lock(wake_mu);  // waits for a wake-up under way
    context = nullptr;
  }
  lws_context_destroy(ctx);
}

void Server::Impl::drainCommands() {
  std::deque<Command> batch;
  {
    std::lock_guard lock(mu);
    batch.swap(commands);
  }
  for (auto& cmd : batch) {
    auto it = by_id.find(cmd.conn);
    if (it == by_id.end()) continue;  // gone meanwhile
    lws* wsi = it->second;
    Conn& c = conns[wsi];
    switch (cmd.kind) {
      case Command::Kind::kRespond:
        if (!c.awaiting_response) break;
        c.awaiting_response = false;
        c.response = std::move(cmd.response);
        lws_callback_on_writable(wsi);
        break;
      case Command::Kind::kText:
      case Command::Kind::kBinary:
        queueMessage(wsi, c, std::move(cmd.data), cmd.kind == Command::Kind::kBinary);
        break;
      case Command::Kind::kClose:
        if (!c.is_ws || c.close_request) break;
        endSplices(c);  // nothing more is relayed to or from a connection that closes
        c.close_request = std::pair{cmd.code, std::move(cmd.data)};
        lws_callback_on_writable(wsi);
        break;
      case Command::Kind::kSplice: startSplice(c, cmd.link, cmd.stream_id, cmd.credit); break;
      case Command::Kind::kSpliceCredit: addSpliceCredit(c, cmd.credit); break;
    }
  }
}

void Server::Impl::queueMessage(lws* wsi, Conn& c, std::string data, bool binary) {
  if (!c.is_ws || c.close_request) return;
  c.tx_bytes += data.size();
  c.tx.emplace_back(std::move(data), binary);
  lws_callback_on_writable(wsi);
}

std::pair<lws*, Conn*> Server::Impl::findWs(ConnId id) {
  auto it = by_id.find(id);
  if (it == by_id.end()) return {nullptr, nullptr};
  Conn* c = findConn(it->second);
  if (!c || !c->is_ws) return {nullptr, nullptr};
  return {it->second, c};
}

Conn& Server::Impl::conn(lws* wsi) {
  auto [it, inserted] = conns.try_emplace(wsi);
  if (inserted) {
    it->second.id = next_id++;
    by_id[it->second.id] = wsi;
    it->second.peer = peerAddress(wsi);
  }
  return it->second;
}

Conn* Server::Impl::findConn(lws* wsi) {
  auto it = conns.find(wsi);
  return it == conns.end() ? nullptr : &it->second;
}

}  // namespace zlh::coordinator::net
