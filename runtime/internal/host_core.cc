#include "runtime/internal/host_core.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <climits>
#include <cstring>
#include <future>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "capnp/any.h"
#include "runtime/internal/check.h"
#include "runtime/future.h"
#include "runtime/outgoing_call.h"
#include "runtime/internal/wait.h"
#include "runtime/internal/process.h"
#include "runtime/internal/worker.h"

namespace weft {
namespace internal {
namespace {

constexpr uint64_t kWordBytes = sizeof(capnp::word);
constexpr uint32_t kCallBlock = 64;

void Unref(CallState* call) {
  // Acq_rel: the last owner must see every write the others made to the
  // state before it recycles it.
  if (call->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) call->lane->FreeCall(call);
}

uint64_t TraversalLimit(uint64_t message_words) {
  // Cap'n Proto's default, or enough to read a large message a few times.
  return std::max<uint64_t>(8ull << 20, 4 * message_words);
}

std::atomic<uint64_t> next_core_uid{1};

}  // namespace

// ---------------------------------------------------------------- LaneHost

LaneHost::LaneHost(HostCore* core, Region* region, uint32_t worker, uint32_t lane)
    : core_(core),
      region_(region),
      worker_(worker),
      lane_(lane),
      layout_(region->lane(lane)),
      geometry_(region->geometry()),
      ring_(reinterpret_cast<RingControl*>(region->base() + layout_.ring_control),
            reinterpret_cast<CallDescriptor*>(region->base() + layout_.descriptors),
            geometry_.ring_capacity),
      slots_(reinterpret_cast<SlotShared*>(region->base() + layout_.slots)),
      slot_hosts_(new SlotHost[geometry_.slots_per_lane]),
      free_words_((geometry_.slots_per_lane + 63) / 64),
      request_heap_(geometry_.heap_bytes / kWordBytes) {
  if (core->processes()) MakeStaging();
  free_bits_.reset(new std::atomic<uint64_t>[free_words_]);
  for (uint32_t w = 0; w < free_words_; ++w) {
    const uint32_t in_word = std::min<uint32_t>(64, geometry_.slots_per_lane - w * 64);
    // Relaxed: the lane is not visible to any other thread yet.
    free_bits_[w].store(in_word == 64 ? ~0ull : (1ull << in_word) - 1, std::memory_order_relaxed);
  }
}

LaneHost::~LaneHost() {
  if (staging_ != nullptr) munmap(staging_, staging_bytes_);
}

void LaneHost::MakeStaging() {
  // Private, sparse (untouched pages cost nothing): the lane's request
  // areas, inline and heap, at the same offsets as in the region.
  staging_bytes_ = layout_.request_heap + geometry_.heap_bytes - layout_.request_inline;
  void* p = mmap(nullptr, staging_bytes_, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  staging_ = p == MAP_FAILED ? nullptr : static_cast<char*>(p);
  if (staging_ == nullptr) {
    std::fprintf(stderr, "weft: no memory to stage requests privately; building in place\n");
  }
}

void LaneHost::PublishRequest(uint32_t slot, const SegmentTable& table) {
  if (staging_ != nullptr) {
    for (uint32_t i = 0; i < table.count; ++i) {
      const SegmentRef& seg = table.segments[i];
      std::memcpy(region_->base() + seg.offset, staging_ + (seg.offset - layout_.request_inline),
                  seg.words * kWordBytes);
    }
  }
  std::memcpy(&slots_[slot].request, &table, sizeof(table));
}

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
      SlotHost& host = slot_hosts_[slot];
      for (const SpillSpan& span : host.request_spills) {
        request_heap_.Free((span.offset - layout_.request_heap) / kWordBytes, span.words);
      }
      host.request_spills.clear();
      return slot;
    }
    if (ReclaimFinished()) continue;
    if (core_->options().queue_full == QueueFull::kFail) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "weft: all ", geometry_.slots_per_lane,
          " call slots of this thread's lane to worker ", worker_,
          " are in use (queue_full = kFail)"));
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
    const uint32_t seq = slot_hosts_[wait_for->slot].seq;
    // In slices, so that a shutdown (which waits for callers in here) is
    // noticed.
    WaitSlotDone(wait_for->slot, seq, nullptr,
                 std::min(deadline, absl::Now() + absl::Milliseconds(10)));
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          "weft: the call's deadline passed while it waited for a free call slot");
    }
    if (core_->shutting_down()) {
      return absl::UnavailableError("weft: the pool is shutting down");
    }
  }
}

bool LaneHost::WorkerDone(const CallState* call) const {
  // Acquire: pairs with the worker's release store of done_seq; the status
  // and response it wrote are visible once this returns true.
  return slots_[call->slot].done_seq.load(std::memory_order_acquire) == call->seq;
}

bool LaneHost::ReclaimFinished() {
  bool freed = false;
  for (uint32_t i = 0; i < geometry_.slots_per_lane; ++i) {
    if (SlotFree(i)) continue;
    SlotHost& host = slot_hosts_[i];
    CallState* call = host.call;
    if (call == nullptr) continue;
    // Acquire: pairs with the done_seq release store of the worker.
    const bool done = slots_[i].done_seq.load(std::memory_order_acquire) == host.seq;
    if (!done) continue;
    // Relaxed: ReclaimOrphans below decides with acquire.
    if (host.orphan.load(std::memory_order_relaxed) != nullptr) continue;
    uint32_t phase = call->phase.load(std::memory_order_acquire);
    if (phase == kInFlight) {
      uint32_t expected = kInFlight;
      // Acquire on success: we own the outcome; see ResolveFromSlot.
      if (call->phase.compare_exchange_strong(expected, kResolving, std::memory_order_acquire,
                                              std::memory_order_acquire)) {
        ResolveFromSlot(call);
      }
      phase = call->phase.load(std::memory_order_acquire);
    }
    if (phase == kReadyInSlot && Evacuate(call)) freed = true;
  }
  if (ReclaimOrphans() > 0) freed = true;
  // Failed calls release their slot while resolving.
  for (uint32_t w = 0; w < free_words_ && !freed; ++w) {
    // Relaxed: a hint; AcquireSlot re-reads with acquire.
    freed = free_bits_[w].load(std::memory_order_relaxed) != 0;
  }
  return freed;
}

void LaneHost::PrepareRequest(uint32_t slot, std::optional<RegionMessageBuilder>& builder) {
  const uint64_t words = geometry_.request_inline_bytes / kWordBytes;
  // Thread workers: the request is built in place in shared memory. A
  // process worker is not trusted, and Cap'n Proto's builder follows the
  // pointers it finds in the memory it builds in, so the request is built
  // in private memory laid out like the region and copied in at submit
  // (PublishRequest). `base` is where region offset 0 would be in that copy.
  char* base = staging_ != nullptr ? staging_ - layout_.request_inline : region_->base();
  builder.emplace(base, layout_.request_inline + uint64_t{slot} * geometry_.request_inline_bytes,
                  words, slot_hosts_[slot].request_dirty_words, this, core_->max_payload_words());
}

std::optional<uint64_t> LaneHost::AllocateSpill(uint64_t words) {
  for (;;) {
    if (std::optional<uint64_t> at = request_heap_.Allocate(words)) {
      return layout_.request_heap + *at * kWordBytes;
    }
    if (words > request_heap_.size()) return std::nullopt;
    if (ReclaimRequestSpans()) continue;
    // Wait for a call still holding request heap space.
    uint32_t wait_slot = UINT32_MAX;
    for (uint32_t i = 0; i < geometry_.slots_per_lane; ++i) {
      SlotHost& host = slot_hosts_[i];
      if (!host.request_spills.empty() && !SlotFree(i)) {
        wait_slot = i;
        break;
      }
    }
    if (wait_slot == UINT32_MAX) return std::nullopt;
    WaitSlotDone(wait_slot, slot_hosts_[wait_slot].seq, nullptr,
                 std::min(spill_deadline_, absl::Now() + absl::Milliseconds(10)));
    if (absl::Now() >= spill_deadline_ || core_->shutting_down()) return std::nullopt;
  }
}

bool LaneHost::ReclaimRequestSpans() {
  bool freed = false;
  for (uint32_t i = 0; i < geometry_.slots_per_lane; ++i) {
    SlotHost& host = slot_hosts_[i];
    if (host.request_spills.empty()) continue;
    // Acquire: pairs with the worker's release store of done_seq; it is done
    // reading the request.
    const bool done = SlotFree(i) ||
                      slots_[i].done_seq.load(std::memory_order_acquire) == host.seq;
    if (!done) continue;
    for (const SpillSpan& span : host.request_spills) {
      request_heap_.Free((span.offset - layout_.request_heap) / kWordBytes, span.words);
    }
    host.request_spills.clear();
    freed = true;
  }
  return freed;
}

