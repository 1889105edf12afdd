#include "runtime/internal/lane_host.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <new>
#include <utility>

#include "absl/strings/str_cat.h"
#include "capnp/any.h"
#include "runtime/internal/host_stats.h"
#include "runtime/internal/slot.h"
#include "runtime/internal/wait.h"

namespace weft {
namespace internal {
namespace {

constexpr uint64_t kWordBytes = sizeof(capnp::word);

// The traversal budget for validating an untrusted worker's results: every
// pointer is followed once then, so amplification (pointers that alias) is
// bounded here, at four times the message's size.
uint64_t ValidationLimit(uint64_t message_words) {
  return std::max<uint64_t>(8ull << 20, 4 * message_words);
}

// Results the caller reads: built by a trusted worker, or already fully
// validated. The caller may read them as often as it likes (a loop over a
// large list re-traverses it on every access), so no budget applies.
capnp::ReaderOptions CallerReaderOptions() {
  capnp::ReaderOptions options;
  options.traversalLimitInWords = kj::maxValue;
  return options;
}

}  // namespace

Outcome Outcome::Deadline(const OnTimeout& on_timeout) {
  switch (on_timeout.kind()) {
    case OnTimeout::Kind::kDefaultResult:
      return {Kind::kDefaultResult, absl::OkStatus()};
    case OnTimeout::Kind::kStatus:
      return Early(on_timeout.status());
    default:
      return Early(absl::DeadlineExceededError("weft: the call's deadline passed"));
  }
}

LaneHost::LaneHost(Region* region, uint32_t worker, uint32_t lane, const LaneConfig& config,
                   const std::atomic<uint32_t>* shutting_down, AbortBudget* aborts)
    : region_(region),
      worker_(worker),
      lane_(lane),
      config_(config),
      shutting_down_(shutting_down),
      aborts_(aborts),
      layout_(region->lane(lane)),
      geometry_(region->geometry()),
      ring_(reinterpret_cast<RingControl*>(region->base() + layout_.ring_control),
            reinterpret_cast<CallDescriptor*>(region->base() + layout_.descriptors),
            geometry_.ring_capacity),
      slots_(reinterpret_cast<SlotShared*>(region->base() + layout_.slots)),
      slot_hosts_(new SlotHost[geometry_.slots_per_lane]),
      free_words_((geometry_.slots_per_lane + 63) / 64),
      request_heap_(geometry_.heap_bytes / kWordBytes) {
  free_bits_.reset(new std::atomic<uint64_t>[free_words_]);
  for (uint32_t w = 0; w < free_words_; ++w) {
    const uint32_t in_word = std::min<uint32_t>(64, geometry_.slots_per_lane - w * 64);
    // Relaxed: the lane is not visible to any other thread yet.
    free_bits_[w].store(in_word == 64 ? ~0ull : (1ull << in_word) - 1, std::memory_order_relaxed);
  }
}

LaneHost::~LaneHost() = default;

// ------------------------------------------------------------------ sending

bool LaneHost::SlotFree(uint32_t slot) const {
  // Acquire: pairs with the release fetch_or in ReleaseSlot.
  return (free_bits_[slot / 64].load(std::memory_order_acquire) >> (slot % 64)) & 1;
}

absl::StatusOr<uint32_t> LaneHost::AcquireSlot(absl::Time deadline) {
  for (;;) {
    for (uint32_t w = 0; w < free_words_; ++w) {
      // Acquire: pairs with the release fetch_or in ReleaseSlot, so whatever
      // the releasing thread did with the slot happens before we reuse it.
      const uint64_t bits = free_bits_[w].load(std::memory_order_acquire);
      if (bits == 0) continue;
      const int bit = std::countr_zero(bits);
      // Relaxed: only this (owner) thread clears bits; others only set them.
      free_bits_[w].fetch_and(~(1ull << bit), std::memory_order_relaxed);
      const uint32_t slot = w * 64 + static_cast<uint32_t>(bit);
      // The worker finished with the slot's previous request before the
      // slot was released: its heap spans are free again.
      FreeRequestSpans(slot_hosts_[slot]);
      return slot;
    }
    if (ReclaimFinished()) continue;
    if (config_.queue_full == QueueFull::kFail) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "weft: all ", geometry_.slots_per_lane, " call slots of this thread's lane to worker ",
          worker_, " are in use (queue_full = kFail)"));
    }
    // Wait for the worker to finish one of the calls it is running.
    CallState* wait_for = nullptr;
    for (uint32_t i = 0; i < geometry_.slots_per_lane && wait_for == nullptr; ++i) {
      if (SlotFree(i)) continue;
      CallState* call = slot_hosts_[i].call;
      if (call != nullptr && !WorkerDone(call)) wait_for = call;
    }
    if (wait_for == nullptr) {
      // The worker may have finished the last calls since the scan above:
      // their results are still to be copied out. Fail only if every slot
      // really is held by a claimed Response.
      if (ReclaimFinished()) continue;
      bool all_claimed = true;
      for (uint32_t i = 0; i < geometry_.slots_per_lane && all_claimed; ++i) {
        if (SlotFree(i)) {
          all_claimed = false;
        } else if (CallState* call = slot_hosts_[i].call) {
          // Acquire: pairs with the release stores of phase.
          all_claimed = call->phase.load(std::memory_order_acquire) == kTaken;
        }
      }
      if (!all_claimed) continue;
      return absl::ResourceExhaustedError(absl::StrCat(
          "weft: all ", geometry_.slots_per_lane,
          " call slots of this thread's lane are held by live weft::Response objects; destroy "
          "responses sooner or raise slots_per_lane"));
    }
    // The call waited for may be held back in a batch of this thread.
    Publish();
    // In slices, so that a shutdown (which waits for callers in here) is
    // noticed.
    WaitSlotDone(wait_for->slot, slot_hosts_[wait_for->slot].seq, nullptr,
                 std::min(deadline, absl::Now() + absl::Milliseconds(10)));
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          "weft: the call's deadline passed while it waited for a free call slot");
    }
    // Seq_cst: ordered with the pool's shutdown (see PoolCore::Shutdown).
    if (shutting_down_->load(std::memory_order_seq_cst) != 0) {
      return absl::UnavailableError("weft: the pool is shutting down");
    }
  }
}

