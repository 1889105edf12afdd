#include "runtime/internal/lane_worker.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <string>

#include "absl/strings/str_cat.h"
#include "capnp/serialize.h"
#include "kj/exception.h"
#include "runtime/call.h"
#include "runtime/internal/slot.h"
#include "runtime/internal/wait.h"

namespace weft {
namespace internal {
namespace {
constexpr uint64_t kWordBytes = sizeof(capnp::word);
}  // namespace

LaneWorker::LaneWorker(char* base, uint64_t bytes, const Geometry& geometry, uint32_t index,
                       uint64_t max_payload_words, const TickScale& clock)
    : base_(base),
      bytes_(bytes),
      geometry_(geometry),
      max_payload_words_(max_payload_words),
      layout_(LaneAt(geometry, index)),
      ring_(reinterpret_cast<RingControl*>(base + layout_.ring_control),
            reinterpret_cast<CallDescriptor*>(base + layout_.descriptors), geometry.ring_capacity),
      slots_(reinterpret_cast<SlotShared*>(base + layout_.slots)),
      method_cells_(geometry.stats_methods == 0
                        ? nullptr
                        : reinterpret_cast<WorkerMethodCells*>(base + StatsOffset(geometry))),
      clock_(clock),
      heap_(geometry.heap_bytes / kWordBytes),
      slot_workers_(geometry.slots_per_lane) {}

void LaneWorker::FreeHeld(SlotWorker& slot) {
  for (const SpillSpan& span : slot.held) {
    heap_.Free((span.offset - layout_.response_heap) / kWordBytes, span.words);
  }
  slot.held.clear();
}

std::optional<uint64_t> LaneWorker::AllocateSpill(uint64_t words) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (std::optional<uint64_t> at = heap_.Allocate(words)) {
      return layout_.response_heap + *at * kWordBytes;
    }
    // Take back the spans of responses the host has released.
    for (uint32_t i = 0; i < slot_workers_.size(); ++i) {
      SlotWorker& slot = slot_workers_[i];
      // Acquire: pairs with the host's release store in ReleaseSlot; the
      // host no longer reads that response.
      if (!slot.held.empty() &&
          slots_[i].released_seq.load(std::memory_order_acquire) == slot.held_seq) {
        FreeHeld(slot);
      }
    }
  }
  return std::nullopt;
}

void LaneWorker::AdoptPredecessorResponses() {
  for (uint32_t s = 0; s < geometry_.slots_per_lane; ++s) {
    SlotShared& slot = slots_[s];
    SlotWorker& mine = slot_workers_[s];
    // The predecessor's responses are still in the inline areas: zero them
    // before the first use (Cap'n Proto needs zeroed segments).
    mine.response_dirty_words = geometry_.response_inline_bytes / kWordBytes;
    // Acquire: pairs with the release stores of done_seq and released_seq.
    const uint32_t done = slot.done_seq.load(std::memory_order_acquire);
    // Acquire: as above.
    if (done == 0 || slot.released_seq.load(std::memory_order_acquire) == done) continue;
    // A failed call wrote no response table: what is there is an earlier
    // call's, long released, and names nothing the host still reads.
    if (slot.status_code != 0) continue;
    SegmentTable table;
    std::memcpy(&table, &slot.response, sizeof(table));
    for (uint32_t k = 0; k < std::min(table.count, kMaxSegments); ++k) {
      const SegmentRef seg = table.segments[k];
      if (seg.offset < layout_.response_heap || seg.offset % kWordBytes != 0) continue;
      const uint64_t at = (seg.offset - layout_.response_heap) / kWordBytes;
      if (heap_.Reserve(at, seg.words)) mine.held.push_back(SpillSpan{seg.offset, seg.words});
    }
    mine.held_seq = done;
  }
}

void LaneWorker::NoteStarted(const CallDescriptor& d) {
  if (d.slot >= geometry_.slots_per_lane) return;
  // Relaxed: published to the host by the release store of head in the
  // ring's Pop() that follows; read after our death (by then every store is
  // done).
  slots_[d.slot].started_seq.store(d.seq, std::memory_order_relaxed);
}

