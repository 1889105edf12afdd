// LaneHost: the host side of one lane, the (host thread, worker) pair a call
// travels on. It owns the lane's call slots, its request heap (the heap's
// functions are in lane_host_heap.cc), its pool of CallStates, and the one
// function by which a call resolves.
//
//   absl::StatusOr<uint32_t> slot = lane.AcquireSlot(call, deadline);  // owner
//   capnp::MessageBuilder& m = lane.PrepareRequest(*slot, storage);     // owner
//   ... fill m ...
//   lane.Submit(call, builder);                                         // owner
//   lane.Resolve(call, Outcome::FromWorker());                          // any thread
//
// The binding host thread is the lane's only producer: it alone reserves
// slots, allocates request heap space and pushes descriptors. A slot is
// returned exactly once (ReleaseSlot), by whichever thread ends the call's
// use of it: the Response's destructor, the resolver of a failed call, the
// evacuator, or the reclaim of calls resolved early once their worker is
// done with them.
//
// It depends only on what it is given (LaneConfig, the pool's shutdown flag
// and abort budget): it never calls back into the pool.
//
// Thread safety: methods say "owner" (the binding thread only) or "any".
#ifndef WEFT_RUNTIME_INTERNAL_LANE_HOST_H_
#define WEFT_RUNTIME_INTERNAL_LANE_HOST_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "runtime/call_options.h"
#include "runtime/internal/abort_budget.h"
#include "runtime/internal/call_state.h"
#include "runtime/internal/host_stats.h"
#include "runtime/internal/layout.h"
#include "runtime/internal/region.h"
#include "runtime/internal/region_message.h"
#include "runtime/internal/span_allocator.h"
#include "runtime/internal/spsc_ring.h"
#include "runtime/pool_options.h"

namespace weft {
namespace internal {

// What a lane needs to know about its pool; fixed when the pool is created.
struct LaneConfig {
  SpinPolicy spin;
  QueueFull queue_full = QueueFull::kWait;
  uint64_t max_payload_words = 0;
  // Results are read in place (thread workers, and process workers of a
  // pool with PoolOptions::trusted_workers), else copied out of the region
  // and validated first. Requests are built in place for every worker: no
  // worker can write them (region.h).
  bool trusted_worker = true;
  // The pool's stats (null with PoolOptions::stats off): the lane's owner
  // counts submits in host shard `lane`; a resolving thread counts in the
  // shard of the lane it is bound to, if any, else the shared shard.
  HostStatsConfig stats;
};

// How a call resolves (LaneHost::Resolve).
struct Outcome {
  enum class Kind {
    kFromWorker,     // the worker (or the supervisor for it) published it in the slot
    kEarly,          // the host decided before the worker finished: `status`
    kDefaultResult,  // as kEarly, with an OK empty Response (OnTimeout::DefaultResult)
    kUnsent,         // never reached the worker: `status`, and the slot is free now
  };
  Kind kind;
  absl::Status status;

  static Outcome FromWorker() { return {Kind::kFromWorker, absl::OkStatus()}; }
  static Outcome Early(absl::Status status) { return {Kind::kEarly, std::move(status)}; }
  static Outcome Unsent(absl::Status status) { return {Kind::kUnsent, std::move(status)}; }
  // What a call whose deadline passed resolves to, per its on_timeout.
  static Outcome Deadline(const OnTimeout& on_timeout);
};

// Host-local bookkeeping of one slot; touched only by the lane's owner
// thread, except `call`'s pointee and `orphan`.
struct SlotHost {
  CallState* call = nullptr;
  uint32_t seq = 0;
  uint64_t request_dirty_words = 0;       // inline words the last request used
  std::vector<SpillSpan> request_spills;  // heap spans of the last request
  // Set (release) to the call by a thread that resolved it while the worker
  // may still run it; whoever then sees the worker done and swaps it back to
  // null releases the slot (ReclaimOrphans).
  std::atomic<CallState*> orphan{nullptr};
};

class LaneHost final : public SpillSource {
 public:
  // Not owned, and outlive the lane: `region`, `shutting_down`, `aborts`.
  LaneHost(Region* region, uint32_t worker, uint32_t lane, const LaneConfig& config,
           const std::atomic<uint32_t>* shutting_down, AbortBudget* aborts);
  ~LaneHost() override;

  uint32_t worker() const { return worker_; }
  // A remote worker (remote_link.h) sleeps in its event loop, not on the
  // doorbell futex: its wake is a write to this eventfd. Set once, before
  // the lane's first call.
  void set_wake_fd(int fd) { wake_fd_ = fd; }
  uint32_t lane_index() const { return lane_; }
  AbortBudget& aborts() const { return *aborts_; }
  const LaneConfig& config() const { return config_; }