RegionMessageBuilder& LaneHost::PrepareRequest(uint32_t slot, void* storage, absl::Time deadline) {
  spill_deadline_ = deadline;
  // Built in place, for every kind of worker: the request areas are the
  // region's requests block, which no worker can write (region.h), so
  // nothing can plant pointers in what Cap'n Proto's builder follows.
  return *new (storage) RegionMessageBuilder(
      region_->base(), layout_.request_inline + uint64_t{slot} * geometry_.request_inline_bytes,
      geometry_.request_inline_bytes / kWordBytes, slot_hosts_[slot].request_dirty_words, this,
      config_.max_payload_words, /*spills_zeroed=*/true);
}

void LaneHost::Submit(CallState* call, RegionMessageBuilder& builder) {
  const uint32_t slot = call->slot;
  SlotHost& host = slot_hosts_[slot];
  SegmentTable table;
  builder.WriteTable(table);
  // A one-segment request in the inline area travels in the descriptor's
  // flags; only a spilled one writes the slot's request table.
  const uint64_t inline_offset =
      layout_.request_inline + uint64_t{slot} * geometry_.request_inline_bytes;
  uint32_t flags = call->holds_abort_slot ? kCallAbortable : 0;
  if (table.count == 1 && table.segments[0].offset == inline_offset) {
    flags |=
        kCallInlineRequest | static_cast<uint32_t>(table.segments[0].words << kInlineWordsShift);
  } else {
    CopyTableIn(table, slots_[slot].request);
  }
  host.request_dirty_words = builder.inline_used_words();
  for (uint32_t i = 0; i < builder.spill_count(); ++i) {
    host.request_spills.push_back(builder.spills()[i]);
  }
  host.seq = host.seq == UINT32_MAX ? 1 : host.seq + 1;
  host.call = call;
  // Relaxed: read by waiters only to tell whether they are this owner.
  owner_token_.store(ThisThreadToken(), std::memory_order_relaxed);
  // Relaxed (all): the release store of the ring's tail below publishes
  // the stores; nobody else can watch the call before Submit returns it, and
  // the last stores of the previous call's flags (its abort, its Watch)
  // happened before its slot was released to us (ReleaseSlot's release,
  // AcquireSlot's acquire). Stored only if set: an unchanged line stays in
  // the worker's cache.
  SlotShared& shared = slots_[slot];
  if (shared.abort.load(std::memory_order_relaxed) != 0) {
    shared.abort.store(0, std::memory_order_relaxed);
  }
  if (shared.watched.load(std::memory_order_relaxed) != 0) {
    shared.watched.store(0, std::memory_order_relaxed);
  }
  call->lane = this;
  call->seq = host.seq;
  // Relaxed: the state is private to this thread until the handle that
  // carries it is handed to the user.
  call->refs.store(2, std::memory_order_relaxed);
  call->phase.store(kInFlight, std::memory_order_relaxed);
  const uint64_t ticks = StampSubmit(config_.stats, time_countdown_);
  call->submit_ticks = ticks;
  const CallDescriptor descriptor{
      slot, host.seq, call->method->index, flags, ToMonotonicNanos(call->deadline), ticks};
  // Every in-flight call holds a slot and the ring has room for every slot,
  // so the ring is full only if the worker corrupted its head index.
  if (!ring_.TryPushNoPublish(descriptor)) {
    Resolve(call,
            Outcome::Unsent(absl::DataLossError(absl::StrCat(
                "weft: worker ", worker_, " corrupted its submit ring (it claims to be full)"))));
    return;
  }
  if (corked_ != 0) {
    unpublished_ = true;  // published by Uncork, Publish or a wait of this thread
  } else {
    ring_.Publish();
    WakeWorker();
  }
  CountSubmit(config_.stats, lane_, worker_, descriptor.method_index);
}

