// Minecraft Server List Ping (the status protocol every Java edition server answers since
// 1.7): handshake with next state 1, status request, one status response carrying JSON.
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "plugins/lifecycle/probes.h"
#include "plugins/lifecycle/socket_util.h"

namespace zlh::plugins::lifecycle {
namespace sdk = agent::sdk;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kMaxStatusBytes = 256 * 1024;

sdk::Error unavailable(const std::string& what) {
  return sdk::makeError(sdk::ErrorCode::kUnavailable, "server list ping: " + what);
}

// Reads until one whole frame ([VarInt length][payload]) is buffered.
sdk::Result<std::vector<uint8_t>> readFrame(int fd, Clock::time_point deadline) {
  std::vector<uint8_t> buf;
  uint8_t chunk[4096];
  for (;;) {
    size_t pos = 0;
    auto len = readVarInt(buf, pos);
    if (len) {
      if (*len < 0 || size_t(*len) > kMaxStatusBytes)
        return unavailable("bad frame length " + std::to_string(*len));
      if (buf.size() - pos >= size_t(*len))
        return std::vector<uint8_t>(buf.begin() + long(pos), buf.begin() + long(pos) + *len);
    } else if (buf.size() >= 5) {
      return unavailable("bad frame length");
    }
    auto n = recvSome(fd, chunk, sizeof chunk, deadline);
    if (!n.ok()) return n.error().withContext("server list ping");
    if (*n == 0) return unavailable("connection closed before the status response");
    buf.insert(buf.end(), chunk, chunk + *n);
  }
}

sdk::Result<SlpStatus> parseStatus(const std::vector<uint8_t>& frame) {
  size_t pos = 0;
  auto id = readVarInt(frame, pos);
  if (!id || *id != 0) return unavailable("unexpected packet in the status response");
  auto len = readVarInt(frame, pos);
  if (!len || *len < 0 || frame.size() - pos < size_t(*len))
    return unavailable("truncated status string");
  std::string text(frame.begin() + long(pos), frame.begin() + long(pos) + *len);
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return unavailable("status is not a JSON object");
  SlpStatus s;
  if (auto p = doc.find("players"); p != doc.end() && p->is_object()) {
    if (auto o = p->find("online"); o != p->end() && o->is_number_integer())
      s.players_online = o->get<int64_t>();
    if (auto m = p->find("max"); m != p->end() && m->is_number_integer())
      s.players_max = m->get<int64_t>();
  }
  if (auto v = doc.find("version"); v != doc.end() && v->is_object()) {
    if (auto n = v->find("name"); n != v->end() && n->is_string())
      s.version_name = n->get<std::string>();
    if (auto p = v->find("protocol"); p != v->end() && p->is_number_integer())
      s.protocol = p->get<int64_t>();
  }
  s.raw = std::move(doc);
  return s;
}

}  // namespace

void appendVarInt(std::vector<uint8_t>& out, int32_t value) {
  auto v = static_cast<uint32_t>(value);
  do {
    uint8_t b = v & 0x7f;
    v >>= 7;
    if (v) b |= 0x80;
    out.push_back(b);
  } while (v);
}

std::optional<int32_t> readVarInt(const std::vector<uint8_t>& data, size_t& pos) {
  uint32_t value = 0;
  for (int i = 0; i < 5; ++i) {
    if (pos + size_t(i) >= data.size()) return std::nullopt;
    uint8_t b = data[pos + size_t(i)];
    value |= uint32_t(b & 0x7f) << (7 * i);
    if (!(b & 0x80)) {
      pos += size_t(i) + 1;
      return static_cast<int32_t>(value);
    }
  }
  return std::nullopt;
}

std::vector<uint8_t> buildHandshake(const std::string& host, uint16_t port, int32_t protocol) {
  std::vector<uint8_t> body;
  appendVarInt(body, 0x00);  // packet id: handshake
  appendVarInt(body, protocol);
  appendVarInt(body, int32_t(host.size()));
  body.insert(body.end(), host.begin(), host.end());
  body.push_back(uint8_t(port >> 8));
  body.push_back(uint8_t(port & 0xff));
  appendVarInt(body, 1);  // next state: status
  std::vector<uint8_t> out;
  appendVarInt(out, int32_t(body.size()));
  out.insert(out.end(), body.begin(), body.end());
  out.push_back(0x01);  // status request: length 1, packet id 0
  out.push_back(0x00);
  return out;
}

json SlpStatus::summary() const {
  json j = json::object();
  j["players_online"] = players_online ? json(*players_online) : json(nullptr);
  j["players_max"] = players_max ? json(*players_max) : json(nullptr);
  j["version"] = version_name;
  j["protocol"] = protocol ? json(*protocol) : json(nullptr);
  j["latency_ms"] = latency.count();
  return j;
}

sdk::Result<SlpStatus> serverListPing(const std::string& host, uint16_t port,
                                      std::chrono::milliseconds timeout, int32_t protocol_version) {
  auto start = Clock::now();
  auto deadline = start + timeout;
  auto sock = connectWithDeadline(host, port, deadline);
  if (!sock.ok()) return sock.error().withContext("server list ping");
  auto hello = buildHandshake(host, port, protocol_version);
  if (auto st = sendAll(sock->get(), hello.data(), hello.size(), deadline); !st.ok())
    return st.error().withContext("server list ping");
  auto frame = readFrame(sock->get(), deadline);
  if (!frame.ok()) return frame.error();
  auto status = parseStatus(*frame);
  if (!status.ok()) return status;
  status->latency = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  return status;
}

}  // namespace zlh::plugins::lifecycle
