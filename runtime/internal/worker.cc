#include "runtime/internal/worker.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <exception>
#include <string>

#include "absl/strings/str_cat.h"
#include "capnp/serialize.h"
#include "kj/exception.h"
#include "runtime/call.h"

namespace weft {
namespace internal {
namespace {
constexpr uint64_t kWordBytes = sizeof(capnp::word);
}  // namespace

// The worker's view of one lane: the consumer side of its ring and the
// owner of its response heap.
struct WorkerLoop::LaneWorker final : public SpillSource {
  struct SlotWorker {
    uint64_t response_dirty_words = 0;  // inline words the last response used
    uint32_t held_seq = 0;              // the call whose response holds `held`
    std::vector<SpillSpan> held;        // response heap spans still read by the host
  };

  LaneWorker(char* base, const Geometry& geometry, uint32_t index)
      : layout(LaneAt(geometry, index)),
        ring(reinterpret_cast<RingControl*>(base + layout.ring_control),
             reinterpret_cast<CallDescriptor*>(base + layout.descriptors), geometry.ring_capacity),
        slots(reinterpret_cast<SlotShared*>(base + layout.slots)),
        heap(geometry.heap_bytes / kWordBytes),
        slot_workers(geometry.slots_per_lane) {}

  void FreeHeld(SlotWorker& slot) {
    for (const SpillSpan& span : slot.held) {
      heap.Free((span.offset - layout.response_heap) / kWordBytes, span.words);
    }
    slot.held.clear();
  }

  std::optional<uint64_t> AllocateSpill(uint64_t words) override {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (std::optional<uint64_t> at = heap.Allocate(words)) {
        return layout.response_heap + *at * kWordBytes;
      }
      // Take back the spans of responses the host has released.
      for (uint32_t i = 0; i < slot_workers.size(); ++i) {
        SlotWorker& slot = slot_workers[i];
        // Acquire: pairs with the host's release store in ReleaseSlot; the
        // host no longer reads that response.
        if (!slot.held.empty() &&
            slots[i].released_seq.load(std::memory_order_acquire) == slot.held_seq) {
          FreeHeld(slot);
        }
      }
    }
    return std::nullopt;
  }

  LaneLayout layout;
  RingConsumer<CallDescriptor> ring;
  SlotShared* slots;
  SpanAllocator heap;
  std::vector<SlotWorker> slot_workers;
};

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

absl::Status WorkerLoop::Start() {
  if (absl::Status s = Region::Validate(base_, bytes_); !s.ok()) return s;
  if (header_->interface_id != impl_->WeftInterfaceId() ||
      header_->method_count != impl_->WeftMethods().size()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "weft: the region is for interface ", absl::Hex(header_->interface_id), " with ",
        header_->method_count, " methods, but the worker serves ",
        absl::Hex(impl_->WeftInterfaceId()), " with ", impl_->WeftMethods().size()));
  }
  RebuildHeldResponses();
  // A replacement worker continues its predecessor's counts.
  calls_started_ = header_->calls_started.load(std::memory_order_relaxed);
  calls_served_ = header_->calls_served.load(std::memory_order_relaxed);
  try {
    absl::Status started = impl_->OnStart();
    if (started.ok()) {
      // Release: ordered before any call this worker completes (each
      // completion's done_seq release store comes later in this thread).
      header_->boots.store(header_->boots.load(std::memory_order_relaxed) + 1,
                           std::memory_order_release);
    }
    return started;
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("weft: OnStart() threw: ", e.what()));
  }
}

void WorkerLoop::RebuildHeldResponses() {
  // A replacement worker inherits a region whose response heaps may still
  // hold responses the host reads: keep their spans out of the allocator.
  const uint32_t active =
      std::min(header_->active_lanes.load(std::memory_order_acquire), geometry_.lanes);
  for (uint32_t i = 0; i < active; ++i) {
    LaneWorker& l = lane(i);
    for (uint32_t s = 0; s < geometry_.slots_per_lane; ++s) {
      SlotShared& slot = l.slots[s];
      // The predecessor's responses are still in the inline areas: zero
      // them before the first use (Cap'n Proto needs zeroed segments).
      l.slot_workers[s].response_dirty_words = geometry_.response_inline_bytes / kWordBytes;
      // Acquire: pairs with the release stores of done_seq and released_seq.
      const uint32_t done = slot.done_seq.load(std::memory_order_acquire);
      if (done == 0 || slot.released_seq.load(std::memory_order_acquire) == done) continue;
      SegmentTable table;
      std::memcpy(&table, &slot.response, sizeof(table));
      LaneWorker::SlotWorker& mine = l.slot_workers[s];
      for (uint32_t k = 0; k < std::min(table.count, kMaxSegments); ++k) {
        const SegmentRef seg = table.segments[k];
        if (seg.offset < l.layout.response_heap || seg.offset % kWordBytes != 0) continue;
        const uint64_t at = (seg.offset - l.layout.response_heap) / kWordBytes;
        if (l.heap.Reserve(at, seg.words)) mine.held.push_back(SpillSpan{seg.offset, seg.words});
      }
      mine.held_seq = done;
    }
  }
}