CallState* LaneHost::NewCall() {
  // Acquire: pairs with the release CAS in FreeCall; the freeing thread's
  // reset of the state happens before we reuse it. Only this (owner) thread
  // pops, so the head cannot be popped and pushed again under us (no ABA).
  CallState* head = free_calls_.load(std::memory_order_acquire);
  while (head != nullptr && !free_calls_.compare_exchange_weak(head, head->next_free,
                                                               std::memory_order_acquire,
                                                               std::memory_order_acquire)) {
  }
  if (head != nullptr) return head;
  auto block = std::make_unique<CallState[]>(kCallBlock);
  for (uint32_t i = 1; i < kCallBlock; ++i) {
    block[i].lane = this;
    FreeCall(&block[i]);
  }
  block[0].lane = this;
  CallState* fresh = &block[0];
  call_blocks_.push_back(std::move(block));
  return fresh;
}

void LaneHost::FreeCall(CallState* call) {
  call->status = absl::OkStatus();
  call->on_timeout = OnTimeout();
  call->holds_abort_slot = false;
  call->reader.reset();
  call->copy = nullptr;
  call->segment_count = 0;
  CallState* head = free_calls_.load(std::memory_order_relaxed);
  do {
    call->next_free = head;
    // Release: publishes the reset above to the owner's acquire in NewCall.
  } while (!free_calls_.compare_exchange_weak(head, call, std::memory_order_release,
                                              std::memory_order_relaxed));
}

void LaneHost::Submit(uint32_t slot, CallState* call, uint32_t method_index, int64_t deadline_ns) {
  SlotHost& host = slot_hosts_[slot];
  SlotShared& shared = slots_[slot];
  host.seq = host.seq == UINT32_MAX ? 1 : host.seq + 1;
  host.call = call;
  // Relaxed: the release store of the ring's tail below publishes it.
  shared.abort.store(0, std::memory_order_relaxed);
  call->lane = this;
  call->slot = slot;
  call->seq = host.seq;
  // Relaxed: the state is private to this thread until the handle that
  // carries it is handed to the user.
  call->refs.store(2, std::memory_order_relaxed);
  call->phase.store(kInFlight, std::memory_order_relaxed);
  const CallDescriptor descriptor{slot, host.seq, method_index, 0, deadline_ns};
  // Every in-flight call holds a slot and the ring has room for every slot,
  // so the ring is full only if the worker corrupted its head index.
  if (!ring_.TryPush(descriptor)) {
    uint32_t expected = kInFlight;
    call->phase.compare_exchange_strong(expected, kResolving, std::memory_order_acquire);
    LeftInFlight(call);
    call->status = absl::DataLossError(absl::StrCat(
        "weft: worker ", worker_, " corrupted its submit ring (it claims to be full)"));
    call->phase.store(kReady, std::memory_order_release);
    ReleaseSlot(slot, host.seq);
    Unref(call);
    return;
  }
  Wake();
}

void LaneHost::Wake() {
  RegionHeader* header = region_->header();
  // Seq_cst fence: orders the tail store above before the load of
  // worker_sleeping, against the worker's store of worker_sleeping and its
  // re-check of the rings (WorkerLoop::Sleep). One of the two sides sees the
  // other's write, so the worker never sleeps on a call it has not seen.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (header->worker_sleeping.load(std::memory_order_relaxed) != 0) {
    // Release: not needed for data (the ring carries it); the increment only
    // makes a concurrent FUTEX_WAIT on the old value return at once.
    header->doorbell.fetch_add(1, std::memory_order_release);
    FutexWake(&header->doorbell, 1);
  }
}

