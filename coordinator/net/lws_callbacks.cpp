// The lws callback: HTTP requests and responses, the upgrade check, WebSocket frames.
// Runs on the lws thread only.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "coordinator/net/server_impl.h"

namespace zlh::coordinator::net {
namespace {
constexpr size_t kMaxQueuedBytes = 16u << 20;  // a link that lets this much pile up is dropped
// permessage-deflate in lws 4.1.6 compresses a write into a buffer of 2^tx_buf_size bytes; what
// does not fit is "drained" over later writable callbacks, and a control frame lws writes in
// between (its keepalive ping, the pong, the close echo) is fed to the compressor as new input
// while the old is pending: assertion `!priv->tx.avail_in`, abort. So no write may ever need
// draining: each lws_write carries at most kMaxFragment bytes (larger messages go out as
// fragments) and the deflate buffer holds the worst-case output of one (deflate grows
// incompressible data by a few bytes per 16 KiB block, plus what a non-final fragment held back).
constexpr size_t kMaxFragment = 32 * 1024;
constexpr size_t kJoinedBinaryBytes = 64 * 1024;  // WsEndpoint::binary_stream
constexpr const char* kDeflateTxBufPow2 = "17";  // 128 KiB >= 4 x kMaxFragment

std::string header(lws* wsi, lws_token_indexes token) {
  int len = lws_hdr_total_length(wsi, token);
  if (len <= 0) return {};
  std::string out(static_cast<size_t>(len) + 1, '\0');
  int n = lws_hdr_copy(wsi, out.data(), len + 1, token);
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return out;
}

std::string customHeader(lws* wsi, const char* name) {
  int nlen = static_cast<int>(std::strlen(name));
  int len = lws_hdr_custom_length(wsi, name, nlen);
  if (len <= 0) return {};
  std::string out(static_cast<size_t>(len) + 1, '\0');
  int n = lws_hdr_custom_copy(wsi, out.data(), len + 1, name, nlen);
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return out;
}

std::string methodOf(lws* wsi) {
  struct M {
    lws_token_indexes token;
    const char* name;
  };
  static const M kMethods[] = {
      {WSI_TOKEN_GET_URI, "GET"},       {WSI_TOKEN_POST_URI, "POST"},
      {WSI_TOKEN_PUT_URI, "PUT"},       {WSI_TOKEN_PATCH_URI, "PATCH"},
      {WSI_TOKEN_DELETE_URI, "DELETE"}, {WSI_TOKEN_OPTIONS_URI, "OPTIONS"},
      {WSI_TOKEN_HEAD_URI, "HEAD"},
  };
  for (const auto& m : kMethods)
    if (lws_hdr_total_length(wsi, m.token) > 0) return m.name;
  return "";
}

const char* reasonPhrase(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

/// Writes a whole refusal (status line, headers, body) from inside the upgrade check. Composed
/// here because lws would answer an upgrade request with an "HTTP/1.0" status line.
int writeWhole(lws* wsi, const HttpResponse& r) {
  std::string text = "HTTP/1.1 " + std::to_string(r.status) + " " + reasonPhrase(r.status) +
                     "\r\ncontent-type: " + r.content_type +
                     "\r\ncontent-length: " + std::to_string(r.body.size()) +
                     "\r\nconnection: close\r\n\r\n" + r.body;
  std::vector<unsigned char> buf(LWS_PRE + text.size());
  std::memcpy(buf.data() + LWS_PRE, text.data(), text.size());
  int n = lws_write(wsi, buf.data() + LWS_PRE, text.size(), LWS_WRITE_HTTP_HEADERS);
  return n < 0 ? -1 : 0;
}
}  // namespace

int lwsCallback(lws* wsi, lws_callback_reasons reason, void* /*user*/, void* in, size_t len) {
  lws_context* ctx = lws_get_context(wsi);
  auto* self = ctx ? static_cast<Server::Impl*>(lws_context_user(ctx)) : nullptr;
  if (!self) return 0;
  switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED: self->drainCommands(); return 0;
    case LWS_CALLBACK_HTTP: return self->onHttp(wsi, static_cast<const char*>(in));
    case LWS_CALLBACK_HTTP_BODY: return self->onHttpBody(wsi, static_cast<const char*>(in), len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION: return self->onHttpBodyDone(wsi);
    case LWS_CALLBACK_HTTP_WRITEABLE: return self->onHttpWriteable(wsi);
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: return self->onConfirmUpgrade(wsi);
    case LWS_CALLBACK_ESTABLISHED: return self->onWsEstablished(wsi);
    case LWS_CALLBACK_RECEIVE: return self->onWsReceive(wsi, static_cast<const char*>(in), len);
    case LWS_CALLBACK_RECEIVE_PONG: {
      Conn* c = self->findConn(wsi);
      if (c && c->is_ws) {
        Handler& h = self->handler;
        ConnId id = c->id;
        self->poster([&h, id] { h.onWsPong(id); });
      }
      return 0;
    }
    case LWS_CALLBACK_SERVER_WRITEABLE: return self->onWsWriteable(wsi);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE: {
      // The peer is closing: write nothing more (lws answers the close itself).
      if (Conn* c = self->findConn(wsi)) c->peer_closing = true;
      return 0;
    }
    case LWS_CALLBACK_CLOSED: self->onClosed(wsi); return 0;
    case LWS_CALLBACK_WSI_DESTROY: {
      Conn* c = self->findConn(wsi);
      if (c) {
        if (c->is_ws) self->onClosed(wsi);
        self->by_id.erase(c->id);
        self->conns.erase(wsi);
      }
      return 0;
    }
    default: return 0;
  }
}

int Server::Impl::onHttp(lws* wsi, const char* uri) {
  Conn& c = conn(wsi);
  c.request = HttpRequest{};
  c.request.conn = c.id;
  c.request.peer = c.peer;
  c.request.method = methodOf(wsi);
  c.request.path = uri ? uri : "";
  c.request.query = header(wsi, WSI_TOKEN_HTTP_URI_ARGS);
  auto put = [&](const char* name, std::string value) {
    if (!value.empty()) c.request.headers[name] = std::move(value);
  };
  put("authorization", header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION));
  put("content-type", header(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE));
  put("user-agent", header(wsi, WSI_TOKEN_HTTP_USER_AGENT));
  put("idempotency-key", customHeader(wsi, "idempotency-key:"));
  put("accept-encoding", header(wsi, WSI_TOKEN_HTTP_ACCEPT_ENCODING));
  c.body_too_large = false;
  c.awaiting_response = false;
  c.response.reset();
  c.headers_written = false;
  c.body_offset = 0;

