// PoolCore: the non-template heart of a weft::Pool — its workers, and the
// parts a call passes through, wired together.
//
//   absl::StatusOr<std::shared_ptr<PoolCore>> core =
//       PoolCore::Create(options, interface_id, methods, factory);
//   // calls: OutgoingCall (outgoing_call.h) asks it for the calling thread's
//   // lane, the balancer's pick, the abort budget, and the LaneHost
//   (*core)->Shutdown(ShutdownMode::kDrain, grace);
//
// It owns, per worker, the region (region.h), the worker's status, the
// LaneHosts of the lanes bound so far, and for thread workers the thread and
// its skeleton; and once per pool the LaneRegistry, the WorkerPicker, the
// AbortBudget, the Continuations, and for process workers the Supervisor.
// Everything below it is given what it needs; nothing calls back up.
//
// Pool<I>, stubs, futures and responses hold a shared_ptr to it, so the
// regions stay mapped while any response still reads from them.
//
// Thread safety: thread-safe. The hot path (bound lane lookup, pick, slot,
// submit) takes no lock.
#ifndef WEFT_RUNTIME_INTERNAL_POOL_CORE_H_
#define WEFT_RUNTIME_INTERNAL_POOL_CORE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "runtime/interface.h"
#include "runtime/internal/abort_budget.h"
#include "runtime/internal/balancers.h"
#include "runtime/internal/continuations.h"
#include "runtime/internal/lane_host.h"
#include "runtime/internal/lane_registry.h"
#include "runtime/internal/lifecycle_log.h"
#include "runtime/internal/mutex.h"
#include "runtime/internal/region.h"
#include "runtime/internal/remote_link.h"
#include "runtime/internal/stats_block.h"
#include "runtime/internal/stream_lane.h"
#include "runtime/internal/supervisor.h"
#include "runtime/internal/worker_status.h"
#include "runtime/pool_options.h"
#include "runtime/skeleton.h"
#include "runtime/stats.h"

namespace weft {
namespace internal {

class PoolCore {
 public:
  using SkeletonFactory = std::function<std::unique_ptr<SkeletonBase>()>;

  // Validates `options`, lays out one region per worker, and starts the
  // workers: threads running `factory`'s skeletons, or (no factory) the
  // process workers of options.worker_command. Returns once every worker
  // started, or the first failure (everything started is stopped again).
  static absl::StatusOr<std::shared_ptr<PoolCore>> Create(const PoolOptions& options,
                                                          uint64_t interface_id,
                                                          const char* interface_name,
                                                          absl::Span<const MethodInfo> methods,
                                                          SkeletonFactory factory);
  ~PoolCore();
  PoolCore(const PoolCore&) = delete;
  PoolCore& operator=(const PoolCore&) = delete;

  const PoolOptions& options() const { return options_; }

  // ---- What a call passes through (the calling thread).
  // The calling thread's lane index, binding one (and its LaneHosts) on
  // first use.
  absl::StatusOr<uint32_t> BindLane();
  // Raised by the lane's thread for the duration of a submission.
  std::atomic<uint32_t>& busy(uint32_t lane) { return registry_->busy(lane); }
  bool shutting_down() const {
    // Seq_cst: ordered against the busy stores (see Shutdown and
    // OutgoingCall::Begin).
    return shutting_down_.load(std::memory_order_seq_cst) != 0;
  }
  AbortBudget& aborts() { return aborts_; }
  WorkerPicker& picker() { return *picker_; }
  // The LaneHost of (worker, lane); the lane must be bound by this thread.
  LaneHost* Lane(uint32_t worker, uint32_t lane) { return workers_[worker]->lanes[lane].get(); }
  // Calls `f` on the LaneHost of every worker for `lane` (bound by this
  // thread).
  template <typename F>
  void ForEachLaneOf(uint32_t lane, F&& f) {
    for (auto& worker : workers_) f(*worker->lanes[lane]);
  }
  Continuations& continuations() { return continuations_; }
  // The streamed calls of the thread bound to `lane` (stream_lane.h).
  StreamLane& stream(uint32_t lane) { return streams_[lane]; }
  // Forgets every lane's streamed calls: they hold the core, so the pool's
  // end drops them to let it go.
  void DropStreams() {
    for (uint32_t lane = 0; lane < registry_->lanes(); ++lane) streams_[lane].Clear();
  }