void LaneHost::ReturnUnsentSlot(uint32_t slot, RegionMessageBuilder& builder) {
  SlotHost& host = slot_hosts_[slot];
  host.request_dirty_words = builder.inline_used_words();
  for (uint32_t i = 0; i < builder.spill_count(); ++i) {
    host.request_spills.push_back(builder.spills()[i]);
  }
  // Nothing was sent: no worker will touch the slot, so its spans can be
  // reclaimed at once when it is next taken (AcquireSlot frees them).
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

bool LaneHost::WaitWorkerDone(CallState* call, absl::Time until) {
  return WaitSlotDone(call->slot, call->seq, call, until);
}

bool LaneHost::WaitSlotDone(uint32_t slot, uint32_t seq, const CallState* call,
                            absl::Time until) {
  SlotShared& shared = slots_[slot];
  auto done = [&] {
    // Acquire: pairs with the worker's release store of done_seq, and with
    // the release store of phase by whoever resolved the call early.
    return shared.done_seq.load(std::memory_order_acquire) == seq ||
           (call != nullptr && call->phase.load(std::memory_order_acquire) != kInFlight);
  };
  if (SpinThenYield(core_->spin(), done)) return true;
  for (;;) {
    // Seq_cst: advertise the sleeper, then read the futex word, then
    // re-check. Pairs with the worker's seq_cst fence between its done_seq /
    // wake_seq stores and its load of host_waiting (worker.cc). Host-side
    // resolvers (ResolveEarlyWith, CompleteSlot) bump wake_seq and wake
    // unconditionally: they need not trust host_waiting.
    shared.host_waiting.fetch_add(1, std::memory_order_seq_cst);
    const uint32_t seen = shared.wake_seq.load(std::memory_order_seq_cst);
    if (done()) {
      shared.host_waiting.fetch_sub(1, std::memory_order_relaxed);
      return true;
    }
    const bool in_time = FutexWait(&shared.wake_seq, seen, until);
    // Relaxed: only a hint for wakers.
    shared.host_waiting.fetch_sub(1, std::memory_order_relaxed);
    if (done()) return true;
    if (!in_time) return false;
  }
}

void LaneHost::LeftInFlight(CallState* call) {
  if (call->holds_abort_slot) {
    call->holds_abort_slot = false;
    core_->ReleaseAbortSlot();
  }
}

void LaneHost::ResolveFromSlot(CallState* call) {
  LeftInFlight(call);
  SlotShared& shared = slots_[call->slot];
  // The caller saw done_seq == seq with acquire: the worker's writes below
  // are visible. A process worker is not trusted: copy, then check.
  const uint32_t code = shared.status_code;
  if (code != 0) {
    if (code > static_cast<uint32_t>(absl::StatusCode::kUnauthenticated)) {
      call->status = absl::DataLossError(
          absl::StrCat("weft: worker ", worker_, " returned an invalid status code ", code));
    } else {
      const uint32_t length = std::min(shared.message_length, kMaxStatusMessage);
      call->status = absl::Status(static_cast<absl::StatusCode>(code),
                                  std::string(shared.message, length));
    }
  } else {
    SegmentTable table;
    std::memcpy(&table, &shared.response, sizeof(table));
    const uint64_t inline_offset =
        layout_.response_inline + uint64_t{call->slot} * geometry_.response_inline_bytes;
    absl::Status opened = OpenSegments(
        table, region_->base(), region_->size(),
        {ByteRange{inline_offset, geometry_.response_inline_bytes},
         ByteRange{layout_.response_heap, geometry_.heap_bytes}},
        call->segments);
    if (!opened.ok()) {
      call->status = absl::DataLossError(
          absl::StrCat("weft: malformed response from worker ", worker_, ": ", opened.message()));
    } else {
      call->segment_count = table.count;
      uint64_t words = 0;
      for (uint32_t i = 0; i < table.count; ++i) words += table.segments[i].words;
      if (!core_->processes()) {
        // A thread worker is trusted: read the results where it wrote them.
        capnp::ReaderOptions options;
        options.traversalLimitInWords = TraversalLimit(words);
        call->reader.emplace(kj::arrayPtr(call->segments.data(), call->segment_count), options);
        // Release: publishes the reader and segments to whoever claims them
        // (acquire loads of phase in CallHandle and Evacuate).
        call->phase.store(kReadyInSlot, std::memory_order_release);
        return;
      }
      // A process worker is not trusted, and it can rewrite its response
      // after this check: copy the results out, then check every pointer of
      // the copy, so that reading the Response can never throw.
      CopyOut(call);
      try {
        call->reader->getRoot<capnp::AnyPointer>().targetSize();
        call->phase.store(kReady, std::memory_order_release);
      } catch (const kj::Exception& e) {
        call->copy = nullptr;
        call->reader.reset();
        call->status = absl::DataLossError(absl::StrCat(
            "weft: malformed response from worker ", worker_, ": ", e.getDescription().cStr()));
        call->phase.store(kReady, std::memory_order_release);
      }
      ReleaseSlot(call->slot, call->seq);
      Unref(call);
      return;
    }
  }
  // Failed: the results are not needed; the slot goes back now.
  call->phase.store(kReady, std::memory_order_release);
  ReleaseSlot(call->slot, call->seq);
  Unref(call);
}

void LaneHost::CopyOut(CallState* call) {
  uint64_t words = 0;
  for (uint32_t i = 0; i < call->segment_count; ++i) words += call->segments[i].size();
  call->copy = kj::heapArray<capnp::word>(words);
  capnp::word* at = call->copy.begin();
  for (uint32_t i = 0; i < call->segment_count; ++i) {
    const auto& segment = call->segments[i];
    std::memcpy(at, segment.begin(), segment.size() * kWordBytes);
    call->segments[i] = kj::arrayPtr(static_cast<const capnp::word*>(at), segment.size());
    at += segment.size();
  }
  capnp::ReaderOptions options;
  options.traversalLimitInWords = TraversalLimit(words);
  call->reader.reset();
  call->reader.emplace(kj::arrayPtr(call->segments.data(), call->segment_count), options);
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
  Unref(call);
  return true;
}

bool LaneHost::ResolveEarly(CallState* call, absl::Status status) {
  return ResolveEarlyWith(call, std::move(status), /*default_result=*/false);
}

bool LaneHost::ResolveDeadline(CallState* call) {
  switch (call->on_timeout.kind()) {
    case OnTimeout::Kind::kDefaultResult:
      return ResolveEarlyWith(call, absl::OkStatus(), /*default_result=*/true);
    case OnTimeout::Kind::kStatus:
      return ResolveEarlyWith(call, call->on_timeout.status(), false);
    default:
      return ResolveEarlyWith(call, absl::DeadlineExceededError("weft: the call's deadline passed"),
                              false);
  }
}

bool LaneHost::ResolveEarlyWith(CallState* call, absl::Status status, bool default_result) {
  uint32_t expected = kInFlight;
  if (!call->phase.compare_exchange_strong(expected, kResolving, std::memory_order_acquire,
                                           std::memory_order_relaxed)) {
    return false;
  }
  SlotShared& shared = slots_[call->slot];
  const bool tell_worker = call->holds_abort_slot;
  LeftInFlight(call);
  call->status = std::move(status);
  if (default_result) {
    // An empty message: its root reads as the default (empty) results.
    call->copy = kj::heapArray<capnp::word>(1);
    std::memset(call->copy.begin(), 0, kWordBytes);
    call->segments[0] = kj::arrayPtr(static_cast<const capnp::word*>(call->copy.begin()), 1);
    call->segment_count = 1;
    call->reader.emplace(kj::arrayPtr(call->segments.data(), 1));
  }
  if (tell_worker) {
    // Relaxed: a hint the worker polls (CallContext::Aborted).
    shared.abort.store(1, std::memory_order_relaxed);
  }
  // Release: pairs with the acquire load in ReclaimOrphans, which releases
  // the slot once the worker is done with it.
  slot_hosts_[call->slot].orphan.store(call, std::memory_order_release);
  // Seq_cst: publishes the outcome before the wake word changes; a waiter
  // that read the old wake_seq either sees the phase in its re-check or
  // has its FUTEX_WAIT fail on the changed word.
  call->phase.store(kReady, std::memory_order_seq_cst);
  shared.wake_seq.fetch_add(1, std::memory_order_seq_cst);
  FutexWake(&shared.wake_seq, INT_MAX);
  return true;
}

uint32_t LaneHost::ReclaimOrphans() {
  uint32_t released = 0;
  for (uint32_t i = 0; i < geometry_.slots_per_lane; ++i) {
    std::atomic<CallState*>& orphan = slot_hosts_[i].orphan;
    // Acquire: pairs with the release store in ResolveEarlyWith; call->seq
    // and call->slot are visible.
    CallState* call = orphan.load(std::memory_order_acquire);
    if (call == nullptr) continue;
    // Acquire: pairs with the worker's release store of done_seq.
    if (slots_[i].done_seq.load(std::memory_order_acquire) != call->seq) continue;
    // Whoever swaps the orphan out releases the slot: exactly once.
    if (!orphan.compare_exchange_strong(call, nullptr, std::memory_order_acq_rel,
                                        std::memory_order_relaxed)) {
      continue;
    }
    ReleaseSlot(i, call->seq);
    Unref(call);
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
    if (ResolveEarly(call, absl::CancelledError("weft: cancelled by pool shutdown"))) {
      // Every call, abortable or not: a queued one is skipped by the worker,
      // so the shutdown does not wait for it to run.
      slots_[i].abort.store(1, std::memory_order_relaxed);
    }
  }
}

// ---------------------------------------------------------------- HostCore

HostCore::HostCore(const PoolOptions& options, uint64_t interface_id,
                   absl::Span<const MethodInfo> methods)
    : options_(options),
      interface_id_(interface_id),
      methods_(methods),
      uid_(next_core_uid.fetch_add(1, std::memory_order_relaxed)) {}

absl::StatusOr<std::shared_ptr<HostCore>> HostCore::Create(const PoolOptions& options,
                                                           uint64_t interface_id,
                                                           absl::Span<const MethodInfo> methods,
                                                           SkeletonFactory factory) {
  if (options.workers <= 0 || options.workers > 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("weft: PoolOptions.workers must be in [1, 1024], got ", options.workers));
  }
  const bool process = options.runtime == WorkerRuntime::kProcess;
  if (process && options.worker_command.empty()) {
    return absl::InvalidArgumentError(
        "weft: process workers need PoolOptions.worker_command (the worker binary's argv)");
  }
  if (process && factory) {
    return absl::InvalidArgumentError(
        "weft: process workers run the skeleton of their binary; Create(options) takes no factory");
  }
  if (!process && options.hard_timeout.has_value()) {
    return absl::InvalidArgumentError(
        "weft: PoolOptions.hard_timeout needs process workers (a thread cannot be killed safely)");
  }
  if (options.hard_timeout.has_value() && *options.hard_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("weft: PoolOptions.hard_timeout must be positive");
  }
  if (options.startup_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("weft: PoolOptions.startup_timeout must be positive");
  }
  if (options.abort_slots > (1u << 24)) {
    return absl::InvalidArgumentError(
        absl::StrCat("weft: PoolOptions.abort_slots must be at most 2^24, got ",
                     options.abort_slots));
  }
  if (!process && !factory) {
    return absl::InvalidArgumentError("weft: thread workers need a skeleton factory");
  }
  if (options.max_payload_bytes < options.initial_payload_bytes ||
      options.max_payload_bytes > (uint64_t{1} << 36)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "weft: PoolOptions.max_payload_bytes must be in [initial_payload_bytes, 64 GiB], got ",
        options.max_payload_bytes));
  }
  if (options.default_timeout.has_value() && *options.default_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("weft: PoolOptions.default_timeout must be positive");
  }
  Geometry geometry{};
  geometry.lanes = options.max_host_threads;
  geometry.slots_per_lane = options.slots_per_lane;
  geometry.ring_capacity =
      options.ring_capacity != 0
          ? options.ring_capacity
          : std::bit_ceil(2 * std::max<uint32_t>(1, options.slots_per_lane));
  geometry.request_inline_bytes = options.initial_payload_bytes;
  geometry.response_inline_bytes = options.initial_payload_bytes;
  geometry.heap_bytes = (options.max_payload_bytes + 4095) / 4096 * 4096;
  if (absl::Status s = CheckGeometry(geometry); !s.ok()) return s;

  std::shared_ptr<HostCore> core(new HostCore(options, interface_id, methods));
  core->track_load_ = options.custom_balancer != nullptr ||
                      (options.balancer != BalancerKind::kRoundRobin &&
                       options.balancer != BalancerKind::kRandom);
  core->lane_state_.reset(new LaneState[geometry.lanes]);
  {
    std::lock_guard<std::mutex> lock(core->bind_mutex_);
    for (uint32_t lane = geometry.lanes; lane > 0; --lane) core->free_lanes_.push_back(lane - 1);
  }
  std::vector<std::future<absl::Status>> started;
  for (int w = 0; w < options.workers; ++w) {
    auto worker = std::make_unique<Worker>();
    absl::StatusOr<Region> region =
        Region::Create(geometry, interface_id, static_cast<uint32_t>(methods.size()),
                       process && options.shared_memory == SharedMemory::kNamed);
    if (!region.ok()) {
      core->Shutdown(ShutdownMode::kDrain, absl::InfiniteDuration());
      return region.status();
    }
    worker->region = *std::move(region);
    worker->region.header()->track_busy = options.hard_timeout.has_value() ? 1 : 0;
    worker->lanes.resize(geometry.lanes);
    if (process) {
      core->workers_.push_back(std::move(worker));
      continue;
    }
    worker->up.store(true, std::memory_order_relaxed);
    worker->impl = factory();
    if (worker->impl == nullptr) {
      core->Shutdown(ShutdownMode::kDrain, absl::InfiniteDuration());
      return absl::InvalidArgumentError("weft: the skeleton factory returned null");
    }
    std::promise<absl::Status> start;
    started.push_back(start.get_future());
    worker->thread = std::thread(
        [region = &worker->region, impl = worker->impl.get(), spin = options.spin,
         limit = options.max_payload_bytes / kWordBytes, w,
         start = std::move(start)]() mutable {
          WorkerLoop loop(region->base(), region->size(), region->geometry(), impl, spin, limit);
          absl::Status s = loop.Start();
          if (!s.ok()) {
            start.set_value(absl::Status(
                s.code(), absl::StrCat("weft: worker ", w, " failed to start: ", s.message())));
            return;
          }
          start.set_value(absl::OkStatus());
          loop.Run();
        });
    core->workers_.push_back(std::move(worker));
  }
  if (process) {
    core->supervisor_wake_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (core->supervisor_wake_ < 0) {
      core->Shutdown(ShutdownMode::kDrain, absl::InfiniteDuration());
      return absl::InternalError(absl::StrCat("weft: eventfd: ", std::strerror(errno)));
    }
    // Workers are started from the supervisor thread: PR_SET_PDEATHSIG
    // fires when the thread that forked exits, and it lives as long as the
    // pool.
    std::promise<absl::Status> start;
    started.push_back(start.get_future());
    core->supervisor_ = std::thread(
        [raw = core.get(), start = std::move(start)]() mutable { raw->SupervisorLoop(&start); });
  }
  absl::Status first_failure;
  for (auto& s : started) {
    absl::Status status = s.get();
    if (!status.ok() && first_failure.ok()) first_failure = status;
  }
  if (!first_failure.ok()) {
    core->Shutdown(ShutdownMode::kDrain, absl::InfiniteDuration());
    return first_failure;
  }
  return core;
}

