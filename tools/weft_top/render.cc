#include "tools/weft_top/render.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"

namespace weft {
namespace top {
namespace {

// "-" for no value (an empty histogram's percentile is 0).
std::string Duration(uint64_t ns) { return ns == 0 ? "-" : FormatDuration(ns); }

double Rate(uint64_t now, uint64_t before, double interval_s) {
  return interval_s > 0 && now >= before ? static_cast<double>(now - before) / interval_s : 0;
}

std::string Fit(std::string line, int width) {
  if (width > 0 && static_cast<int>(line.size()) > width) line.resize(static_cast<size_t>(width));
  return line;
}

}  // namespace

View MakeView(int pid, const PoolStats& now, const std::optional<PoolStats>& before,
              double interval_s) {
  View view;
  view.pid = pid;
  view.interface_name = now.interface_name;
  view.uptime_ns = now.uptime_ns;
  view.enabled = now.enabled;
  const bool rates = before.has_value() && interval_s > 0 &&
                     before->workers.size() == now.workers.size() &&
                     before->methods.size() == now.methods.size();
  view.interval_s = rates ? interval_s : 0;
  const double lifetime_s = static_cast<double>(now.uptime_ns) / 1e9;
  for (size_t w = 0; w < now.workers.size(); ++w) {
    const WorkerStats& s = now.workers[w];
    WorkerRow row;
    row.index = static_cast<uint32_t>(w);
    row.pid = s.pid;
    // BAD: the region failed the checks (corrupt or changing), so its
    // figures are not shown as if they were real.
    row.state = !s.readable  ? "BAD"
                : s.failed   ? "FAIL"
                : !s.up      ? "down"
                : s.sleeping ? "sleep"
                             : "up";
    row.calls = s.calls_served;
    row.restarts = s.restarts;
    row.in_flight = s.in_flight;
    row.p50_ns = s.service.Percentile(0.5);
    row.p99_ns = s.service.Percentile(0.99);
    if (rates) {
      const WorkerStats& b = before->workers[w];
      row.calls_per_s = Rate(s.calls_served, b.calls_served, interval_s);
      row.utilization = std::min(1.0, Rate(s.busy_ns, b.busy_ns, interval_s) / 1e9);
    } else {
      row.calls_per_s = lifetime_s > 0 ? static_cast<double>(s.calls_served) / lifetime_s : 0;
      row.utilization = s.utilization;
    }
    view.workers.push_back(row);
  }
  for (size_t m = 0; m < now.methods.size(); ++m) {
    const MethodStats& s = now.methods[m];
    MethodRow row;
    row.name = s.name;
    row.calls = s.resolved;
    row.errors = s.errors;
    row.p50_ns = s.round_trip.Percentile(0.5);
    row.p99_ns = s.round_trip.Percentile(0.99);
    row.p999_ns = s.round_trip.Percentile(0.999);
    row.calls_per_s = rates ? Rate(s.resolved, before->methods[m].resolved, interval_s)
                            : (lifetime_s > 0 ? static_cast<double>(s.resolved) / lifetime_s : 0);
    view.methods.push_back(row);
  }
  std::stable_sort(view.workers.begin(), view.workers.end(),
                   [](const WorkerRow& a, const WorkerRow& b) {
                     return a.utilization != b.utilization ? a.utilization > b.utilization
                                                           : a.calls_per_s > b.calls_per_s;
                   });
  std::stable_sort(
      view.methods.begin(), view.methods.end(), [](const MethodRow& a, const MethodRow& b) {
        return a.calls_per_s != b.calls_per_s ? a.calls_per_s > b.calls_per_s : a.calls > b.calls;
      });
  return view;
}

std::vector<std::string> RenderLines(const View& view, int width, int height) {
  std::vector<std::string> lines;
  // The method name column takes what the width leaves (at least 16).
  const int name_width = std::max(16, std::min(48, width - 64));
  lines.push_back(Fit(absl::StrFormat("weft-top  pid %d  %s  up %s  %s%s", view.pid,
                                      view.interface_name, Duration(view.uptime_ns),
                                      view.interval_s > 0 ? "rates over the last interval"
                                                          : "rates: lifetime averages",
                                      view.enabled ? "" : "  (stats off in this pool)"),
                      width));
  lines.push_back("");
  lines.push_back(Fit(absl::StrFormat("%-6s %8s %-5s %6s %10s %12s %9s %9s %4s", "WORKER", "PID",
                                      "STATE", "UTIL", "CALLS/S", "CALLS", "P50", "P99", "RST"),
                      width));
  // Rows left for the two tables: share them, workers first.
  const int room = std::max(2, height - 6);
  const int worker_rows =
      std::min(static_cast<int>(view.workers.size()),
               std::max(1, std::min(room / 2, room - static_cast<int>(view.methods.size()))));
  for (int i = 0; i < worker_rows; ++i) {
    const WorkerRow& w = view.workers[static_cast<size_t>(i)];
    lines.push_back(Fit(
        absl::StrFormat("%-6d %8s %-5s %5.1f%% %10.0f %12d %9s %9s %4d", w.index,
                        w.pid > 0 ? absl::StrCat(w.pid) : "-", w.state, 100 * w.utilization,
                        w.calls_per_s, w.calls, Duration(w.p50_ns), Duration(w.p99_ns), w.restarts),
        width));
  }
  if (worker_rows < static_cast<int>(view.workers.size())) {
    lines.push_back(absl::StrFormat("  ... %d more workers",
                                    static_cast<int>(view.workers.size()) - worker_rows));
  }
  lines.push_back("");
  lines.push_back(Fit(absl::StrFormat("%-*s %10s %12s %8s %9s %9s %9s", name_width, "METHOD",
                                      "CALLS/S", "CALLS", "ERRORS", "P50", "P99", "P99.9"),
                      width));
  const int method_rows = std::max(0, height - static_cast<int>(lines.size()) - 1);
  for (int i = 0; i < static_cast<int>(view.methods.size()) && i < method_rows; ++i) {
    const MethodRow& m = view.methods[static_cast<size_t>(i)];
    lines.push_back(Fit(
        absl::StrFormat("%-*s %10.0f %12d %8d %9s %9s %9s", name_width,
                        m.name.substr(0, static_cast<size_t>(name_width)), m.calls_per_s, m.calls,
                        m.errors, Duration(m.p50_ns), Duration(m.p99_ns), Duration(m.p999_ns)),
        width));
  }
  if (static_cast<int>(lines.size()) > height) lines.resize(static_cast<size_t>(height));
  return lines;
}

std::string RenderJson(const View& view) {
  nlohmann::json j;
  j["pid"] = view.pid;
  j["interface"] = view.interface_name;
  j["uptime_s"] = static_cast<double>(view.uptime_ns) / 1e9;
  j["stats_enabled"] = view.enabled;
  j["interval_s"] = view.interval_s;
  j["workers"] = nlohmann::json::array();
  for (const WorkerRow& w : view.workers) {
    j["workers"].push_back({{"index", w.index},
                            {"pid", w.pid},
                            {"state", w.state},
                            {"utilization", w.utilization},
                            {"calls_per_s", w.calls_per_s},
                            {"calls", w.calls},
                            {"in_flight", w.in_flight},
                            {"service_p50_ns", w.p50_ns},
                            {"service_p99_ns", w.p99_ns},
                            {"restarts", w.restarts}});
  }
  j["methods"] = nlohmann::json::array();
  for (const MethodRow& m : view.methods) {
    j["methods"].push_back({{"name", m.name},
                            {"calls_per_s", m.calls_per_s},
                            {"calls", m.calls},
                            {"errors", m.errors},
                            {"round_trip_p50_ns", m.p50_ns},
                            {"round_trip_p99_ns", m.p99_ns},
                            {"round_trip_p999_ns", m.p999_ns}});
  }
  return j.dump(2);
}

}  // namespace top
}  // namespace weft
