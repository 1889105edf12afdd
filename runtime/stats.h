// PoolStats: live statistics of a pool — per worker and per method counts,
// outcomes by status code, and latency histograms — read from shared memory.
//
//   weft::PoolStats stats = pool->Stats();
//   for (const weft::MethodStats& m : stats.methods) {
//     std::cout << m.name << " p99 " << m.round_trip.Percentile(0.99) << " ns\n";
//   }
//   std::cout << stats.ToString();       // a readable table
//   serve(stats.ToPrometheus());         // the Prometheus text format
//
// Where each figure comes from (see docs/architecture.md, "Stats"):
//   worker side, kept by the worker in its region: calls started and
//   served, outcomes the methods returned, queue wait (submit -> the worker
//   starts the call) and service time (start -> done), busy time;
//   host side, kept by each host thread in the pool's stats block: calls
//   submitted, how they resolved (by status code: timeouts, aborts and
//   dead workers included), round trip (submit -> resolved).
// Each writer keeps its own counters with plain stores; a snapshot sums
// them, read once each (relaxed), so figures of different workers, or of
// one worker, are not from one instant, and a snapshot taken while calls
// run can show a call submitted and not yet counted anywhere else.
//
// Thread safety: plain values (thread-compatible); Pool::Stats() itself may
// be called from any thread at any time.
#ifndef WEFT_RUNTIME_STATS_H_
#define WEFT_RUNTIME_STATS_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "runtime/histogram.h"

namespace weft {

// absl::StatusCode values 0 (kOk) .. 16 (kUnauthenticated).
inline constexpr int kStatusCodes = 17;
using CodeCounts = std::array<uint64_t, kStatusCodes>;

// A duration for people: "812ns", "1.5us", "12.3ms", "2s" (three
// significant figures), as ToString() and weft-top print them.
std::string FormatDuration(uint64_t ns);

struct WorkerStats {
  uint64_t calls_served = 0;   // calls the worker finished (any outcome)
  uint64_t sleeps = 0;         // times the worker went to sleep on its futex
  bool sleeping = false;       // asleep now (after its spin window ran out)
  uint32_t slots_in_use = 0;   // call slots taken, over all lanes to this worker
  uint64_t calls_started = 0;  // calls the worker took off its rings
  uint64_t submitted = 0;      // calls the host sent to this worker
  // False when the worker's region failed the reader's checks (a worker
  // process scribbled over it, or it changed while read): the worker's
  // figures below are then zero, not garbage.
  bool readable = true;
  uint64_t in_flight = 0;  // sent and not yet finished by the worker
  uint64_t queued = 0;     // sent and not yet started by the worker
  // Time spent inside methods: the timed calls' service time, scaled by
  // calls served over calls timed (exact with stats_time_every = 1).
  uint64_t busy_ns = 0;
  // busy_ns over the time the pool has run (its lifetime average; a live
  // view compares two snapshots, as weft-top does).
  double utilization = 0;
  LatencyHistogram queue_wait;  // submit -> start, all methods
  LatencyHistogram service;     // start -> done, all methods
  // Process workers.
  int pid = 0;            // 0 while down
  uint64_t restarts = 0;  // replacements that started (OnStart succeeded) after a
                          // death, counted by the workers themselves before they
                          // serve; failed starts show in `failed` and `last_exit`
  bool up = false;        // serving (threads: always, until shutdown)
  bool failed = false;    // given up after max_restarts failed starts; a remote
                          // worker: not connected (reconnecting)
  std::string last_exit;  // how the last process ended, e.g. "killed by signal 9"
};

struct MethodStats {
  uint32_t index = 0;
  std::string name;             // the schema name, e.g. "square"
  uint64_t submitted = 0;       // calls sent to a worker (host)
  uint64_t resolved = 0;        // calls whose outcome reached the caller (host)
  uint64_t errors = 0;          // resolved with a non-OK status
  CodeCounts by_code{};         // resolved, by absl::StatusCode
  uint64_t started = 0;         // taken off a ring by a worker (worker side)
  uint64_t served = 0;          // finished by a worker (worker side)
  CodeCounts served_by_code{};  // what the workers' method returned, by code
  uint64_t in_flight = 0;       // submitted and not yet resolved
  uint64_t queued = 0;          // submitted and not yet started by a worker
  // The timed calls (one in PoolOptions::stats_time_every per host thread):
  LatencyHistogram queue_wait;  // submit -> a worker starts it
  LatencyHistogram service;     // start -> done, in the worker
  LatencyHistogram round_trip;  // submit -> resolved, on the host
};

struct PoolStats {
  std::string interface_name;  // e.g. "quickstart::Math"
  bool enabled = true;         // PoolOptions::stats: false leaves the histograms empty
  uint64_t uptime_ns = 0;      // since the pool was created
  std::vector<WorkerStats> workers;
  std::vector<MethodStats> methods;
  uint32_t abort_slots_in_use = 0;

  // A readable multi-line table: one line per worker, one per method
  // (calls, errors, p50/p99/p999 of round trip, queue wait and service).
  std::string ToString() const;
  // The Prometheus text exposition format (version 0.0.4), metric names
  // prefixed "weft_", with an `interface` label on every sample:
  //   weft_calls_total{method,code}                 counter (resolved calls)
  //   weft_call_duration_seconds{method}            histogram (round trip)
  //   weft_call_queue_seconds{method}               histogram (queue wait)
  //   weft_call_service_seconds{method}             histogram (service time)
  //   weft_calls_in_flight{method}, weft_calls_queued{method}  gauges
  //   weft_worker_calls_total{worker}               counter (served)
  //   weft_worker_busy_seconds_total{worker}        counter
  //   weft_worker_in_flight{worker}, weft_worker_queued{worker}, weft_worker_up{worker}
  //   weft_worker_restarts_total{worker}            counter
  std::string ToPrometheus() const;
};

}  // namespace weft

#endif  // WEFT_RUNTIME_STATS_H_