WorkerLoop::LaneWorker& WorkerLoop::MakeLane(uint32_t i) {
  lanes_[i] = std::make_unique<LaneWorker>(base_, geometry_, i);
  return *lanes_[i];
}

bool WorkerLoop::PollOnce() {
  // Acquire: pairs with the host's release store in HostCore::BindLane.
  const uint32_t active =
      std::min(header_->active_lanes.load(std::memory_order_acquire), geometry_.lanes);
  bool worked = false;
  for (uint32_t i = 0; i < active; ++i) {
    LaneWorker& l = lane(i);
    // Drain what is there now, then move to the next lane (fairness).
    for (uint32_t n = 0; n < geometry_.ring_capacity; ++n) {
      CallDescriptor* descriptor = l.ring.Peek();
      if (descriptor == nullptr) break;
      const CallDescriptor copy = *descriptor;
      if (copy.slot < geometry_.slots_per_lane) {
        // Relaxed: published to the host by the release store of head in
        // Pop() below; read after our death (by then every store is done).
        l.slots[copy.slot].started_seq.store(copy.seq, std::memory_order_relaxed);
      }
      l.ring.Pop();
      // Relaxed: a statistics counter (balancer load snapshots). This
      // worker is its only writer: a plain store, no locked read-modify-write.
      header_->calls_started.store(++calls_started_, std::memory_order_relaxed);
      Serve(l, copy);
      worked = true;
    }
  }
  return worked;
}