  std::string length = header(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH);
  std::string encoding = header(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING);
  if (!length.empty()) {
    unsigned long long n = std::strtoull(length.c_str(), nullptr, 10);
    if (n > options.max_body_bytes) {
      c.close_after_response = true;  // the rest of the body is not read
      answerNow(wsi, c, errorResponse(413, "payload_too_large",
                                      "request body larger than " +
                                          std::to_string(options.max_body_bytes) + " bytes"));
      return 0;
    }
    if (n > 0) {
      c.reading_body = true;
      return 0;
    }
  } else if (!encoding.empty()) {
    // lws 4.1 does not decode chunked request bodies: ask for a Content-Length instead.
    c.close_after_response = true;
    answerNow(wsi, c, errorResponse(411, "invalid_argument", "request body needs a Content-Length"));
    return 0;
  }
  dispatchRequest(wsi, c);
  return 0;
}

int Server::Impl::onHttpBody(lws* wsi, const char* in, size_t len) {
  Conn* c = findConn(wsi);
  if (!c || !c->reading_body) return 0;
  if (c->body_too_large || c->request.body.size() + len > options.max_body_bytes) {
    c->body_too_large = true;
    c->request.body.clear();
    return 0;
  }
  c->request.body.append(in, len);
  return 0;
}

int Server::Impl::onHttpBodyDone(lws* wsi) {
  Conn* c = findConn(wsi);
  if (!c || !c->reading_body) return 0;
  c->reading_body = false;
  if (c->body_too_large) {
    answerNow(wsi, *c, errorResponse(413, "payload_too_large",
                                     "request body larger than " +
                                         std::to_string(options.max_body_bytes) + " bytes"));
    return 0;
  }
  dispatchRequest(wsi, *c);
  return 0;
}

void Server::Impl::dispatchRequest(lws* wsi, Conn& c) {
  c.awaiting_response = true;
  // The application answers when it can (a job may wait a minute): no lws timeout meanwhile.
  lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
  Handler& h = handler;
  poster([&h, req = std::move(c.request)]() mutable { h.onHttpRequest(std::move(req)); });
  c.request = HttpRequest{};
}

void Server::Impl::answerNow(lws* wsi, Conn& c, HttpResponse response) {
  Handler& h = handler;
  poster([&h, status = response.status] { h.onHttpAnsweredLocally(status); });
  c.awaiting_response = false;
  c.response = std::move(response);
  lws_callback_on_writable(wsi);
}

int Server::Impl::onHttpWriteable(lws* wsi) {
  Conn* c = findConn(wsi);
  if (!c || !c->response) return 0;
  HttpResponse& r = *c->response;
  // The headers and the body's first chunk go in one write: one segment and one wake-up of the
  // client for a small response, and no poll cycle between them. On h1 a headers write is raw
  // bytes (as in writeWhole()); lws counts only LWS_WRITE_HTTP writes against the length.
  const bool headers = !c->headers_written;
  const size_t n = std::min(kTxPacketBytes, r.body.size() - c->body_offset);
  const bool last = c->body_offset + n == r.body.size();
  constexpr size_t kHeaderRoom = 4096;
  std::vector<unsigned char> buf(LWS_PRE + (headers ? kHeaderRoom : 0) + n);
  unsigned char* const start = buf.data() + LWS_PRE;
  unsigned char* p = start;
  if (headers) {
    unsigned char* end = start + kHeaderRoom;
    bool no_body = r.status == 204 || r.status == 304;
    if (lws_add_http_common_headers(wsi, static_cast<unsigned>(r.status),
                                    no_body ? nullptr : r.content_type.c_str(), r.body.size(), &p,
                                    end))
      return -1;
    for (const auto& [name, value] : r.headers) {
      const std::string key = name + ":";
      if (lws_add_http_header_by_name(wsi, reinterpret_cast<const unsigned char*>(key.c_str()),
                                      reinterpret_cast<const unsigned char*>(value.data()),
                                      static_cast<int>(value.size()), &p, end))
        return -1;
    }
    if (c->close_after_response &&
        lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION,
                                     reinterpret_cast<const unsigned char*>("close"), 5, &p, end))
      return -1;
    if (lws_finalize_http_header(wsi, &p, end)) return -1;
    c->headers_written = true;
  }
  std::memcpy(p, r.body.data() + c->body_offset, n);
  p += n;
  const lws_write_protocol mode =
      headers ? LWS_WRITE_HTTP_HEADERS : last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP;
  if (lws_write(wsi, start, size_t(p - start), mode) < 0) return -1;
  c->body_offset += n;
  if (!last) {
    lws_callback_on_writable(wsi);
    return 0;
  }
  c->response.reset();
  c->headers_written = false;
  c->body_offset = 0;
  if (c->close_after_response) return -1;
  return lws_http_transaction_completed(wsi) ? -1 : 0;
}

