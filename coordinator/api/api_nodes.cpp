// ApiService: nodes and jobs sent to them.
#include <spdlog/spdlog.h>

#include "coordinator/api/api_json.h"
#include "coordinator/api/api_service.h"
#include "coordinator/common/tokens.h"
#include "coordinator/instances/placement.h"

namespace zlh::coordinator::api {
namespace {
using nlohmann::json;
using proto::ErrorCode;
using proto::makeError;

Response badRequest(const std::string& message) {
  return errorResponse(makeError(ErrorCode::kInvalidArgument, message));
}

bool validJobText(const std::string& s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f) return false;
  return true;
}
}  // namespace

void ApiService::createNode(const Request& req, const Params&, const Principal& who, Responder done) {
  auto body = parseBody(req, true);
  if (!body) return done(errorResponse(body.error()));
  auto name = optString(*body, "name");
  if (!name) return done(errorResponse(name.error()));
  if (!*name || !validName(**name))
    return done(badRequest("name is required: 1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit"));
  std::string token = common::newToken();
  auto created = store_.createNodeWithToken(**name, common::hashToken(token));
  if (!created) return done(errorResponse(created.error()));
  spdlog::info("node {} ({}) created by {}", created->first.id, created->first.name, who.user_id);
  done(jsonResponse(201, {{"node", nodeJson(created->first, false)}, {"token", token}}));
}

void ApiService::listNodes(const Request&, const Params&, const Principal&, Responder done) {
  auto nodes = store_.listNodes();
  if (!nodes) return done(errorResponse(nodes.error()));
  json items = json::array();
  auto now = common::now();
  for (const auto& n : *nodes) items.push_back(nodeJson(n, instances::nodeOnline(n, links_, now)));
  done(jsonResponse(200, {{"items", items}, {"next_cursor", nullptr}}));
}

void ApiService::getNode(const Request&, const Params& params, const Principal&, Responder done) {
  auto node = store_.getNode(params.at("id"));
  if (!node) return done(errorResponse(node.error()));
  done(jsonResponse(200, nodeJson(*node, instances::nodeOnline(*node, links_, common::now()))));
}

void ApiService::deleteNode(const Request&, const Params& params, const Principal& who, Responder done) {
  const std::string& id = params.at("id");
  if (auto st = store_.deleteNode(id); !st) return done(errorResponse(st.error()));
  links_.dropNode(id);
  spdlog::info("node {} deleted by {} (tokens revoked)", id, who.user_id);
  Response r;
  r.status = 204;
  done(std::move(r));
}

void ApiService::runJob(const Request& req, const Params& params, const Principal&, Responder done) {
  auto body = parseBody(req, true);
  if (!body) return done(errorResponse(body.error()));
  gateway::JobRequest job;
  job.node_id = params.at("id");
  auto kind = optString(*body, "kind");
  if (!kind) return done(errorResponse(kind.error()));
  if (!*kind || !validJobText(**kind)) return done(badRequest("kind is required (1-128 printable characters)"));
  job.kind = **kind;
  auto job_id = optString(*body, "job_id");
  if (!job_id) return done(errorResponse(job_id.error()));
  if (*job_id && !validJobText(**job_id)) return done(badRequest("job_id must be 1-128 printable characters"));
  job.job_id = *job_id ? **job_id : common::newId("job_");
  auto instance = optString(*body, "instance_id");
  if (!instance) return done(errorResponse(instance.error()));
  job.instance_id = *instance;
  if (auto p = body->find("params"); p != body->end() && !p->is_null()) {
    if (!p->is_object()) return done(badRequest("params must be an object"));
    job.params = *p;
  }
  job.timeout = options_.job_timeout;
  if (auto t = body->find("timeout_s"); t != body->end() && !t->is_null()) {
    if (!t->is_number_integer() || t->get<int64_t>() < 1 || t->get<int64_t>() > options_.max_job_timeout.count())
      return done(badRequest("timeout_s must be an integer from 1 to " +
                             std::to_string(options_.max_job_timeout.count())));
    job.timeout = std::chrono::seconds(t->get<int64_t>());
  }
  auto node = store_.getNode(job.node_id);
  if (!node) return done(errorResponse(node.error()));
  links_.dispatchJob(std::move(job), [done = std::move(done)](proto::Result<gateway::JobOutcome> out) {
    if (!out) return done(errorResponse(out.error()));
    done(jsonResponse(200, {{"job_id", out->job_id}, {"result", out->result}, {"redelivered", out->redelivered}}));
  });
}

}  // namespace zlh::coordinator::api
