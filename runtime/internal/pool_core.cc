#include "runtime/internal/pool_core.h"

#include <sys/stat.h>

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/internal/options_check.h"
#include "runtime/internal/status_macros.h"
#include "runtime/internal/wait.h"
#include "runtime/internal/worker_loop.h"

namespace weft {
namespace internal {

PoolCore::PoolCore(const PoolOptions& options, absl::Span<const MethodInfo> methods)
    : options_(options), logger_(options), methods_(methods), aborts_(options.abort_slots) {
  lane_config_.spin = options.spin;
  lane_config_.queue_full = options.queue_full;
  lane_config_.max_payload_words = options.max_payload_bytes / sizeof(capnp::word);
  lane_config_.trusted_worker =
      options.runtime != WorkerRuntime::kProcess || options.trusted_workers;
}

absl::StatusOr<std::shared_ptr<PoolCore>> PoolCore::Create(const PoolOptions& options,
                                                           uint64_t interface_id,
                                                           const char* interface_name,
                                                           absl::Span<const MethodInfo> methods,
                                                           SkeletonFactory factory) {
  WEFT_RETURN_IF_ERROR(ValidatePoolOptions(options, factory != nullptr));
  WEFT_ASSIGN_OR_RETURN(const Geometry geometry,
                        GeometryFor(options, static_cast<uint32_t>(methods.size())));
  const bool process = options.runtime == WorkerRuntime::kProcess && options.workers > 0;
  const uint32_t local = static_cast<uint32_t>(options.workers);
  const uint32_t total = local + static_cast<uint32_t>(options.remote_workers.size());

  std::shared_ptr<PoolCore> core(new PoolCore(options, methods));
  core->registry_ = LaneRegistry::Create(geometry.lanes);
  core->streams_ = std::make_unique<StreamLane[]>(geometry.lanes);
  std::vector<WorkerLoadSource> loads;
  std::vector<std::future<absl::Status>> started;
  // On any failure below, the destructor's Shutdown stops what started.
  for (uint32_t w = 0; w < total; ++w) {
    auto worker = std::make_shared<Worker>();
    WEFT_ASSIGN_OR_RETURN(
        worker->region,
        Region::Create(geometry, interface_id, static_cast<uint32_t>(methods.size()),
                       process && w < local && options.shared_memory == SharedMemory::kNamed));
    worker->region.header()->track_busy = options.hard_timeout.has_value() ? 1 : 0;
    worker->lanes.resize(geometry.lanes);
    loads.push_back(WorkerLoadSource{worker->region.header(), &worker->status.failed});
    core->workers_.push_back(std::move(worker));
  }
  core->picker_ = std::make_unique<WorkerPicker>(options, std::move(loads), geometry.lanes);
  StatsBlock::Spec spec;
  spec.interface_name = interface_name != nullptr ? interface_name : "";
  spec.interface_id = interface_id;
  for (const MethodInfo& m : methods) spec.method_names.emplace_back(m.name);
  spec.workers = static_cast<uint32_t>(core->workers_.size());
  spec.lanes = geometry.lanes;
  spec.enabled = options.stats;
  spec.process_workers = process;  // the local ones
  WEFT_ASSIGN_OR_RETURN(core->stats_, StatsBlock::Create(spec));
  for (uint32_t w = 0; w < core->workers_.size(); ++w) {
    struct stat st;
    if (fstat(core->workers_[w]->region.fd(), &st) == 0) {
      core->stats_.worker(w).region_dev = st.st_dev;
      core->stats_.worker(w).region_inode = st.st_ino;
    }
  }
  if (options.stats) core->lane_config_.stats.block = &core->stats_;
  core->lane_config_.stats.registry = core->registry_.get();
  core->lane_config_.stats.clock = ProcessTickScale();
  core->lane_config_.stats.time_every = options.stats_time_every;
  core->remote_lane_config_ = core->lane_config_;
  // A remote worker's results come from the network: copied out and checked
  // as an untrusted process worker's are.
  core->remote_lane_config_.trusted_worker = false;
  // A remote call takes tens of microseconds at least: a host thread that
  // spins for it only takes the CPU its remote worker's thread may need to
  // send it. A few polls, then sleep.
  core->remote_lane_config_.spin = SpinPolicy{.spin_polls = 64, .yield_polls = 0};
  if (process) {
    std::vector<Supervisor::Worker> supervised;
    for (uint32_t w = 0; w < local; ++w) {
      Worker& worker = *core->workers_[w];
      supervised.push_back(Supervisor::Worker{&worker.region, &worker.status});
    }
    core->supervisor_ = std::make_unique<Supervisor>(options, std::move(supervised),
                                                     &core->shutting_down_, &core->logger_);
    WEFT_RETURN_IF_ERROR(core->supervisor_->Start());
  } else {
    for (uint32_t w = 0; w < local; ++w) {
      WEFT_RETURN_IF_ERROR(core->StartThreadWorker(w, factory, started));
    }
  }
  for (uint32_t w = local; w < total; ++w) {
    WEFT_RETURN_IF_ERROR(core->StartRemoteWorker(w, options.remote_workers[w - local], started));
  }
  absl::Status first_failure;
  for (auto& s : started) {
    absl::Status status = s.get();
    if (!status.ok() && first_failure.ok()) first_failure = status;
  }
  WEFT_RETURN_IF_ERROR(first_failure);
  core->AnnounceStart();
  return core;
}

void PoolCore::AnnounceStart() {
  started_ = true;
  logger_.Log(PoolStartEvent(options_));
}

absl::Status PoolCore::StartThreadWorker(uint32_t w, SkeletonFactory& factory,
                                         std::vector<std::future<absl::Status>>& started) {
  Worker& worker = *workers_[w];
  // Relaxed: display only.
  worker.status.up.store(true, std::memory_order_relaxed);
  worker.impl = factory();
  if (worker.impl == nullptr) {
    return absl::InvalidArgumentError("weft: the skeleton factory returned null");
  }
  std::promise<absl::Status> start;
  started.push_back(start.get_future());
  // The thread keeps its Worker (region, skeleton) alive: see Shutdown.
  worker.thread = std::thread([self = workers_[w], spin = options_.spin,
                               limit = options_.max_payload_bytes / sizeof(capnp::word), w,
                               start = std::move(start)]() mutable {
    Region& region = self->region;
    WorkerLoop loop(region.base(), region.size(), region.geometry(), self->impl.get(), spin, limit);
    absl::Status s = loop.Start();
    if (!s.ok()) {
      start.set_value(absl::Status(
          s.code(), absl::StrCat("weft: worker ", w, " failed to start: ", s.message())));
    } else {
      start.set_value(absl::OkStatus());
      loop.Run();
    }
    // Release: pairs with JoinThreadWorkers' acquire load; the loop is done
    // with the region.
    self->exited.store(1, std::memory_order_release);
    FutexWake(&self->exited, 1);
  });
  return absl::OkStatus();
}

absl::Status PoolCore::StartRemoteWorker(uint32_t w, const RemoteWorker& endpoint,
                                         std::vector<std::future<absl::Status>>& started) {
  Worker& worker = *workers_[w];
  RemoteLink::Config config;
  config.index = w;
  config.endpoint = endpoint;
  config.max_payload_words = options_.max_payload_bytes / sizeof(capnp::word);
  config.methods = methods_;
  config.startup_timeout = options_.startup_timeout;
  config.logger = &logger_;
  config.status = &worker.status;
  // Left out of balancing until it has connected. Release: pairs with the
  // balancer's relaxed loads (a hint).
  worker.status.failed.store(true, std::memory_order_release);
  WEFT_ASSIGN_OR_RETURN(worker.remote, RemoteLink::Create(&worker.region, std::move(config)));
  auto start = std::make_shared<std::promise<absl::Status>>();
  started.push_back(start->get_future());
  // As a thread worker's: the thread keeps its Worker alive (see Shutdown).
  worker.thread = std::thread([self = workers_[w], start] {
    self->remote->Run(*start);
    // Release: pairs with JoinThreadWorkers' acquire load.
    self->exited.store(1, std::memory_order_release);
    FutexWake(&self->exited, 1);
  });
  return absl::OkStatus();
}

PoolCore::~PoolCore() {
  // A failure is logged by Shutdown itself (kPoolStop), once.
  (void)Shutdown(ShutdownMode::kDrain, absl::InfiniteDuration());
}

absl::StatusOr<uint32_t> PoolCore::BindLane() {
  WEFT_ASSIGN_OR_RETURN(const LaneRegistry::Binding binding, registry_->Bind());
  if (binding.fresh) {
    streams_[binding.lane].Clear();  // a thread that exited left them
    MakeLanes(binding.lane);
  }
  return binding.lane;
}

void PoolCore::MakeLanes(uint32_t lane) {
  MutexLock lock(&lanes_mutex_);
  for (uint32_t w = 0; w < workers_.size(); ++w) {
    Worker& worker = *workers_[w];
    if (worker.lanes[lane] == nullptr) {
      const bool remote = worker.remote != nullptr;
      worker.lanes[lane] = std::make_unique<LaneHost>(&worker.region, w, lane,
                                                      remote ? remote_lane_config_ : lane_config_,
                                                      &shutting_down_, &aborts_);
      if (remote) worker.lanes[lane]->set_wake_fd(worker.remote->wake_fd());
    }
    std::atomic<uint32_t>& active = worker.region.header()->active_lanes;
    // Release: the lane's memory is initialized (zeroed by the kernel) and
    // this thread will only produce into it after this; pairs with the
    // worker's acquire load of active_lanes. Relaxed load: only this mutex's
    // holders write it.
    if (active.load(std::memory_order_relaxed) < lane + 1) {
      active.store(lane + 1, std::memory_order_release);
    }
  }
}

absl::Status PoolCore::Shutdown(ShutdownMode mode, absl::Duration grace) {
  {
    MutexLock lock(&shutdown_mutex_);
    if (shutdown_started_) {
      // A Then callback cannot wait for a shutdown that waits for it.
      if (continuations_.OnLoopThread()) return absl::OkStatus();
      while (!shutdown_done_) shutdown_done_cv_.Wait(&shutdown_mutex_);
      return shutdown_result_;
    }
    shutdown_started_ = true;
  }
  absl::Status result = StopEverything(mode, grace);
  // A pool that never started says only why it could not stop (Create
  // returned why it could not start).
  if (started_ || !result.ok()) logger_.Log(PoolStopEvent(result));
  MutexLock lock(&shutdown_mutex_);
  shutdown_done_ = true;
  shutdown_result_ = result;
  shutdown_done_cv_.SignalAll();
  return result;
}

absl::Status PoolCore::StopEverything(ShutdownMode mode, absl::Duration grace) {
  // Seq_cst: new calls see it (Begin's seq_cst load after its seq_cst busy
  // store); we then see every caller that got past the check as busy.
  shutting_down_.store(1, std::memory_order_seq_cst);
  if (registry_ != nullptr) {
    for (uint32_t lane = 0; lane < registry_->lanes(); ++lane) {
      // Seq_cst: the other half of the Dekker pair above.
      while (registry_->busy(lane).load(std::memory_order_seq_cst) != 0) {
        std::this_thread::yield();
      }
    }
  }
  const absl::Time until =
      grace == absl::InfiniteDuration() ? absl::InfiniteFuture() : absl::Now() + grace;
  std::vector<LaneHost*> lanes;
  {
    MutexLock lanes_lock(&lanes_mutex_);
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
    // Release: a new doorbell value, so a worker about to sleep does not.
    header->doorbell.fetch_add(1, std::memory_order_release);
    FutexWake(&header->doorbell, 1);
    if (worker->remote != nullptr) SignalEventFd(worker->remote->wake_fd());
  }
  // A moment past the grace for workers to see the stop flag and leave.
  const std::vector<uint32_t> stuck =
      JoinThreadWorkers(std::max(until, absl::Now() + absl::Milliseconds(100)));
  if (supervisor_ != nullptr) supervisor_->Stop(absl::Now() + absl::Seconds(2));
  // Every call has resolved now: run the remaining continuations and stop.
  continuations_.Stop();
  // No worker runs and no call is sent any more: give back the slots of
  // calls resolved early (no owner thread can race with this now).
  for (LaneHost* lane : lanes) lane->ReclaimOrphans();
  if (stuck.empty()) return absl::OkStatus();
  return absl::DeadlineExceededError(absl::StrCat(
      "weft: the shutdown grace (", absl::FormatDuration(grace), ") passed with thread worker(s) ",
      absl::StrJoin(stuck, ", "),
      " still inside a method that did not return (and did not check call.aborted()); the "
      "calls they run are resolved already (timed out, or cancelled by the shutdown), and the "
      "threads are left running, detached, with their memory kept until they return"));
}

std::vector<uint32_t> PoolCore::JoinThreadWorkers(absl::Time until) {
  std::vector<uint32_t> stuck;
  for (uint32_t w = 0; w < workers_.size(); ++w) {
    Worker& worker = *workers_[w];
    if (!worker.thread.joinable()) continue;
    // Acquire: pairs with the thread's release store as it leaves its loop.
    while (worker.exited.load(std::memory_order_acquire) == 0) {
      if (!FutexWait(&worker.exited, 0, until)) break;
    }
    // Acquire: as above.
    if (worker.exited.load(std::memory_order_acquire) != 0) {
      worker.thread.join();
    } else {
      worker.thread.detach();  // it holds its Worker; see StartThreadWorker
      stuck.push_back(w);
    }
    // Relaxed: display only.
    worker.status.up.store(false, std::memory_order_relaxed);
  }
  return stuck;
}

PoolStats PoolCore::Stats() const {
  PoolStats stats;
  std::vector<RegionView> regions;
  for (const auto& worker : workers_) {
    regions.push_back(
        RegionView{worker->region.base(), worker->region.size(), &worker->region.geometry()});
  }
  ReadPoolStats(stats_, regions, MonotonicNanos(), &stats);
  for (size_t i = 0; i < workers_.size(); ++i) {
    const Worker* worker = workers_[i].get();
    const RegionHeader* header = worker->region.header();
    WorkerStats& w = stats.workers[i];
    // Acquire: pairs with the supervisor's release stores of the pid.
    w.pid = worker->status.pid.load(std::memory_order_acquire);
    // Acquire: pairs with the worker's release store of boots.
    const uint64_t boots = header->boots.load(std::memory_order_acquire);
    w.restarts = boots > 1 ? boots - 1 : 0;
    // A process worker is up once it stored its start's boot token in its
    // region (before it serves anything), while that token is the host's
    // latest; a thread worker while the pool runs. Acquire (both): pair with
    // the supervisor's and the worker's release stores of the tokens.
    const uint64_t token = worker->status.token.load(std::memory_order_acquire);
    w.up = supervisor_ != nullptr && worker->remote == nullptr
               ? w.pid != 0 && token != 0 &&
                     header->boot_token.load(std::memory_order_acquire) == token
               : worker->status.up.load(std::memory_order_relaxed);  // relaxed: display
    // Relaxed: display only.
    w.failed = worker->status.failed.load(std::memory_order_relaxed);
    w.last_exit = const_cast<WorkerStatus&>(worker->status).get_last_exit();
  }
  MutexLock lock(&lanes_mutex_);
  for (size_t w = 0; w < workers_.size(); ++w) {
    for (const auto& lane : workers_[w]->lanes) {
      if (lane == nullptr) continue;
      // Slots of calls resolved early (dropped futures, aborts, deadlines)
      // that the worker has finished are free, only not yet given back: give
      // them back now (any thread may), so an idle pool shows none in use.
      lane->ReclaimOrphans();
      stats.workers[w].slots_in_use += lane->SlotsInUse();
    }
  }
  stats.abort_slots_in_use = aborts_.in_use();
  return stats;
}

}  // namespace internal
}  // namespace weft