void LaneWorker::Serve(const CallDescriptor& d, SkeletonBase* impl, RegionHeader* header,
                       uint64_t& calls_served) {
  if (d.slot >= geometry_.slots_per_lane) return;  // no slot to answer on
  SlotShared& slot = slots_[d.slot];
  last_slot_ = d.slot;
  // Already done: the host completed this call for a worker that died
  // holding it; the descriptor is stale.
  if (SlotDone(slot, d.seq)) {
    // Relaxed: a statistics counter; this worker is its only writer.
    header->calls_served.store(++calls_served, std::memory_order_relaxed);
    return;
  }
  SlotWorker& mine = slot_workers_[d.slot];
  // The host reused the slot, so it released the previous response.
  FreeHeld(mine);
  WorkerMethodCells* cells = CellsOf(d);
  // Only calls the host timed (a submit stamp) are timed here too.
  // One plain store, before the method runs: the per-method queued count.
  if (cells != nullptr) AddOwned(cells->started, 1);
  const bool timed = cells != nullptr && d.submit_ticks != 0;
  const uint64_t start = timed ? ReadTicks(clock_) : 0;
  const absl::Status status = Run(d, impl, header, slot, mine);
  const uint64_t done = timed ? ReadTicks(clock_) : 0;
  Complete(d, slot, status, header, calls_served, cells);
  if (!timed) return;
  if (start >= d.submit_ticks) {
    Record(cells->queue_wait, TicksToNanos(start - d.submit_ticks, clock_), /*shared=*/false);
  }
  if (done >= start) Record(cells->service, TicksToNanos(done - start, clock_), /*shared=*/false);
}

absl::Status LaneWorker::Open(const CallDescriptor& d, absl::Span<const MethodInfo> methods,
                              Request& out) {
  SlotShared& slot = slots_[d.slot];
  if (d.method_index >= methods.size()) {
    return absl::InvalidArgumentError(absl::StrCat("weft: unknown method index ", d.method_index));
  }
  // Relaxed: the host's abort hint; see CallContext::Aborted.
  if (slot.abort.load(std::memory_order_relaxed) != 0) {
    return absl::CancelledError("weft: aborted before a worker picked it up");
  }
  if (d.deadline_ns != 0 && MonotonicNanos() > d.deadline_ns) {
    return absl::DeadlineExceededError(kExpiredInQueue);
  }
  out.method = &methods[d.method_index];
  SegmentTable table;
  const uint64_t request_inline =
      layout_.request_inline + uint64_t{d.slot} * geometry_.request_inline_bytes;
  if ((d.flags & kCallInlineRequest) != 0) {
    // One segment in the inline area (the host wrote no table); its length
    // is checked like any table's below.
    table.count = 1;
    table.segments[0] = SegmentRef{request_inline, d.flags >> kInlineWordsShift};
  } else {
    CopyTableOut(slot.request, table);
  }
  absl::Status status = OpenSegments(table, base_, bytes_,
                                     {ByteRange{request_inline, geometry_.request_inline_bytes},
                                      ByteRange{layout_.request_heap, geometry_.heap_bytes}},
                                     out.segments);
  if (!status.ok()) return status;
  out.count = table.count;
  out.words = 0;
  for (uint32_t i = 0; i < table.count; ++i) out.words += table.segments[i].words;
  return absl::OkStatus();
}

bool LaneWorker::Stale(const CallDescriptor& d) const { return SlotDone(slots_[d.slot], d.seq); }

void LaneWorker::Answer(const CallDescriptor& d, absl::Status status,
                        const capnp::AnyPointer::Reader* results, RegionHeader* header,
                        uint64_t& calls_served) {
  SlotShared& slot = slots_[d.slot];
  SlotWorker& mine = slot_workers_[d.slot];
  last_slot_ = d.slot;
  // The host reused the slot, so it released the previous response.
  FreeHeld(mine);
  if (status.ok()) {
    const uint64_t response_inline =
        layout_.response_inline + uint64_t{d.slot} * geometry_.response_inline_bytes;
    RegionMessageBuilder response(base_, response_inline,
                                  geometry_.response_inline_bytes / kWordBytes,
                                  mine.response_dirty_words, this, max_payload_words_);
    try {
      response.getRoot<capnp::AnyPointer>().set(*results);
    } catch (const kj::Exception& e) {
      status = response.overflowed()
                   ? absl::ResourceExhaustedError("weft: the response exceeds max_payload_bytes")
                   : absl::DataLossError(absl::StrCat("weft: the remote results do not copy: ",
                                                      e.getDescription().cStr()));
    }
    if (status.ok() && response.overflowed()) {
      status = absl::ResourceExhaustedError("weft: the response exceeds max_payload_bytes");
    }
    if (status.ok()) response.WriteTable(slot.response);
    mine.response_dirty_words = response.inline_used_words();
    mine.held.assign(response.spills(), response.spills() + response.spill_count());
    mine.held_seq = d.seq;
  }
  Complete(d, slot, status, header, calls_served, CellsOf(d));
}

