#pragma once
// Private to the transport module: the libwebsockets implementation of Transport. Every lws
// object is created, used and destroyed on the network thread (after init(), which runs before
// that thread starts). Other threads only push commands under mu_ and wake that thread with
// lws_cancel_service() (wake()).
#include <libwebsockets.h>

#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <variant>
#include <vector>

#include "agent/core/transport/transport.h"

namespace zlh::agent::core::transport_detail {

/// The most lws sends to a socket in one call (a protocol's tx_packet_size). Without it lws caps
/// each send at the protocol's rx buffer size, or 4 KiB, and sends the rest one poll cycle at a
/// time: a 30 KB /metrics answer took 9 sends and 13 polls. HTTP bodies are written in pieces of
/// this size.
constexpr size_t kTxPacketBytes = 64 * 1024;

/// The most sockets the agent's lws context holds at once: the link, the listeners, lws's cancel
/// pipe and the /metrics and /healthz clients. Without a limit lws sizes two tables by the fd
/// ulimit (8 bytes a slot each, and it writes every slot): 320 KB of private memory at a ulimit
/// of 20,000 and 1 MB under the unit's LimitNOFILE=65536. With it lws finds a socket's
/// connection by a scan of this many slots, whatever the socket's fd number. A client beyond the
/// limit waits in the listen backlog until another leaves (integration test "sockets numbered").
constexpr unsigned kMaxSockets = 256;

struct DialCmd {
  uint64_t link;
};
struct SendCmd {
  uint64_t link;
  std::string data;
  bool binary = false;
};
struct CloseCmd {
  uint64_t link;
  int code;
  std::string reason;
};
struct RespondCmd {
  uint64_t request;
  HttpResponse response;
};
struct StopCmd {};
using Command = std::variant<DialCmd, SendCmd, CloseCmd, RespondCmd, StopCmd>;

class LwsTransport final : public Transport {
 public:
  LwsTransport(TransportConfig config, Executor post, LinkHandler& link, HttpHandler& http);
  ~LwsTransport() override;

  sdk::Status init();

  uint64_t dial() override;
  void send(uint64_t link, std::string text) override;
  void sendBinary(uint64_t link, std::string bytes) override;
  void close(uint64_t link, int code, std::string reason) override;
  void respond(uint64_t request, HttpResponse response) override;
  uint16_t httpPort() const override { return http_port_; }
  void shutdown() override;

  static int clientCallback(lws* wsi, lws_callback_reasons reason, void* user, void* in,
                            size_t len);
  static int httpCallback(lws* wsi, lws_callback_reasons reason, void* user, void* in, size_t len);

 private:
  // Network-thread state of one link (dial attempt or open WebSocket).
  struct ClientLink {
    lws* wsi = nullptr;
    bool open = false;
    bool reported = false;  // onLinkClosed already posted
    bool in_message = false;
    bool in_binary = false;
    bool in_oversize = false;
    size_t in_bytes = 0;
    std::string in;
    std::deque<std::pair<std::string, bool>> out;  // message, binary
    bool closing = false;
    int close_code = 1000;
    std::string close_reason;
    int peer_code = 0;
    std::string peer_reason;
  };
  // Network-thread state of one HTTP request.
  struct HttpExchange {
    lws* wsi = nullptr;
    bool answered = false;
    bool headers_sent = false;
    HttpResponse response;
    size_t sent = 0;
    bool close_after = false;
  };

  void push(Command cmd);
  /// Wakes the network thread (lws_cancel_service) unless its context is gone.
  void wake();
  void serviceLoop();
  void drain();
  void handle(DialCmd& c);
  void handle(SendCmd& c);
  void handle(CloseCmd& c);
  void handle(RespondCmd& c);
  void handle(StopCmd& c);
  void toCore(sdk::Task fn);
  void reportClosed(uint64_t id, ClientLink& l, int http_status, std::string reason);

  int onClient(lws* wsi, lws_callback_reasons reason, void* in, size_t len);
  void onClientReceive(uint64_t id, ClientLink& l, lws* wsi, const char* in, size_t len);
  int onClientWritable(ClientLink& l, lws* wsi);
  int onHttp(lws* wsi, lws_callback_reasons reason, uint64_t* pss, void* in, size_t len);
  int onHttpWritable(lws* wsi, HttpExchange& ex);

  const TransportConfig config_;
  const Executor post_;
  LinkHandler& link_handler_;
  HttpHandler& http_handler_;

  lws_context* ctx_ = nullptr;
  lws_vhost* client_vh_ = nullptr;
  uint16_t http_port_ = 0;
  lws_retry_bo_t retry_{};
  uint32_t retry_table_[1] = {1000};
  std::thread thread_;

  std::mutex mu_;  // guards commands_ and stopped_
  std::deque<Command> commands_;
  bool stopped_ = false;
  // The context other threads wake, null once the network thread destroys it. Its own mutex, not
  // mu_: a woken network thread takes mu_ at once (drain), and would sleep on it while the waker
  // still held it.
  std::mutex wake_mu_;
  lws_context* wake_ctx_ = nullptr;
  std::atomic<uint64_t> next_link_{1};

  // Network thread only.
  bool running_ = true;
  std::map<uint64_t, ClientLink> links_;
  std::map<uint64_t, HttpExchange> http_;
  uint64_t next_request_ = 1;
  std::vector<unsigned char> wbuf_;
};

}  // namespace zlh::agent::core::transport_detail
