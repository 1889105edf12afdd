// PoolStats::ToString and ToPrometheus (stats.h).
#include "runtime/stats.h"

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"

namespace weft {
namespace {

std::string Percentiles(const LatencyHistogram& h) {
  if (h.count() == 0) return "-";
  return absl::StrCat(FormatDuration(h.Percentile(0.5)), "/", FormatDuration(h.Percentile(0.99)),
                      "/", FormatDuration(h.Percentile(0.999)));
}

// A Prometheus label value: backslash, double quote and newline escaped.
std::string Label(const std::string& v) {
  return absl::StrReplaceAll(v, {{"\\", "\\\\"}, {"\"", "\\\""}, {"\n", "\\n"}});
}

// Seconds, as Prometheus wants them.
std::string Seconds(uint64_t ns) { return absl::StrFormat("%.9g", static_cast<double>(ns) / 1e9); }

// The histogram's `le` bounds, in ns: 1-2.5-5 steps from 1 us to 10 s.
constexpr uint64_t kBounds[] = {
    1'000,         2'500,         5'000,         10'000,        25'000,      50'000,
    100'000,       250'000,       500'000,       1'000'000,     2'500'000,   5'000'000,
    10'000'000,    25'000'000,    50'000'000,    100'000'000,   250'000'000, 500'000'000,
    1'000'000'000, 2'500'000'000, 5'000'000'000, 10'000'000'000};

void Histogram(std::string& out, const std::string& name, const std::string& labels,
               const LatencyHistogram& h) {
  for (uint64_t le : kBounds) {
    absl::StrAppend(&out, name, "_bucket{", labels, ",le=\"", Seconds(le), "\"} ", h.CountBelow(le),
                    "\n");
  }
  absl::StrAppend(&out, name, "_bucket{", labels, ",le=\"+Inf\"} ", h.count(), "\n");
  absl::StrAppend(&out, name, "_sum{", labels, "} ", Seconds(h.sum_ns()), "\n");
  absl::StrAppend(&out, name, "_count{", labels, "} ", h.count(), "\n");
}

void Header(std::string& out, const char* name, const char* type, const char* help) {
  absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

const char* kCodeNames[kStatusCodes] = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

}  // namespace

std::string FormatDuration(uint64_t ns) {
  if (ns < 1000) return absl::StrCat(ns, "ns");
  const double v = static_cast<double>(ns);
  if (ns < 1'000'000) return absl::StrFormat("%.3gus", v / 1e3);
  if (ns < 1'000'000'000) return absl::StrFormat("%.3gms", v / 1e6);
  return absl::StrFormat("%.3gs", v / 1e9);
}

std::string PoolStats::ToString() const {
  std::string out = absl::StrFormat("pool %s: %d workers, up %s%s\n", interface_name,
                                    workers.size(), FormatDuration(uptime_ns),
                                    enabled ? "" : " (stats off: no per-method figures)");
  absl::StrAppend(&out, absl::StrFormat("  %-6s %7s %-5s %12s %9s %6s %6s %5s  %s\n", "worker",
                                        "pid", "state", "served", "in-flight", "queued", "util",
                                        "rst", "service p50/p99/p999"));
  for (size_t w = 0; w < workers.size(); ++w) {
    const WorkerStats& s = workers[w];
    const char* state = !s.readable  ? "BAD"
                        : s.failed   ? "FAIL"
                        : !s.up      ? "down"
                        : s.sleeping ? "sleep"
                                     : "up";
    absl::StrAppend(
        &out, absl::StrFormat("  %-6d %7d %-5s %12d %9d %6d %5.1f%% %5d  %s\n", w, s.pid, state,
                              s.calls_served, s.in_flight, s.queued, 100.0 * s.utilization,
                              s.restarts, Percentiles(s.service)));
    if (!s.last_exit.empty()) absl::StrAppend(&out, "         last exit: ", s.last_exit, "\n");
  }
  absl::StrAppend(&out, absl::StrFormat("  %-20s %12s %8s %9s  %-26s %-26s %s\n", "method", "calls",
                                        "errors", "in-flight", "round trip p50/p99/p999",
                                        "queue p50/p99/p999", "service p50/p99/p999"));
  for (const MethodStats& m : methods) {
    absl::StrAppend(&out,
                    absl::StrFormat("  %-20s %12d %8d %9d  %-26s %-26s %s\n", m.name, m.resolved,
                                    m.errors, m.in_flight, Percentiles(m.round_trip),
                                    Percentiles(m.queue_wait), Percentiles(m.service)));
    for (int code = 1; code < kStatusCodes; ++code) {
      if (m.by_code[code] == 0) continue;
      absl::StrAppend(&out,
                      absl::StrFormat("      %-18s %12d\n", kCodeNames[code], m.by_code[code]));
    }
  }
  return out;
}

std::string PoolStats::ToPrometheus() const {
  const std::string iface = absl::StrCat("interface=\"", Label(interface_name), "\"");
  std::string out;
  Header(out, "weft_calls_total", "counter", "Calls resolved to their caller, by status code.");
  for (const MethodStats& m : methods) {
    for (int code = 0; code < kStatusCodes; ++code) {
      if (m.by_code[code] == 0 && code != 0) continue;
      absl::StrAppend(&out, "weft_calls_total{", iface, ",method=\"", Label(m.name), "\",code=\"",
                      kCodeNames[code], "\"} ", m.by_code[code], "\n");
    }
  }
  Header(out, "weft_calls_in_flight", "gauge", "Calls submitted and not yet resolved.");
  for (const MethodStats& m : methods) {
    absl::StrAppend(&out, "weft_calls_in_flight{", iface, ",method=\"", Label(m.name), "\"} ",
                    m.in_flight, "\n");
  }
  Header(out, "weft_calls_queued", "gauge", "Calls submitted and not yet started by a worker.");
  for (const MethodStats& m : methods) {
    absl::StrAppend(&out, "weft_calls_queued{", iface, ",method=\"", Label(m.name), "\"} ",
                    m.queued, "\n");
  }
  struct Kind {
    const char* name;
    const char* help;
    LatencyHistogram MethodStats::*histogram;
  };
  const Kind kinds[] = {
      {"weft_call_duration_seconds",
       "Round trip of a call, submit to resolved, on the host (timed calls: one in "
       "stats_time_every).",
       &MethodStats::round_trip},
      {"weft_call_queue_seconds", "Submit to the worker starting the call (timed calls).",
       &MethodStats::queue_wait},
      {"weft_call_service_seconds", "The worker's time in the method (timed calls).",
       &MethodStats::service},
  };
  for (const Kind& kind : kinds) {
    Header(out, kind.name, "histogram", kind.help);
    for (const MethodStats& m : methods) {
      Histogram(out, kind.name, absl::StrCat(iface, ",method=\"", Label(m.name), "\""),
                m.*kind.histogram);
    }
  }
  Header(out, "weft_worker_calls_total", "counter", "Calls a worker finished, any outcome.");
  for (size_t w = 0; w < workers.size(); ++w) {
    absl::StrAppend(&out, "weft_worker_calls_total{", iface, ",worker=\"", w, "\"} ",
                    workers[w].calls_served, "\n");
  }
  Header(out, "weft_worker_busy_seconds_total", "counter", "Time a worker spent in methods.");
  for (size_t w = 0; w < workers.size(); ++w) {
    absl::StrAppend(&out, "weft_worker_busy_seconds_total{", iface, ",worker=\"", w, "\"} ",
                    Seconds(workers[w].busy_ns), "\n");
  }
  struct Gauge {
    const char* name;
    const char* type;
    const char* help;
    uint64_t (*get)(const WorkerStats&);
  };
  const Gauge gauges[] = {
      {"weft_worker_in_flight", "gauge", "Calls sent to a worker and not yet finished.",
       [](const WorkerStats& s) { return s.in_flight; }},
      {"weft_worker_queued", "gauge", "Calls sent to a worker and not yet started.",
       [](const WorkerStats& s) { return s.queued; }},
      {"weft_worker_up", "gauge", "1 while the worker serves.",
       [](const WorkerStats& s) { return uint64_t{s.up ? 1u : 0u}; }},
      {"weft_worker_restarts_total", "counter", "Replacements started after a worker died.",
       [](const WorkerStats& s) { return s.restarts; }},
  };
  for (const Gauge& g : gauges) {
    Header(out, g.name, g.type, g.help);
    for (size_t w = 0; w < workers.size(); ++w) {
      absl::StrAppend(&out, g.name, "{", iface, ",worker=\"", w, "\"} ", g.get(workers[w]), "\n");
    }
  }
  return out;
}

}  // namespace weft
