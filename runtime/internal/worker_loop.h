// WorkerLoop: the serving side of one worker, over one region.
//
//   WorkerLoop loop(region_base, region_bytes, geometry, &impl, spin, max_payload_words);
//   if (loop.Start().ok()) loop.Run();   // returns once the host sets `stop`
//                                        // and every ring is drained
//
// It polls the submit rings of the region's active lanes (each a
// LaneWorker, lane_worker.h, which serves the calls), fairly: what is in one
// ring now, then the next. With nothing to do it spins, yields, then sleeps
// on the region's doorbell futex.
//
// Memory ordering (sleeping): the worker reads the doorbell, stores
// worker_sleeping = 1, issues a seq_cst fence, re-checks every ring, and
// only then FUTEX_WAITs on the doorbell value it read. The host stores the
// ring's tail, issues a seq_cst fence, and rings the doorbell only if it
// sees worker_sleeping (LaneHost::WakeWorker). One side always sees the
// other's store: no call is slept on.
//
// Thread safety: one thread (or process) runs a loop; it is the consumer of
// every submit ring in the region.
#ifndef WEFT_RUNTIME_INTERNAL_WORKER_LOOP_H_
#define WEFT_RUNTIME_INTERNAL_WORKER_LOOP_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "runtime/internal/lane_worker.h"
#include "runtime/internal/layout.h"
#include "runtime/internal/stats_clock.h"
#include "runtime/pool_options.h"
#include "runtime/skeleton.h"

namespace weft {
namespace internal {

class WorkerLoop {
 public:
  // Not owned: `base` (a validated region of `bytes`) and `impl` outlive
  // the loop. `geometry` is the region's validated layout (Region::geometry()).
  WorkerLoop(char* base, uint64_t bytes, const Geometry& geometry, SkeletonBase* impl,
             SpinPolicy spin, uint64_t max_payload_words);
  ~WorkerLoop();

  // Checks the region against the skeleton and runs impl->OnStart().
  absl::Status Start();
  // Serves until the host sets `stop` and the rings are empty.
  void Run();

 private:
  bool PollOnce();
  void Sleep();
  uint32_t ActiveLanes() const;
  // Inline: the poll loop calls it for every lane on every poll.
  LaneWorker& lane(uint32_t i) {
    LaneWorker* existing = lanes_[i].get();
    return existing != nullptr ? *existing : MakeLane(i);
  }
  LaneWorker& MakeLane(uint32_t i);

  char* base_;
  uint64_t bytes_;
  RegionHeader* header_;
  Geometry geometry_;
  TickScale clock_;  // the host's, read from the header by Start()
  SkeletonBase* impl_;
  SpinPolicy spin_;
  uint64_t max_payload_words_;
  std::vector<std::unique_ptr<LaneWorker>> lanes_;
  uint64_t calls_started_ = 0;  // mirrors of the header's counters
  uint64_t calls_served_ = 0;
};

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_INTERNAL_WORKER_LOOP_H_
