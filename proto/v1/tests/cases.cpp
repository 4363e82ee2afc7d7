// Valid and invalid variants of the samples, with the decoder's expected verdict.
#include <nlohmann/json.hpp>
#include <utility>

#include "proto/v1/tests/samples.h"

namespace zlh::proto::samples {
namespace {
using nlohmann::json;

enum class Kind {
  kString,
  kU32,
  kU64,
  kI32,
  kI64,
  kNumber,
  kBool,
  kObject,
  kStrings,
  kI32s,
  kObjects,
  kErrorCode,
  kAny
};

struct Field {
  const char* pointer;  // inside the body
  Kind kind;
  bool required;
};

struct Shape {
  const char* type;
  const char* variant;  // which sample is the base
  std::vector<Field> fields;
};

const std::vector<Shape>& shapes() {
  using K = Kind;
  static const std::vector<Shape> s{
      {"hello",
       "full",
       {{"/node_id", K::kString, true},
        {"/agent_version", K::kString, true},
        {"/protocols", K::kI32s, true},
        {"/plugins", K::kObjects, true},
        {"/plugins/0/name", K::kString, true},
        {"/plugins/0/state", K::kString, true},
        {"/plugins/0/job_kinds", K::kStrings, true},
        {"/capacity", K::kObject, true},
        {"/capacity/cpus", K::kU32, true},
        {"/capacity/memory_bytes", K::kU64, true},
        {"/capacity/disk_bytes", K::kU64, true},
        {"/metrics_url", K::kString, true},
        {"/instances", K::kObjects, true},
        {"/instances/0/id", K::kString, true},
        {"/instances/0/template", K::kString, true},
        {"/instances/0/state", K::kString, true},
        {"/instances/0/state_version", K::kU64, true}}},
      {"welcome",
       "full",
       {{"/node_id", K::kString, true},
        {"/coordinator_version", K::kString, true},
        {"/protocol", K::kI32, true},
        {"/ping_interval_s", K::kU32, false}}},
      {"job.start",
       "full",
       {{"/job_id", K::kString, true},
        {"/kind", K::kString, true},
        {"/instance_id", K::kString, false},
        {"/params", K::kObject, false},
        {"/deadline_ms", K::kI64, false}}},
      {"job.progress",
       "full",
       {{"/job_id", K::kString, true},
        {"/percent", K::kNumber, false},
        {"/message", K::kString, false}}},
      {"job.done", "result", {{"/job_id", K::kString, true}, {"/result", K::kAny, true}}},
      {"job.done",
       "error",
       {{"/error", K::kObject, true},
        {"/error/code", K::kErrorCode, true},
        {"/error/message", K::kString, true},
        {"/redelivered", K::kBool, false}}},
      {"instance.state",
       "full",
       {{"/instance_id", K::kString, true},
        {"/state", K::kString, true},
        {"/state_version", K::kU64, true},
        {"/reason", K::kString, false}}},
      {"instance.ready",
       "full",
       {{"/instance_id", K::kString, true}, {"/state_version", K::kU64, true}}},
      {"instance.crashed",
       "full",
       {{"/instance_id", K::kString, true},
        {"/state_version", K::kU64, true},
        {"/exit", K::kObject, true}}},
      {"instance.unresponsive",
       "full",
       {{"/instance_id", K::kString, true},
        {"/state_version", K::kU64, true},
        {"/unresponsive", K::kBool, true}}},
      {"stream.open",
       "full",
       {{"/stream_id", K::kU32, true},
        {"/kind", K::kString, true},
        {"/instance_id", K::kString, true},
        {"/params", K::kObject, false},
        {"/initial_credit", K::kU64, false}}},
      {"stream.close",
       "error",
       {{"/stream_id", K::kU32, true},
        {"/error", K::kObject, false},
        {"/error/code", K::kErrorCode, true}}},
      {"stream.credit", "full", {{"/stream_id", K::kU32, true}, {"/bytes", K::kU64, true}}},
      {"error",
       "full",
       {{"/code", K::kString, true}, {"/message", K::kString, true}, {"/ref", K::kString, false}}},
  };
  return s;
}

// (value, accepted) pairs for a field of this kind; numbers a JSON Schema cannot tell apart from
// valid ones after JavaScript parsing (1.0, 2^63 vs 2^63-1) are left to the unit tests.
std::vector<std::pair<json, bool>> variations(Kind kind) {
  const auto p = [](const char* text) { return json::parse(text); };
  switch (kind) {
    case Kind::kString:
      return {
          {1, false}, {true, false}, {json::object(), false}, {json::array(), false}, {"", true}};
    case Kind::kU32:
      return {{-1, false},
              {1.5, false},
              {"1", false},
              {true, false},
              {p("4294967296"), false},
              {p("4294967295"), true},
              {0, true}};
    case Kind::kU64:
      return {{-1, false},
              {1.5, false},
              {"1", false},
              {p("1e30"), false},
              {p("18446744073709551615"), true},
              {0, true}};
    case Kind::kI32:
      return {{p("2147483648"), false}, {p("-2147483649"), false}, {1.5, false}, {"1", false},
              {p("-2147483648"), true}, {p("2147483647"), true}};
    case Kind::kI64:
      return {{p("1e19"), false},
              {p("-1e19"), false},
              {1.5, false},
              {"1", false},
              {p("-9223372036854775808"), true},
              {p("9223372036854775807"), true}};
    case Kind::kNumber:
      return {{"1", false}, {true, false}, {50, true}, {0.5, true}};
    case Kind::kBool:
      return {{1, false}, {"true", false}, {false, true}};
    case Kind::kObject:
      return {{json::array(), false}, {"x", false}, {1, false}};
    case Kind::kStrings:
      return {{json::object(), false}, {p("[1]"), false}, {"x", false}, {json::array(), true}};
    case Kind::kI32s:
      return {{p("[1.5]"), false},        {p("[true]"), false},    {p("[\"1\"]"), false},
              {p("[2147483648]"), false}, {json::object(), false}, {json::array(), true}};
    case Kind::kObjects:
      return {
          {json::object(), false}, {p("[1]"), false}, {p("[\"x\"]"), false}, {json::array(), true}};
    case Kind::kErrorCode:
      return {{"no_such_code", false}, {1, false}, {"conflict", true}};
    case Kind::kAny:
      return {};
  }
  return {};
}

std::string label(const json& v) { return v.dump(); }

void add(std::vector<Case>& out, std::string name, bool ok, const json& env) {
  out.push_back(Case{std::move(name), ok ? "ok" : "bad_shape", env.dump()});
}

void bodyCases(std::vector<Case>& out, const std::vector<Sample>& base) {
  for (const auto& shape : shapes()) {
    json env;
    for (const auto& s : base)
      if (s.type == shape.type && s.variant == shape.variant) env = json::parse(s.text);
    const std::string prefix = std::string(shape.type) + "/" + shape.variant + " ";
    add(out, prefix + "as encoded", true, env);
    for (const auto& f : shape.fields) {
      const json::json_pointer ptr(std::string("/body") + f.pointer);
      json removed = env;
      removed[ptr.parent_pointer()].erase(ptr.back());
      add(out, prefix + f.pointer + " missing", !f.required, removed);
      json nulled = env;
      nulled[ptr] = nullptr;
      add(out, prefix + f.pointer + " = null", !f.required, nulled);
      for (const auto& [value, ok] : variations(f.kind)) {
        json changed = env;
        changed[ptr] = value;
        add(out, prefix + f.pointer + " = " + label(value), ok, changed);
      }
    }
  }
}

// job.done carries exactly one of result and error (null counts as absent).
void jobDoneCases(std::vector<Case>& out, const std::vector<Sample>& base) {
  json withResult, withError;
  for (const auto& s : base) {
    if (s.type == "job.done" && s.variant == "result") withResult = json::parse(s.text);
    if (s.type == "job.done" && s.variant == "error") withError = json::parse(s.text);
  }
  json both = withResult;
  both["body"]["error"] = withError["body"]["error"];
  add(out, "job.done both result and error", false, both);
  json neither = withResult;
  neither["body"].erase("result");
  add(out, "job.done neither result nor error", false, neither);
  json nullError = withResult;
  nullError["body"]["error"] = nullptr;
  add(out, "job.done result with error = null", true, nullError);
  json scalar = withResult;
  scalar["body"]["result"] = 5;
  add(out, "job.done scalar result", true, scalar);
}

void envelopeCases(std::vector<Case>& out, const json& env) {
  const auto with = [&](const char* key, json value) {
    json e = env;
    e[key] = std::move(value);
    return e.dump();
  };
  const auto without = [&](const char* key) {
    json e = env;
    e.erase(key);
    return e.dump();
  };
  const std::vector<Case> list{
      {"envelope: not JSON", "malformed", "{\"v\":1,"},
      {"envelope: empty text", "malformed", ""},
      {"envelope: array", "malformed", "[]"},
      {"envelope: number", "malformed", "1"},
      {"envelope: null", "malformed", "null"},
      {"envelope: string", "malformed", "\"hello\""},
      {"envelope: v missing", "malformed", without("v")},
      {"envelope: v string", "malformed", with("v", "1")},
      {"envelope: v 1.5", "malformed", with("v", 1.5)},
      {"envelope: v 2", "wrong_version", with("v", 2)},
      {"envelope: v 0", "wrong_version", with("v", 0)},
      {"envelope: v -1", "wrong_version", with("v", -1)},
      {"envelope: type missing", "malformed", without("type")},
      {"envelope: type number", "malformed", with("type", 1)},
      {"envelope: type unknown", "unknown_type", with("type", "nope")},
      {"envelope: type empty", "unknown_type", with("type", "")},
      {"envelope: type wrong case", "unknown_type", with("type", "Hello")},
      {"envelope: id missing", "malformed", without("id")},
      {"envelope: id number", "malformed", with("id", 7)},
      {"envelope: id empty", "malformed", with("id", "")},
      {"envelope: id 129 bytes", "malformed", with("id", std::string(129, 'a'))},
      {"envelope: id 128 bytes", "ok", with("id", std::string(128, 'a'))},
      {"envelope: ts missing", "malformed", without("ts")},
      {"envelope: ts string", "malformed", with("ts", "1")},
      {"envelope: ts 1.5", "malformed", with("ts", 1.5)},
      {"envelope: ts 1e19", "malformed", with("ts", json::parse("1e19"))},
      {"envelope: ts 0", "ok", with("ts", 0)},
      {"envelope: ts negative", "ok", with("ts", -1)},
      {"envelope: body missing", "malformed", without("body")},
      {"envelope: body array", "malformed", with("body", json::array())},
      {"envelope: body null", "malformed", with("body", nullptr)},
      {"envelope: body string", "malformed", with("body", "x")},
      {"envelope: extra member", "ok", with("trace", "abc")},
  };
  out.insert(out.end(), list.begin(), list.end());
}
}  // namespace

std::vector<Case> cases() {
  const auto base = all();
  std::vector<Case> out;
  for (const auto& s : base)
    if (s.type == "instance.ready") envelopeCases(out, json::parse(s.text));
  bodyCases(out, base);
  jobDoneCases(out, base);
  return out;
}

}  // namespace zlh::proto::samples