HostCore::~HostCore() { Shutdown(ShutdownMode::kDrain, absl::InfiniteDuration()); }

namespace {

struct Binding {
  std::weak_ptr<HostCore> core;
  uint64_t uid;
  uint32_t lane;
};

// This thread's lanes, one per pool it has called; given back when the
// thread exits.
struct ThreadBindings {
  std::vector<Binding> bindings;
  uint64_t last_uid = 0;
  uint32_t last_lane = 0;
  ~ThreadBindings() {
    for (Binding& b : bindings) {
      if (std::shared_ptr<HostCore> core = b.core.lock()) core->ReleaseLane(b.lane);
    }
    // A later thread-exit destructor that calls a pool binds afresh rather
    // than reuse a lane given back above (which another thread may own).
    bindings.clear();
    last_uid = 0;
  }
};

thread_local ThreadBindings t_bindings;

}  // namespace

absl::StatusOr<uint32_t> HostCore::BindLane() {
  ThreadBindings& t = t_bindings;
  if (t.last_uid == uid_) return t.last_lane;
  for (const Binding& b : t.bindings) {
    if (b.uid == uid_) {
      t.last_uid = uid_;
      t.last_lane = b.lane;
      return b.lane;
    }
  }
  std::erase_if(t.bindings, [](const Binding& b) { return b.core.expired(); });
  uint32_t lane;
  {
    std::lock_guard<std::mutex> lock(bind_mutex_);
    if (free_lanes_.empty()) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "weft: more than max_host_threads (", options_.max_host_threads,
          ") threads are calling this pool at once"));
    }
    lane = free_lanes_.back();
    free_lanes_.pop_back();
    for (uint32_t w = 0; w < workers_.size(); ++w) {
      Worker& worker = *workers_[w];
      if (worker.lanes[lane] == nullptr) {
        worker.lanes[lane] = std::make_unique<LaneHost>(this, &worker.region, w, lane);
      }
      std::atomic<uint32_t>& active = worker.region.header()->active_lanes;
      // Release: the lane's memory is initialized (zeroed by the kernel) and
      // this thread will only produce into it after this; pairs with the
      // worker's acquire load of active_lanes.
      if (active.load(std::memory_order_relaxed) < lane + 1) {
        active.store(lane + 1, std::memory_order_release);
      }
    }
  }
  t.bindings.push_back(Binding{weak_from_this(), uid_, lane});
  t.last_uid = uid_;
  t.last_lane = lane;
  return lane;
}

void HostCore::ReleaseLane(uint32_t lane) {
  std::lock_guard<std::mutex> lock(bind_mutex_);
  free_lanes_.push_back(lane);
}

LaneHost* HostCore::Lane(uint32_t worker, uint32_t lane) {
  return workers_[worker]->lanes[lane].get();
}

uint32_t HostCore::PickLiveWorker(uint32_t lane) {
  const uint32_t n = static_cast<uint32_t>(workers_.size());
  const uint32_t pick = PickWorker(lane);
  // Relaxed: a worker given up stays given up; a stale false only sends a
  // call to a worker whose queue the supervisor fails.
  if (!workers_[pick]->failed.load(std::memory_order_relaxed)) return pick;
  for (uint32_t i = 1; i < n; ++i) {
    const uint32_t w = (pick + i) % n;
    if (!workers_[w]->failed.load(std::memory_order_relaxed)) return w;
  }
  return UINT32_MAX;
}

uint32_t HostCore::PickWorker(uint32_t lane) {
  const uint32_t n = static_cast<uint32_t>(workers_.size());
  LaneState& state = lane_state_[lane];
  auto next_random = [&state] {
    // xorshift32 on a per-lane (owner thread only) state.
    uint32_t x = state.random == 0 ? 0x9e3779b9u : state.random;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    state.random = x;
    return x;
  };
  auto in_flight = [this](uint32_t w) {
    // Relaxed: a load snapshot for balancing, not a synchronization point.
    const uint64_t sent = workers_[w]->submitted.load(std::memory_order_relaxed);
    const uint64_t served =
        workers_[w]->region.header()->calls_served.load(std::memory_order_relaxed);
    return sent > served ? sent - served : 0;
  };
  if (options_.custom_balancer != nullptr) {
    thread_local std::vector<WorkerLoad> loads;
    loads.resize(n);
    for (uint32_t w = 0; w < n; ++w) {
      // Relaxed: a load snapshot, not a synchronization point.
      const RegionHeader* header = workers_[w]->region.header();
      const uint64_t sent = workers_[w]->submitted.load(std::memory_order_relaxed);
      const uint64_t started = header->calls_started.load(std::memory_order_relaxed);
      const uint64_t flight = in_flight(w);
      loads[w] = WorkerLoad{flight, sent > started ? sent - started : 0, flight == 0};
    }
    return static_cast<uint32_t>(options_.custom_balancer->Pick(absl::MakeConstSpan(loads)) % n);
  }
  switch (options_.balancer) {
    case BalancerKind::kRoundRobin:
      return state.round_robin++ % n;
    case BalancerKind::kRandom:
      return next_random() % n;
    case BalancerKind::kFirstIdle:
    case BalancerKind::kFirstIdleOrRandom:
      for (uint32_t w = 0; w < n; ++w) {
        if (in_flight(w) == 0) return w;
      }
      return options_.balancer == BalancerKind::kFirstIdle ? state.round_robin++ % n
                                                           : next_random() % n;
    case BalancerKind::kLeastBusy: {
      uint32_t best = 0;
      uint64_t best_load = UINT64_MAX;
      for (uint32_t w = 0; w < n; ++w) {
        const uint64_t load = in_flight(w);
        if (load < best_load) {
          best = w;
          best_load = load;
        }
      }
      return best;
    }
  }
  return 0;
}

void HostCore::NoteSubmitted(uint32_t worker) {
  if (!track_load_) return;
  // Relaxed: a counter for balancing only.
  workers_[worker]->submitted.fetch_add(1, std::memory_order_relaxed);
}

void HostCore::Shutdown(ShutdownMode mode, absl::Duration grace) {
  std::lock_guard<std::mutex> lock(shutdown_mutex_);
  if (shut_down_) return;
  shut_down_ = true;
  // Seq_cst: new calls see it (BeginCall's seq_cst load after its seq_cst
  // busy store); we then see every caller that got past the check as busy.
  shutting_down_.store(1, std::memory_order_seq_cst);
  if (lane_state_ != nullptr) {
    for (uint32_t lane = 0; lane < options_.max_host_threads; ++lane) {
      while (lane_state_[lane].busy.load(std::memory_order_seq_cst) != 0) {
        std::this_thread::yield();
      }
    }
  }
  const absl::Time until =
      grace == absl::InfiniteDuration() ? absl::InfiniteFuture() : absl::Now() + grace;
  std::vector<LaneHost*> lanes;
  {
    std::lock_guard<std::mutex> bind_lock(bind_mutex_);
    for (auto& worker : workers_) {
      for (auto& lane : worker->lanes) {
        if (lane != nullptr) lanes.push_back(lane.get());
      }
    }
  }
  bool drained = mode == ShutdownMode::kDrain;
  if (drained) {
    for (LaneHost* lane : lanes) drained = drained && lane->WaitAllDone(until);
  }
  if (!drained) {
    for (LaneHost* lane : lanes) lane->CancelAll();
  }
  for (auto& worker : workers_) {
    RegionHeader* header = worker->region.header();
    // Release: pairs with the worker's acquire load of stop; it drains its
    // rings and exits.
    header->stop.store(1, std::memory_order_release);
    header->doorbell.fetch_add(1, std::memory_order_release);
    FutexWake(&header->doorbell, 1);
  }
  for (auto& worker : workers_) {
    if (worker->thread.joinable()) worker->thread.join();
  }
  if (supervisor_.joinable()) {
    supervisor_stop_.store(true, std::memory_order_release);
    const uint64_t one = 1;
    (void)!write(supervisor_wake_, &one, sizeof(one));
    supervisor_.join();
  }
  if (processes()) StopProcesses(absl::Now() + absl::Seconds(2));
  if (supervisor_wake_ >= 0) close(supervisor_wake_);
  supervisor_wake_ = -1;
  // Every call has resolved now: run the remaining continuations and stop.
  {
    std::lock_guard<std::mutex> lock(continuation_mutex_);
    continuations_stop_ = true;
    continuation_cv_.notify_one();
  }
  if (continuation_thread_.joinable()) {
    if (continuation_thread_.get_id() == std::this_thread::get_id()) {
      continuation_thread_.detach();  // shut down from inside a callback
    } else {
      continuation_thread_.join();
    }
  }
  // No worker runs and no call is sent any more: give back the slots of
  // calls resolved early (no owner thread can race with this now).
  for (LaneHost* lane : lanes) lane->ReclaimOrphans();
}

