#include "coordinator/ctl/console_client.h"

#include <openssl/ssl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <chrono>
#include <array>
#include <deque>
#include <optional>

namespace zlh::coordinator::ctl {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using asio::ip::tcp;
using boost::system::error_code;
using proto::ErrorCode;
using proto::makeError;

namespace {

constexpr auto kRequestTimeout = std::chrono::seconds(10);
constexpr unsigned char kDetachKey = 0x1d;  // Ctrl-]
constexpr uint8_t kOpInput = 0x00, kOpResize = 0x01;

proto::Error netError(const std::string& what, const error_code& ec) {
  return makeError(ErrorCode::kUnavailable, what + ": " + ec.message());
}

std::string hostHeader(const BaseUrl& b) {
  std::string host = b.host.find(':') != std::string::npos ? "[" + b.host + "]" : b.host;
  bool dflt = b.port == (b.tls ? 443 : 80);
  return dflt ? host : host + ":" + std::to_string(b.port);
}

asio::ssl::context tlsContext() {
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.set_default_verify_paths();
  ctx.set_verify_mode(asio::ssl::verify_peer);
  return ctx;
}

template <class SslStream>
proto::Result<void> prepareTls(SslStream& s, const BaseUrl& b) {
  s.set_verify_callback(asio::ssl::host_name_verification(b.host));
  if (!SSL_set_tlsext_host_name(s.native_handle(), b.host.c_str()))
    return makeError(ErrorCode::kInternal, "TLS: cannot set the server name");
  return {};
}

/// Restores the terminal's mode when the session ends, however it ends.
class RawMode {
 public:
  RawMode() {
    if (!::isatty(STDIN_FILENO) || ::tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios raw = saved_;
    ::cfmakeraw(&raw);
    active_ = ::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
  }
  ~RawMode() {
    if (active_) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }
  bool active() const { return active_; }

 private:
  termios saved_{};
  bool active_ = false;
};

std::string resizeMessage() {
  winsize ws{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0 || ws.ws_row == 0) return "";
  std::string m(5, '\0');
  m[0] = static_cast<char>(kOpResize);
  m[1] = static_cast<char>(ws.ws_col >> 8);
  m[2] = static_cast<char>(ws.ws_col & 0xff);
  m[3] = static_cast<char>(ws.ws_row >> 8);
  m[4] = static_cast<char>(ws.ws_row & 0xff);
  return m;
}

void writeAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    p += w;
    n -= static_cast<size_t>(w);
  }
}

/// The attached session: WebSocket reads to stdout, stdin to the WebSocket, resizes, signals.
template <class Ws>
class Session {
 public:
  Session(asio::io_context& ioc, Ws& ws) : ioc_(ioc), ws_(ws), in_(ioc, ::dup(STDIN_FILENO)), signals_(ioc) {}

  ConsoleOutcome run() {
    raw_.emplace();
    signals_.add(SIGWINCH);
    signals_.add(SIGINT);
    signals_.add(SIGTERM);
    signals_.add(SIGHUP);
    waitSignal();
    queue(resizeMessage());
    readSocket();
    readStdin();
    ioc_.run();
    raw_.reset();
    return outcome_;
  }

