#include "coordinator/common/metrics.h"

#include <cmath>
#include <cstdio>
#include <set>

namespace zlh::coordinator::common {
namespace {
constexpr size_t kMaxJobKinds = 64;

std::string escapeLabel(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out.push_back(c);
  }
  return out;
}

std::string formatValue(double v) {
  if (std::floor(v) == v && std::fabs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

bool plainKind(std::string_view kind) {
  if (kind.empty() || kind.size() > 64) return false;
  for (char c : kind) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}
}  // namespace

const std::vector<std::string>& Metrics::authFailureReasons() {
  static const std::vector<std::string> reasons{"missing_token", "bad_token", "revoked",
                                                "node_mismatch"};
  return reasons;
}

Metrics::Metrics(std::string_view version) {
  families_ = {
      {"zlh_build_info", "Build information of this coordinator.", "gauge", {"version"}, {}},
      {"zlh_agents_connected", "Agent links that completed hello.", "gauge", {}, {}},
      {"zlh_agent_link_auth_failures_total", "Agent links refused for authentication.", "counter",
       {"reason"}, {}},
      {"zlh_agent_link_replacements_total",
       "Agent links closed because a newer link of the same node arrived.", "counter", {}, {}},
      {"zlh_http_requests_total", "HTTP requests answered, by route template and status code.",
       "counter", {"route", "code"}, {}},
      {"zlh_agent_jobs_total", "Jobs sent to agents through the API, by kind and result.",
       "counter", {"kind", "result"}, {}},
      {"zlh_operations", "Operations (durable user requests) by kind and state.", "gauge",
       {"kind", "state"}, {}},
      {"zlh_operations_oldest_age_seconds",
       "Age of the oldest unfinished operation (since it was requested) by kind and state; 0 when "
       "there is none.",
       "gauge", {"kind", "state"}, {}},
      {"zlh_nodes", "Registered nodes (online or not).", "gauge", {}, {}},
      {"zlh_instances", "Instances by state (as the API shows it).", "gauge", {"state"}, {}},
  };
  family("zlh_build_info").series[{std::string(version)}] = 1;
  family("zlh_agents_connected").series[{}] = 0;
  family("zlh_nodes").series[{}] = 0;
  for (const auto& r : authFailureReasons()) family("zlh_agent_link_auth_failures_total").series[{r}] = 0;
  family("zlh_agent_link_replacements_total").series[{}] = 0;
}

Metrics::Family& Metrics::family(std::string_view name) {
  for (auto& f : families_)
    if (f.name == name) return f;
  // Only called with the names registered in the constructor.
  return families_.front();
}

const Metrics::Family* Metrics::findFamily(std::string_view name) const {
  for (const auto& f : families_)
    if (f.name == name) return &f;
  return nullptr;
}

void Metrics::add(std::string_view name, std::vector<std::string> labels, double delta) {
  std::lock_guard lock(mu_);
  family(name).series[std::move(labels)] += delta;
}

void Metrics::setAgentsConnected(int64_t n) {
  std::lock_guard lock(mu_);
  family("zlh_agents_connected").series[{}] = static_cast<double>(n);
}

void Metrics::incAuthFailure(std::string_view reason) {
  add("zlh_agent_link_auth_failures_total", {std::string(reason)}, 1);
}

void Metrics::incLinkReplacement() { add("zlh_agent_link_replacements_total", {}, 1); }

void Metrics::incHttpRequest(std::string_view route, int code) {
  add("zlh_http_requests_total", {std::string(route), std::to_string(code)}, 1);
}

void Metrics::incJob(std::string_view kind, std::string_view result) {
  std::lock_guard lock(mu_);
  auto& f = family("zlh_agent_jobs_total");
  std::string k = plainKind(kind) ? std::string(kind) : "other";
  std::vector<std::string> labels{k, std::string(result)};
  if (!f.series.count(labels)) {
    std::set<std::string> kinds;
    for (const auto& [l, _] : f.series) kinds.insert(l[0]);
    if (!kinds.count(k) && kinds.size() >= kMaxJobKinds) labels[0] = "other";
  }
  f.series[labels] += 1;
}

void Metrics::setGaugeSeries(std::string_view name, std::map<std::vector<std::string>, double> series) {
  std::lock_guard lock(mu_);
  Family* f = nullptr;
  for (auto& fam : families_)
    if (fam.name == name && fam.type == "gauge") f = &fam;
  if (!f) return;
  std::erase_if(series, [&](const auto& s) { return s.first.size() != f->label_names.size(); });
  f->series = std::move(series);
}

std::string Metrics::render() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& f : families_) {
    out += "# HELP " + f.name + " " + f.help + "\n";
    out += "# TYPE " + f.name + " " + f.type + "\n";
    for (const auto& [labels, v] : f.series) {
      out += f.name;
      if (!labels.empty()) {
        out += "{";
        for (size_t i = 0; i < labels.size(); ++i) {
          if (i) out += ",";
          out += f.label_names[i] + "=\"" + escapeLabel(labels[i]) + "\"";
        }
        out += "}";
      }
      out += " " + formatValue(v) + "\n";
    }
  }
  return out;
}

double Metrics::value(std::string_view name, const std::vector<std::string>& labels) const {
  std::lock_guard lock(mu_);
  const Family* f = findFamily(name);
  if (!f) return 0;
  auto it = f->series.find(labels);
  return it == f->series.end() ? 0 : it->second;
}

}  // namespace zlh::coordinator::common
