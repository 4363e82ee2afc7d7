#include "plugins/lifecycle/http_get.h"

#include <openssl/ssl.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <limits>
#include <optional>

namespace zlh::plugins::lifecycle {
namespace sdk = agent::sdk;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kPollEvery = std::chrono::milliseconds(100);
constexpr size_t kChunk = 64 * 1024;

sdk::Error badUrl(const std::string& why) {
  return sdk::makeError(sdk::ErrorCode::kInvalidArgument, why);
}

/// Runs one asynchronous step to completion on `ioc`, aborting it (by `abort`) at the deadline or
/// when the caller cancels. Blocking; the io_context is private to one request.
class Stepper {
 public:
  Stepper(asio::io_context& ioc, const HttpGetOptions& o) : ioc_(ioc), o_(o) {}

  template <class Start>
  sdk::Status run(const char* what, const std::function<void()>& abort, Start start) {
    std::optional<error_code> result;
    start([&result](error_code ec) { result = ec; });
    bool aborted = false, by_caller = false;
    while (!result) {
      auto now = Clock::now();
      if (!aborted) {
        by_caller = o_.cancelled && o_.cancelled();
        if (by_caller || now >= o_.deadline) {
          aborted = true;
          abort();
        }
      }
      auto wait = aborted ? Clock::duration(kPollEvery)
                          : std::min<Clock::duration>(kPollEvery, o_.deadline - now);
      ioc_.run_one_for(wait);
    }
    ioc_.restart();
    if (aborted)
      return sdk::makeError(sdk::ErrorCode::kDeadlineExceeded,
                            by_caller ? std::string("cancelled")
                                      : std::string("timed out while ") + what);
    if (*result && *result != http::error::need_buffer)
      return sdk::makeError(sdk::ErrorCode::kUnavailable,
                            std::string(what) + ": " + result->message());
    return {};
  }