 private:
  void finish() {
    done_ = true;
    signals_.cancel();
    error_code ignored;
    in_.cancel(ignored);
    in_.close(ignored);
  }
  void readSocket() {
    ws_.async_read(buf_, [this](error_code ec, size_t) {
      if (ec) {
        // A close frame arrived (the server may drop the TCP connection right after it, so the
        // closing handshake can end in another error): its code and reason are the outcome.
        if (ec == websocket::error::closed || ws_.reason().code != websocket::close_code::none) {
          outcome_.close_code = ws_.reason().code;
          outcome_.reason = std::string(ws_.reason().reason.c_str());
        } else if (!outcome_.detached) {
          outcome_.reason = ec == beast::error::timeout ? "the connection went silent"
                                                        : "connection lost: " + ec.message();
        }
        return finish();
      }
      if (ws_.got_binary()) {
        auto data = buf_.data();
        writeAll(STDOUT_FILENO, static_cast<const char*>(data.data()), data.size());
      }
      buf_.consume(buf_.size());
      readSocket();
    });
  }
  void readStdin() {
    if (done_ || stdin_done_) return;
    in_.async_read_some(asio::buffer(inbuf_), [this](error_code ec, size_t n) {
      if (ec || n == 0) {
        stdin_done_ = true;  // EOF: keep showing output until the server closes
        return;
      }
      std::string bytes(inbuf_.data(), n);
      if (raw_ && raw_->active()) {
        if (auto at = bytes.find(static_cast<char>(kDetachKey)); at != std::string::npos) {
          bytes.resize(at);
          if (!bytes.empty()) queue(std::string(1, char(kOpInput)) + bytes);
          return detach();
        }
      }
      queue(std::string(1, char(kOpInput)) + bytes);
      readStdin();
    });
  }
  void waitSignal() {
    signals_.async_wait([this](error_code ec, int sig) {
      if (ec || done_) return;
      if (sig == SIGWINCH) {
        queue(resizeMessage());
        return waitSignal();
      }
      detach();
    });
  }
  void detach() {
    if (done_ || outcome_.detached) return;
    outcome_.detached = true;
    outcome_.reason = "detached";
    closing_ = true;
    ws_.async_close(websocket::close_code::normal, [this](error_code) {});
  }
  void queue(std::string msg) {
    if (msg.empty() || closing_) return;
    out_.push_back(std::move(msg));
    if (out_.size() == 1) writeNext();
  }
  void writeNext() {
    ws_.binary(true);
    ws_.async_write(asio::buffer(out_.front()), [this](error_code ec, size_t) {
      out_.pop_front();
      if (ec) return;
      if (!out_.empty() && !closing_) writeNext();
    });
  }

  asio::io_context& ioc_;
  Ws& ws_;
  asio::posix::stream_descriptor in_;
  asio::signal_set signals_;
  std::optional<RawMode> raw_;
  beast::flat_buffer buf_;
  std::array<char, 4096> inbuf_{};
  std::deque<std::string> out_;
  ConsoleOutcome outcome_;
  bool done_ = false, stdin_done_ = false, closing_ = false;
};

template <class Ws>
proto::Result<ConsoleOutcome> handshakeAndRun(asio::io_context& ioc, Ws& ws, const BaseUrl& b,
                                              const std::string& ticket) {
  ws.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
    req.set(http::field::sec_websocket_protocol, "zlh.console.v1");
    req.set(http::field::user_agent, "zlhctl");
  }));
  websocket::response_type res;
  error_code ec;
  ws.handshake(res, hostHeader(b), b.path_prefix + "/api/v1/console?ticket=" + ticket, ec);
  if (ec) {
    if (res.result_int() != 0 && res.result_int() != 101)
      return makeError(ErrorCode::kUnauthenticated,
                       "console refused: HTTP " + std::to_string(res.result_int()) + " " +
                           res.body());
    return netError("console handshake", ec);
  }
  // Beast pings an idle connection and gives up when no answer comes (a silent network).
  websocket::stream_base::timeout t{};
  t.handshake_timeout = std::chrono::seconds(10);
  t.idle_timeout = std::chrono::seconds(15);
  t.keep_alive_pings = true;
  ws.set_option(t);
  ws.read_message_max(1 << 20);
  Session<Ws> session(ioc, ws);
  return session.run();
}

}  // namespace

proto::Result<BaseUrl> parseBaseUrl(const std::string& url) {
  BaseUrl b;
  std::string rest;
  if (url.rfind("https://", 0) == 0) {
    b.tls = true;
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else {
    return makeError(ErrorCode::kInvalidArgument, "URL must start with http:// or https://");
  }
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  b.path_prefix = slash == std::string::npos ? "" : rest.substr(slash);
  while (!b.path_prefix.empty() && b.path_prefix.back() == '/') b.path_prefix.pop_back();
  std::string port;
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string::npos) return makeError(ErrorCode::kInvalidArgument, "bad URL host");
    b.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') port = authority.substr(close + 2);
  } else {
    size_t colon = authority.find(':');
    b.host = authority.substr(0, colon);
    if (colon != std::string::npos) port = authority.substr(colon + 1);
  }
  if (b.host.empty()) return makeError(ErrorCode::kInvalidArgument, "URL has no host");
  b.port = b.tls ? 443 : 80;
  if (!port.empty()) {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(port) == 0 || std::stoul(port) > 65535)
      return makeError(ErrorCode::kInvalidArgument, "bad URL port \"" + port + "\"");
    b.port = static_cast<uint16_t>(std::stoul(port));
  }
  return b;
}

