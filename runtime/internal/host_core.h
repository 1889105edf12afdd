// The host side of a pool: its workers' regions, the lanes host threads bind,
// the per-call state, and the thread workers themselves.
//
// Pool<I> (pool.h) is a thin typed wrapper over HostCore; stubs, futures and
// responses hold a shared_ptr to it, so the regions stay mapped while any
// response still reads from them.
//
// Calls, slots and lanes:
// - Each host thread binds one lane index k for the pool (thread-local,
//   released when the thread exits) and uses lane k of every worker's region.
//   The binding thread is the lane's only producer: it alone reserves slots,
//   allocates request heap space and pushes descriptors.
// - A slot is reserved per call and returned exactly once (ReleaseSlot), by
//   whichever thread ends the call's use of it: the Response's destructor,
//   the resolver of a failed call, the evacuator, or the owner's reclaim
//   scan for calls abandoned while the worker still ran them.
// - A CallState is the host's record of one call. Its `phase` decides the
//   outcome exactly once (CAS from kInFlight); see the phase list below.
//
// Thread safety: thread-safe. The hot path (bind lookup, slot reservation,
// submit, completion wait) takes no lock.
#ifndef WEFT_RUNTIME_HOST_CORE_H_
#define WEFT_RUNTIME_HOST_CORE_H_

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <string>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "capnp/serialize.h"
#include "runtime/call_options.h"
#include "runtime/interface.h"
#include "runtime/internal/layout.h"
#include "runtime/pool_options.h"
#include "runtime/internal/process.h"
#include "runtime/internal/region.h"
#include "runtime/future.h"
#include "runtime/internal/region_message.h"
#include "runtime/skeleton.h"
#include "runtime/internal/span_allocator.h"
#include "runtime/internal/spsc_ring.h"
#include "runtime/stats.h"

namespace weft {
namespace internal {

class HostCore;
class LaneHost;
class WorkerLoop;

// The phases of a call (CallState::phase).
enum CallPhase : uint32_t {
  kInFlight = 0,     // sent; the worker may be running it
  kResolving = 1,    // one thread is writing the outcome (transient)
  kReadyInSlot = 2,  // OK; the results are in the slot, not yet claimed
  kEvacuating = 3,   // the results are being copied out of the slot (transient)
  kReady = 4,        // outcome final in the CallState (status or copied results)
  kTaken = 5,        // claimed by a ResponseHandle that reads the slot
};

class CallState {
 public:
  std::atomic<uint32_t> phase{kInFlight};
  // One reference for the user's handle (Future, then Response) and one for
  // the slot; the state returns to its lane's free list when both are gone.
  std::atomic<uint32_t> refs{0};

  LaneHost* lane = nullptr;
  uint32_t slot = 0;
  uint32_t seq = 0;
  absl::Time deadline = absl::InfiniteFuture();
  OnTimeout on_timeout;         // resolved: never kMethodDefault
  bool holds_abort_slot = false;

  // The outcome: written by the thread that won the CAS out of kInFlight (or
  // kReadyInSlot), published by its release store of `phase`.
  absl::Status status;
  std::array<kj::ArrayPtr<const capnp::word>, kMaxSegments> segments{};
  uint32_t segment_count = 0;
  kj::Array<capnp::word> copy;  // the results, when copied out of the slot
  std::optional<capnp::SegmentArrayMessageReader> reader;

  CallState* next_free = nullptr;  // free-list link
};

// Host-local bookkeeping of one slot; touched only by the lane's owner
// thread, except `call`'s pointee and `orphan`.
struct SlotHost {
  CallState* call = nullptr;
  uint32_t seq = 0;
  uint64_t request_dirty_words = 0;   // inline words the last request used
  std::vector<SpillSpan> request_spills;  // heap spans of the last request
  // Set (release) to the call by a thread that resolved it while the worker
  // may still run it; whoever then sees the worker done and swaps it back to
  // null releases the slot (ReclaimOrphans).
  std::atomic<CallState*> orphan{nullptr};
};

// One (lane index, worker) pair as seen from the host.
class LaneHost final : public SpillSource {
 public:
  LaneHost(HostCore* core, Region* region, uint32_t worker, uint32_t lane);
  ~LaneHost() override;

  HostCore* core() const { return core_; }
  uint32_t worker() const { return worker_; }
  uint32_t lane_index() const { return lane_; }
  SlotShared& shared_slot(uint32_t i) const { return slots_[i]; }
  SlotHost& slot_host(uint32_t i) { return slot_hosts_[i]; }