bool HostCore::ReserveAbortSlot() {
  // Relaxed: a counter; no data is published through it.
  if (abort_in_use_.fetch_add(1, std::memory_order_relaxed) >= options_.abort_slots) {
    abort_in_use_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  return true;
}

void HostCore::ReleaseAbortSlot() { abort_in_use_.fetch_sub(1, std::memory_order_relaxed); }

void HostCore::AddContinuation(CallHandle call, std::function<void(CallHandle)> run) {
  if (call.Ready()) {
    run(std::move(call));
    return;
  }
  {
    std::lock_guard<std::mutex> lock(continuation_mutex_);
    if (!continuations_stop_) {
      continuations_.push_back(Continuation{std::move(call), std::move(run)});
      if (!continuation_thread_.joinable()) {
        continuation_thread_ = std::thread([this] { ContinuationLoop(); });
      }
      continuation_cv_.notify_one();
      return;
    }
  }
  // Shut down: every call has resolved by now.
  run(std::move(call));
}

void HostCore::ContinuationLoop() {
  std::vector<Continuation> pending;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(continuation_mutex_);
      continuation_cv_.wait(lock, [&] {
        return !continuations_.empty() || !pending.empty() || continuations_stop_;
      });
      for (auto& c : continuations_) pending.push_back(std::move(c));
      continuations_.clear();
      if (continuations_stop_ && pending.empty()) return;
    }
    // Run what has resolved; wait (briefly, so that new registrations are
    // picked up) on the oldest of the rest.
    size_t kept = 0;
    for (size_t i = 0; i < pending.size(); ++i) {
      if (pending[i].call.Ready()) {
        Continuation c = std::move(pending[i]);
        c.run(std::move(c.call));
      } else {
        if (kept != i) pending[kept] = std::move(pending[i]);
        ++kept;
      }
    }
    pending.resize(kept);
    if (!pending.empty()) pending.front().call.WaitUntil(absl::Now() + absl::Milliseconds(1));
  }
}

PoolStats HostCore::Stats() const {
  PoolStats stats;
  for (const auto& worker : workers_) {
    const RegionHeader* header = worker->region.header();
    WorkerStats w;
    // Relaxed: counters and flags for display.
    w.calls_served = header->calls_served.load(std::memory_order_relaxed);
    w.sleeps = header->sleeps.load(std::memory_order_relaxed);
    w.sleeping = header->worker_sleeping.load(std::memory_order_relaxed) != 0;
    w.running = header->stop.load(std::memory_order_relaxed) == 0;
    w.calls_started = header->calls_started.load(std::memory_order_relaxed);
    // Acquire: pairs with the supervisor's release stores of stats_pid.
    w.pid = worker->stats_pid.load(std::memory_order_acquire);
    // Acquire: pairs with the worker's release store of boots.
    const uint64_t boots = header->boots.load(std::memory_order_acquire);
    w.restarts = boots > 1 ? boots - 1 : 0;
    // A process worker is up once it says so in its region (before it
    // serves anything), and only under the pid the host started; a thread
    // worker while the pool runs.
    w.up = processes() ? w.pid != 0 &&
                             header->worker_pid.load(std::memory_order_acquire) == w.pid
                       : worker->up.load(std::memory_order_relaxed);
    w.failed = worker->failed.load(std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(process_mutex_);
      w.last_exit = worker->last_exit;
    }
    stats.workers.push_back(w);
  }
  std::lock_guard<std::mutex> lock(bind_mutex_);
  for (size_t w = 0; w < workers_.size(); ++w) {
    for (const auto& lane : workers_[w]->lanes) {
      if (lane == nullptr) continue;
      stats.workers[w].slots_in_use += lane->SlotsInUse();
    }
  }
  // Relaxed: a counter for display.
  stats.abort_slots_in_use = abort_in_use_.load(std::memory_order_relaxed);
  return stats;
}

// ------------------------------------------------------- calls and handles

absl::Status BeginCall(HostCore* core, const MethodInfo& method, const CallOptions& options,
                       OutgoingCall& call) {
  if (core == nullptr) {
    return absl::FailedPreconditionError(
        "weft: this stub is not bound to a pool (use pool.stub())");
  }
  absl::StatusOr<uint32_t> lane = core->BindLane();
  if (!lane.ok()) return lane.status();
  std::atomic<uint32_t>& busy = core->lane_busy(*lane);
  // Seq_cst: ordered before the load of shutting_down (Dekker with Shutdown).
  busy.store(1, std::memory_order_seq_cst);
  if (core->shutting_down()) {
    busy.store(0, std::memory_order_release);
    return absl::UnavailableError("weft: the pool is shutting down");
  }
  std::optional<absl::Duration> timeout = options.timeout;
  if (!timeout.has_value() && method.timeout_ms != 0) {
    timeout = absl::Milliseconds(method.timeout_ms);
  }
  if (!timeout.has_value()) timeout = core->options().default_timeout;
  absl::Time deadline = absl::InfiniteFuture();
  if (timeout.has_value() && *timeout != absl::InfiniteDuration()) {
    deadline = absl::Now() + *timeout;
  }
  OnTimeout on_timeout = options.on_timeout;
  if (on_timeout.kind() == OnTimeout::Kind::kMethodDefault) {
    on_timeout = method.default_on_timeout ? OnTimeout::DefaultResult()
                                           : OnTimeout::DeadlineExceeded();
  }
  const bool abortable = method.abortable || options.abortable;
  if (abortable && !core->ReserveAbortSlot()) {
    busy.store(0, std::memory_order_release);
    return absl::ResourceExhaustedError(absl::StrCat(
        "weft: all ", core->options().abort_slots,
        " abort slots are held by outstanding abortable calls (PoolOptions.abort_slots)"));
  }
  const uint32_t worker = core->PickLiveWorker(*lane);
  if (worker == UINT32_MAX) {
    if (abortable) core->ReleaseAbortSlot();
    busy.store(0, std::memory_order_release);
    return absl::UnavailableError(
        "weft: every worker of the pool was given up after repeated failed starts");
  }
  LaneHost* lane_host = core->Lane(worker, *lane);
  absl::StatusOr<uint32_t> slot = lane_host->AcquireSlot(deadline);
  if (!slot.ok()) {
    if (abortable) core->ReleaseAbortSlot();
    busy.store(0, std::memory_order_release);
    return slot.status();
  }
  call.on_timeout_ = std::move(on_timeout);
  call.holds_abort_slot_ = abortable;
  lane_host->PrepareRequest(*slot, call.builder_);
  lane_host->set_spill_deadline(deadline);
  call.lane_ = lane_host;
  call.slot_ = *slot;
  call.method_ = &method;
  call.deadline_ = deadline;
  return absl::OkStatus();
}

CallHandle SubmitCall(const std::shared_ptr<HostCore>& core, OutgoingCall& call) {
  LaneHost* lane = call.lane_;
  RegionMessageBuilder& builder = *call.builder_;
  if (builder.overflowed()) {
    // The fill caught our exception and carried on; the message is cut short.
    absl::Status failure = absl::ResourceExhaustedError(absl::StrCat(
        "weft: the request exceeds max_payload_bytes (", core->options().max_payload_bytes,
        ")"));
    call.ReturnSlot();
    return CallHandle(std::move(failure));
  }
  SlotHost& host = lane->slot_host(call.slot_);
  SegmentTable table;
  builder.WriteTable(table);
  lane->PublishRequest(call.slot_, table);
  host.request_dirty_words = builder.inline_used_words();
  for (uint32_t i = 0; i < builder.spill_count(); ++i) {
    host.request_spills.push_back(builder.spills()[i]);
  }
  CallState* state = lane->NewCall();
  state->deadline = call.deadline_;
  state->on_timeout = std::move(call.on_timeout_);
  state->holds_abort_slot = std::exchange(call.holds_abort_slot_, false);
  lane->Submit(call.slot_, state, call.method_->index, ToMonotonicNanos(call.deadline_));
  core->NoteSubmitted(lane->worker());
  // Release: pairs with Shutdown's seq_cst load; the push above is done.
  core->lane_busy(lane->lane_index()).store(0, std::memory_order_release);
  call.lane_ = nullptr;
  return CallHandle(core, state);
}

