// WorkerLoop: the serving side of one worker, over one region.
//
//   WorkerLoop loop(region_base, region_bytes, &impl, spin, max_payload_words);
//   if (loop.Start().ok()) loop.Run();   // returns once the host sets `stop`
//                                        // and every ring is drained
//
// It polls the submit rings of the region's active lanes, opens each request
// in place, runs the skeleton method with the response built in place, and
// publishes the completion on the slot's done_seq word (waking the host only
// if it sleeps). With nothing to do it spins, yields, then sleeps on the
// region's doorbell futex.
//
// The worker trusts nothing it reads from the region more than it must:
// descriptors and segment tables are checked against the geometry, so a
// corrupt request fails that call with InvalidArgument.
//
// Thread safety: one thread (or process) runs a loop; it is the consumer of
// every submit ring in the region.
#ifndef WEFT_RUNTIME_WORKER_H_
#define WEFT_RUNTIME_WORKER_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "runtime/internal/layout.h"
#include "runtime/internal/region.h"
#include "runtime/internal/region_message.h"
#include "runtime/skeleton.h"
#include "runtime/internal/span_allocator.h"
#include "runtime/internal/spsc_ring.h"
#include "runtime/internal/wait.h"

namespace weft {
namespace internal {

class WorkerLoop {
 public:
  // Not owned: `base` (a validated region of `bytes`) and `impl` outlive
  // the loop.
  // `geometry` is the region's validated layout (Region::geometry()).
  WorkerLoop(char* base, uint64_t bytes, const Geometry& geometry, SkeletonBase* impl,
             SpinPolicy spin, uint64_t max_payload_words);
  ~WorkerLoop();

  // Checks the region against the skeleton and runs impl->OnStart().
  absl::Status Start();
  // Serves until the host sets `stop` and the rings are empty.
  void Run();

 private:
  struct LaneWorker;

  bool PollOnce();
  void RebuildHeldResponses();
  void Serve(LaneWorker& lane, const CallDescriptor& descriptor);
  void Sleep();
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
  SkeletonBase* impl_;
  SpinPolicy spin_;
  uint64_t max_payload_words_;
  std::vector<std::unique_ptr<LaneWorker>> lanes_;
  uint64_t calls_started_ = 0;  // mirrors of the header's counters
  uint64_t calls_served_ = 0;
};

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_WORKER_H_