  // Owner thread only.
  absl::StatusOr<uint32_t> AcquireSlot(absl::Time deadline);
  void PrepareRequest(uint32_t slot, std::optional<RegionMessageBuilder>& builder);
  void set_spill_deadline(absl::Time t) { spill_deadline_ = t; }
  // Puts a built request where the worker reads it: copies it from the
  // private staging area (process workers) and writes the slot's table.
  void PublishRequest(uint32_t slot, const SegmentTable& table);
  void Submit(uint32_t slot, CallState* call, uint32_t method_index, int64_t deadline_ns);
  void ReturnUnsentSlot(uint32_t slot, RegionMessageBuilder& builder);
  CallState* NewCall();
  std::optional<uint64_t> AllocateSpill(uint64_t words) override;

  // Any thread.
  void ReleaseSlot(uint32_t slot, uint32_t seq);
  void FreeCall(CallState* call);
  // Waits until the worker is done with `call` (or `until`, or the call is
  // resolved by someone else); true when one of those happened before until.
  bool WaitWorkerDone(CallState* call, absl::Time until);
  // The same for a slot and seq, without a call (shutdown).
  bool WaitSlotDone(uint32_t slot, uint32_t seq, const CallState* call, absl::Time until);
  bool WorkerDone(const CallState* call) const;
  // Resolves `call` from what the worker wrote; the caller won the CAS
  // kInFlight -> kResolving.
  void ResolveFromSlot(CallState* call);
  // Resolves an in-flight call with `status` (cancel, shutdown, worker
  // death); false if it was already resolved.
  bool ResolveEarly(CallState* call, absl::Status status);
  // Resolves an in-flight call whose deadline passed, as its on_timeout says.
  bool ResolveDeadline(CallState* call);
  // Any thread: releases the slots of calls resolved early that the worker
  // has since finished. Returns how many.
  uint32_t ReclaimOrphans();
  // Any thread: slots not free right now.
  uint32_t SlotsInUse() const;
  // Copies a kReadyInSlot call's results out and frees its slot.
  bool Evacuate(CallState* call);
  // Copies the results the segments point at into call->copy and opens the
  // reader over the copy.
  void CopyOut(CallState* call);
  // Waits until the worker is done with every call of this lane; false if
  // `until` passed first.
  bool WaitAllDone(absl::Time until);
  // Cancels everything in flight (shutdown kCancelPending).
  void CancelAll();

 private:
  // Owner: releases orphaned slots the worker is done with, resolves and
  // copies out finished unclaimed results; true if a slot was freed.
  bool ReclaimFinished();
  // Owner: frees request heap spans of calls the worker is done with.
  bool ReclaimRequestSpans();
  void Wake();
  bool SlotFree(uint32_t slot) const;
  // The winner of the CAS out of kInFlight calls this once per call.
  void LeftInFlight(CallState* call);
  bool ResolveEarlyWith(CallState* call, absl::Status status, bool default_result);

  HostCore* core_;
  Region* region_;
  uint32_t worker_;
  uint32_t lane_;
  LaneLayout layout_;
  Geometry geometry_;
  RingProducer<CallDescriptor> ring_;
  SlotShared* slots_;
  std::unique_ptr<SlotHost[]> slot_hosts_;
  std::unique_ptr<std::atomic<uint64_t>[]> free_bits_;  // set bit = free slot
  uint32_t free_words_;
  SpanAllocator request_heap_;
  std::atomic<CallState*> free_calls_{nullptr};  // Treiber stack; owner pops
  std::vector<std::unique_ptr<CallState[]>> call_blocks_;
  absl::Time spill_deadline_ = absl::InfiniteFuture();  // the call being built
  void MakeStaging();
  char* staging_ = nullptr;  // process pools: private copy of the request areas
  uint64_t staging_bytes_ = 0;
};

class HostCore : public std::enable_shared_from_this<HostCore> {
 public:
  using SkeletonFactory = std::function<std::unique_ptr<SkeletonBase>()>;

  static absl::StatusOr<std::shared_ptr<HostCore>> Create(const PoolOptions& options,
                                                          uint64_t interface_id,
                                                          absl::Span<const MethodInfo> methods,
                                                          SkeletonFactory factory);
  ~HostCore();

  const PoolOptions& options() const { return options_; }
  const SpinPolicy& spin() const { return options_.spin; }
  bool processes() const { return options_.runtime == WorkerRuntime::kProcess; }
  uint64_t max_payload_words() const { return options_.max_payload_bytes / 8; }

  // The calling thread's lane, binding one on first use.
  absl::StatusOr<uint32_t> BindLane();
  LaneHost* Lane(uint32_t worker, uint32_t lane);
  uint32_t PickWorker(uint32_t lane);
  // PickWorker, skipping workers that were given up; UINT32_MAX if all were.
  uint32_t PickLiveWorker(uint32_t lane);
  // Counts a call sent to `worker` (load-aware balancers only).
  void NoteSubmitted(uint32_t worker);
  std::atomic<uint32_t>& lane_busy(uint32_t lane) { return lane_state_[lane].busy; }
  bool shutting_down() const {
    // Seq_cst: ordered against lane_busy stores (see Shutdown and BeginCall).
    return shutting_down_.load(std::memory_order_seq_cst);
  }

