// The HTTP client of artifacts and probes: URL parsing, redirects, limits, deadlines, cancellation
// and TLS verification against real loopback servers.
#include "plugins/lifecycle/http_get.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "plugins/lifecycle/tests/test_support.h"

namespace zlh::plugins::lifecycle {
namespace {
namespace sdk = agent::sdk;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

HttpGetOptions within(milliseconds ms) {
  HttpGetOptions o;
  o.deadline = steady_clock::now() + ms;
  return o;
}

TEST(HttpUrlTest, ParsesWhatArtifactsUse) {
  auto u = parseHttpUrl("https://user:pw@piston-data.mojang.com/v1/objects/abc/server.jar?x=1#f");
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "piston-data.mojang.com");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/v1/objects/abc/server.jar?x=1");
  u = parseHttpUrl("HTTP://[::1]:8080");
  ASSERT_TRUE(u.ok());
  EXPECT_FALSE(u->tls);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->target, "/");
  EXPECT_EQ(parseHttpUrl("http://h?q")->target, "/?q");
  for (const char* bad : {"file:///etc/passwd", "ftp://h/x", "h/x", "http://", "http://h:0/",
                          "http://h:65536/", "http://h:8o/", "http://[::1/", "http://h/a b"}) {
    auto r = parseHttpUrl(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, sdk::ErrorCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(parseHttpUrl("ftp://h/x").error().message, "only http and https URLs");
}

TEST(HttpUrlTest, RedirectTargets) {
  auto base = *parseHttpUrl("https://a.example/dir/file?q=1");
  EXPECT_EQ(resolveRedirect(base, "http://b.example/x"), "http://b.example/x");
  EXPECT_EQ(resolveRedirect(base, "//c.example/y"), "https://c.example/y");
  EXPECT_EQ(resolveRedirect(base, "/root"), "https://a.example:443/root");
  EXPECT_EQ(resolveRedirect(base, "sibling"), "https://a.example:443/dir/sibling");
}

TEST(HttpGetTest, BodyStatusRedirectsAndLimits) {
  test::HttpServer http;
  http.serve("/data", std::string(200000, 'd'));
  http.serve("/hop1", "/hop2", 302);
  http.serve("/hop2", http.url("/data"), 301);
  http.serve("/loop", "/loop", 302);

  std::string got;
  auto o = within(milliseconds(5000));
  o.max_redirects = 5;
  o.on_body = [&](std::string_view d) -> sdk::Status {
    got.append(d);
    return {};
  };
  auto a = httpGet(http.url("/hop1"), o);
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->status, 200);
  EXPECT_EQ(a->url, http.url("/data"));
  EXPECT_EQ(got, std::string(200000, 'd'));

  auto loop = httpGet(http.url("/loop"), o);
  ASSERT_FALSE(loop.ok());
  EXPECT_EQ(loop.error().message, "more than 5 redirects");

  // Without redirects a 3xx is an answer; a 404 is an answer unless fail_on_http_error.
  auto plain = within(milliseconds(5000));
  EXPECT_EQ(httpGet(http.url("/hop1"), plain)->status, 302);
  EXPECT_EQ(httpGet(http.url("/missing"), plain)->status, 404);
  plain.fail_on_http_error = true;
  EXPECT_EQ(httpGet(http.url("/missing"), plain).error().message, "HTTP status 404");

  got.clear();
  o.max_body_bytes = 1000;
  auto big = httpGet(http.url("/data"), o);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().message, "larger than 1000 bytes");
  EXPECT_LE(got.size(), 1000u + 64 * 1024);  // stopped at the first piece over the cap

  // A sink's error ends the transfer and is returned as is.
  o.max_body_bytes = UINT64_MAX;
  o.on_body = [](std::string_view) -> sdk::Status {
    return sdk::makeError(sdk::ErrorCode::kInternal, "disk full");
  };
  EXPECT_EQ(httpGet(http.url("/data"), o).error().message, "disk full");
}

TEST(HttpGetTest, DeadlineCancelAndRefusedConnections) {
  test::SilentServer silent;
  std::string url = "http://127.0.0.1:" + std::to_string(silent.port()) + "/";
  auto t0 = steady_clock::now();
  auto slow = httpGet(url, within(milliseconds(300)));
  ASSERT_FALSE(slow.ok());
  EXPECT_EQ(slow.error().code, sdk::ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(slow.error().message, "timed out while reading the response header");
  EXPECT_LT(steady_clock::now() - t0, milliseconds(2000));

  std::atomic<bool> stop{false};
  auto o = within(milliseconds(60000));
  o.cancelled = [&] { return stop.load(); };
  std::thread canceller([&] {
    ::poll(nullptr, 0, 200);
    stop = true;
  });
  t0 = steady_clock::now();
  auto cancelled = httpGet(url, o);
  canceller.join();
  ASSERT_FALSE(cancelled.ok());
  EXPECT_EQ(cancelled.error().message, "cancelled");
  EXPECT_LT(steady_clock::now() - t0, milliseconds(2000));

  uint16_t closed = test::freePort();
  auto refused = httpGet("http://127.0.0.1:" + std::to_string(closed) + "/", within(milliseconds(2000)));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, sdk::ErrorCode::kUnavailable);
  EXPECT_EQ(refused.error().message.rfind("connecting: ", 0), 0u) << refused.error().message;
}

/// A TLS server on loopback presenting a fresh self-signed certificate: the client must refuse it.
class SelfSignedTlsServer {
 public:
  SelfSignedTlsServer() {
    ctx_ = SSL_CTX_new(TLS_server_method());
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509_set_pubkey(cert, key);
    X509_sign(cert, key, EVP_sha256());
    SSL_CTX_use_certificate(ctx_, cert);
    SSL_CTX_use_PrivateKey(ctx_, key);
    X509_free(cert);
    EVP_PKEY_free(key);
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 4);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 5000) <= 0) return;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      SSL* ssl = SSL_new(ctx_);
      SSL_set_fd(ssl, c);
      if (SSL_accept(ssl) == 1) {
        handshakes_++;
        const char resp[] = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok";
        SSL_write(ssl, resp, sizeof resp - 1);
      }
      SSL_free(ssl);
      ::close(c);
    });
  }
  ~SelfSignedTlsServer() {
    thread_.join();
    ::close(fd_);
    SSL_CTX_free(ctx_);
  }
  uint16_t port() const { return port_; }
  int handshakes() const { return handshakes_.load(); }

 private:
  SSL_CTX* ctx_ = nullptr;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<int> handshakes_{0};
  std::thread thread_;
};

TEST(HttpGetTest, HttpsVerifiesTheServerCertificate) {
  SelfSignedTlsServer tls;
  auto r = httpGet("https://127.0.0.1:" + std::to_string(tls.port()) + "/",
                   within(milliseconds(5000)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, sdk::ErrorCode::kUnavailable);
  EXPECT_EQ(r.error().message.rfind("the TLS handshake: ", 0), 0u) << r.error().message;
  EXPECT_NE(r.error().message.find("certificate verify failed"), std::string::npos)
      << r.error().message;
}

}  // namespace
}  // namespace zlh::plugins::lifecycle