int Server::Impl::onConfirmUpgrade(lws* wsi) {
  Conn& c = conn(wsi);
  UpgradeRequest req;
  req.path = header(wsi, WSI_TOKEN_GET_URI);
  req.query = header(wsi, WSI_TOKEN_HTTP_URI_ARGS);
  req.subprotocols = header(wsi, WSI_TOKEN_PROTOCOL);
  req.authorization = header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
  req.peer = c.peer;
  HttpResponse refusal;
  bool refused = true;
  const ServerOptions::WsEndpoint* endpoint = nullptr;
  for (const auto& e : options.endpoints)
    if (e.path == req.path) endpoint = &e;
  if (!endpoint) {
    refusal = errorResponse(404, "not_found", "no WebSocket endpoint at this path");
  } else if (req.subprotocols.find(endpoint->subprotocol) == std::string::npos) {
    refusal = errorResponse(400, "invalid_argument",
                            "WebSocket subprotocol " + endpoint->subprotocol + " required");
  } else {
    req.endpoint = endpoint->subprotocol;
    UpgradeDecision d = authorizer(req);
    refused = !d.accept;
    refusal = std::move(d.refusal);
    c.upgrade_context = std::move(d.context);
    if (d.accept && d.splice) c.splice.emplace().input = *d.splice;  // input waits for its stream
    c.join_binary = endpoint->binary_stream;
  }
  if (!refused) return 0;
  return writeWhole(wsi, refusal) < 0 ? -1 : 1;
}

int Server::Impl::onWsEstablished(lws* wsi) {
  Conn& c = conn(wsi);
  c.is_ws = true;
  // -1 when the client did not negotiate compression: nothing to size then.
  (void)lws_set_extension_option(wsi, "permessage-deflate", "tx_buf_size", kDeflateTxBufPow2);
  Handler& h = handler;
  poster([&h, id = c.id, peer = c.peer, ctx = c.upgrade_context] { h.onWsOpen(id, peer, ctx); });
  return 0;
}

