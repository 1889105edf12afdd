// The stats cells in shared memory, and how their single writer updates them.
//
//   RecordOwned(cells.service, ns);   // the cells' only writer: load + store
//   RecordShared(cells.round_trip, ns);  // the pool's shared host shard: fetch_add
//
// Every cell has one writer at a time, which adds with a relaxed load and a
// relaxed store (no read-modify-write, no lock prefix): the worker for its
// region's WorkerMethodCells, the host thread bound to lane L for host shard
// L. Threads with no lane in the pool (the continuation thread, a thread
// that only waits) share one last shard and add with fetch_add. Readers
// (Stats(), weft-top in another process) load each cell once, relaxed: a
// snapshot is a sum of counters that were each true at some moment.
//
// Thread safety: see above; the structs are plain shared-memory layouts.
#ifndef WEFT_RUNTIME_INTERNAL_STATS_CELLS_H_
#define WEFT_RUNTIME_INTERNAL_STATS_CELLS_H_

#include <atomic>
#include <cstdint>
#include <type_traits>

#include "runtime/histogram.h"
#include "runtime/internal/layout.h"
#include "runtime/stats.h"

namespace weft {
namespace internal {

struct HistogramCells {
  std::atomic<uint64_t> sum_ns;
  std::atomic<uint64_t> buckets[LatencyHistogram::kBuckets];
};

// A worker's figures for one method, in its region (after the lanes); the
// worker is their only writer.
struct alignas(kCacheLine) WorkerMethodCells {
  std::atomic<uint64_t> started;  // taken off a ring (before the method runs)
  std::atomic<uint64_t> served;
  std::atomic<uint64_t> by_code[kStatusCodes];
  HistogramCells queue_wait;  // submit -> the worker starts the call
  HistogramCells service;     // start -> done
};
static_assert(std::is_standard_layout_v<WorkerMethodCells>);

// A host shard's figures for one method, in the pool's stats block.
struct alignas(kCacheLine) HostMethodCells {
  std::atomic<uint64_t> submitted;
  std::atomic<uint64_t> by_code[kStatusCodes];  // resolved
  HistogramCells round_trip;                    // submit -> resolved
};
static_assert(std::is_standard_layout_v<HostMethodCells>);

// Relaxed (both): statistics; a reader sums them and orders nothing by them.
inline void AddOwned(std::atomic<uint64_t>& cell, uint64_t n) {
  cell.store(cell.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}
inline void AddShared(std::atomic<uint64_t>& cell, uint64_t n) {
  cell.fetch_add(n, std::memory_order_relaxed);
}
inline void Add(std::atomic<uint64_t>& cell, uint64_t n, bool shared) {
  if (shared) {
    AddShared(cell, n);
  } else {
    AddOwned(cell, n);
  }
}
inline void Record(HistogramCells& h, uint64_t ns, bool shared) {
  Add(h.buckets[LatencyHistogram::BucketOf(ns)], 1, shared);
  Add(h.sum_ns, ns, shared);
}

// Copies cells into a histogram (adding to what it holds).
void ReadInto(const HistogramCells& cells, LatencyHistogram& into);

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_INTERNAL_STATS_CELLS_H_
