// libwebsockets callbacks of the transport: the client link and the read-only HTTP listener.
// All of this runs on the network thread.
#include <arpa/inet.h>

#include <cstring>

#include "agent/core/transport/lws_transport_impl.h"
#include "agent/core/transport/ws_client_frame.h"

namespace zlh::agent::core::transport_detail {
namespace {

LwsTransport* self(lws* wsi) {
  return static_cast<LwsTransport*>(lws_context_user(lws_get_context(wsi)));
}

uint64_t linkId(lws* wsi) {
  return wsi ? uint64_t(reinterpret_cast<uintptr_t>(lws_get_opaque_user_data(wsi))) : 0;
}

std::string methodOf(lws* wsi) {
  struct M {
    lws_token_indexes token;
    const char* name;
  };
  static const M kMethods[] = {
      {WSI_TOKEN_GET_URI, "GET"},         {WSI_TOKEN_POST_URI, "POST"},
      {WSI_TOKEN_OPTIONS_URI, "OPTIONS"}, {WSI_TOKEN_HEAD_URI, "HEAD"},
      {WSI_TOKEN_PUT_URI, "PUT"},         {WSI_TOKEN_PATCH_URI, "PATCH"},
      {WSI_TOKEN_DELETE_URI, "DELETE"},
  };
  for (const auto& m : kMethods)
    if (lws_hdr_total_length(wsi, m.token) > 0) return m.name;
  return "OTHER";
}

}  // namespace

int LwsTransport::clientCallback(lws* wsi, lws_callback_reasons reason, void*, void* in,
                                 size_t len) {
  if (reason == LWS_CALLBACK_EVENT_WAIT_CANCELLED) {
    self(wsi)->drain();
    return 0;
  }
  return self(wsi)->onClient(wsi, reason, in, len);
}

int LwsTransport::onClient(lws* wsi, lws_callback_reasons reason, void* in, size_t len) {
  const uint64_t id = linkId(wsi);
  auto it = links_.find(id);
  if (id == 0 || it == links_.end()) return 0;
  ClientLink& l = it->second;
  if (!l.wsi) l.wsi = wsi;

  switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
      auto** p = static_cast<unsigned char**>(in);
      unsigned char* end = *p + len;
      const std::string value = "Bearer " + config_.token;
      if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION,
                                       reinterpret_cast<const unsigned char*>(value.data()),
                                       int(value.size()), p, end))
        return -1;
      return 0;
    }
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
      l.open = true;
      toCore([h = &link_handler_, id] { h->onLinkOpen(id); });
      if (l.closing || !l.out.empty()) lws_callback_on_writable(wsi);
      return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
      onClientReceive(id, l, wsi, static_cast<const char*>(in), len);
      return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
      return onClientWritable(l, wsi);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
      if (len >= 2) {
        const auto* b = static_cast<const unsigned char*>(in);
        l.peer_code = (b[0] << 8) | b[1];
        l.peer_reason.assign(reinterpret_cast<const char*>(b) + 2, len - 2);
      }
      return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
      const int status = int(lws_http_client_http_response(wsi));
      std::string why = in ? std::string(static_cast<const char*>(in), len) : "connection error";
      reportClosed(id, l, status == 101 ? 0 : status, why);
      return 0;
    }
    case LWS_CALLBACK_CLIENT_CLOSED:
      reportClosed(id, l, 0, "closed");
      return 0;
    case LWS_CALLBACK_WSI_DESTROY:
      reportClosed(id, l, 0, "connection lost");
      links_.erase(it);
      return 0;
    default:
      return 0;
  }
}

void LwsTransport::onClientReceive(uint64_t id, ClientLink& l, lws* wsi, const char* in,
                                   size_t len) {
  if (!l.in_message) {
    l.in_message = true;
    l.in_binary = lws_frame_is_binary(wsi);
    l.in_oversize = false;
    l.in_bytes = 0;
    l.in.clear();
  }
  l.in_bytes += len;
  if (!l.in_oversize) {
    if (l.in.size() + len > config_.max_message_bytes) {
      l.in_oversize = true;
      std::string().swap(l.in);
    } else {
      l.in.append(in, len);
    }
  }
  if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) != 0) return;
  l.in_message = false;
  if (l.in_oversize) {
    std::string why = "message of " + std::to_string(l.in_bytes) + " bytes exceeds the limit of " +
                      std::to_string(config_.max_message_bytes);
    toCore([h = &link_handler_, id, why = std::move(why)]() mutable {
      h->onLinkRejected(id, std::move(why));
    });
  } else if (l.in_binary) {
    toCore([h = &link_handler_, id, bytes = std::move(l.in)]() mutable {
      h->onLinkBinary(id, std::move(bytes));
    });
    l.in = std::string();
  } else {
    toCore([h = &link_handler_, id, text = std::move(l.in)]() mutable {
      h->onLinkText(id, std::move(text));
    });
    l.in = std::string();
  }
}

int LwsTransport::onClientWritable(ClientLink& l, lws* wsi) {
  if (l.closing) {
    lws_close_reason(wsi, lws_close_status(l.close_code),
                     reinterpret_cast<unsigned char*>(l.close_reason.data()),
                     l.close_reason.size());
    return -1;
  }
  if (l.out.empty()) return 0;
  const auto& [msg, binary] = l.out.front();
  // The frame is ours (ws_client_frame.h); lws sends it as raw bytes, buffering what the socket
  // does not take and sending nothing else on this connection before the rest.
  unsigned char key[4];
  if (lws_get_random(lws_get_context(wsi), key, sizeof(key)) != sizeof(key)) return -1;
  wbuf_.resize(LWS_PRE + clientFrameHeaderSize(msg.size()) + msg.size());
  const size_t frame = writeClientFrame(wbuf_.data() + LWS_PRE, binary, msg, key);
  if (lws_write(wsi, wbuf_.data() + LWS_PRE, frame, LWS_WRITE_HTTP) < int(frame)) return -1;
  l.out.pop_front();
  if (wbuf_.capacity() > 256 * 1024) std::vector<unsigned char>().swap(wbuf_);
  if (!l.out.empty()) lws_callback_on_writable(wsi);
  return 0;
}