OutgoingCall::~OutgoingCall() {
  if (lane_ != nullptr) ReturnSlot();
}

void OutgoingCall::ReturnSlot() {
  if (std::exchange(holds_abort_slot_, false)) lane_->core()->ReleaseAbortSlot();
  lane_->ReturnUnsentSlot(slot_, *builder_);
  lane_->core()->lane_busy(lane_->lane_index()).store(0, std::memory_order_release);
  lane_ = nullptr;
}

absl::Status OutgoingCall::BuildFailure(const kj::Exception& e) {
  absl::Status status;
  if (builder_.has_value() && builder_->overflowed()) {
    status = absl::ResourceExhaustedError(
        absl::StrCat("weft: the request exceeds max_payload_bytes (",
                     lane_->core()->options().max_payload_bytes, "): ",
                     e.getDescription().cStr()));
  } else {
    status = absl::InvalidArgumentError(
        absl::StrCat("weft: building the request failed: ", e.getDescription().cStr()));
  }
  if (lane_ != nullptr) ReturnSlot();
  return status;
}

CallHandle& CallHandle::operator=(CallHandle&& other) noexcept {
  if (this != &other) {
    Abandon();
    core_ = std::move(other.core_);
    state_ = std::exchange(other.state_, nullptr);
    failure_ = std::move(other.failure_);
  }
  return *this;
}

bool CallHandle::Ready() const {
  if (state_ == nullptr) return true;
  CallState* call = state_;
  LaneHost* lane = call->lane;
  // Acquire: pairs with the release stores of phase by the resolver.
  const uint32_t phase = call->phase.load(std::memory_order_acquire);
  if (phase == kReadyInSlot || phase == kReady || phase == kTaken) return true;
  if (phase != kInFlight) return false;  // being resolved right now
  if (lane->WorkerDone(call)) {
    uint32_t expected = kInFlight;
    if (call->phase.compare_exchange_strong(expected, kResolving, std::memory_order_acquire,
                                            std::memory_order_acquire)) {
      lane->ResolveFromSlot(call);
    }
    return call->phase.load(std::memory_order_acquire) != kEvacuating &&
           call->phase.load(std::memory_order_acquire) != kResolving;
  }
  if (call->deadline != absl::InfiniteFuture() && absl::Now() >= call->deadline) {
    lane->ResolveDeadline(call);
    return true;
  }
  return false;
}

bool CallHandle::WaitUntil(absl::Time until) {
  if (state_ == nullptr) return true;
  CallState* call = state_;
  for (;;) {
    if (Ready()) {
      // Transient phases end quickly; wait them out.
      while (true) {
        const uint32_t p = call->phase.load(std::memory_order_acquire);
        if (p != kResolving && p != kEvacuating) break;
        CpuRelax();
      }
      return true;
    }
    const absl::Time bound = std::min(until, call->deadline);
    const uint32_t p = call->phase.load(std::memory_order_acquire);
    if (p == kResolving || p == kEvacuating) {
      CpuRelax();
      continue;
    }
    if (!call->lane->WaitWorkerDone(call, bound)) {
      if (absl::Now() >= call->deadline) continue;  // Ready() resolves it
      if (absl::Now() >= until) return Ready();
    }
  }
}

absl::StatusOr<ResponseHandle> CallHandle::Take() {
  if (state_ == nullptr) {
    if (failure_.ok()) {
      return absl::FailedPreconditionError("weft: Future::Get() was already called");
    }
    absl::Status failure = std::move(failure_);
    failure_ = absl::OkStatus();
    return failure;
  }
  WaitUntil(absl::InfiniteFuture());
  CallState* call = std::exchange(state_, nullptr);
  for (;;) {
    uint32_t phase = call->phase.load(std::memory_order_acquire);
    if (phase == kReadyInSlot) {
      // Acquire: pairs with the release store of kReadyInSlot.
      if (call->phase.compare_exchange_strong(phase, kTaken, std::memory_order_acquire,
                                              std::memory_order_acquire)) {
        return ResponseHandle(std::move(core_), call);
      }
      continue;  // an evacuation started; it ends in kReady
    }
    if (phase == kReady) {
      if (call->status.ok()) return ResponseHandle(std::move(core_), call);
      absl::Status status = call->status;
      Unref(call);
      core_.reset();
      return status;
    }
    CpuRelax();
  }
}

void CallHandle::Abort() {
  if (state_ == nullptr) return;
  state_->lane->ResolveEarly(state_, absl::CancelledError("weft: call aborted by the caller"));
}

void CallHandle::Then(std::function<void(CallHandle)> run) && {
  if (state_ == nullptr) {
    run(std::move(*this));
    return;
  }
  std::shared_ptr<HostCore> core = core_;
  core->AddContinuation(std::move(*this), std::move(run));
}

void CallHandle::Abandon() {
  if (state_ == nullptr) return;
  CallState* call = std::exchange(state_, nullptr);
  LaneHost* lane = call->lane;
  lane->ResolveEarly(call, absl::CancelledError("weft: future destroyed before the call ended"));
  for (;;) {
    uint32_t phase = call->phase.load(std::memory_order_acquire);
    if (phase == kReadyInSlot) {
      if (call->phase.compare_exchange_strong(phase, kReady, std::memory_order_acquire,
                                              std::memory_order_acquire)) {
        lane->ReleaseSlot(call->slot, call->seq);
        Unref(call);  // the slot's reference
        break;
      }
      continue;
    }
    if (phase == kReady) break;
    CpuRelax();
  }
  Unref(call);  // the handle's reference
  core_.reset();
}

ResponseHandle& ResponseHandle::operator=(ResponseHandle&& other) noexcept {
  if (this != &other) {
    Release();
    core_ = std::move(other.core_);
    state_ = std::exchange(other.state_, nullptr);
  }
  return *this;
}

capnp::MessageReader& ResponseHandle::reader() const { return *state_->reader; }

void ResponseHandle::Release() {
  if (state_ == nullptr) return;
  CallState* call = std::exchange(state_, nullptr);
  if (call->phase.load(std::memory_order_acquire) == kTaken) {
    call->lane->ReleaseSlot(call->slot, call->seq);
    Unref(call);  // the slot's reference
  }
  Unref(call);  // the handle's reference
  core_.reset();
}

// ------------------------------------------------------ process workers

namespace {

absl::Duration RestartBackoff(uint32_t failed_starts) {
  // 20 ms, doubling with each failed start in a row, at most 5 s.
  return std::min(absl::Milliseconds(20) * (1 << std::min<uint32_t>(failed_starts, 8)),
                  absl::Seconds(5));
}

// Writes `status` into a slot and publishes it as the worker would have.
void CompleteSlot(SlotShared& slot, uint32_t seq, const absl::Status& status) {
  slot.status_code = static_cast<uint32_t>(status.code());
  const size_t length = std::min<size_t>(status.message().size(), kMaxStatusMessage);
  if (length > 0) std::memcpy(slot.message, status.message().data(), length);
  slot.message_length = static_cast<uint32_t>(length);
  // Release: publishes the status above; pairs with the host's acquire
  // loads of done_seq, as the worker's store does (worker.cc).
  slot.done_seq.store(seq, std::memory_order_release);
  // Release: a new futex word value; then wake whoever sleeps on it (a
  // dead worker's host_waiting is not to be trusted, so always).
  slot.wake_seq.fetch_add(1, std::memory_order_release);
  FutexWake(&slot.wake_seq, INT_MAX);
}

// The supervisor finished a call for a worker that is gone: count it, so
// load-aware balancers do not see it in flight for ever. No worker writes
// these counters now (a replacement starts from them).
void CountServed(Region& region, bool started) {
  RegionHeader* header = region.header();
  // Relaxed: statistics; the replacement's boot orders them before its use.
  if (started) {
    header->calls_started.store(header->calls_started.load(std::memory_order_relaxed) + 1,
                                std::memory_order_relaxed);
  }
  header->calls_served.store(header->calls_served.load(std::memory_order_relaxed) + 1,
                             std::memory_order_relaxed);
}

}  // namespace

std::string HostCore::RegionPathFor(uint32_t w, int& fd) {
  Worker& worker = *workers_[w];
  RegionHeader* header = worker.region.header();
  // Relaxed: no worker runs on the region now; the spawn (fork) and the
  // boot handshake order these before the new worker's first access.
  header->worker_sleeping.store(0, std::memory_order_relaxed);
  header->busy_since_ns.store(0, std::memory_order_relaxed);
  fd = worker.region.fd();
  if (options_.shared_memory != SharedMemory::kNamed) return "";
  // The first worker opens the name; a replacement (the name is gone by
  // then) opens the host's descriptor through /proc.
  std::string path = worker.started_once ? absl::StrCat("/proc/", getpid(), "/fd/", fd)
                                         : worker.region.name();
  fd = -1;
  return path;
}