void LaneWorker::Complete(const CallDescriptor& d, SlotShared& slot, const absl::Status& status,
                          RegionHeader* header, uint64_t& calls_served, WorkerMethodCells* cells) {
  WriteSlotStatus(slot, status);
  // Relaxed: a statistics counter; this worker is its only writer.
  header->calls_served.store(++calls_served, std::memory_order_relaxed);
  PublishSlotDone(slot, *header, d.seq, WakeHost::kIfWaiting);
  if (cells == nullptr) return;
  // The rest after the completion, off the caller's critical path: a
  // Stats() taken the moment the caller has its result may not show this
  // call here yet. This worker is the cells' only writer (stats_cells.h).
  AddOwned(cells->served, 1);
  const uint32_t code = static_cast<uint32_t>(status.code());
  AddOwned(cells->by_code[code < kStatusCodes ? code : uint32_t{2} /* kUnknown */], 1);
}

absl::Status LaneWorker::Run(const CallDescriptor& d, SkeletonBase* impl, RegionHeader* header,
                             SlotShared& slot, SlotWorker& mine) {
  Request opened;
  absl::Status status = Open(d, impl->WeftMethods(), opened);
  if (!status.ok()) return status;
  const MethodInfo& method = *opened.method;
  capnp::ReaderOptions options;
  options.traversalLimitInWords = std::max<uint64_t>(8ull << 20, 4 * opened.words);
  capnp::SegmentArrayMessageReader request(kj::arrayPtr(opened.segments.data(), opened.count),
                                           options);
  const uint64_t response_inline =
      layout_.response_inline + uint64_t{d.slot} * geometry_.response_inline_bytes;
  RegionMessageBuilder response(base_, response_inline,
                                geometry_.response_inline_bytes / kWordBytes,
                                mine.response_dirty_words, this, max_payload_words_);
  // An abortable call's method also sees its deadline through aborted().
  const int64_t deadline_ns = (d.flags & kCallAbortable) != 0 ? d.deadline_ns : 0;
  CallContext context{&request, &response, &slot.abort, &method, deadline_ns};
  if (header->track_busy != 0) {
    // Relaxed: read by the host's supervisor for hard_timeout only.
    header->busy_since_ns.store(MonotonicNanos(), std::memory_order_relaxed);
  }
  impl->BeforeCall(method);
  try {
    status = impl->WeftDispatch(d.method_index, context);
  } catch (const kj::Exception& e) {
    status = response.overflowed()
                 ? absl::ResourceExhaustedError(absl::StrCat("weft: the response of ", method.name,
                                                             " exceeds max_payload_bytes"))
                 : absl::InternalError(
                       absl::StrCat("weft: ", method.name, " threw: ", e.getDescription().cStr()));
  } catch (const std::exception& e) {
    status = absl::InternalError(absl::StrCat("weft: ", method.name, " threw: ", e.what()));
  } catch (...) {
    status = absl::InternalError(absl::StrCat("weft: ", method.name, " threw a non-std exception"));
  }
  if (deadline_ns != 0 && MonotonicNanos() > deadline_ns) {
    // Past its deadline: whatever the method made of it, the caller gets
    // what its on_timeout says (the host maps this status).
    status = absl::DeadlineExceededError(kExpiredWhileRunning);
  } else if (status.ok() && response.overflowed()) {
    status = absl::ResourceExhaustedError(
        absl::StrCat("weft: the response of ", method.name, " exceeds max_payload_bytes"));
  }
  impl->AfterCall(method, status);
  // Relaxed: as above.
  if (header->track_busy != 0) header->busy_since_ns.store(0, std::memory_order_relaxed);
  if (status.ok()) response.WriteTable(slot.response);
  mine.response_dirty_words = response.inline_used_words();
  mine.held.assign(response.spills(), response.spills() + response.spill_count());
  mine.held_seq = d.seq;
  return status;
}

}  // namespace internal
}  // namespace weft