  void Shutdown(ShutdownMode mode, absl::Duration grace);
  PoolStats Stats() const;

  void ReleaseLane(uint32_t lane);

  // Abort slots: a pool-wide budget of outstanding abortable calls.
  [[nodiscard]] bool ReserveAbortSlot();
  void ReleaseAbortSlot();

  // Continuations (Future::Then): run `run` once `call` has resolved, on
  // the pool's continuation thread (or now, on this thread, if it has).
  void AddContinuation(CallHandle call, std::function<void(CallHandle)> run);

 private:
  struct alignas(kCacheLine) LaneState {
    std::atomic<uint32_t> busy{0};  // 1 while the owner is inside BeginCall..SubmitCall
    uint32_t round_robin = 0;       // owner thread only
    uint32_t random = 0;            // owner thread only (xorshift state)
  };
  struct Worker {
    Region region;
    // Process workers. pid and the fds belong to the supervisor thread;
    // the atomics are read by Stats() and PickWorker().
    pid_t pid = -1;
    int control_fd = -1;
    int stdout_fd = -1;
    int stderr_fd = -1;
    std::string stdout_partial, stderr_partial;  // an unfinished line
    uint32_t failed_starts = 0;
    absl::Time restart_at = absl::InfiniteFuture();
    bool killed_for_timeout = false;
    bool started_once = false;
    // A replacement launched and not yet Ready (the supervisor keeps
    // watching the others meanwhile).
    bool starting = false;
    absl::Time ready_deadline = absl::InfiniteFuture();
    std::string ready_bytes;
    std::atomic<int> stats_pid{0};
    std::atomic<bool> up{false};
    std::atomic<bool> failed{false};  // given up: PickWorker skips it
    std::string last_exit ABSL_GUARDED_BY(process_mutex_);
    // Calls sent to this worker, for the load-aware balancers: in flight =
    // submitted - region.header()->calls_served.
    alignas(kCacheLine) std::atomic<uint64_t> submitted{0};
    std::unique_ptr<SkeletonBase> impl;
    std::thread thread;
    std::vector<std::unique_ptr<LaneHost>> lanes;  // created when a lane binds
  };

  HostCore(const PoolOptions& options, uint64_t interface_id,
           absl::Span<const MethodInfo> methods);

  // Process workers (supervisor thread).
  void SupervisorLoop(std::promise<absl::Status>* started);
  absl::Status StartProcess(uint32_t w);
  // Launches a replacement; its Ready is read by the supervisor loop.
  void LaunchReplacement(uint32_t w);
  void ReplacementReady(uint32_t w);
  void StartFailed(uint32_t w, const absl::Status& status);
  // A replacement that will not come up (already reaped): close its fds and
  // count the failed start.
  void AbandonStart(uint32_t w, const absl::Status& status);
  void AdoptProcess(uint32_t w, const SpawnedWorker& spawned);
  std::string RegionPathFor(uint32_t w, int& fd);
  void OnProcessDeath(uint32_t w);
  // Copies what the worker printed to the host's fd `to`, line by line with
  // the worker's index in front; true if it read anything.
  bool ForwardOutput(uint32_t w, int& fd, std::string& partial, int to, bool flush_only = false);
  void DrainAndClose(uint32_t w, int& fd, std::string& partial, int to);
  // Completes, as the dead worker would have, every call it had started.
  void CompleteStartedCalls(uint32_t w, const absl::Status& status);
  // Completes every call queued for a worker that was given up.
  void FailQueuedCalls(uint32_t w, const absl::Status& status);
  void StopProcesses(absl::Time until);


  PoolOptions options_;
  uint64_t interface_id_;
  absl::Span<const MethodInfo> methods_;
  uint64_t uid_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<LaneState[]> lane_state_;
  std::atomic<uint32_t> shutting_down_{0};
  bool track_load_ = false;
  alignas(kCacheLine) std::atomic<uint32_t> abort_in_use_{0};

  void ContinuationLoop();
  struct Continuation {
    CallHandle call;
    std::function<void(CallHandle)> run;
  };
  std::mutex continuation_mutex_;
  std::condition_variable continuation_cv_;
  std::vector<Continuation> continuations_ ABSL_GUARDED_BY(continuation_mutex_);
  bool continuations_stop_ ABSL_GUARDED_BY(continuation_mutex_) = false;
  std::thread continuation_thread_;  // started by the first AddContinuation

  std::thread supervisor_;
  int supervisor_wake_ = -1;  // eventfd
  std::atomic<bool> supervisor_stop_{false};
  mutable std::mutex process_mutex_;

  mutable std::mutex bind_mutex_;
  std::vector<uint32_t> free_lanes_ ABSL_GUARDED_BY(bind_mutex_);
  std::mutex shutdown_mutex_;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mutex_) = false;
};

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_HOST_CORE_H_