absl::Status HostCore::StartProcess(uint32_t w) {
  Worker& worker = *workers_[w];
  int fd;
  const std::string path = RegionPathFor(w, fd);
  absl::StatusOr<SpawnedWorker> spawned = SpawnWorker(options_, w, fd, path);
  if (options_.shared_memory == SharedMemory::kNamed) worker.region.Unlink();
  if (!spawned.ok()) return spawned.status();
  AdoptProcess(w, *spawned);
  return absl::OkStatus();
}

void HostCore::LaunchReplacement(uint32_t w) {
  Worker& worker = *workers_[w];
  int fd;
  const std::string path = RegionPathFor(w, fd);
  absl::StatusOr<SpawnedWorker> spawned = LaunchWorker(options_, w, fd, path);
  if (!spawned.ok()) {
    StartFailed(w, spawned.status());
    return;
  }
  worker.pid = spawned->pid;
  worker.control_fd = spawned->control_fd;
  worker.stdout_fd = spawned->stdout_fd;
  worker.stderr_fd = spawned->stderr_fd;
  worker.starting = true;
  // Release: pairs with Stats()'s acquire load; the pid is known from fork,
  // before the replacement can serve anything.
  worker.stats_pid.store(worker.pid, std::memory_order_release);
  worker.ready_bytes.clear();
  worker.ready_deadline = absl::Now() + options_.startup_timeout;
}

void HostCore::ReplacementReady(uint32_t w) {
  Worker& worker = *workers_[w];
  char buffer[4096];
  const ssize_t n = recv(worker.control_fd, buffer, sizeof(buffer), MSG_DONTWAIT);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  const std::string command = CommandString(options_);
  auto drop = [&](const absl::Status& status) { AbandonStart(w, status); };
  if (n <= 0) {
    const std::string how = ReapAfterEof(worker.pid);
    drop(absl::FailedPreconditionError(absl::StrCat(
        "weft: worker ", w, " (", command, ") exited before it was ready: ", how)));
    return;
  }
  worker.ready_bytes.append(buffer, static_cast<size_t>(n));
  kj::Array<capnp::word> message;
  if (!TakeMessage(worker.ready_bytes, message)) return;
  absl::Status ready = ParseReady(options_, w, message);
  if (!ready.ok()) {
    KillAndReap(worker.pid);
    drop(ready);
    return;
  }
  worker.starting = false;
  if (options_.shared_memory == SharedMemory::kNamed) worker.region.Unlink();
  worker.failed_starts = 0;
  SpawnedWorker spawned{worker.pid, worker.control_fd, worker.stdout_fd, worker.stderr_fd};
  AdoptProcess(w, spawned);
}

void HostCore::AbandonStart(uint32_t w, const absl::Status& status) {
  Worker& worker = *workers_[w];
  DrainAndClose(w, worker.stdout_fd, worker.stdout_partial, 1);
  DrainAndClose(w, worker.stderr_fd, worker.stderr_partial, 2);
  close(worker.control_fd);
  worker.control_fd = -1;
  worker.pid = -1;
  worker.starting = false;
  // Relaxed / release: as in OnProcessDeath.
  worker.region.header()->worker_pid.store(0, std::memory_order_relaxed);
  worker.stats_pid.store(0, std::memory_order_release);
  StartFailed(w, status);
}

void HostCore::StartFailed(uint32_t w, const absl::Status& status) {
  Worker& worker = *workers_[w];
  ++worker.failed_starts;
  {
    std::lock_guard<std::mutex> lock(process_mutex_);
    worker.last_exit = std::string(status.message());
  }
  if (worker.failed_starts >= options_.max_restarts) {
    // Release: PickLiveWorker stops choosing it.
    worker.failed.store(true, std::memory_order_release);
  } else {
    worker.restart_at = absl::Now() + RestartBackoff(worker.failed_starts);
  }
}

void HostCore::AdoptProcess(uint32_t w, const SpawnedWorker& spawned) {
  Worker& worker = *workers_[w];
  worker.pid = spawned.pid;
  worker.control_fd = spawned.control_fd;
  worker.stdout_fd = spawned.stdout_fd;
  worker.stderr_fd = spawned.stderr_fd;
  worker.killed_for_timeout = false;
  worker.started_once = true;
  worker.stats_pid.store(worker.pid, std::memory_order_relaxed);
  worker.up.store(true, std::memory_order_relaxed);
  if (std::getenv("WEFT_LOG") != nullptr && std::string(std::getenv("WEFT_LOG")) == "debug") {
    std::fprintf(stderr, "weft: worker %u started (pid %d)\n", w, worker.pid);
  }
}

void HostCore::CompleteStartedCalls(uint32_t w, const absl::Status& status) {
  Region& region = workers_[w]->region;
  const Geometry& g = region.geometry();
  // Acquire: pairs with BindLane's release store.
  const uint32_t active =
      std::min(region.header()->active_lanes.load(std::memory_order_acquire), g.lanes);
  for (uint32_t lane = 0; lane < active; ++lane) {
    const LaneLayout layout = region.lane(lane);
    // Acquire: pairs with the producer's release store of tail (Publish):
    // whatever the host did with a slot before it sent the call now in it
    // (reading the previous call's status, say) happens before we write.
    reinterpret_cast<RingControl*>(region.base() + layout.ring_control)
        ->tail.load(std::memory_order_acquire);
    SlotShared* slots = reinterpret_cast<SlotShared*>(region.base() + layout.slots);
    for (uint32_t i = 0; i < g.slots_per_lane; ++i) {
      // Relaxed/acquire: the worker is dead (reaped): its stores are done.
      const uint32_t started = slots[i].started_seq.load(std::memory_order_acquire);
      const uint32_t done = slots[i].done_seq.load(std::memory_order_acquire);
      if (started != 0 && started != done) {
        CompleteSlot(slots[i], started, status);
        CountServed(region, /*started=*/false);
      }
    }
  }
}

void HostCore::FailQueuedCalls(uint32_t w, const absl::Status& status) {
  Region& region = workers_[w]->region;
  const Geometry& g = region.geometry();
  const uint32_t active =
      std::min(region.header()->active_lanes.load(std::memory_order_acquire), g.lanes);
  for (uint32_t lane = 0; lane < active; ++lane) {
    const LaneLayout layout = region.lane(lane);
    // No worker consumes this ring any more: the supervisor takes that role.
    RingConsumer<CallDescriptor> ring(
        reinterpret_cast<RingControl*>(region.base() + layout.ring_control),
        reinterpret_cast<CallDescriptor*>(region.base() + layout.descriptors), g.ring_capacity);
    SlotShared* slots = reinterpret_cast<SlotShared*>(region.base() + layout.slots);
    // At most one ring's worth per pass: a head index corrupted by the
    // dead worker must not keep us here.
    for (uint32_t n = 0; n < g.ring_capacity; ++n) {
      CallDescriptor* d = ring.Peek();
      if (d == nullptr) break;
      const CallDescriptor copy = *d;
      ring.Pop();
      if (copy.slot < g.slots_per_lane) CompleteSlot(slots[copy.slot], copy.seq, status);
      CountServed(region, /*started=*/true);
    }
  }
}

void HostCore::OnProcessDeath(uint32_t w) {
  Worker& worker = *workers_[w];
  // The control socket closed. A worker that closed it and lives on is
  // killed: it is of no use without it.
  const std::string how = ReapAfterEof(worker.pid);
  // Forward what it printed last (non-blocking: a child of the worker may
  // hold the pipes open), then stop listening.
  DrainAndClose(w, worker.stdout_fd, worker.stdout_partial, 1);
  DrainAndClose(w, worker.stderr_fd, worker.stderr_partial, 2);
  close(worker.control_fd);
  worker.control_fd = -1;
  {
    std::lock_guard<std::mutex> lock(process_mutex_);
    worker.last_exit = how;
  }
  if (std::getenv("WEFT_LOG") != nullptr && std::string(std::getenv("WEFT_LOG")) == "debug") {
    std::fprintf(stderr, "weft: worker %u (pid %d) %s\n", w, worker.pid, how.c_str());
  }
  const absl::Status status =
      worker.killed_for_timeout
          ? absl::DeadlineExceededError(absl::StrCat(
                "weft: the call ran past hard_timeout (",
                absl::FormatDuration(*options_.hard_timeout), "); worker ", w, " was killed"))
          : absl::UnavailableError(
                absl::StrCat("weft: worker ", w, " (pid ", worker.pid, ") died: ", how));
  worker.pid = -1;
  // Relaxed: the worker is dead; the supervisor is the only writer now.
  worker.region.header()->worker_pid.store(0, std::memory_order_relaxed);
  // Release: pairs with Stats()'s acquire load.
  worker.stats_pid.store(0, std::memory_order_release);
  worker.up.store(false, std::memory_order_relaxed);
  CompleteStartedCalls(w, status);
  worker.restart_at = absl::Now() + RestartBackoff(worker.failed_starts);
  if (shutting_down()) {
    // No replacement now: what was queued for it fails.
    FailQueuedCalls(w, absl::UnavailableError(absl::StrCat(
                           "weft: worker ", w, " died during shutdown: ", how)));
  }
}

