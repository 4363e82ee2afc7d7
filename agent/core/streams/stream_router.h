#pragma once
// The agent's side of link streams (docs/protocol.md, "Streams"): stream.open goes to the plugin
// serving that kind, binary frames go to its handler, and bytes toward the peer leave only as the
// peer's credit allows (each stream's queue bounded by sdk::kStreamQueueBytes). Input is
// flow-controlled too: the agent grants kInputWindow bytes on open and re-grants what its handler
// consumed. Loop thread only; never calls a handler from inside a channel method it is running.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "agent/sdk/streams.h"
#include "agent/sdk/task.h"
#include "proto/v1/messages.h"

namespace zlh::agent::core {

class StreamRouter {
 public:
  using Opener = std::function<sdk::Result<std::unique_ptr<sdk::StreamHandler>>(
      const sdk::StreamRequest&, std::shared_ptr<sdk::StreamChannel>)>;
  struct Output {
    std::function<void(std::string)> text;    ///< an encoded envelope
    std::function<void(std::string)> binary;  ///< an encoded stream frame
    std::function<void(sdk::Task)> post;      ///< runs a task later on the loop
  };
  static constexpr uint64_t kInputWindow = 64 * 1024;

  StreamRouter(Output out, Opener open);
  ~StreamRouter();
  StreamRouter(const StreamRouter&) = delete;
  StreamRouter& operator=(const StreamRouter&) = delete;

  void onOpen(const proto::StreamOpen& open);
  void onClose(const proto::StreamClose& close);
  void onCredit(const proto::StreamCredit& credit);
  /// A binary frame from the peer. InvalidArgument for a frame that cannot be decoded; frames of
  /// a stream that is not open are ignored (it may have just closed).
  sdk::Status onBinary(std::string_view frame);
  /// The link dropped: every stream ends (handlers get onClosed), nothing is sent.
  void closeAll();
  size_t openStreams() const { return streams_.size(); }

 private:
  class Channel;
  struct Entry {
    std::shared_ptr<Channel> channel;
    std::unique_ptr<sdk::StreamHandler> handler;
  };
  friend class Channel;

  void pump(Channel& c);
  void sendClose(uint32_t id, const std::optional<sdk::Error>& error);
  /// Removes the stream; its handler is destroyed later (we may be inside one of its calls).
  void retire(uint32_t id, bool notify_handler);
  template <class Fn>
  void guarded(uint32_t id, const char* what, Fn fn);

  Output out_;
  Opener open_;
  std::map<uint32_t, Entry> streams_;
};

}  // namespace zlh::agent::core
