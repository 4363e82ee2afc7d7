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

std::string formatBound(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
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
      {"zlh_queue_jobs", "Jobs in the durable queues by queue and state.", "gauge",
       {"queue", "state"}, {}},
      {"zlh_queue_oldest_job_age_seconds",
       "Age of the oldest job by queue and state: available (since it became claimable) and "
       "running (since its claim); 0 when there is none.",
       "gauge", {"queue", "state"}, {}},
      {"zlh_queue_overdue_jobs", "Running jobs past their deadline, by queue.", "gauge",
       {"queue"}, {}},
      {"zlh_queue_retries_total", "Failed job attempts scheduled to run again, by queue.",
       "counter", {"queue"}, {}},
      {"zlh_queue_discards_total", "Jobs given up after their last attempt, by queue.", "counter",
       {"queue"}, {}},
      {"zlh_queue_job_duration_seconds",
       "Run time of job attempts on this coordinator (claim to answer), by queue.", "histogram",
       {"queue"}, {}},
  };
  histograms_["zlh_queue_job_duration_seconds"].buckets = {
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
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

void Metrics::incQueue(std::string_view what, std::string_view queue) {
  add(what == "retries" ? "zlh_queue_retries_total" : "zlh_queue_discards_total",
      {std::string(queue)}, 1);
}

void Metrics::declareQueue(std::string_view queue) {
  std::lock_guard lock(mu_);
  family("zlh_queue_retries_total").series[{std::string(queue)}] += 0;
  family("zlh_queue_discards_total").series[{std::string(queue)}] += 0;
  auto& h = histograms_["zlh_queue_job_duration_seconds"];
  h.data[{std::string(queue)}].counts.resize(h.buckets.size(), 0);
}

void Metrics::observeJobDuration(std::string_view queue, double seconds) {
  std::lock_guard lock(mu_);
  auto& hist = histograms_["zlh_queue_job_duration_seconds"];
  auto& h = hist.data[{std::string(queue)}];
  h.counts.resize(hist.buckets.size(), 0);
  for (size_t i = 0; i < hist.buckets.size(); ++i)
    if (seconds <= hist.buckets[i]) {
      ++h.counts[i];
      break;
    }
  h.sum += seconds;
  ++h.count;
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
    auto labelText = [&f](const std::vector<std::string>& labels, std::string extra) {
      std::string t;
      for (size_t i = 0; i < labels.size(); ++i) {
        if (!t.empty()) t += ",";
        t += f.label_names[i] + "=\"" + escapeLabel(labels[i]) + "\"";
      }
      if (!extra.empty()) t += (t.empty() ? "" : ",") + extra;
      return t.empty() ? t : "{" + t + "}";
    };
    for (const auto& [labels, v] : f.series)
      out += f.name + labelText(labels, "") + " " + formatValue(v) + "\n";
    auto hist = histograms_.find(f.name);
    if (hist == histograms_.end()) continue;
    for (const auto& [labels, h] : hist->second.data) {
      uint64_t cumulative = 0;
      const auto& buckets = hist->second.buckets;
      for (size_t i = 0; i < buckets.size(); ++i) {
        cumulative += i < h.counts.size() ? h.counts[i] : 0;
        out += f.name + "_bucket" + labelText(labels, "le=\"" + formatBound(buckets[i]) + "\"") +
               " " + std::to_string(cumulative) + "\n";
      }
      out += f.name + "_bucket" + labelText(labels, "le=\"+Inf\"") + " " +
             std::to_string(h.count) + "\n";
      out += f.name + "_sum" + labelText(labels, "") + " " + formatValue(h.sum) + "\n";
      out += f.name + "_count" + labelText(labels, "") + " " + std::to_string(h.count) + "\n";
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
