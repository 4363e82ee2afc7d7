#pragma once
// Message bodies of the agent link, ARCHITECTURE.md section 4. Each struct names its envelope
// type in kType. Field names here are the wire names; see docs/protocol.md.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "proto/v1/error.h"

namespace zlh::proto {

inline constexpr int kProtocolVersion = 1;
inline constexpr const char* kAgentSubprotocol = "zlh.agent.v1";

struct Capacity {
  uint32_t cpus = 0;
  uint64_t memory_bytes = 0;
  uint64_t disk_bytes = 0;
};

struct PluginInfo {
  std::string name;
  std::string state;  // "running" | "failed" | "stopped"
  std::vector<std::string> job_kinds;
};

struct InstanceSummary {
  std::string id;
  std::string template_name;  // wire: "template"
  std::string state;
  uint64_t state_version = 0;
};

/// agent -> coordinator, first message on every link.
struct Hello {
  static constexpr const char* kType = "hello";
  std::string node_id;
  std::string agent_version;
  std::vector<int> protocols{kProtocolVersion};
  std::vector<PluginInfo> plugins;
  Capacity capacity;
  std::string metrics_url;
  std::vector<InstanceSummary> instances;
};

/// coordinator -> agent, answer to hello.
struct Welcome {
  static constexpr const char* kType = "welcome";
  std::string node_id;
  std::string coordinator_version;
  int protocol = kProtocolVersion;
  uint32_t ping_interval_s = 20;
};

/// coordinator -> agent.
struct JobStart {
  static constexpr const char* kType = "job.start";
  std::string job_id;
  std::string kind;
  std::optional<std::string> instance_id;
  nlohmann::json params = nlohmann::json::object();
  int64_t deadline_ms = 0;  // unix ms; 0 = none
};

/// agent -> coordinator.
struct JobProgress {
  static constexpr const char* kType = "job.progress";
  std::string job_id;
  std::optional<double> percent;
  std::string message;
};

/// agent -> coordinator. Exactly one of result / error.
struct JobDone {
  static constexpr const char* kType = "job.done";
  std::string job_id;
  std::optional<nlohmann::json> result;
  std::optional<Error> error;
  bool redelivered = false;  // true when answered from the agent's record of finished jobs
};

/// agent -> coordinator events. Each carries the instance's state version.
struct InstanceState {
  static constexpr const char* kType = "instance.state";
  std::string instance_id;
  std::string state;
  uint64_t state_version = 0;
  std::optional<std::string> reason;
};

struct InstanceReady {
  static constexpr const char* kType = "instance.ready";
  std::string instance_id;
  uint64_t state_version = 0;
};

struct InstanceCrashed {
  static constexpr const char* kType = "instance.crashed";
  std::string instance_id;
  uint64_t state_version = 0;
  nlohmann::json exit = nlohmann::json::object();  // exit record (code, signal, oom, time, last lines)
};

struct InstanceUnresponsive {
  static constexpr const char* kType = "instance.unresponsive";
  std::string instance_id;
  uint64_t state_version = 0;
  bool unresponsive = true;
};

/// Either direction: open a stream (console, file transfer).
struct StreamOpen {
  static constexpr const char* kType = "stream.open";
  uint32_t stream_id = 0;
  std::string kind;
  std::string instance_id;
  nlohmann::json params = nlohmann::json::object();
  uint64_t initial_credit = 0;  // bytes the opener may receive before the first stream.credit
};

struct StreamClose {
  static constexpr const char* kType = "stream.close";
  uint32_t stream_id = 0;
  std::optional<Error> error;
};

/// Grants the peer `bytes` more bytes of binary stream data.
struct StreamCredit {
  static constexpr const char* kType = "stream.credit";
  uint32_t stream_id = 0;
  uint64_t bytes = 0;
};

/// Typed protocol error; `code` is a proto::ErrorCode wire name or a codec code.
struct ProtocolError {
  static constexpr const char* kType = "error";
  std::string code;
  std::string message;
  std::optional<std::string> ref;  // id of the offending message, when known
};

#define ZLH_PROTO_JSON(T)                          \
  void to_json(nlohmann::json& j, const T& v);     \
  void from_json(const nlohmann::json& j, T& v);
ZLH_PROTO_JSON(Capacity)
ZLH_PROTO_JSON(PluginInfo)
ZLH_PROTO_JSON(InstanceSummary)
ZLH_PROTO_JSON(Hello)
ZLH_PROTO_JSON(Welcome)
ZLH_PROTO_JSON(JobStart)
ZLH_PROTO_JSON(JobProgress)
ZLH_PROTO_JSON(JobDone)
ZLH_PROTO_JSON(InstanceState)
ZLH_PROTO_JSON(InstanceReady)
ZLH_PROTO_JSON(InstanceCrashed)
ZLH_PROTO_JSON(InstanceUnresponsive)
ZLH_PROTO_JSON(StreamOpen)
ZLH_PROTO_JSON(StreamClose)
ZLH_PROTO_JSON(StreamCredit)
ZLH_PROTO_JSON(ProtocolError)
#undef ZLH_PROTO_JSON

}  // namespace zlh::proto