void LaneHost::Cork() {
  // Relaxed: see PublishIfCorkedHere.
  if (corked_++ == 0) corked_by_.store(ThisThreadToken(), std::memory_order_relaxed);
}

void LaneHost::Uncork() {
  if (--corked_ != 0) return;
  Publish();
  // Relaxed: see PublishIfCorkedHere.
  corked_by_.store(nullptr, std::memory_order_relaxed);
}

void LaneHost::Publish() {
  if (!unpublished_) return;
  unpublished_ = false;
  ring_.Publish();
  WakeWorker();
}

void LaneHost::WakeWorker() {
  RegionHeader* header = region_->header();
  // Seq_cst fence: orders the tail store above before the load of
  // worker_sleeping, against the worker's store of worker_sleeping and its
  // re-check of the rings (WorkerLoop::Sleep). One of the two sides sees the
  // other's write, so the worker never sleeps on a call it has not seen.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  // Relaxed: ordered by the fence above.
  if (header->worker_sleeping.load(std::memory_order_relaxed) != 0) {
    // Release: not needed for data (the ring carries it); the increment only
    // makes a concurrent FUTEX_WAIT on the old value return at once.
    header->doorbell.fetch_add(1, std::memory_order_release);
    if (wake_fd_ >= 0) {
      SignalEventFd(wake_fd_);
    } else {
      FutexWake(&header->doorbell, 1);
    }
  }
}

void LaneHost::ReturnUnsentSlot(uint32_t slot, RegionMessageBuilder& builder) {
  SlotHost& host = slot_hosts_[slot];
  host.request_dirty_words = builder.inline_used_words();
  for (uint32_t i = 0; i < builder.spill_count(); ++i) {
    host.request_spills.push_back(builder.spills()[i]);
  }
  // Release: pairs with the owner's acquire in AcquireSlot. Nothing was
  // sent: no worker touches the slot, and its spans are freed when it is
  // next taken.
  free_bits_[slot / 64].fetch_or(1ull << (slot % 64), std::memory_order_release);
}

void LaneHost::ReleaseSlot(uint32_t slot, uint32_t seq) {
  // Release: the worker's acquire load of released_seq (its response heap
  // reclaim) sees that the host no longer reads this call's response.
  slots_[slot].released_seq.store(seq, std::memory_order_release);
  // Release: pairs with the owner's acquire load in AcquireSlot; all our
  // reads of the slot happen before it is reused.
  free_bits_[slot / 64].fetch_or(1ull << (slot % 64), std::memory_order_release);
}

// ---------------------------------------------------------------- waiting

void LaneHost::Watch(const CallState* call) {
  // Seq_cst: the caller re-checks the call after this store (Ready); pairs
  // with the fence in PublishSlotDone and the load in WakeSlotWaiters, so
  // either the re-check sees the outcome or the publisher sees the flag.
  // A stale call (its slot already reused) only earns the new call a
  // spurious ring.
  slots_[call->slot].watched.store(1, std::memory_order_seq_cst);
}