int LwsTransport::httpCallback(lws* wsi, lws_callback_reasons reason, void* user, void* in,
                               size_t len) {
  if (reason == LWS_CALLBACK_EVENT_WAIT_CANCELLED) {
    self(wsi)->drain();
    return 0;
  }
  return self(wsi)->onHttp(wsi, reason, static_cast<uint64_t*>(user), in, len);
}

int LwsTransport::onHttp(lws* wsi, lws_callback_reasons reason, uint64_t* pss, void* in,
                         size_t len) {
  switch (reason) {
    case LWS_CALLBACK_HTTP: {
      if (!pss) return -1;
      const uint64_t id = next_request_++;
      *pss = id;
      HttpRequest req;
      req.id = id;
      req.method = methodOf(wsi);
      req.path = in ? std::string(static_cast<const char*>(in), len) : "/";
      if (auto q = req.path.find('?'); q != std::string::npos) req.path.resize(q);
      if (const int n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_ACCEPT_ENCODING);
          n > 0 && n < 1024) {
        req.accept_encoding.resize(size_t(n) + 1);
        const int got =
            lws_hdr_copy(wsi, req.accept_encoding.data(), n + 1, WSI_TOKEN_HTTP_ACCEPT_ENCODING);
        req.accept_encoding.resize(got > 0 ? size_t(got) : 0);
      }
      HttpExchange& ex = http_[id];
      ex.wsi = wsi;
      ex.close_after = req.method != "GET";  // do not parse a body we never read
      toCore([h = &http_handler_, req = std::move(req)]() mutable {
        h->onHttpRequest(std::move(req));
      });
      return 0;
    }
    case LWS_CALLBACK_HTTP_WRITEABLE: {
      auto it = pss ? http_.find(*pss) : http_.end();
      if (it == http_.end() || !it->second.answered) return 0;
      return onHttpWritable(wsi, it->second);
    }
    case LWS_CALLBACK_CLOSED_HTTP:
      if (pss && *pss) http_.erase(*pss);
      return 0;
    default:
      return lws_callback_http_dummy(wsi, reason, pss, in, len);
  }
}

namespace {

/// Room for the response headers ahead of the body in the send buffer.
constexpr size_t kHeaderRoom = 1024;

/// Adds the response's headers at *p (below end) and ends the header block.
bool addResponseHeaders(lws* wsi, const HttpResponse& r, bool close_after, unsigned char** p,
                        unsigned char* end) {
  auto byName = [&](const char* name, std::string_view value) {
    return !lws_add_http_header_by_name(wsi, reinterpret_cast<const unsigned char*>(name),
                                        reinterpret_cast<const unsigned char*>(value.data()),
                                        int(value.size()), p, end);
  };
  auto byToken = [&](lws_token_indexes token, std::string_view value) {
    return !lws_add_http_header_by_token(
        wsi, token, reinterpret_cast<const unsigned char*>(value.data()), int(value.size()), p,
        end);
  };
  return !lws_add_http_common_headers(wsi, unsigned(r.status), r.content_type.c_str(),
                                      r.body.size(), p, end) &&
         byName("cache-control:", "no-store") &&
         (r.allow.empty() || byName("allow:", r.allow)) &&
         (r.content_encoding.empty() ||
          byToken(WSI_TOKEN_HTTP_CONTENT_ENCODING, r.content_encoding)) &&
         (!r.vary_accept_encoding || byName("vary:", "Accept-Encoding")) &&
         (!close_after || byToken(WSI_TOKEN_CONNECTION, "close")) &&
         !lws_finalize_http_header(wsi, p, end);
}

}  // namespace

int LwsTransport::onHttpWritable(lws* wsi, HttpExchange& ex) {
  const HttpResponse& r = ex.response;
  const bool headers = !ex.headers_sent;
  const size_t n = std::min(kTxPacketBytes, r.body.size() - ex.sent);
  const bool last = ex.sent + n == r.body.size();
  wbuf_.resize(LWS_PRE + (headers ? kHeaderRoom : 0) + n);
  unsigned char* const start = wbuf_.data() + LWS_PRE;
  unsigned char* p = start;
  if (headers) {
    if (!addResponseHeaders(wsi, r, ex.close_after, &p, start + kHeaderRoom)) return -1;
    ex.headers_sent = true;
  }
  // The headers and the body's first chunk go in one send: one segment and one wake-up of the
  // client for a small response, not two (lws_finalize_write_http_header() sent them alone).
  // On h1, a headers write is raw bytes; lws counts only LWS_WRITE_HTTP writes against the
  // content length.
  std::memcpy(p, r.body.data() + ex.sent, n);
  p += n;
  const int len = int(p - start);
  const lws_write_protocol mode =
      headers ? LWS_WRITE_HTTP_HEADERS : last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP;
  if (lws_write(wsi, start, size_t(len), mode) != len) return -1;
  ex.sent += n;
  if (!last) {
    lws_callback_on_writable(wsi);
    return 0;
  }
  const bool close_after = ex.close_after;
  uint64_t* pss = static_cast<uint64_t*>(lws_wsi_user(wsi));
  if (pss) {
    http_.erase(*pss);
    *pss = 0;
  }
  if (close_after) return -1;
  return lws_http_transaction_completed(wsi) ? -1 : 0;
}

}  // namespace zlh::agent::core::transport_detail