  // ---- Control.
  // Stops the pool (see Pool::Shutdown). Bounded by `grace` (plus a moment
  // for the workers to see the stop flag): a thread worker still inside a
  // method then is left running, detached, with its region and skeleton
  // kept alive until it returns, and the status names it. A second call
  // waits for the first to finish; one from a Then callback returns at once.
  absl::Status Shutdown(ShutdownMode mode, absl::Duration grace);
  PoolStats Stats() const;

 private:
  struct Worker {
    Region region;
    // Thread workers: set (release) by the thread as it leaves its loop;
    // Shutdown waits on it (acquire, futex) with a deadline.
    std::atomic<uint32_t> exited{0};
    WorkerStatus status;
    std::unique_ptr<SkeletonBase> impl;  // thread workers
    std::thread thread;                  // thread workers and remote workers
    std::unique_ptr<RemoteLink> remote;  // remote workers
    // Created under lanes_mutex_ when a host thread first binds the lane;
    // read without the lock by that lane's thread after its bind (the mutex
    // orders the creation before), and by Stats() under the lock.
    std::vector<std::unique_ptr<LaneHost>> lanes;
  };

  PoolCore(const PoolOptions& options, absl::Span<const MethodInfo> methods);
  absl::Status StartThreadWorker(uint32_t w, SkeletonFactory& factory,
                                 std::vector<std::future<absl::Status>>& started);
  absl::Status StartRemoteWorker(uint32_t w, const RemoteWorker& endpoint,
                                 std::vector<std::future<absl::Status>>& started);
  void MakeLanes(uint32_t lane);
  // Create succeeded: logs kPoolStart, and Shutdown will log kPoolStop.
  void AnnounceStart();

  const PoolOptions options_;
  // The lifecycle log; before supervisor_, which logs until it is destroyed.
  Logger logger_;
  // Set by Create before the pool is handed out; read by Shutdown after.
  bool started_ = false;
  const absl::Span<const MethodInfo> methods_;
  LaneConfig lane_config_;
  LaneConfig remote_lane_config_;  // the lanes of remote workers
  // shared_ptr: a thread worker's thread holds its Worker too, so a thread
  // left running past the shutdown grace never outlives its memory.
  std::vector<std::shared_ptr<Worker>> workers_;
  std::shared_ptr<LaneRegistry> registry_;
  std::unique_ptr<StreamLane[]> streams_;  // one per lane index
  std::unique_ptr<WorkerPicker> picker_;
  AbortBudget aborts_;
  std::atomic<uint32_t> shutting_down_{0};
  Continuations continuations_;
  std::unique_ptr<Supervisor> supervisor_;  // process workers
  StatsBlock stats_;                        // the host's stats and the pool's names

  mutable Mutex lanes_mutex_;  // guards the creation of Worker::lanes entries
  absl::Status StopEverything(ShutdownMode mode, absl::Duration grace);
  // Waits for the thread workers to leave their loops until `until`; returns
  // the indices of those still inside a method (detached).
  std::vector<uint32_t> JoinThreadWorkers(absl::Time until);

  Mutex shutdown_mutex_;
  CondVar shutdown_done_cv_;
  bool shutdown_started_ ABSL_GUARDED_BY(shutdown_mutex_) = false;
  bool shutdown_done_ ABSL_GUARDED_BY(shutdown_mutex_) = false;
  absl::Status shutdown_result_ ABSL_GUARDED_BY(shutdown_mutex_);
};

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_INTERNAL_POOL_CORE_H_
