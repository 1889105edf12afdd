// LaneWorker: the worker side of one lane — the consumer of its submit ring,
// the owner of its response heap — and Serve(), which runs one call.
//
//   LaneWorker lane(base, bytes, geometry, index, max_payload_words);
//   while (CallDescriptor* d = lane.ring().Peek()) { ...; lane.Serve(copy, impl, header); }
//
// Serve opens the request in place (segment table checked against the
// slot's areas, capnp::SegmentArrayMessageReader with traversal limits),
// builds the response in place in the slot's response area and the lane's
// response heap, runs the skeleton method, and publishes the completion on
// the slot (slot.h). A descriptor or segment table that does not fit the
// geometry fails that call with InvalidArgument; nothing outside the
// region is touched.
//
// Thread safety: single consumer: only the worker's thread uses it.
#ifndef WEFT_RUNTIME_INTERNAL_LANE_WORKER_H_
#define WEFT_RUNTIME_INTERNAL_LANE_WORKER_H_

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "capnp/any.h"
#include "runtime/internal/layout.h"
#include "runtime/internal/region.h"
#include "runtime/internal/region_message.h"
#include "runtime/internal/span_allocator.h"
#include "runtime/internal/spsc_ring.h"
#include "runtime/internal/stats_cells.h"
#include "runtime/internal/stats_clock.h"
#include "runtime/skeleton.h"

namespace weft {
namespace internal {

class LaneWorker final : public SpillSource {
 public:
  // Not owned: `base` (a validated region of `bytes`) outlives the lane.
  // `clock`: the host's stats clock (from the region header); the worker
  // times its calls into the region's WorkerMethodCells when the geometry
  // has them.
  LaneWorker(char* base, uint64_t bytes, const Geometry& geometry, uint32_t index,
             uint64_t max_payload_words, const TickScale& clock = TickScale());

  RingConsumer<CallDescriptor>& ring() { return ring_; }
  // While the ring is empty: pulls the request area of the slot the last
  // call used (a ping-pong reuses it), so that the next request's first
  // line comes over with its descriptor, not after it. A prefetch only.
  void PrefetchLikelyRequest() const {
    __builtin_prefetch(base_ + layout_.request_inline +
                       uint64_t{last_slot_} * geometry_.request_inline_bytes);
  }
  // Marks the slot's call as started (read by the host's supervisor if this
  // worker dies); called before the descriptor is popped.
  void NoteStarted(const CallDescriptor& d);
  // Runs the call `d` on `impl` and publishes its completion; counts it in
  // `calls_served` (this worker is the counter's only writer).
  void Serve(const CallDescriptor& d, SkeletonBase* impl, RegionHeader* header,
             uint64_t& calls_served);
  // ---- For a worker that answers its calls later and out of order (a
  // remote worker, remote_link.h), in two steps instead of Serve.
  // The call's request, opened in place: valid until the call is answered.
  struct Request {
    const MethodInfo* method = nullptr;
    std::array<kj::ArrayPtr<const capnp::word>, kMaxSegments> segments;
    uint32_t count = 0;
    uint64_t words = 0;
  };
  // Checks `d` as Serve does (method index, abort, deadline, the segment
  // table against the slot's areas) and opens its request. An error is the
  // call's status: Answer it.
  absl::Status Open(const CallDescriptor& d, absl::Span<const MethodInfo> methods, Request& out);
  // Publishes `d`'s completion: with status OK, `results` (required then)
  // copied into the slot's response area (ResourceExhausted if they outgrow
  // max_payload_bytes); counts it in `calls_served`.
  void Answer(const CallDescriptor& d, absl::Status status,
              const capnp::AnyPointer::Reader* results, RegionHeader* header,
              uint64_t& calls_served);
  // The slot is done already (the host completed the call for a worker that
  // died holding it): answer nothing. Needs SlotInRange.
  bool Stale(const CallDescriptor& d) const;
  // The per-method started count (Serve counts its own calls).
  void CountStarted(const CallDescriptor& d) {
    if (WorkerMethodCells* cells = CellsOf(d)) AddOwned(cells->started, 1);
  }
  bool SlotInRange(const CallDescriptor& d) const { return d.slot < geometry_.slots_per_lane; }
  // The host's abort hint for `d`'s slot (relaxed: a hint it polls).
  bool AbortRequested(const CallDescriptor& d) const {
    return slots_[d.slot].abort.load(std::memory_order_relaxed) != 0;
  }

  // For a replacement worker: keeps the response heap spans the host still
  // reads (responses of its predecessor not yet released) out of the heap.
  void AdoptPredecessorResponses();

  // SpillSource: response heap space, reclaiming spans the host released.
  std::optional<uint64_t> AllocateSpill(uint64_t words) override;

 private:
  struct SlotWorker {
    uint64_t response_dirty_words = 0;  // inline words the last response used
    uint32_t held_seq = 0;              // the call whose response holds `held`
    std::vector<SpillSpan> held;        // response heap spans still read by the host
  };
  void FreeHeld(SlotWorker& slot);
  // Writes the status, publishes the completion, then counts it in the
  // method's cells (null: none).
  void Complete(const CallDescriptor& d, SlotShared& slot, const absl::Status& status,
                RegionHeader* header, uint64_t& calls_served, WorkerMethodCells* cells);
  // The per-method cells of `d`'s method, null without stats.
  WorkerMethodCells* CellsOf(const CallDescriptor& d) const {
    return method_cells_ != nullptr && d.method_index < geometry_.stats_methods
               ? &method_cells_[d.method_index]
               : nullptr;
  }
  absl::Status Run(const CallDescriptor& d, SkeletonBase* impl, RegionHeader* header,
                   SlotShared& slot, SlotWorker& mine);

  char* base_;
  uint64_t bytes_;
  Geometry geometry_;
  uint64_t max_payload_words_;
  LaneLayout layout_;
  RingConsumer<CallDescriptor> ring_;
  SlotShared* slots_;
  WorkerMethodCells* method_cells_;  // null with stats off
  TickScale clock_;
  SpanAllocator heap_;
  std::vector<SlotWorker> slot_workers_;
  uint32_t last_slot_ = 0;  // < slots_per_lane: the slot of the last call served
};

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_INTERNAL_LANE_WORKER_H_