bool LaneHost::WorkerDone(const CallState* call) const {
  return SlotDone(slots_[call->slot], call->seq);
}

bool LaneHost::WaitResolvable(CallState* call, absl::Time until) {
  return WaitSlotDone(call->slot, call->seq, call, until);
}

bool LaneHost::WaitSlotDone(uint32_t slot, uint32_t seq, const CallState* call, absl::Time until) {
  SlotShared& s = slots_[slot];
  // The response's first line, pulled while we poll done_seq: when the
  // worker publishes, both lines come over at once instead of one after the
  // other (a prefetch is no access: nothing is read before done_seq says so).
  const char* response =
      region_->base() + layout_.response_inline + uint64_t{slot} * geometry_.response_inline_bytes;
  // The owner uses its waits to zero large freed request spans (relaxed:
  // only the owner can find its own token here).
  const bool owner = owner_token_.load(std::memory_order_relaxed) == ThisThreadToken();
  return WaitSlot(s, config_.spin, until, [&] {
    __builtin_prefetch(response);
    if (owner && !deferred_.empty()) ZeroDeferred(kZeroPerPoll);
    // Acquire (phase): pairs with the release store of phase by whoever
    // resolved the call early.
    return SlotDone(s, seq) ||
           (call != nullptr && call->phase.load(std::memory_order_acquire) != kInFlight);
  });
}

// -------------------------------------------------------------- resolving

bool LaneHost::Resolve(CallState* call, Outcome outcome) {
  uint32_t expected = kInFlight;
  // Acquire on success: we own the outcome, and (kFromWorker) the worker's
  // writes seen through done_seq stay visible. Relaxed on failure: someone
  // else resolved it and we touch nothing.
  if (!call->phase.compare_exchange_strong(expected, kResolving, std::memory_order_acquire,
                                           std::memory_order_relaxed)) {
    return false;
  }
  // Whatever the outcome, the call no longer counts against the abort budget
  // (the abort word itself stays raised for the worker to see).
  const bool was_abortable = std::exchange(call->holds_abort_slot, false);
  if (was_abortable) aborts_->Release();
  if (outcome.kind == Outcome::Kind::kFromWorker) {
    ResolveFromSlot(call);
    return true;
  }
  if (was_abortable && outcome.kind != Outcome::Kind::kUnsent) {
    // Relaxed: a hint the worker polls (CallContext::Aborted).
    slots_[call->slot].abort.store(1, std::memory_order_relaxed);
  }
  ResolveByHost(call, outcome, /*worker_done=*/false);
  return true;
}

