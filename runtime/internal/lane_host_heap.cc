// LaneHost's request heap (lane_host.h): spill space for requests that
// outgrow their slot's inline area, and the rule that keeps its free space
// zero, so that Cap'n Proto's spilled segments are written once, not zeroed
// and then written: a span is zeroed before it is freed, one of 64 KiB or
// more later, while the lane's owner waits for a call (WaitSlotDone calls
// ZeroDeferred), or at once when the heap runs short (AllocateSpill).
// (MADV_REMOVE, which would give zero pages back from the kernel, is a
// punched hole: the requests block's F_SEAL_FUTURE_WRITE refuses it.)
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>

#include "absl/time/clock.h"
#include "runtime/internal/lane_host.h"
#include "runtime/internal/slot.h"

namespace weft {
namespace internal {
namespace {

constexpr uint64_t kWordBytes = sizeof(capnp::word);

// Spans at least this large are zeroed off the call path (ZeroDeferred).
constexpr uint64_t kDeferZeroBytes = 64 << 10;

}  // namespace

void LaneHost::FreeRequestSpans(SlotHost& host) {
  for (const SpillSpan& span : host.request_spills) {
    if (span.words * kWordBytes >= kDeferZeroBytes) {
      deferred_.push_back(span);
      continue;
    }
    std::memset(region_->base() + span.offset, 0, span.words * kWordBytes);
    request_heap_.Free((span.offset - layout_.request_heap) / kWordBytes, span.words);
  }
  host.request_spills.clear();
}

void LaneHost::ZeroDeferred(uint64_t budget_bytes) {
  // Oldest first: FreeRequestSpans appends while the front is half done,
  // and deferred_zeroed_ always counts the front's zeroed bytes.
  while (!deferred_.empty() && budget_bytes > 0) {
    const SpillSpan span = deferred_.front();
    const uint64_t bytes = span.words * kWordBytes;
    const uint64_t n = std::min(budget_bytes, bytes - deferred_zeroed_);
    std::memset(region_->base() + span.offset + deferred_zeroed_, 0, n);
    deferred_zeroed_ += n;
    budget_bytes -= n;
    if (deferred_zeroed_ < bytes) return;
    request_heap_.Free((span.offset - layout_.request_heap) / kWordBytes, span.words);
    deferred_.erase(deferred_.begin());
    deferred_zeroed_ = 0;
  }
}

std::optional<uint64_t> LaneHost::AllocateSpill(uint64_t words) {
  for (;;) {
    if (std::optional<uint64_t> at = request_heap_.Allocate(words)) {
      return layout_.request_heap + *at * kWordBytes;
    }
    if (words > request_heap_.size()) return std::nullopt;
    if (ReclaimRequestSpans()) continue;
    if (!deferred_.empty()) {
      ZeroDeferred(UINT64_MAX);
      continue;
    }
    // Wait for a call still holding request heap space.
    uint32_t wait_slot = UINT32_MAX;
    for (uint32_t i = 0; i < geometry_.slots_per_lane; ++i) {
      if (!slot_hosts_[i].request_spills.empty() && !SlotFree(i)) {
        wait_slot = i;
        break;
      }
    }
    if (wait_slot == UINT32_MAX) return std::nullopt;
    Publish();  // as in AcquireSlot
    WaitSlotDone(wait_slot, slot_hosts_[wait_slot].seq, nullptr,
                 std::min(spill_deadline_, absl::Now() + absl::Milliseconds(10)));
    // Seq_cst: as in AcquireSlot.
    if (absl::Now() >= spill_deadline_ || shutting_down_->load(std::memory_order_seq_cst) != 0) {
      return std::nullopt;
    }
  }
}

bool LaneHost::ReclaimRequestSpans() {
  bool freed = false;
  for (uint32_t i = 0; i < geometry_.slots_per_lane; ++i) {
    SlotHost& host = slot_hosts_[i];
    if (host.request_spills.empty()) continue;
    // The worker is done reading the request once it published the call.
    if (!SlotFree(i) && !SlotDone(slots_[i], host.seq)) continue;
    FreeRequestSpans(host);
    freed = true;
  }
  return freed;
}

}  // namespace internal
}  // namespace weft