void WorkerLoop::Serve(LaneWorker& l, const CallDescriptor& d) {
  if (d.slot >= geometry_.slots_per_lane) return;  // no slot to answer on
  SlotShared& slot = l.slots[d.slot];
  // Acquire: pairs with the release store of done_seq by whoever completed
  // it. Already done: the host completed this call for a worker that died
  // holding it; the descriptor is stale.
  if (slot.done_seq.load(std::memory_order_acquire) == d.seq) {
    header_->calls_served.store(++calls_served_, std::memory_order_relaxed);
    return;
  }
  LaneWorker::SlotWorker& mine = l.slot_workers[d.slot];
  // The host reused the slot, so it released the previous response.
  l.FreeHeld(mine);

  const absl::Span<const MethodInfo> methods = impl_->WeftMethods();
  absl::Status status;
  if (d.method_index >= methods.size()) {
    status = absl::InvalidArgumentError(
        absl::StrCat("weft: unknown method index ", d.method_index));
    // Relaxed: the host's abort hint; see CallContext::Aborted.
  } else if (slot.abort.load(std::memory_order_relaxed) != 0) {
    status = absl::CancelledError("weft: aborted before a worker picked it up");
  } else if (d.deadline_ns != 0 && MonotonicNanos() > d.deadline_ns) {
    status = absl::DeadlineExceededError("weft: the deadline passed before a worker picked it up");
  } else {
    const MethodInfo& method = methods[d.method_index];
    SegmentTable table;
    std::memcpy(&table, &slot.request, sizeof(table));
    std::array<kj::ArrayPtr<const capnp::word>, kMaxSegments> segments;
    const uint64_t request_inline =
        l.layout.request_inline + uint64_t{d.slot} * geometry_.request_inline_bytes;
    status = OpenSegments(table, base_, bytes_,
                          {ByteRange{request_inline, geometry_.request_inline_bytes},
                           ByteRange{l.layout.request_heap, geometry_.heap_bytes}},
                          segments);
    if (status.ok()) {
      uint64_t words = 0;
      for (uint32_t i = 0; i < table.count; ++i) words += table.segments[i].words;
      capnp::ReaderOptions options;
      options.traversalLimitInWords = std::max<uint64_t>(8ull << 20, 4 * words);
      capnp::SegmentArrayMessageReader request(kj::arrayPtr(segments.data(), table.count),
                                               options);
      const uint64_t response_inline =
          l.layout.response_inline + uint64_t{d.slot} * geometry_.response_inline_bytes;
      RegionMessageBuilder response(base_, response_inline,
                                    geometry_.response_inline_bytes / kWordBytes,
                                    mine.response_dirty_words, &l, max_payload_words_);
      CallContext context{&request, &response, &slot.abort, &method};
      if (header_->track_busy != 0) {
        // Relaxed: read by the host's supervisor for hard_timeout only.
        header_->busy_since_ns.store(MonotonicNanos(), std::memory_order_relaxed);
      }
      impl_->BeforeCall(method);
      try {
        status = impl_->WeftDispatch(d.method_index, context);
      } catch (const kj::Exception& e) {
        status = response.overflowed()
                     ? absl::ResourceExhaustedError(absl::StrCat(
                           "weft: the response of ", method.name, " exceeds max_payload_bytes"))
                     : absl::InternalError(absl::StrCat("weft: ", method.name, " threw: ",
                                                        e.getDescription().cStr()));
      } catch (const std::exception& e) {
        status = absl::InternalError(absl::StrCat("weft: ", method.name, " threw: ", e.what()));
      } catch (...) {
        status = absl::InternalError(
            absl::StrCat("weft: ", method.name, " threw a non-std exception"));
      }
      if (status.ok() && response.overflowed()) {
        status = absl::ResourceExhaustedError(
            absl::StrCat("weft: the response of ", method.name, " exceeds max_payload_bytes"));
      }
      impl_->AfterCall(method, status);
      if (header_->track_busy != 0) header_->busy_since_ns.store(0, std::memory_order_relaxed);
      if (status.ok()) response.WriteTable(slot.response);
      mine.response_dirty_words = response.inline_used_words();
      mine.held.assign(response.spills(), response.spills() + response.spill_count());
      mine.held_seq = d.seq;
    }
  }
  slot.status_code = static_cast<uint32_t>(status.code());
  const size_t length = std::min<size_t>(status.message().size(), kMaxStatusMessage);
  if (length > 0) std::memcpy(slot.message, status.message().data(), length);
  slot.message_length = static_cast<uint32_t>(length);
  // Relaxed: a statistics counter; this worker is its only writer.
  header_->calls_served.store(++calls_served_, std::memory_order_relaxed);
  // Release: publishes status, message and response table written above.
  // Pairs with the host's acquire loads of done_seq (LaneHost::WorkerDone,
  // WaitSlotDone).
  slot.done_seq.store(d.seq, std::memory_order_release);
  // Release: a new value of the futex word, so a host thread about to
  // sleep on it (WaitSlotDone) does not.
  slot.wake_seq.fetch_add(1, std::memory_order_release);
  // Seq_cst fence: orders the stores above before the load of
  // host_waiting, against the host's seq_cst advertise-then-recheck.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (slot.host_waiting.load(std::memory_order_relaxed) != 0) {
    FutexWake(&slot.wake_seq, INT_MAX);
  }
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
      return worked || header_->stop.load(std::memory_order_relaxed) != 0;
    });
    if (!worked && header_->stop.load(std::memory_order_relaxed) == 0) Sleep();
  }
}

void WorkerLoop::Sleep() {
  // Acquire: any doorbell ring after this load changes the value and makes
  // the FUTEX_WAIT below return at once.
  const uint32_t bell = header_->doorbell.load(std::memory_order_acquire);
  header_->worker_sleeping.store(1, std::memory_order_relaxed);
  // Seq_cst fence: orders the store of worker_sleeping before the re-check
  // of the rings, against the host's tail store + fence + load of
  // worker_sleeping in LaneHost::Wake.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  const uint32_t active =
      std::min(header_->active_lanes.load(std::memory_order_acquire), geometry_.lanes);
  bool work = header_->stop.load(std::memory_order_acquire) != 0;
  for (uint32_t i = 0; i < active && !work; ++i) work = lane(i).ring.Peek() != nullptr;
  if (!work) {
    header_->sleeps.fetch_add(1, std::memory_order_relaxed);
    FutexWait(&header_->doorbell, bell, absl::InfiniteFuture());
  }
  // Relaxed: only the host's wake decision reads it, and a stale 1 costs one
  // needless FUTEX_WAKE.
  header_->worker_sleeping.store(0, std::memory_order_relaxed);
}

}  // namespace internal
}  // namespace weft
