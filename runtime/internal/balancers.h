// WorkerPicker: the pool's balancer, applied on the calling thread.
//
//   WorkerPicker picker(options, loads, lanes);
//   uint32_t w = picker.PickLive(lane);      // UINT32_MAX if every worker was given up
//   picker.NoteSubmitted(w);                 // after the call was sent
//
// The built-in policies (BalancerKind) keep their per-host-thread state
// (round-robin position, random state) in the picker, one cache line per
// lane, written only by that lane's thread: picking costs no shared write.
// They are not weft::Balancer implementations on purpose: that interface
// is a pick over a snapshot of every worker's load, which round robin and
// random never need and cannot keep per-thread state through. A
// user's custom_balancer is called with that snapshot (WorkerLoad per
// worker) built on the calling thread.
//
// Load counts: a worker's in-flight count is the calls the host sent it
// (counted here, only when a load-aware policy is in use) minus the calls it
// served (its region's counter); queued is sent minus started.
//
// Thread safety: Pick/PickLive/NoteSubmitted are called by a lane's own
// thread for that lane, from any number of lanes at once.
#ifndef WEFT_RUNTIME_INTERNAL_BALANCERS_H_
#define WEFT_RUNTIME_INTERNAL_BALANCERS_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "runtime/balancer.h"
#include "runtime/internal/layout.h"
#include "runtime/pool_options.h"

namespace weft {
namespace internal {

// Where the picker reads one worker's load and state. Not owned.
struct WorkerLoadSource {
  const RegionHeader* header;       // calls_started, calls_served
  const std::atomic<bool>* failed;  // given up: never picked
};

class WorkerPicker {
 public:
  WorkerPicker(const PoolOptions& options, std::vector<WorkerLoadSource> workers, uint32_t lanes);

  // The worker for the next call of `lane`'s thread, skipping workers that
  // were given up; UINT32_MAX if all were.
  uint32_t PickLive(uint32_t lane);
  // Counts a call sent to `worker` (load-aware policies only).
  void NoteSubmitted(uint32_t worker) {
    if (!track_load_) return;
    // Relaxed: a counter for balancing only.
    submitted_[worker].count.fetch_add(1, std::memory_order_relaxed);
  }

 private:
  uint32_t Pick(uint32_t lane);
  uint64_t InFlight(uint32_t worker) const;

  struct alignas(kCacheLine) LaneState {
    uint32_t round_robin = 0;  // the lane's thread only
    uint32_t random = 0;       // the lane's thread only (xorshift state)
  };
  struct alignas(kCacheLine) Submitted {
    std::atomic<uint64_t> count{0};
  };

  const BalancerKind kind_;
  const std::shared_ptr<Balancer> custom_;
  const std::vector<WorkerLoadSource> workers_;
  const bool track_load_;
  std::unique_ptr<LaneState[]> lanes_;
  std::unique_ptr<Submitted[]> submitted_;
};

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_INTERNAL_BALANCERS_H_
