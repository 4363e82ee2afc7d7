#pragma once
/// @file
/// Prometheus text exposition format 0.0.4. Samples may be added in any order: they are grouped
/// per family on output, each family with one `# HELP` and one `# TYPE` line.
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zlh::agent::sdk {

/// Label set: name/value pairs, written in the given order.
using Labels = std::vector<std::pair<std::string, std::string>>;

/// Cumulative histogram data as Prometheus expects it.
struct HistogramData {
  std::vector<double> bounds;    ///< upper bounds, ascending, without +Inf
  std::vector<uint64_t> counts;  ///< per bucket (not cumulative), bounds.size() + 1 (last: +Inf)
  double sum = 0;
  uint64_t count = 0;
};

/// A thread-safe histogram a plugin (or the core) can keep and observe into.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  HistogramData snapshot() const;

 private:
  mutable std::mutex mu_;
  HistogramData data_;
};

/// Default buckets for durations in seconds: 5 ms .. 30 min.
std::vector<double> defaultDurationBuckets();

/// Collects samples during one scrape. Names must match `[a-zA-Z_:][a-zA-Z0-9_:]*` and carry their
/// unit (`_seconds`, `_bytes`); counters must end in `_total`. A sample that breaks these rules is
/// not written: it is listed in problems(), which the core logs. The unit suffix is a convention
/// the writer does not check, so node_exporter's own names (`node_load1`, `node_uname_info`,
/// `node_memory_MemTotal_bytes`) are written as they are.
///
/// Cost: a scrape writes hundreds of samples, so samples are appended straight into their
/// family's text and consecutive samples of one family skip the name lookup.
class MetricsWriter {
 public:
  void counter(std::string_view name, std::string_view help, double value,
               const Labels& labels = {});
  void gauge(std::string_view name, std::string_view help, double value, const Labels& labels = {});
  void histogram(std::string_view name, std::string_view help, const HistogramData& data,
                 const Labels& labels = {});

  /// The exposition text: families in first-use order; families without samples are left out.
  std::string text() const;
  /// Starts a new scrape: drops samples and problems but keeps the families' buffers, so a
  /// writer kept between scrapes stops allocating once it has seen a full scrape.
  void reset();
  const std::vector<std::string>& problems() const { return problems_; }

  /// Escapes a label value: backslash, double quote and newline.
  static std::string escapeLabelValue(std::string_view value);
  /// Formats a sample value: integers without a fraction, +Inf/-Inf/NaN spelled as Prometheus does.
  static std::string formatValue(double value);
  static bool validName(std::string_view name);

 private:
  struct Family {
    std::string name;
    std::string help;      // escaped
    std::string help_src;  // as given, to notice a change after reset()
    const char* type;      // "counter" | "gauge" | "histogram"
    std::string samples;   // finished lines
  };
  Family* family(std::string_view name, std::string_view help, const char* type);
  void sample(Family& f, std::string_view name, const Labels& labels, double value,
              const std::pair<std::string, std::string>* extra = nullptr);

  std::vector<Family> families_;
  size_t last_ = SIZE_MAX;  // family of the previous sample
  std::map<std::string, size_t, std::less<>> index_;
  std::vector<std::string> problems_;
};

}  // namespace zlh::agent::sdk