  // ---- Sending (owner).
  // A fresh CallState of this lane (refs 0, phase kInFlight).
  CallState* NewCall() { return calls_.New(); }
  // Reserves a free slot for `call`, waiting (bounded by `deadline`) for one
  // when queue_full is kWait. Errors: ResourceExhausted, DeadlineExceeded,
  // Unavailable (shutting down).
  absl::StatusOr<uint32_t> AcquireSlot(absl::Time deadline);
  // Constructs the request builder for `slot` in `storage` and returns it.
  RegionMessageBuilder& PrepareRequest(uint32_t slot, void* storage, absl::Time deadline);
  // Publishes the built request of `call` (in its slot) to the worker.
  void Submit(CallState* call, RegionMessageBuilder& builder);
  // Batches (owner): while corked, Submit writes descriptors without
  // publishing them; the last Uncork (or Publish) makes them visible with one
  // release store of the ring's tail and one wake decision. Nests.
  void Cork();
  void Uncork();
  void Publish();
  // Any thread about to wait for a call of this lane: publishes the lane's
  // held-back calls if this thread is the one holding them back (so that it
  // cannot wait on itself); other threads wait for the owner's publish.
  void PublishIfCorkedHere() {
    // Relaxed: only the corking thread can find its own token here, and it
    // wrote it itself; any other thread reads some other value.
    if (corked_by_.load(std::memory_order_relaxed) == ThisThreadToken()) Publish();
  }
  // Gives back a slot whose request was never sent.
  void ReturnUnsentSlot(uint32_t slot, RegionMessageBuilder& builder);
  // SpillSource (owner, while a request is built).
  std::optional<uint64_t> AllocateSpill(uint64_t words) override;

  // ---- Resolving (any thread).
  // The one resolution path: decides `call`'s outcome if nobody has yet
  // (exactly one caller wins). False if it was already resolved.
  bool Resolve(CallState* call, Outcome outcome);
  // Marks `call` watched: its outcome rings the region's host doorbell
  // (slot.h). Re-check the call after this.
  void Watch(const CallState* call);
  RegionHeader& header() const { return *region_->header(); }
  // True once the worker published `call` done.
  bool WorkerDone(const CallState* call) const;
  // Waits until the worker is done with `call`, someone resolved it, or
  // `until` passed (false).
  bool WaitResolvable(CallState* call, absl::Time until);
  // Copies a kReadyInSlot call's results out and frees its slot; false if
  // someone else claimed it first.
  bool Evacuate(CallState* call);
  // Returns a slot: the worker may reuse its response space, the owner may
  // reuse the slot.
  void ReleaseSlot(uint32_t slot, uint32_t seq);
  // Releases the slots of calls resolved early that the worker has since
  // finished. Returns how many.
  uint32_t ReclaimOrphans();
  // Slots not free right now.
  uint32_t SlotsInUse() const;

  // ---- Shutdown (any thread, once no owner sends any more).
  // Waits until the worker finished every call still waiting for it; false
  // if `until` passed first.
  bool WaitAllDone(absl::Time until);
  // Resolves every call still in flight with Cancelled and tells the worker
  // to skip it.
  void CancelAll();

 private:
  SlotShared& shared(uint32_t slot) const { return slots_[slot]; }
  bool SlotFree(uint32_t slot) const;
  bool WaitSlotDone(uint32_t slot, uint32_t seq, const CallState* call, absl::Time until);
  // Owner: releases orphaned slots the worker is done with, resolves and
  // copies out finished unclaimed results; true if a slot was freed.
  bool ReclaimFinished();
  // Owner: frees request heap spans of calls the worker is done with.
  bool ReclaimRequestSpans();
  void FreeRequestSpans(SlotHost& host);
  // The request heap's free space is kept zero, so that Cap'n Proto's
  // segments need no zeroing on the call path: a span is zeroed before it
  // is freed, a large one later, while this thread waits for a call
  // (ZeroDeferred), or when the heap runs short. Owner only.
  void ZeroDeferred(uint64_t budget_bytes);
  // How much one poll of a waiting owner zeroes (lane_host_heap.cc).
  static constexpr uint64_t kZeroPerPoll = 64 << 10;
  void WakeWorker();
  // Resolve's halves: the outcome the worker wrote, or the host's own.
  void ResolveFromSlot(CallState* call);
  // `worker_done`: the worker already published this call (the slot can go
  // back at once); else it may still run it (the slot is reclaimed later).
  void ResolveByHost(CallState* call, Outcome& outcome, bool worker_done);
  // Copies the results the segments point at into call->copy and opens the
  // reader over the copy.
  void CopyOut(CallState* call);

  Region* region_;
  uint32_t worker_;
  int wake_fd_ = -1;  // remote workers only
  uint32_t lane_;
  LaneConfig config_;
  const std::atomic<uint32_t>* shutting_down_;
  AbortBudget* aborts_;
  LaneLayout layout_;
  Geometry geometry_;
  RingProducer<CallDescriptor> ring_;
  SlotShared* slots_;
  std::unique_ptr<SlotHost[]> slot_hosts_;
  std::unique_ptr<std::atomic<uint64_t>[]> free_bits_;  // set bit = free slot
  uint32_t free_words_;
  SpanAllocator request_heap_;
  std::vector<SpillSpan> deferred_;  // large spans still to zero, then free
  uint64_t deferred_zeroed_ = 0;     // bytes of deferred_.front() zeroed so far
  // The owner's ThisThreadToken (set at Submit): only the owner zeroes.
  std::atomic<const void*> owner_token_{nullptr};
  CallStatePool calls_;
  absl::Time spill_deadline_ = absl::InfiniteFuture();  // the call being built
  uint32_t time_countdown_ = 1;  // calls until the next timed one (host_stats.h)
  // Batches (Cork): the nesting depth and whether descriptors wait to be
  // published (owner only), and which thread corked (read by any thread).
  uint32_t corked_ = 0;
  bool unpublished_ = false;
  std::atomic<const void*> corked_by_{nullptr};

  // A per-thread address, to tell the corking thread from others.
  static const void* ThisThreadToken() {
    static thread_local char token;
    return &token;
  }
};

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_INTERNAL_LANE_HOST_H_
