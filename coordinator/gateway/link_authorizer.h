#pragma once
// Checks the node token of an agent link before the WebSocket upgrade is answered. Called on
// the network thread (lws filters cannot wait), so it owns its own read-only store connection:
// SQLite's WAL lets it read while the logic thread's writer writes.
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "coordinator/common/metrics.h"
#include "coordinator/store/store.h"

namespace zlh::coordinator::gateway {

struct LinkAuth {
  bool ok = false;
  std::string node_id;  // when ok
  int http_status = 401;
  std::string code = "unauthenticated";
  std::string message;
};

class LinkAuthorizer {
 public:
  LinkAuthorizer(std::unique_ptr<store::Store> reader, common::Metrics& metrics);
  /// `authorization` is the raw header value (a secret: never logged).
  LinkAuth authorize(std::string_view authorization, std::string_view peer);

 private:
  LinkAuth refuse(std::string_view reason, std::string_view peer, std::string_view hash,
                  std::string message);

  std::mutex mu_;
  std::unique_ptr<store::Store> reader_;
  common::Metrics& metrics_;
};

}  // namespace zlh::coordinator::gateway