 private:
  asio::io_context& ioc_;
  const HttpGetOptions& o_;
};

struct Exchange {
  int status = 0;
  std::string location;
};

/// Request and response on a connected (and, for TLS, handshaken) stream.
template <class Stream>
sdk::Result<Exchange> exchange(Stream& stream, beast::tcp_stream& tcp, Stepper& step,
                               const HttpUrl& u, const HttpGetOptions& o) {
  auto close = [&tcp] { tcp.close(); };
  http::request<http::empty_body> req{http::verb::get, u.target, 11};
  bool default_port = u.port == (u.tls ? 443 : 80);
  std::string host = u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
  req.set(http::field::host, default_port ? host : host + ":" + std::to_string(u.port));
  req.set(http::field::user_agent, "zlh-agent");
  req.set(http::field::connection, "close");
  if (auto st = step.run("sending the request", close, [&](auto done) {
        http::async_write(stream, req, [done](error_code ec, size_t) { done(ec); });
      });
      !st.ok())
    return st.error();

  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.header_limit(64 * 1024);
  // Counted below, against max_body_bytes. Not boost::none: Beast 1.74 compares the content
  // length with the optional itself (`len_ > body_limit_`), and none is less than every value.
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  if (auto st = step.run("reading the response header", close, [&](auto done) {
        http::async_read_header(stream, buffer, parser,
                                [done](error_code ec, size_t) { done(ec); });
      });
      !st.ok())
    return st.error();
  Exchange out;
  out.status = static_cast<int>(parser.get().result_int());
  if (o.fail_on_http_error && out.status >= 400)
    return sdk::makeError(sdk::ErrorCode::kUnavailable, "HTTP status " + std::to_string(out.status));
  if (out.status >= 300 && out.status < 400 && o.max_redirects > 0) {
    out.location = std::string(parser.get()[http::field::location]);
    if (!out.location.empty()) return out;  // the body of a redirect is not wanted
  }
  std::vector<char> chunk(kChunk);
  uint64_t total = 0;
  while (!parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    if (auto st = step.run("reading the body", close, [&](auto done) {
          http::async_read(stream, buffer, parser, [done](error_code ec, size_t) { done(ec); });
        });
        !st.ok())
      return st.error();
    size_t n = chunk.size() - parser.get().body().size;
    total += n;
    if (total > o.max_body_bytes)
      return badUrl("larger than " + std::to_string(o.max_body_bytes) + " bytes");
    if (n && o.on_body) {
      if (auto st = o.on_body(std::string_view(chunk.data(), n)); !st.ok()) return st.error();
    }
  }
  return out;
}

sdk::Result<Exchange> getOnce(const HttpUrl& u, const HttpGetOptions& o) {
  asio::io_context ioc;
  Stepper step(ioc, o);
  asio::ip::tcp::resolver resolver(ioc);
  asio::ip::tcp::resolver::results_type endpoints;
  if (auto st = step.run("resolving the host", [&] { resolver.cancel(); },
                         [&](auto done) {
                           resolver.async_resolve(
                               u.host, std::to_string(u.port),
                               [&endpoints, done](error_code ec, auto results) {
                                 endpoints = std::move(results);
                                 done(ec);
                               });
                         });
      !st.ok())
    return st.error();

  auto connect = [&](beast::tcp_stream& tcp) {
    return step.run("connecting", [&] { tcp.close(); }, [&](auto done) {
      tcp.async_connect(endpoints, [done](error_code ec, auto) { done(ec); });
    });
  };
  if (!u.tls) {
    beast::tcp_stream tcp(ioc);
    if (auto st = connect(tcp); !st.ok()) return st.error();
    return exchange(tcp, tcp, step, u, o);
  }
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.set_default_verify_paths();
  ctx.set_verify_mode(asio::ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> tls(ioc, ctx);
  tls.set_verify_callback(asio::ssl::host_name_verification(u.host));
  if (!SSL_set_tlsext_host_name(tls.native_handle(), u.host.c_str()))
    return sdk::makeError(sdk::ErrorCode::kInternal, "TLS: cannot set the server name");
  auto& tcp = beast::get_lowest_layer(tls);
  if (auto st = connect(tcp); !st.ok()) return st.error();
  if (auto st = step.run("the TLS handshake", [&] { tcp.close(); }, [&](auto done) {
        tls.async_handshake(asio::ssl::stream_base::client, [done](error_code ec) { done(ec); });
      });
      !st.ok())
    return st.error();
  return exchange(tls, tcp, step, u, o);
}

}  // namespace

sdk::Result<HttpUrl> parseHttpUrl(const std::string& url) {
  HttpUrl u;
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return badUrl("bad URL: no scheme (want http:// or https://)");
  std::string scheme = url.substr(0, scheme_end);
  for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != "http" && scheme != "https") return badUrl("only http and https URLs");
  u.tls = scheme == "https";
  std::string rest = url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find('#'));
  size_t path_at = rest.find_first_of("/?");
  std::string authority = rest.substr(0, path_at);
  u.target = path_at == std::string::npos ? "/" : rest.substr(path_at);
  if (u.target.front() == '?') u.target.insert(0, "/");
  if (size_t at = authority.rfind('@'); at != std::string::npos) authority.erase(0, at + 1);
  std::string port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string::npos) return badUrl("bad URL: unclosed [ in the host");
    u.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return badUrl("bad URL: junk after ]");
      port = authority.substr(close + 2);
    }
  } else {
    size_t colon = authority.find(':');
    u.host = authority.substr(0, colon);
    if (colon != std::string::npos) port = authority.substr(colon + 1);
  }
  if (u.host.empty()) return badUrl("bad URL: no host");
  for (char c : u.target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return badUrl("bad URL: space or control character in the path");
  u.port = u.tls ? 443 : 80;
  if (!port.empty()) {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(port) == 0 || std::stoul(port) > 65535)
      return badUrl("bad URL: port \"" + port + "\"");
    u.port = static_cast<uint16_t>(std::stoul(port));
  }
  return u;
}

std::string resolveRedirect(const HttpUrl& base, const std::string& location) {
  if (location.find("://") != std::string::npos) return location;
  std::string host = base.host.find(':') != std::string::npos ? "[" + base.host + "]" : base.host;
  std::string origin = (base.tls ? "https" : "http");
  if (location.rfind("//", 0) == 0) return origin + ":" + location;
  origin += "://" + host + ":" + std::to_string(base.port);
  if (!location.empty() && location.front() == '/') return origin + location;
  std::string dir = base.target.substr(0, base.target.find('?'));
  dir = dir.substr(0, dir.rfind('/') + 1);
  return origin + dir + location;
}

sdk::Result<HttpAnswer> httpGet(const std::string& url, const HttpGetOptions& options) {
  std::string current = url;
  for (unsigned hops = 0;; ++hops) {
    auto u = parseHttpUrl(current);
    if (!u.ok()) return u.error();
    auto ex = getOnce(*u, options);
    if (!ex.ok()) return ex.error();
    if (ex->location.empty()) return HttpAnswer{ex->status, current};
    if (hops >= options.max_redirects)
      return badUrl("more than " + std::to_string(options.max_redirects) + " redirects");
    std::string next = resolveRedirect(*u, ex->location);
    auto nu = parseHttpUrl(next);
    if (!nu.ok()) return nu.error().withContext("redirect");
    if (u->tls && !nu->tls) return badUrl("redirect from https to http refused");
    current = next;
  }
}

}  // namespace zlh::plugins::lifecycle