proto::Result<ApiAnswer> apiRequest(const BaseUrl& b, const std::string& method,
                                    const std::string& path, const std::string& token,
                                    const nlohmann::json* body) {
  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  error_code ec;
  auto endpoints = resolver.resolve(b.host, std::to_string(b.port), ec);
  if (ec) return netError("resolve " + b.host, ec);
  http::request<http::string_body> req{http::string_to_verb(method), b.path_prefix + path, 11};
  req.set(http::field::host, hostHeader(b));
  req.set(http::field::authorization, "Bearer " + token);
  req.set(http::field::user_agent, "zlhctl");
  if (body) {
    req.set(http::field::content_type, "application/json");
    req.body() = body->dump();
  }
  req.prepare_payload();
  http::response<http::string_body> res;
  beast::flat_buffer buffer;
  auto exchange = [&](auto& stream) -> proto::Result<void> {
    beast::get_lowest_layer(stream).expires_after(kRequestTimeout);
    error_code e;
    http::write(stream, req, e);
    if (e) return netError("send", e);
    http::read(stream, buffer, res, e);
    if (e) return netError("read", e);
    return {};
  };
  // Synchronous Beast calls ignore expires_after: SO_RCVTIMEO/SO_SNDTIMEO bound them instead.
  auto bound = [](tcp::socket& s) {
    timeval tv{static_cast<time_t>(kRequestTimeout.count()), 0};
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  };
  if (!b.tls) {
    beast::tcp_stream stream(ioc);
    stream.connect(endpoints, ec);
    if (ec) return netError("connect " + hostHeader(b), ec);
    bound(stream.socket());
    if (auto st = exchange(stream); !st) return st.error();
  } else {
    auto ctx = tlsContext();
    beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
    if (auto st = prepareTls(stream, b); !st) return st.error();
    beast::get_lowest_layer(stream).connect(endpoints, ec);
    if (ec) return netError("connect " + hostHeader(b), ec);
    bound(beast::get_lowest_layer(stream).socket());
    stream.handshake(asio::ssl::stream_base::client, ec);
    if (ec) return netError("TLS handshake", ec);
    if (auto st = exchange(stream); !st) return st.error();
  }
  ApiAnswer a;
  a.status = static_cast<int>(res.result_int());
  a.body = nlohmann::json::parse(res.body(), nullptr, false);
  if (a.body.is_discarded()) a.body = nullptr;
  return a;
}

proto::Result<ConsoleOutcome> attachConsole(const BaseUrl& b, const std::string& ticket) {
  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  error_code ec;
  auto endpoints = resolver.resolve(b.host, std::to_string(b.port), ec);
  if (ec) return netError("resolve " + b.host, ec);
  if (!b.tls) {
    websocket::stream<beast::tcp_stream> ws(ioc);
    beast::get_lowest_layer(ws).connect(endpoints, ec);
    if (ec) return netError("connect " + hostHeader(b), ec);
    return handshakeAndRun(ioc, ws, b, ticket);
  }
  auto ctx = tlsContext();
  websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws(ioc, ctx);
  if (auto st = prepareTls(ws.next_layer(), b); !st) return st.error();
  beast::get_lowest_layer(ws).connect(endpoints, ec);
  if (ec) return netError("connect " + hostHeader(b), ec);
  ws.next_layer().handshake(asio::ssl::stream_base::client, ec);
  if (ec) return netError("TLS handshake", ec);
  return handshakeAndRun(ioc, ws, b, ticket);
}

}  // namespace zlh::coordinator::ctl
