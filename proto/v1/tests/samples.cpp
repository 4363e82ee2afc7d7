#include "proto/v1/tests/samples.h"

#include "proto/v1/codec.h"

namespace zlh::proto::samples {
namespace {
using nlohmann::json;

constexpr int64_t kTs = 1767225600000;  // 2026-01-01T00:00:00Z

template <class T>
Sample make(const T& msg, std::string variant) {
  Envelope env;
  env.type = T::kType;
  env.id = std::string(T::kType) + "-" + variant;
  env.ts = kTs;
  env.body = msg;
  return Sample{T::kType, std::move(variant), encodeEnvelope(env)};
}

Hello hello() {
  Hello h;
  h.node_id = "node-1";
  h.agent_version = "0.1.0";
  h.protocols = {1};
  h.plugins = {PluginInfo{"system", "running", {"system.ping", "system.info"}}};
  h.capacity = Capacity{4, uint64_t{8} << 30, uint64_t{100} << 30};
  h.metrics_url = "http://127.0.0.1:7421/metrics";
  h.instances = {InstanceSummary{"inst-1", "minecraft-java", "running", 7}};
  return h;
}

Hello minimalHello() {
  Hello h;
  h.node_id = "node-1";
  h.agent_version = "0.1.0";
  return h;
}

JobStart jobStart() {
  JobStart j;
  j.job_id = "job-1";
  j.kind = "lifecycle.start";
  j.instance_id = "inst-1";
  j.params = {{"force", false}};
  j.deadline_ms = kTs + 60000;
  return j;
}

JobDone jobDone(bool failed) {
  JobDone d;
  d.job_id = "job-1";
  if (failed) {
    d.error = Error{ErrorCode::kNotFound, "no instance inst-9"};
    d.redelivered = true;
  } else {
    d.result = json{{"pid", 4242}};
  }
  return d;
}

InstanceCrashed crashed() {
  InstanceCrashed c;
  c.instance_id = "inst-1";
  c.state_version = 9;
  c.exit = {{"code", 1},
            {"signal", nullptr},
            {"oom", false},
            {"time", "2026-01-01T00:00:00Z"},
            {"last_lines", {"Exception in thread main"}}};
  return c;
}
}  // namespace

std::vector<Sample> all() {
  std::vector<Sample> out;
  out.push_back(make(hello(), "full"));
  out.push_back(make(minimalHello(), "minimal"));
  out.push_back(make(Welcome{"node-1", "0.1.0", 1, 20}, "full"));
  out.push_back(make(jobStart(), "full"));
  out.push_back(make(JobStart{"job-2", "system.ping", std::nullopt, {}, 0}, "minimal"));
  out.push_back(make(JobProgress{"job-1", 42.5, "installing"}, "full"));
  out.push_back(make(JobProgress{"job-1", std::nullopt, ""}, "minimal"));
  out.push_back(make(jobDone(false), "result"));
  out.push_back(make(jobDone(true), "error"));
  out.push_back(make(InstanceState{"inst-1", "crashed", 8, "exit code 1"}, "full"));
  out.push_back(make(InstanceState{"inst-1", "running", 6, std::nullopt}, "minimal"));
  out.push_back(make(InstanceReady{"inst-1", 7}, "full"));
  out.push_back(make(crashed(), "full"));
  out.push_back(make(InstanceUnresponsive{"inst-1", 10, true}, "full"));
  out.push_back(
      make(StreamOpen{1, "console", "inst-1", {{"cols", 80}, {"rows", 24}}, 65536}, "full"));
  out.push_back(make(StreamClose{1, Error{ErrorCode::kUnavailable, "instance stopped"}}, "error"));
  out.push_back(make(StreamClose{1, std::nullopt}, "minimal"));
  out.push_back(make(StreamCredit{1, 65536}, "full"));
  out.push_back(
      make(ProtocolError{"bad_shape", "hello: capacity must be an object", "m-1"}, "full"));
  out.push_back(
      make(ProtocolError{"unknown_type", "unknown message type \"x\"", std::nullopt}, "minimal"));
  return out;
}

}  // namespace zlh::proto::samples