void LaneHost::ResolveFromSlot(CallState* call) {
  SlotShared& shared = slots_[call->slot];
  // The caller saw done_seq == seq with acquire: the worker's writes below
  // are visible. An untrusted worker's fields are copied, then checked.
  const uint32_t code = shared.status_code;
  if (code == static_cast<uint32_t>(absl::StatusCode::kDeadlineExceeded) &&
      ExpiredByTheWorker(
          absl::string_view(shared.message, std::min(shared.message_length, kMaxStatusMessage)))) {
    // The worker noticed the deadline before the caller did: the outcome is
    // the caller's on_timeout, whichever side saw it first.
    Outcome outcome = Outcome::Deadline(call->on_timeout);
    ResolveByHost(call, outcome, /*worker_done=*/true);
    return;
  }
  if (code != 0) {
    if (code > static_cast<uint32_t>(absl::StatusCode::kUnauthenticated)) {
      call->status = absl::DataLossError(
          absl::StrCat("weft: worker ", worker_, " returned an invalid status code ", code));
    } else {
      const uint32_t length = std::min(shared.message_length, kMaxStatusMessage);
      call->status =
          absl::Status(static_cast<absl::StatusCode>(code), std::string(shared.message, length));
    }
  } else {
    SegmentTable table;
    CopyTableOut(shared.response, table);
    const uint64_t inline_offset =
        layout_.response_inline + uint64_t{call->slot} * geometry_.response_inline_bytes;
    absl::Status opened = OpenSegments(table, region_->base(), region_->size(),
                                       {ByteRange{inline_offset, geometry_.response_inline_bytes},
                                        ByteRange{layout_.response_heap, geometry_.heap_bytes}},
                                       call->segments);
    if (!opened.ok()) {
      call->status = absl::DataLossError(
          absl::StrCat("weft: malformed response from worker ", worker_, ": ", opened.message()));
    } else if (config_.trusted_worker) {
      // Read the results where the worker wrote them; one segment needs no
      // reader (ResponseHandle::root reads it unchecked).
      call->segment_count = table.count;
      if (table.count > 1) {
        call->reader.emplace(kj::arrayPtr(call->segments.data(), call->segment_count),
                             CallerReaderOptions());
      }
      CountResolution(config_.stats, call->method->index, absl::StatusCode::kOk,
                      call->submit_ticks);
      // Release: publishes the reader and segments to whoever claims them
      // (acquire loads of phase in CallHandle and Evacuate).
      call->phase.store(kReadyInSlot, std::memory_order_release);
      return;
    } else {
      // An untrusted worker can rewrite its response after this check: copy
      // the results out, then check every pointer of the copy, so that
      // reading the Response can never throw.
      call->segment_count = table.count;
      uint64_t words = 0;
      for (uint32_t i = 0; i < table.count; ++i) words += table.segments[i].words;
      CopyOut(call);
      try {
        capnp::ReaderOptions options;
        options.traversalLimitInWords = ValidationLimit(words);
        capnp::SegmentArrayMessageReader check(
            kj::arrayPtr(call->segments.data(), call->segment_count), options);
        check.getRoot<capnp::AnyPointer>().targetSize();
      } catch (const kj::Exception& e) {
        call->copy = nullptr;
        call->reader.reset();
        call->status = absl::DataLossError(absl::StrCat("weft: malformed response from worker ",
                                                        worker_, ": ", e.getDescription().cStr()));
      }
    }
  }
  CountResolution(config_.stats, call->method->index, call->status.code(), call->submit_ticks);
  // A status, or results copied out: the slot goes back now.
  // Release: publishes the outcome; pairs with the acquire loads of phase.
  call->phase.store(kReady, std::memory_order_release);
  ReleaseSlot(call->slot, call->seq);
  Unref(call);  // the slot's reference
}

void LaneHost::ResolveByHost(CallState* call, Outcome& outcome, bool worker_done) {
  call->status = std::move(outcome.status);
  if (outcome.kind == Outcome::Kind::kDefaultResult) {
    // An empty message: its root reads as the default (empty) results.
    call->copy = kj::heapArray<capnp::word>(1);
    std::memset(call->copy.begin(), 0, kWordBytes);
    call->segments[0] = kj::arrayPtr(static_cast<const capnp::word*>(call->copy.begin()), 1);
    call->segment_count = 1;
    call->reader.emplace(kj::arrayPtr(call->segments.data(), 1));
  }
  CountResolution(config_.stats, call->method->index, call->status.code(), call->submit_ticks);
  if (outcome.kind == Outcome::Kind::kUnsent || worker_done) {
    // No worker touches the slot (any more): it goes back now.
    // Release: publishes the outcome; pairs with the acquire loads of phase.
    call->phase.store(kReady, std::memory_order_release);
    ReleaseSlot(call->slot, call->seq);
    Unref(call);  // the slot's reference
    return;
  }
  SlotShared& shared = slots_[call->slot];
  // The worker may still run it: whoever sees it done releases the slot.
  // Release: pairs with the acquire load in ReclaimOrphans.
  slot_hosts_[call->slot].orphan.store(call, std::memory_order_release);
  // Seq_cst: publishes the outcome before the wake word changes
  // (WakeSlotWaiters); pairs with the acquire loads of phase.
  call->phase.store(kReady, std::memory_order_seq_cst);
  WakeSlotWaiters(shared, *region_->header());
}

void LaneHost::CopyOut(CallState* call) {
  uint64_t words = 0;
  for (uint32_t i = 0; i < call->segment_count; ++i) words += call->segments[i].size();
  capnp::word* at = call->CopyArea(words);
  for (uint32_t i = 0; i < call->segment_count; ++i) {
    const auto& segment = call->segments[i];
    // A worker may describe an empty segment; memcpy takes no null pointer.
    if (segment.size() != 0) std::memcpy(at, segment.begin(), segment.size() * kWordBytes);
    call->segments[i] = kj::arrayPtr(static_cast<const capnp::word*>(at), segment.size());
    at += segment.size();
  }
  call->reader.reset();
  call->reader.emplace(kj::arrayPtr(call->segments.data(), call->segment_count),
                       CallerReaderOptions());
}

