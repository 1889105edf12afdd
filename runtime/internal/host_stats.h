// What the host side of a lane counts for the stats (stats_cells.h): a
// submit, in the owner's shard, and a resolution with its round trip, in
// the resolving thread's shard.
//
//   const uint64_t ticks = StampSubmit(config);   // before the descriptor is pushed
//   CountSubmit(config, lane, worker, method_index);  // after
//   CountResolution(config, method_index, code, submit_ticks);
//
// Thread safety: CountSubmit on the lane's owner thread only;
// CountResolution on any thread (it picks the shard this thread may write).
#ifndef WEFT_RUNTIME_INTERNAL_HOST_STATS_H_
#define WEFT_RUNTIME_INTERNAL_HOST_STATS_H_

#include <algorithm>
#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "runtime/internal/lane_registry.h"
#include "runtime/internal/stats_block.h"
#include "runtime/internal/stats_cells.h"
#include "runtime/internal/stats_clock.h"

namespace weft {
namespace internal {

struct HostStatsConfig {
  StatsBlock* block = nullptr;  // null: stats off
  const LaneRegistry* registry = nullptr;
  TickScale clock;
  uint32_t time_every = 1;  // PoolOptions::stats_time_every
};

// The submit stamp of a call (never 0) if it is one the lane times, else
// 0 (stats off, or not its turn): an untimed call costs no clock read on
// either side. `countdown` is the lane's own (owner thread).
inline uint64_t StampSubmit(const HostStatsConfig& stats, uint32_t& countdown) {
  if (stats.block == nullptr) return 0;
  if (countdown > 1) {
    --countdown;
    return 0;
  }
  countdown = stats.time_every;
  return std::max<uint64_t>(ReadTicks(stats.clock), 1);  // 0 means "not timed"
}

// Counts a submit on `lane` to `worker`; after the call is published, off
// its critical path.
inline void CountSubmit(const HostStatsConfig& stats, uint32_t lane, uint32_t worker,
                        uint32_t method) {
  if (stats.block == nullptr) return;
  // This thread owns the lane, so it is host shard `lane`'s only writer.
  AddOwned(stats.block->method(lane, method).submitted, 1);
  AddOwned(stats.block->worker_submitted(lane, worker), 1);
}

// Counts a call of `method` resolved with `code`; its round trip too when
// it was timed (`submit_ticks` != 0).
inline void CountResolution(const HostStatsConfig& stats, uint32_t method, absl::StatusCode code,
                            uint64_t submit_ticks) {
  if (stats.block == nullptr) return;
  const std::optional<uint32_t> bound = stats.registry->LaneOfThisThread();
  // A thread bound to a lane is that host shard's only writer; any other
  // thread shares the last shard, with read-modify-writes.
  const bool shared = !bound.has_value();
  HostMethodCells& cells =
      stats.block->method(shared ? stats.block->shared_shard() : *bound, method);
  const uint32_t c = static_cast<uint32_t>(code);
  Add(cells.by_code[c < kStatusCodes ? c : static_cast<uint32_t>(absl::StatusCode::kUnknown)], 1,
      shared);
  if (submit_ticks == 0) return;
  const uint64_t now = ReadTicks(stats.clock);
  if (now < submit_ticks) return;  // the counters of two cores disagree
  Record(cells.round_trip, TicksToNanos(now - submit_ticks, stats.clock), shared);
}

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_INTERNAL_HOST_STATS_H_
