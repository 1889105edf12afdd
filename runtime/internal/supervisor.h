// Supervisor: starts a pool's process workers and keeps them running.
//
//   Supervisor supervisor(options, {{&region0, &status0}, ...}, &shutting_down);
//   absl::Status s = supervisor.Start();   // every worker answered Ready, or why not
//   ...
//   supervisor.Stop(until);                // workers told to stop; SIGTERM, SIGKILL, reaped
//
// One thread per pool watches every worker's control socket (EOF = death:
// no polling), forwards their output line by line (worker_output.h),
// enforces hard_timeout, and restarts dead workers with exponential backoff
// until max_restarts failed starts in a row give one up. When a worker dies
// it completes, in its region and through the slot protocol (slot.h), the
// calls the worker had started (Unavailable, or DeadlineExceeded for a
// hard_timeout kill); calls still queued wait for the replacement, or fail
// Unavailable if it is given up or the pool shuts down. Workers are forked
// from the supervisor thread, which lives as long as the pool, because
// PR_SET_PDEATHSIG fires when the forking thread exits.
//
// Thread safety: Start and Stop from one thread; the rest runs on the
// supervisor's own thread.
#ifndef WEFT_RUNTIME_INTERNAL_SUPERVISOR_H_
#define WEFT_RUNTIME_INTERNAL_SUPERVISOR_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "runtime/internal/child_process.h"
#include "runtime/internal/lifecycle_log.h"
#include "runtime/internal/region.h"
#include "runtime/internal/worker_output.h"
#include "runtime/internal/worker_status.h"
#include "runtime/pool_options.h"

namespace weft {
namespace internal {

class Supervisor {
 public:
  struct Worker {
    Region* region;        // not owned; outlives the supervisor
    WorkerStatus* status;  // not owned; outlives the supervisor
  };
  // `shutting_down` (not owned) is the pool's flag: once set, no worker is
  // restarted and what waits for a replacement fails. `logger` (not owned,
  // outlives the supervisor) gets every worker's lifecycle events.
  Supervisor(const PoolOptions& options, std::vector<Worker> workers,
             const std::atomic<uint32_t>* shutting_down, Logger* logger);
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;
  ~Supervisor() { Stop(absl::Now()); }

  // Starts the supervisor thread, which starts every worker; returns once
  // all answered Ready, or with the first failure (Stop then reaps the rest).
  absl::Status Start();
  // Stops watching, then ends the workers: they were told to stop through
  // their regions; their control sockets close; what is left by `until` gets
  // SIGTERM, then SIGKILL a second later; every child is reaped. Idempotent.
  void Stop(absl::Time until);

 private:
  // A worker's process as the supervisor sees it.
  struct Child {
    Child(uint32_t index) : out(index, 1), err(index, 2) {}
    pid_t pid = -1;
    int control_fd = -1;
    LineForwarder out, err;
    uint32_t failed_starts = 0;
    absl::Time restart_at = absl::InfiniteFuture();
    bool killed_for_timeout = false;
    bool started_once = false;
    // A replacement launched and not yet Ready (the loop keeps watching the
    // others meanwhile).
    bool starting = false;
    absl::Time ready_deadline = absl::InfiniteFuture();
    std::string ready_bytes;
  };

  void Loop(std::promise<absl::Status>* started);
  bool ShuttingDown() const;
  absl::Status StartFirst(uint32_t w);
  void LaunchReplacement(uint32_t w);
  void ReplacementReady(uint32_t w);
  void Adopt(uint32_t w, const SpawnedWorker& spawned);
  // A start that will not come up (already reaped): close its fds and count it.
  void AbandonStart(uint32_t w, const absl::Status& status);
  void StartFailed(uint32_t w, const absl::Status& status);
  std::string RegionPathFor(uint32_t w, int& fd);
  // A fresh boot token for worker `w`'s next start, published in its status.
  uint64_t NextToken(uint32_t w);
  void ClearToken(uint32_t w);
  void OnDeath(uint32_t w);
  void CheckTimers(uint32_t w, absl::Time now);
  // Completes, as the dead worker would have, every call it had started.
  void CompleteStartedCalls(uint32_t w, const absl::Status& status);
  // Completes every call queued for a worker that will not come back.
  void FailQueuedCalls(uint32_t w, const absl::Status& status);
  void EndProcesses(absl::Time until);

  const PoolOptions options_;
  std::vector<Worker> workers_;
  std::vector<std::unique_ptr<Child>> children_;  // the supervisor thread's
  const std::atomic<uint32_t>* shutting_down_;
  Logger* logger_;
  std::thread thread_;
  int wake_fd_ = -1;  // eventfd: Stop wakes the loop's poll
  std::atomic<bool> stop_{false};
  bool stopped_ = false;
  uint64_t last_token_ = 0;  // the supervisor thread's
};

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_INTERNAL_SUPERVISOR_H_