bool LaneHost::Evacuate(CallState* call) {
  uint32_t expected = kReadyInSlot;
  // Acquire: pairs with the release store of kReadyInSlot.
  if (!call->phase.compare_exchange_strong(expected, kEvacuating, std::memory_order_acquire,
                                           std::memory_order_relaxed)) {
    return false;
  }
  CopyOut(call);
  // Release: publishes the copy; pairs with the acquire loads in CallHandle.
  call->phase.store(kReady, std::memory_order_release);
  ReleaseSlot(call->slot, call->seq);
  Unref(call);  // the slot's reference
  return true;
}

bool LaneHost::ReclaimFinished() {
  bool freed = false;
  for (uint32_t i = 0; i < geometry_.slots_per_lane; ++i) {
    if (SlotFree(i)) continue;
    SlotHost& host = slot_hosts_[i];
    CallState* call = host.call;
    if (call == nullptr || !SlotDone(slots_[i], host.seq)) continue;
    // Relaxed: ReclaimOrphans below decides with acquire.
    if (host.orphan.load(std::memory_order_relaxed) != nullptr) continue;
    // Acquire: pairs with the release stores of phase.
    if (call->phase.load(std::memory_order_acquire) == kInFlight) {
      Resolve(call, Outcome::FromWorker());
    }
    // Acquire: as above.
    if (call->phase.load(std::memory_order_acquire) == kReadyInSlot && Evacuate(call)) {
      freed = true;
    }
  }
  if (ReclaimOrphans() > 0) freed = true;
  // Failed calls release their slot while resolving.
  for (uint32_t w = 0; w < free_words_ && !freed; ++w) {
    // Relaxed: a hint; AcquireSlot re-reads with acquire.
    freed = free_bits_[w].load(std::memory_order_relaxed) != 0;
  }
  return freed;
}

uint32_t LaneHost::ReclaimOrphans() {
  uint32_t released = 0;
  for (uint32_t i = 0; i < geometry_.slots_per_lane; ++i) {
    std::atomic<CallState*>& orphan = slot_hosts_[i].orphan;
    // Acquire: pairs with the release store in ResolveByHost; call->seq and
    // call->slot are visible.
    CallState* call = orphan.load(std::memory_order_acquire);
    if (call == nullptr || !SlotDone(slots_[i], call->seq)) continue;
    // Whoever swaps the orphan out releases the slot: exactly once.
    // Acq_rel: pairs with the release store above and with other reclaimers.
    if (!orphan.compare_exchange_strong(call, nullptr, std::memory_order_acq_rel,
                                        std::memory_order_relaxed)) {
      continue;
    }
    ReleaseSlot(i, call->seq);
    Unref(call);  // the slot's reference
    ++released;
  }
  return released;
}

uint32_t LaneHost::SlotsInUse() const {
  uint32_t free = 0;
  for (uint32_t w = 0; w < free_words_; ++w) {
    // Acquire: pairs with ReleaseSlot's release fetch_or.
    free += std::popcount(free_bits_[w].load(std::memory_order_acquire));
  }
  return geometry_.slots_per_lane - free;
}

// --------------------------------------------------------------- shutdown

bool LaneHost::WaitAllDone(absl::Time until) {
  for (uint32_t i = 0; i < geometry_.slots_per_lane; ++i) {
    if (SlotFree(i)) continue;
    const uint32_t seq = slot_hosts_[i].seq;
    CallState* call = slot_hosts_[i].call;
    if (seq == 0 || call == nullptr || call->seq != seq) continue;
    // Only calls still waiting for the worker: one already resolved (its
    // caller aborted or timed out) is not drained, so a worker that never
    // answers it cannot hold the shutdown.
    if (!WaitSlotDone(i, seq, call, until)) return false;
  }
  return true;
}

void LaneHost::CancelAll() {
  for (uint32_t i = 0; i < geometry_.slots_per_lane; ++i) {
    if (SlotFree(i)) continue;
    CallState* call = slot_hosts_[i].call;
    if (call == nullptr || call->seq != slot_hosts_[i].seq) continue;
    if (Resolve(call, Outcome::Early(absl::CancelledError("weft: cancelled by pool shutdown")))) {
      // Every call, abortable or not: a queued one is skipped by the worker,
      // so the shutdown does not wait for it to run.
      // Relaxed: a hint the worker polls.
      slots_[i].abort.store(1, std::memory_order_relaxed);
    }
  }
}

}  // namespace internal
}  // namespace weft
