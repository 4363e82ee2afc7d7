#pragma once
// The coordinator's Prometheus metrics (text format 0.0.4). Thread-safe: the lws thread counts
// upgrade refusals, the logic thread the rest.
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace zlh::coordinator::common {

class Metrics {
 public:
  /// Reasons of zlh_agent_link_auth_failures_total, all exported from the start at 0.
  static const std::vector<std::string>& authFailureReasons();

  explicit Metrics(std::string_view version);

  void setAgentsConnected(int64_t n);
  void incAuthFailure(std::string_view reason);
  void incLinkReplacement();
  /// `route` is the route template ("/api/v1/nodes/{id}") or "other".
  void incHttpRequest(std::string_view route, int code);
  /// `result`: ok | error | timeout | unavailable. Odd or too many kinds are folded into "other".
  void incJob(std::string_view kind, std::string_view result);
  /// Replaces every series of a gauge family registered in the constructor (zlh_operations,
  /// zlh_operations_oldest_age_seconds, zlh_instances, zlh_nodes); label values in the family's
  /// label order.
  void setGaugeSeries(std::string_view name, std::map<std::vector<std::string>, double> series);
  /// Exports a queue's counters and histogram at 0 before its first job.
  void declareQueue(std::string_view queue);
  /// Queue worker counters: `what` is "retries" or "discards".
  void incQueue(std::string_view what, std::string_view queue);
  /// One finished job attempt's run time (zlh_queue_job_duration_seconds{queue}).
  void observeJobDuration(std::string_view queue, double seconds);

  std::string render() const;
  /// Current value of one series, 0 when absent (tests).
  double value(std::string_view name, const std::vector<std::string>& labels = {}) const;

 private:
  struct Family {
    std::string name;
    std::string help;
    std::string type;
    std::vector<std::string> label_names;
    std::map<std::vector<std::string>, double> series;
  };
  /// A histogram family's data: upper bounds, and per label set the bucket counts
  /// (non-cumulative), sum and count.
  struct Histogram {
    struct Data {
      std::vector<uint64_t> counts;
      double sum = 0;
      uint64_t count = 0;
    };
    std::vector<double> buckets;
    std::map<std::vector<std::string>, Data> data;
  };
  Family& family(std::string_view name);
  const Family* findFamily(std::string_view name) const;
  void add(std::string_view name, std::vector<std::string> labels, double delta);

  mutable std::mutex mu_;
  std::vector<Family> families_;
  std::map<std::string, Histogram, std::less<>> histograms_;
};

}  // namespace zlh::coordinator::common
