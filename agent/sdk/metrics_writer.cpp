#include "agent/sdk/metrics_writer.h"

#include <charconv>
#include <cmath>

namespace zlh::agent::sdk {
namespace {

std::string escapeHelp(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

bool validLabelName(std::string_view name) {
  if (name.empty() || name.substr(0, 2) == "__") return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

void appendEscaped(std::string& out, std::string_view value) {
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
}

void appendValue(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
  } else if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof buf, value);  // shortest round-trip form
    out.append(buf, res.ptr);
  }
}

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds) {
  data_.bounds = std::move(bounds);
  data_.counts.assign(data_.bounds.size() + 1, 0);
}

void Histogram::observe(double value) {
  std::lock_guard lock(mu_);
  size_t i = 0;
  while (i < data_.bounds.size() && value > data_.bounds[i]) ++i;
  ++data_.counts[i];
  data_.sum += value;
  ++data_.count;
}

HistogramData Histogram::snapshot() const {
  std::lock_guard lock(mu_);
  return data_;
}

std::vector<double> defaultDurationBuckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800};
}

bool MetricsWriter::validName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

std::string MetricsWriter::escapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  appendEscaped(out, value);
  return out;
}

std::string MetricsWriter::formatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, value);  // shortest round-trip form
  return std::string(buf, res.ptr);
}

MetricsWriter::Family* MetricsWriter::family(std::string_view name, std::string_view help,
                                             const char* type) {
  // Fast paths: the previous sample's family (collectors write a family's samples together), or
  // the one after it (after reset(), scrapes write their families in the same order).
  if (last_ < families_.size() && families_[last_].type == type && families_[last_].name == name)
    return &families_[last_];
  const size_t next = last_ == SIZE_MAX ? 0 : last_ + 1;
  if (next < families_.size() && families_[next].samples.empty() &&
      std::string_view(families_[next].type) == type && families_[next].name == name &&
      families_[next].help_src == help) {
    last_ = next;
    return &families_[next];
  }
  if (!validName(name)) {
    problems_.push_back("invalid metric name \"" + std::string(name) + "\"");
    return nullptr;
  }
  if (std::string_view(type) == "counter" && !endsWith(name, "_total")) {
    problems_.push_back("counter " + std::string(name) + " must end in _total");
    return nullptr;
  }
  // A counter family is named without _total in HELP/TYPE in OpenMetrics, but the 0.0.4 text
  // format (and promtool) expects the sample name itself: keep the full name.
  auto it = index_.find(name);
  if (it != index_.end()) {
    Family& f = families_[it->second];
    if (f.samples.empty()) {  // first use since reset(): take this scrape's type and help
      f.type = type;
      if (f.help_src != help) {
        f.help_src.assign(help);
        f.help = escapeHelp(help);
      }
    }
    if (std::string_view(f.type) != type) {
      problems_.push_back(std::string(name) + " written as " + type + " and " + f.type);
      return nullptr;
    }
    last_ = it->second;
    return &f;
  }
  last_ = families_.size();
  index_.emplace(std::string(name), families_.size());
  families_.push_back(Family{std::string(name), escapeHelp(help), std::string(help), type, {}});
  return &families_.back();
}

void MetricsWriter::sample(Family& f, std::string_view name, const Labels& labels, double value,
                           const std::pair<std::string, std::string>* extra) {
  std::string& line = f.samples;  // appended in place: no temporary per sample
  line += name;
  if (!labels.empty() || extra) {
    line += '{';
    bool first = true;
    auto add = [&](const std::string& k, const std::string& v) {
      if (!validLabelName(k)) {
        problems_.push_back(std::string(name) + ": invalid label name \"" + k + "\"");
        return;
      }
      if (!first) line += ',';
      line += k;
      line += "=\"";
      appendEscaped(line, v);
      line += '"';
      first = false;
    };
    for (const auto& [k, v] : labels) add(k, v);
    if (extra) add(extra->first, extra->second);
    line += '}';
  }
  line += ' ';
  appendValue(line, value);
  line += '\n';
}

void MetricsWriter::counter(std::string_view name, std::string_view help, double value,
                            const Labels& labels) {
  if (Family* f = family(name, help, "counter")) sample(*f, name, labels, value);
}

void MetricsWriter::gauge(std::string_view name, std::string_view help, double value,
                          const Labels& labels) {
  if (Family* f = family(name, help, "gauge")) sample(*f, name, labels, value);
}

void MetricsWriter::histogram(std::string_view name, std::string_view help,
                              const HistogramData& data, const Labels& labels) {
  if (data.counts.size() != data.bounds.size() + 1) {
    problems_.push_back(std::string(name) + ": histogram needs bounds.size() + 1 counts");
    return;
  }
  Family* f = family(name, help, "histogram");
  if (!f) return;
  const std::string base(name);
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= data.bounds.size(); ++i) {
    cumulative += data.counts[i];
    std::pair<std::string, std::string> le{
        "le", i < data.bounds.size() ? formatValue(data.bounds[i]) : std::string("+Inf")};
    sample(*f, base + "_bucket", labels, double(cumulative), &le);
  }
  sample(*f, base + "_sum", labels, data.sum);
  sample(*f, base + "_count", labels, double(data.count));
}

void MetricsWriter::reset() {
  for (auto& f : families_) f.samples.clear();
  problems_.clear();
  last_ = SIZE_MAX;
}

std::string MetricsWriter::text() const {
  std::string out;
  size_t size = 0;
  for (const auto& f : families_) size += 2 * f.name.size() + f.help.size() + f.samples.size() + 32;
  out.reserve(size);
  for (const auto& f : families_) {
    if (f.samples.empty()) continue;
    out.append("# HELP ").append(f.name).append(" ").append(f.help).append("\n");
    out.append("# TYPE ").append(f.name).append(" ").append(f.type).append("\n");
    out += f.samples;
  }
  return out;
}

}  // namespace zlh::agent::sdk
