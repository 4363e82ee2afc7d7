// Collectors netdev (/proc/net/dev) and diskstats (/proc/diskstats).
#include <algorithm>

#include "plugins/metrics/node_collectors.h"
#include "plugins/metrics/proc_text.h"

namespace zlh::plugins::metrics {
namespace sdk = agent::sdk;

namespace {
// /proc/net/dev columns, in order, with node_exporter's names.
constexpr const char* kNetFields[16][2] = {
    {"node_network_receive_bytes_total", "Network device statistic receive_bytes."},
    {"node_network_receive_packets_total", "Network device statistic receive_packets."},
    {"node_network_receive_errs_total", "Network device statistic receive_errs."},
    {"node_network_receive_drop_total", "Network device statistic receive_drop."},
    {"node_network_receive_fifo_total", "Network device statistic receive_fifo."},
    {"node_network_receive_frame_total", "Network device statistic receive_frame."},
    {"node_network_receive_compressed_total", "Network device statistic receive_compressed."},
    {"node_network_receive_multicast_total", "Network device statistic receive_multicast."},
    {"node_network_transmit_bytes_total", "Network device statistic transmit_bytes."},
    {"node_network_transmit_packets_total", "Network device statistic transmit_packets."},
    {"node_network_transmit_errs_total", "Network device statistic transmit_errs."},
    {"node_network_transmit_drop_total", "Network device statistic transmit_drop."},
    {"node_network_transmit_fifo_total", "Network device statistic transmit_fifo."},
    {"node_network_transmit_colls_total", "Network device statistic transmit_colls."},
    {"node_network_transmit_carrier_total", "Network device statistic transmit_carrier."},
    {"node_network_transmit_compressed_total", "Network device statistic transmit_compressed."},
};

// /proc/diskstats columns after the name: {family, help, scale, counter?}. Sectors are 512 bytes
// whatever the device's block size; times are milliseconds.
struct DiskField {
  const char* name;
  const char* help;
  double scale;
  bool counter;
};
constexpr DiskField kDiskFields[17] = {
    {"node_disk_reads_completed_total", "The total number of reads completed successfully.", 1,
     true},
    {"node_disk_reads_merged_total", "The total number of reads merged.", 1, true},
    {"node_disk_read_bytes_total", "The total number of bytes read successfully.", 512, true},
    {"node_disk_read_time_seconds_total", "The total number of seconds spent by all reads.", 1e-3,
     true},
    {"node_disk_writes_completed_total", "The total number of writes completed successfully.", 1,
     true},
    {"node_disk_writes_merged_total", "The number of writes merged.", 1, true},
    {"node_disk_written_bytes_total", "The total number of bytes written successfully.", 512, true},
    {"node_disk_write_time_seconds_total",
     "This is the total number of seconds spent by all writes.", 1e-3, true},
    {"node_disk_io_now", "The number of I/Os currently in progress.", 1, false},
    {"node_disk_io_time_seconds_total", "Total seconds spent doing I/Os.", 1e-3, true},
    {"node_disk_io_time_weighted_seconds_total", "The weighted # of seconds spent doing I/Os.",
     1e-3, true},
    {"node_disk_discards_completed_total", "The total number of discards completed successfully.",
     1, true},
    {"node_disk_discards_merged_total", "The total number of discards merged.", 1, true},
    {"node_disk_discarded_sectors_total", "The total number of sectors discarded successfully.", 1,
     true},
    {"node_disk_discard_time_seconds_total",
     "This is the total number of seconds spent by all discards.", 1e-3, true},
    {"node_disk_flush_requests_total", "The total number of flush requests completed successfully",
     1, true},
    {"node_disk_flush_requests_time_seconds_total",
     "This is the total number of seconds spent by all flush requests.", 1e-3, true},
};
}  // namespace

bool NodeCollectors::collectNetdev(sdk::MetricsWriter& out) {
  if (!read(config_.procfs, "net/dev", buf_)) return false;
  values_.clear();
  names_.clear();
  TextCursor c(buf_);
  c.nextLine();  // two header lines
  c.nextLine();
  while (!c.atEnd()) {
    std::string_view line = c.line();
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = line.substr(0, colon);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    if (std::find(config_.netdev_exclude.begin(), config_.netdev_exclude.end(), name) !=
        config_.netdev_exclude.end())
      continue;
    FieldSplitter f(line.substr(colon + 1));
    for (int i = 0; i < 16; ++i) {
      uint64_t v = 0;
      if (!parseU64(f.next(), v)) return false;
      values_.push_back(double(v));
    }
    names_.emplace_back(name);
  }
  sdk::Labels& l = labels1_;
  l.resize(1);
  l[0].first = "device";
  for (int i = 0; i < 16; ++i)
    for (size_t d = 0; d < names_.size(); ++d) {
      l[0].second = names_[d];
      out.counter(kNetFields[i][0], kNetFields[i][1], values_[d * 16 + size_t(i)], l);
    }
  return true;
}

bool NodeCollectors::collectDiskstats(sdk::MetricsWriter& out) {
  if (!read(config_.procfs, "diskstats", buf_)) return false;
  values_.clear();
  names_.clear();
  int fields = 17;  // families written: those every device has
  TextCursor c(buf_);
  while (!c.atEnd()) {
    std::string_view line = c.line();
    FieldSplitter f(line);
    f.next();  // major
    f.next();  // minor
    std::string_view name = f.next();
    if (name.empty()) continue;
    if (diskExcluded(name)) continue;
    // Kernels before 4.18 have 11 fields, before 5.5 15: like node_exporter, the families of
    // missing fields are not written.
    int got = 0;
    for (; got < 17; ++got) {
      std::string_view tok = f.next();
      if (tok.empty()) break;
      uint64_t v = 0;
      if (!parseU64(tok, v)) return false;
      values_.push_back(double(v) * kDiskFields[got].scale);
    }
    if (got < 11) return false;
    fields = std::min(fields, got);
    for (; got < 17; ++got) values_.push_back(0);
    names_.emplace_back(name);
  }
  sdk::Labels& l = labels1_;
  l.resize(1);
  l[0].first = "device";
  for (int i = 0; i < fields; ++i) {
    const DiskField& df = kDiskFields[i];
    for (size_t d = 0; d < names_.size(); ++d) {
      l[0].second = names_[d];
      const double v = values_[d * 17 + size_t(i)];
      if (df.counter)
        out.counter(df.name, df.help, v, l);
      else
        out.gauge(df.name, df.help, v, l);
    }
  }
  return true;
}

}  // namespace zlh::plugins::metrics