int Server::Impl::onWsReceive(lws* wsi, const char* in, size_t len) {
  Conn* c = findConn(wsi);
  if (!c) return -1;
  if (!c->rx_in_progress) {
    c->rx.clear();
    c->rx_in_progress = true;
    c->rx_binary = lws_frame_is_binary(wsi) != 0;
    // A frame arrives in pieces of lws's read size: room for all of it at once saves the copies
    // of growing (most of the coordinator's copying in a console flood).
    const size_t frame = len + lws_remaining_packet_payload(wsi);
    if (frame <= options.max_ws_message_bytes) c->rx.reserve(frame);
  }
  if (c->rx.size() + len > options.max_ws_message_bytes) {
    static const char kReason[] = "message too large";
    lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
                     reinterpret_cast<unsigned char*>(const_cast<char*>(kReason)), sizeof kReason - 1);
    return -1;
  }
  c->rx.append(in, len);
  // Traffic from the peer proves the link alive as much as a pong does.
  lws_validity_confirmed(wsi);
  if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0) {
    c->rx_in_progress = false;
    // A console's bytes go straight to the other socket (splice.cpp).
    if ((c->rx_binary && relayFromLink(*c, c->rx)) || relayFromClient(*c, c->rx, c->rx_binary)) {
      c->rx = std::string();
      return 0;
    }
    Handler& h = handler;
    poster([&h, id = c->id, data = std::move(c->rx), bin = c->rx_binary]() mutable {
      h.onWsMessage(id, std::move(data), bin);
    });
    c->rx = std::string();
  }
  return 0;
}

int Server::Impl::onWsWriteable(lws* wsi) {
  Conn* c = findConn(wsi);
  if (!c || c->peer_closing) return 0;
  if (!c->out_active && !c->tx.empty()) {
    if (c->tx_bytes > kMaxQueuedBytes) {
      spdlog::warn("closing WebSocket from {}: {} bytes queued and not sent", c->peer, c->tx_bytes);
      return -1;
    }
    auto& [msg, binary] = c->tx.front();
    c->out = std::move(msg);
    c->out_binary = binary;
    c->out_offset = 0;
    c->out_active = true;
    c->tx.pop_front();
    c->tx_bytes -= c->out.size();
    while (c->join_binary && c->out_binary && !c->tx.empty() && c->tx.front().second &&
           c->out.size() + c->tx.front().first.size() <= kJoinedBinaryBytes) {
      c->out += c->tx.front().first;
      c->tx_bytes -= c->tx.front().first.size();
      c->tx.pop_front();
    }
  }
  if (c->out_active) {
    // lws still owes a previous write (a partial send, or an extension draining): wait for it.
    if (lws_send_pipe_choked(wsi)) {
      lws_callback_on_writable(wsi);
      return 0;
    }
    const size_t n = std::min(kMaxFragment, c->out.size() - c->out_offset);
    const bool first = c->out_offset == 0;
    const bool last = c->out_offset + n == c->out.size();
    int flags = first ? (c->out_binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT) : LWS_WRITE_CONTINUATION;
    if (!last) flags |= LWS_WRITE_NO_FIN;
    // lws writes the frame header into the LWS_PRE bytes before the payload, and with
    // permessage-deflate reads the payload after lws_write returns: the buffer lives on in Conn.
    c->wbuf.resize(LWS_PRE + n);
    std::memcpy(c->wbuf.data() + LWS_PRE, c->out.data() + c->out_offset, n);
    if (lws_write(wsi, c->wbuf.data() + LWS_PRE, n, static_cast<lws_write_protocol>(flags)) < 0)
      return -1;
    c->out_offset += n;
    if (last) {
      c->out_active = false;
      if (c->out_binary) spliceOutputSent(*c, c->out.size());
      c->out = std::string();
    }
    if (c->out_active || !c->tx.empty() || c->close_request) lws_callback_on_writable(wsi);
    return 0;
  }
  if (c->close_request) {
    auto& [code, reason] = *c->close_request;
    std::string r = reason.substr(0, 120);
    lws_close_reason(wsi, static_cast<lws_close_status>(code),
                     reinterpret_cast<unsigned char*>(r.data()), r.size());
    return -1;
  }
  return 0;
}

void Server::Impl::onClosed(lws* wsi) {
  Conn* c = findConn(wsi);
  if (!c || !c->is_ws) return;
  endSplices(*c);
  c->is_ws = false;  // reported once
  Handler& h = handler;
  poster([&h, id = c->id] { h.onWsClosed(id); });
}

}  // namespace zlh::coordinator::net
