#include "runtime/internal/worker_loop.h"

#include <algorithm>
#include <exception>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "runtime/internal/region.h"
#include "runtime/internal/wait.h"

namespace weft {
namespace internal {

WorkerLoop::WorkerLoop(char* base, uint64_t bytes, const Geometry& geometry, SkeletonBase* impl,
                       SpinPolicy spin, uint64_t max_payload_words)
    : base_(base),
      bytes_(bytes),
      header_(reinterpret_cast<RegionHeader*>(base)),
      geometry_(geometry),
      impl_(impl),
      spin_(spin),
      max_payload_words_(max_payload_words) {
  lanes_.resize(geometry_.lanes);
}

WorkerLoop::~WorkerLoop() = default;

uint32_t WorkerLoop::ActiveLanes() const {
  // Acquire: pairs with the host's release store of active_lanes (the pool
  // core, when a host thread binds a lane): the lane's memory is ready.
  return std::min(header_->active_lanes.load(std::memory_order_acquire), geometry_.lanes);
}

absl::Status WorkerLoop::Start() {
  if (absl::Status s = Region::Validate(base_, bytes_); !s.ok()) return s;
  // The host's stats clock: the worker's ticks must compare with the host's.
  clock_.kind = header_->clock_kind == static_cast<uint32_t>(TickKind::kTsc) ? TickKind::kTsc
                                                                             : TickKind::kMonotonic;
  clock_.shift = std::min<uint32_t>(header_->clock_shift, 63);
  clock_.mult = clock_.kind == TickKind::kTsc ? header_->clock_mult : 1;
  if (clock_.kind == TickKind::kMonotonic) clock_.shift = 0;
  if (header_->interface_id != impl_->WeftInterfaceId() ||
      header_->method_count != impl_->WeftMethods().size()) {
    return absl::FailedPreconditionError(
        absl::StrCat("weft: the region is for interface ", absl::Hex(header_->interface_id),
                     " with ", header_->method_count, " methods, but the worker serves ",
                     absl::Hex(impl_->WeftInterfaceId()), " with ", impl_->WeftMethods().size()));
  }
  // A replacement worker inherits a region whose response heaps may still
  // hold responses the host reads.
  const uint32_t active = ActiveLanes();
  for (uint32_t i = 0; i < active; ++i) lane(i).AdoptPredecessorResponses();
  // A replacement worker continues its predecessor's counts.
  // Relaxed: this worker is now the counters' only writer.
  calls_started_ = header_->calls_started.load(std::memory_order_relaxed);
  calls_served_ = header_->calls_served.load(std::memory_order_relaxed);
  try {
    absl::Status started = impl_->OnStart();
    if (started.ok()) {
      // Release: ordered before any call this worker completes (each
      // completion's done_seq release store comes later in this thread);
      // pairs with the acquire load in Stats().
      header_->boots.store(header_->boots.load(std::memory_order_relaxed) + 1,
                           std::memory_order_release);
    }
    return started;
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("weft: OnStart() threw: ", e.what()));
  }
}

LaneWorker& WorkerLoop::MakeLane(uint32_t i) {
  lanes_[i] = std::make_unique<LaneWorker>(base_, bytes_, geometry_, i, max_payload_words_, clock_);
  return *lanes_[i];
}

bool WorkerLoop::PollOnce() {
  const uint32_t active = ActiveLanes();
  bool worked = false;
  for (uint32_t i = 0; i < active; ++i) {
    LaneWorker& l = lane(i);
    // Drain what is there now, then move to the next lane (fairness).
    for (uint32_t n = 0; n < geometry_.ring_capacity; ++n) {
      CallDescriptor* descriptor = l.ring().Peek();
      if (descriptor == nullptr) {
        if (n == 0) l.PrefetchLikelyRequest();
        break;
      }
      const CallDescriptor copy = *descriptor;
      l.NoteStarted(copy);
      l.ring().Pop();
      // Relaxed: a statistics counter (balancer load snapshots). This
      // worker is its only writer: a plain store, no locked read-modify-write.
      header_->calls_started.store(++calls_started_, std::memory_order_relaxed);
      l.Serve(copy, impl_, header_, calls_served_);
      worked = true;
    }
  }
  return worked;
}

void WorkerLoop::Run() {
  for (;;) {
    if (PollOnce()) continue;
    // Acquire: pairs with the host's release store of stop; every call sent
    // before it is in the rings, and the rings were just found empty.
    if (header_->stop.load(std::memory_order_acquire) != 0) {
      if (!PollOnce()) return;
      continue;
    }
    bool worked = false;
    SpinThenYield(spin_, [&] {
      worked = PollOnce();
      // Relaxed: a hint; the acquire load above decides.
      return worked || header_->stop.load(std::memory_order_relaxed) != 0;
    });
    // Relaxed: as above.
    if (!worked && header_->stop.load(std::memory_order_relaxed) == 0) Sleep();
  }
}

void WorkerLoop::Sleep() {
  // Acquire: any doorbell ring after this load changes the value and makes
  // the FUTEX_WAIT below return at once.
  const uint32_t bell = header_->doorbell.load(std::memory_order_acquire);
  // Relaxed: ordered by the fence below.
  header_->worker_sleeping.store(1, std::memory_order_relaxed);
  // Seq_cst fence: orders the store of worker_sleeping before the re-check
  // of the rings, against the host's tail store + fence + load of
  // worker_sleeping in LaneHost::WakeWorker.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  const uint32_t active = ActiveLanes();
  // Acquire: pairs with the host's release store of stop.
  bool work = header_->stop.load(std::memory_order_acquire) != 0;
  for (uint32_t i = 0; i < active && !work; ++i) work = lane(i).ring().Peek() != nullptr;
  if (!work) {
    // Relaxed: a statistics counter.
    header_->sleeps.fetch_add(1, std::memory_order_relaxed);
    FutexWait(&header_->doorbell, bell, absl::InfiniteFuture());
  }
  // Relaxed: only the host's wake decision reads it, and a stale 1 costs one
  // needless FUTEX_WAKE.
  header_->worker_sleeping.store(0, std::memory_order_relaxed);
}

}  // namespace internal
}  // namespace weft