void HostCore::DrainAndClose(uint32_t w, int& fd, std::string& partial, int to) {
  for (int i = 0; i < 1024 && fd >= 0; ++i) {
    if (!ForwardOutput(w, fd, partial, to)) break;
  }
  if (fd >= 0) {
    if (!partial.empty()) {
      partial += '\n';
      ForwardOutput(w, fd, partial, to, /*flush_only=*/true);
    }
    close(fd);
    fd = -1;
  }
}

bool HostCore::ForwardOutput(uint32_t w, int& fd, std::string& partial, int to, bool flush_only) {
  char buffer[4096];
  ssize_t n = 0;
  if (!flush_only) {
    n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return false;
  }
  if (flush_only) {
    // Only print what is buffered.
  } else if (n <= 0) {
    if (!partial.empty()) partial += '\n';
    close(fd);
    fd = -1;
  } else {
    partial.append(buffer, static_cast<size_t>(n));
  }
  // Whole lines go out with the worker's index in front.
  size_t start = 0;
  for (size_t nl; (nl = partial.find('\n', start)) != std::string::npos; start = nl + 1) {
    const std::string line =
        absl::StrCat("[weft worker ", w, "] ", partial.substr(start, nl + 1 - start));
    (void)!write(to, line.data(), line.size());
  }
  partial.erase(0, start);
  // A worker writing without newlines must not grow this without bound.
  if (partial.size() > 4096) {
    const std::string line = absl::StrCat("[weft worker ", w, "] ", partial, "\n");
    (void)!write(to, line.data(), line.size());
    partial.clear();
  }
  return n > 0;
}

void HostCore::SupervisorLoop(std::promise<absl::Status>* started) {
  for (uint32_t w = 0; w < workers_.size(); ++w) {
    absl::Status s = StartProcess(w);
    if (!s.ok()) {
      started->set_value(s);
      return;  // Create shuts the pool down, which stops the started ones
    }
  }
  started->set_value(absl::OkStatus());

  std::vector<pollfd> fds;
  std::vector<std::pair<uint32_t, int>> owners;  // (worker, 0 control / 1 out / 2 err)
  while (!supervisor_stop_.load(std::memory_order_acquire)) {
    fds.clear();
    owners.clear();
    fds.push_back(pollfd{supervisor_wake_, POLLIN, 0});
    owners.emplace_back(UINT32_MAX, 0);
    absl::Time next = absl::InfiniteFuture();
    bool any_failed = false;
    for (uint32_t w = 0; w < workers_.size(); ++w) {
      Worker& worker = *workers_[w];
      if (worker.control_fd >= 0) {
        fds.push_back(pollfd{worker.control_fd, POLLIN, 0});
        owners.emplace_back(w, 0);
      }
      if (worker.stdout_fd >= 0) {
        fds.push_back(pollfd{worker.stdout_fd, POLLIN, 0});
        owners.emplace_back(w, 1);
      }
      if (worker.stderr_fd >= 0) {
        fds.push_back(pollfd{worker.stderr_fd, POLLIN, 0});
        owners.emplace_back(w, 2);
      }
      if (worker.pid < 0 && !worker.failed.load(std::memory_order_relaxed)) {
        next = std::min(next, worker.restart_at);
      }
      if (worker.starting) next = std::min(next, worker.ready_deadline);
      any_failed = any_failed || worker.failed.load(std::memory_order_relaxed) ||
                   (worker.pid < 0 && shutting_down());
    }
    if (options_.hard_timeout.has_value()) {
      next = std::min(next, absl::Now() + std::max(absl::Milliseconds(1), *options_.hard_timeout / 4));
    }
    if (any_failed) next = std::min(next, absl::Now() + absl::Milliseconds(50));
    int timeout_ms = -1;
    if (next != absl::InfiniteFuture()) {
      timeout_ms = static_cast<int>(
          std::clamp<int64_t>(absl::ToInt64Milliseconds(next - absl::Now()) + 1, 0, 60'000));
    }
    const int ready = poll(fds.data(), fds.size(), timeout_ms);
    if (ready < 0 && errno != EINTR) {
      std::fprintf(stderr, "weft: supervisor poll failed: %s\n", std::strerror(errno));
      continue;
    }
    for (size_t i = 0; ready > 0 && i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      const auto [w, kind] = owners[i];
      if (w == UINT32_MAX) {
        uint64_t drained;
        (void)!read(supervisor_wake_, &drained, sizeof(drained));
        continue;
      }
      Worker& worker = *workers_[w];
      if (kind == 1) {
        ForwardOutput(w, worker.stdout_fd, worker.stdout_partial, 1);
      } else if (kind == 2) {
        ForwardOutput(w, worker.stderr_fd, worker.stderr_partial, 2);
      } else if (worker.starting) {
        ReplacementReady(w);
      } else if (worker.control_fd >= 0) {
        char byte;
        const ssize_t n = read(worker.control_fd, &byte, 1);
        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) OnProcessDeath(w);
      }
    }
    if (supervisor_stop_.load(std::memory_order_acquire)) break;
    const absl::Time now = absl::Now();
    for (uint32_t w = 0; w < workers_.size(); ++w) {
      Worker& worker = *workers_[w];
      if (worker.failed.load(std::memory_order_relaxed)) {
        std::string how;
        {
          std::lock_guard<std::mutex> lock(process_mutex_);
          how = worker.last_exit;
        }
        FailQueuedCalls(w, absl::UnavailableError(absl::StrCat(
                               "weft: worker ", w, " was given up after ",
                               options_.max_restarts, " failed restarts: ", how)));
        continue;
      }
      if (worker.pid < 0 && shutting_down()) {
        // No replacement comes any more: what waits for one fails.
        FailQueuedCalls(w, absl::UnavailableError(absl::StrCat(
                               "weft: the pool shut down while worker ", w, " was down")));
        continue;
      }
      if (worker.pid > 0 && !worker.starting && options_.hard_timeout.has_value() &&
          !worker.killed_for_timeout) {
        // Relaxed: a time stamp; the kill is checked by the death path.
        const int64_t since = worker.region.header()->busy_since_ns.load(std::memory_order_relaxed);
        if (since != 0 &&
            MonotonicNanos() - since > absl::ToInt64Nanoseconds(*options_.hard_timeout)) {
          worker.killed_for_timeout = true;
          kill(worker.pid, SIGKILL);  // its EOF comes next; OnProcessDeath completes the call
        }
      }
      if (worker.starting && now >= worker.ready_deadline) {
        KillAndReap(worker.pid);
        AbandonStart(w, absl::DeadlineExceededError(absl::StrCat(
                           "weft: worker ", w, " (", CommandString(options_),
                           ") did not answer Ready within startup_timeout")));
      }
      if (worker.pid < 0 && now >= worker.restart_at && !shutting_down()) {
        LaunchReplacement(w);
      }
    }
  }
}

void HostCore::StopProcesses(absl::Time until) {
  // The workers were told to stop (region stop flag): each drains and exits.
  // Closing the control socket tells them too. Then SIGTERM, then SIGKILL.
  for (auto& worker : workers_) {
    if (worker->control_fd >= 0) close(worker->control_fd);
    worker->control_fd = -1;
  }
  auto reap_all = [&](absl::Time deadline) {
    for (;;) {
      bool left = false;
      for (auto& worker : workers_) {
        if (worker->pid <= 0) continue;
        int status = 0;
        const pid_t r = waitpid(worker->pid, &status, WNOHANG);
        if (r == worker->pid || (r < 0 && errno == ECHILD)) {
          worker->pid = -1;
        } else {
          left = true;
        }
      }
      if (!left || absl::Now() >= deadline) return !left;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  };
  if (!reap_all(until)) {
    for (auto& worker : workers_) {
      if (worker->pid > 0) kill(worker->pid, SIGTERM);
    }
    if (!reap_all(absl::Now() + absl::Seconds(1))) {
      for (auto& worker : workers_) {
        if (worker->pid > 0) KillAndReap(worker->pid);
        worker->pid = -1;
      }
    }
  }
  for (auto& worker : workers_) {
    const uint32_t w = static_cast<uint32_t>(&worker - &workers_[0]);
    DrainAndClose(w, worker->stdout_fd, worker->stdout_partial, 1);
    DrainAndClose(w, worker->stderr_fd, worker->stderr_partial, 2);
    worker->stats_pid.store(0, std::memory_order_relaxed);
    worker->up.store(false, std::memory_order_relaxed);
    worker->region.Unlink();
  }
}

}  // namespace internal
}  // namespace weft
