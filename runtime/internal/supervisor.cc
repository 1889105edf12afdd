#include "runtime/internal/supervisor.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "kj/exception.h"
#include "runtime/internal/control_channel.h"
#include "runtime/internal/slot.h"
#include "runtime/internal/spsc_ring.h"
#include "runtime/internal/wait.h"

namespace weft {
namespace internal {
namespace {

// The supervisor finished a call for a worker that is gone: count it, so
// load-aware balancers do not see it in flight for ever. No worker writes
// these counters now (a replacement starts from them).
void CountServed(RegionHeader* header, bool started) {
  // Relaxed: statistics; the replacement's boot orders them before its use.
  if (started) {
    header->calls_started.store(header->calls_started.load(std::memory_order_relaxed) + 1,
                                std::memory_order_relaxed);
  }
  // Relaxed: as above.
  header->calls_served.store(header->calls_served.load(std::memory_order_relaxed) + 1,
                             std::memory_order_relaxed);
}

// "; the worker's last output: ..." for a start that failed, or "".
std::string OutputNote(const std::string& tail) {
  return tail.empty() ? "" : absl::StrCat("; the worker's last output: ", tail);
}

// Forwards (with the worker's prefix) what a failed start printed, closes its
// pipes, and returns the last lines (stderr's, else stdout's).
std::string DrainTail(SpawnedWorker& spawned, uint32_t w) {
  LineForwarder out(w, 1), err(w, 2);
  out.Adopt(std::exchange(spawned.stdout_fd, -1));
  err.Adopt(std::exchange(spawned.stderr_fd, -1));
  out.DrainAndClose();
  err.DrainAndClose();
  return err.Tail().empty() ? out.Tail() : err.Tail();
}

// Forks the worker and sends its boot message; the Ready is read by the caller.
absl::StatusOr<SpawnedWorker> Launch(const PoolOptions& options, uint32_t w, int region_fd,
                                     const std::string& region_path, uint64_t boot_token,
                                     int requests_fd) {
  absl::StatusOr<SpawnedWorker> spawned = LaunchProcess(options, w, region_fd);
  if (!spawned.ok()) return spawned;
  bool sent = false;
  try {
    sent = SendRequestsFd(spawned->control_fd, requests_fd) &&
           SendBoot(spawned->control_fd, options, w, region_fd >= 0 ? kRegionFd : -1, region_path,
                    boot_token);
  } catch (const kj::Exception& e) {
    KillAndReap(spawned->pid);
    CloseFds(*spawned);
    return absl::InternalError(
        absl::StrCat("weft: building the boot message: ", e.getDescription().cStr()));
  }
  if (!sent) {
    // The worker closed its end: it has exited already.
    const std::string how = ReapAfterEof(spawned->pid);
    const std::string tail = DrainTail(*spawned, w);
    CloseFds(*spawned);
    return absl::FailedPreconditionError(
        absl::StrCat("weft: worker ", w, " (", CommandString(options),
                     ") exited before it was ready: ", how, OutputNote(tail)));
  }
  return spawned;
}

}  // namespace

Supervisor::Supervisor(const PoolOptions& options, std::vector<Worker> workers,
                       const std::atomic<uint32_t>* shutting_down, Logger* logger)
    : options_(options),
      workers_(std::move(workers)),
      shutting_down_(shutting_down),
      logger_(logger) {
  for (uint32_t w = 0; w < workers_.size(); ++w) children_.push_back(std::make_unique<Child>(w));
}

bool Supervisor::ShuttingDown() const {
  // Seq_cst: the pool's shutdown flag (see PoolCore::Shutdown).
  return shutting_down_->load(std::memory_order_seq_cst) != 0;
}

absl::Status Supervisor::Start() {
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0)
    return absl::InternalError(absl::StrCat("weft: eventfd: ", std::strerror(errno)));
  std::promise<absl::Status> started;
  std::future<absl::Status> result = started.get_future();
  thread_ = std::thread([this, started = std::move(started)]() mutable { Loop(&started); });
  return result.get();
}

void Supervisor::Stop(absl::Time until) {
  if (stopped_) return;
  stopped_ = true;
  if (thread_.joinable()) {
    // Release: pairs with the loop's acquire loads; it exits.
    stop_.store(true, std::memory_order_release);
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof(one));
    thread_.join();
  }
  EndProcesses(until);
  if (wake_fd_ >= 0) close(wake_fd_);
  wake_fd_ = -1;
}

uint64_t Supervisor::NextToken(uint32_t w) {
  const uint64_t token = ++last_token_;
  // Release: pairs with Stats()'s acquire load; stored before the Boot that
  // carries it is sent, so before the start can serve anything.
  workers_[w].status->token.store(token, std::memory_order_release);
  return token;
}

void Supervisor::ClearToken(uint32_t w) {
  // Relaxed: the worker is gone; Stats() reads the status token below first.
  workers_[w].region->header()->boot_token.store(0, std::memory_order_relaxed);
  // Release: pairs with Stats()'s acquire load.
  workers_[w].status->token.store(0, std::memory_order_release);
}

std::string Supervisor::RegionPathFor(uint32_t w, int& fd) {
  Region& region = *workers_[w].region;
  // A dead predecessor may have scribbled over the header's layout.
  region.RestoreHeader();
  RegionHeader* header = region.header();
  // Relaxed: no worker runs on the region now; the spawn (fork) and the
  // boot handshake order these before the new worker's first access.
  header->worker_sleeping.store(0, std::memory_order_relaxed);
  header->busy_since_ns.store(0, std::memory_order_relaxed);
  fd = region.fd();
  if (options_.shared_memory != SharedMemory::kNamed) return "";
  // The first worker opens the name; a replacement (the name is gone by
  // then) opens the host's descriptor through /proc.
  std::string path =
      children_[w]->started_once ? absl::StrCat("/proc/", getpid(), "/fd/", fd) : region.name();
  fd = -1;
  return path;
}

absl::Status Supervisor::StartFirst(uint32_t w) {
  int fd;
  const std::string path = RegionPathFor(w, fd);
  absl::StatusOr<SpawnedWorker> spawned =
      Launch(options_, w, fd, path, NextToken(w), workers_[w].region->requests_fd());
  if (!spawned.ok()) {
    if (options_.shared_memory == SharedMemory::kNamed) workers_[w].region->Unlink();
    return spawned.status();
  }
  logger_->Log(WorkerSpawnEvent(w, spawned->pid, /*replacement=*/false));
  ReadResult read = ReadMessage(spawned->control_fd, absl::Now() + options_.startup_timeout);
  absl::Status ready;
  if (read.kind == ReadResult::kTimedOut) {
    KillAndReap(spawned->pid);
    ready = absl::DeadlineExceededError(
        absl::StrCat("weft: worker ", w, " (", CommandString(options_),
                     ") did not answer Ready within startup_timeout (",
                     absl::FormatDuration(options_.startup_timeout), ")"));
  } else if (read.kind == ReadResult::kEof) {
    ready = absl::FailedPreconditionError(
        absl::StrCat("weft: worker ", w, " (", CommandString(options_),
                     ") exited before it was ready: ", ReapAfterEof(spawned->pid)));
  } else if (read.kind == ReadResult::kTooLarge) {
    KillAndReap(spawned->pid);
    ready = OversizedReady(options_, w);
  } else {
    ready = ParseReady(options_, w, read.message);
    if (!ready.ok()) KillAndReap(spawned->pid);
  }
  // The worker has mapped the region (or is gone): the name is not needed.
  if (options_.shared_memory == SharedMemory::kNamed) workers_[w].region->Unlink();
  if (!ready.ok()) {
    const std::string tail = DrainTail(*spawned, w);
    CloseFds(*spawned);
    if (tail.empty()) return ready;
    return absl::Status(ready.code(), absl::StrCat(ready.message(), OutputNote(tail)));
  }
  Adopt(w, *spawned);
  return absl::OkStatus();
}

void Supervisor::LaunchReplacement(uint32_t w) {
  Child& child = *children_[w];
  int fd;
  const std::string path = RegionPathFor(w, fd);
  absl::StatusOr<SpawnedWorker> spawned =
      Launch(options_, w, fd, path, NextToken(w), workers_[w].region->requests_fd());
  if (!spawned.ok()) {
    StartFailed(w, spawned.status());
    return;
  }
  child.pid = spawned->pid;
  logger_->Log(WorkerSpawnEvent(w, child.pid, /*replacement=*/true));
  child.control_fd = spawned->control_fd;
  child.out.Adopt(spawned->stdout_fd);
  child.err.Adopt(spawned->stderr_fd);
  child.starting = true;
  // Release: pairs with Stats()'s acquire load; the pid is known from fork,
  // before the replacement can serve anything.
  workers_[w].status->pid.store(child.pid, std::memory_order_release);
  child.ready_bytes.clear();
  child.ready_deadline = absl::Now() + options_.startup_timeout;
}

void Supervisor::ReplacementReady(uint32_t w) {
  Child& child = *children_[w];
  char buffer[4096];
  const ssize_t n = recv(child.control_fd, buffer, sizeof(buffer), MSG_DONTWAIT);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) {
    const std::string how = ReapAfterEof(child.pid);
    AbandonStart(w, absl::FailedPreconditionError(
                        absl::StrCat("weft: worker ", w, " (", CommandString(options_),
                                     ") exited before it was ready: ", how)));
    return;
  }
  child.ready_bytes.append(buffer, static_cast<size_t>(n));
  kj::Array<capnp::word> message;
  const Taken taken = TakeMessage(child.ready_bytes, message);
  if (taken == Taken::kIncomplete) return;
  absl::Status ready =
      taken == Taken::kTooLarge ? OversizedReady(options_, w) : ParseReady(options_, w, message);
  if (!ready.ok()) {
    KillAndReap(child.pid);
    AbandonStart(w, ready);
    return;
  }
  child.starting = false;
  if (options_.shared_memory == SharedMemory::kNamed) workers_[w].region->Unlink();
  child.failed_starts = 0;
  Adopt(w, SpawnedWorker{child.pid, child.control_fd, -1, -1});
}

void Supervisor::Adopt(uint32_t w, const SpawnedWorker& spawned) {
  Child& child = *children_[w];
  child.pid = spawned.pid;
  child.control_fd = spawned.control_fd;
  if (spawned.stdout_fd >= 0) child.out.Adopt(spawned.stdout_fd);
  if (spawned.stderr_fd >= 0) child.err.Adopt(spawned.stderr_fd);
  child.killed_for_timeout = false;
  child.started_once = true;
  // Release: pairs with Stats()'s acquire load.
  workers_[w].status->pid.store(child.pid, std::memory_order_release);
  // Relaxed: display only.
  workers_[w].status->up.store(true, std::memory_order_relaxed);
  logger_->Log(WorkerReadyEvent(w, child.pid));
}

void Supervisor::AbandonStart(uint32_t w, const absl::Status& status) {
  Child& child = *children_[w];
  child.out.DrainAndClose();
  child.err.DrainAndClose();
  const std::string tail = child.err.Tail().empty() ? child.out.Tail() : child.err.Tail();
  close(child.control_fd);
  child.control_fd = -1;
  child.pid = -1;
  child.starting = false;
  ClearToken(w);
  // Relaxed: the worker is gone; the supervisor is the only writer now.
  workers_[w].region->header()->worker_pid.store(0, std::memory_order_relaxed);
  // Release: pairs with Stats()'s acquire load.
  workers_[w].status->pid.store(0, std::memory_order_release);
  StartFailed(w, tail.empty() ? status
                              : absl::Status(status.code(),
                                             absl::StrCat(status.message(), OutputNote(tail))));
}

void Supervisor::StartFailed(uint32_t w, const absl::Status& status) {
  Child& child = *children_[w];
  ++child.failed_starts;
  workers_[w].status->set_last_exit(std::string(status.message()));
  logger_->Log(WorkerStartFailedEvent(w, status, child.failed_starts));
  if (child.failed_starts >= options_.max_restarts) {
    // Release: the balancer stops choosing it (its relaxed loads see it soon).
    workers_[w].status->failed.store(true, std::memory_order_release);
    logger_->Log(WorkerGivenUpEvent(w, child.failed_starts));
  } else {
    child.restart_at = absl::Now() + RestartBackoff(child.failed_starts);
    if (!ShuttingDown()) {
      logger_->Log(WorkerRestartEvent(w, RestartBackoff(child.failed_starts), child.failed_starts));
    }
  }
}

void Supervisor::OnDeath(uint32_t w) {
  Child& child = *children_[w];
  // The control socket closed. A worker that closed it and lives on is
  // killed: it is of no use without it.
  int wait_status = -1;
  const std::string how = ReapAfterEof(child.pid, &wait_status);
  // Forward what it printed last, then stop listening.
  child.out.DrainAndClose();
  child.err.DrainAndClose();
  close(child.control_fd);
  child.control_fd = -1;
  workers_[w].status->set_last_exit(how);
  logger_->Log(WorkerEndEvent(w, child.pid, wait_status, how, ShuttingDown()));
  const absl::Status status =
      child.killed_for_timeout
          ? absl::DeadlineExceededError(absl::StrCat("weft: the call ran past hard_timeout (",
                                                     absl::FormatDuration(*options_.hard_timeout),
                                                     "); worker ", w, " was killed"))
          : absl::UnavailableError(
                absl::StrCat("weft: worker ", w, " (pid ", child.pid, ") died: ", how));
  child.pid = -1;
  ClearToken(w);
  // Relaxed: the worker is dead; the supervisor is the only writer now.
  workers_[w].region->header()->worker_pid.store(0, std::memory_order_relaxed);
  // Release: pairs with Stats()'s acquire load.
  workers_[w].status->pid.store(0, std::memory_order_release);
  // Relaxed: display only.
  workers_[w].status->up.store(false, std::memory_order_relaxed);
  CompleteStartedCalls(w, status);
  child.restart_at = absl::Now() + RestartBackoff(child.failed_starts);
  if (!ShuttingDown()) {
    logger_->Log(WorkerRestartEvent(w, RestartBackoff(child.failed_starts), child.failed_starts));
  } else {
    // No replacement now: what was queued for it fails.
    FailQueuedCalls(w, absl::UnavailableError(
                           absl::StrCat("weft: worker ", w, " died during shutdown: ", how)));
  }
}

void Supervisor::CompleteStartedCalls(uint32_t w, const absl::Status& status) {
  Region& region = *workers_[w].region;
  const Geometry& g = region.geometry();
  // Acquire: pairs with the pool's release store of active_lanes.
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
      // Acquire: the worker is dead (reaped): its stores are done.
      const uint32_t started = slots[i].started_seq.load(std::memory_order_acquire);
      // Acquire: as above.
      const uint32_t done = slots[i].done_seq.load(std::memory_order_acquire);
      if (started != 0 && started != done) {
        WriteSlotStatus(slots[i], status);
        PublishSlotDone(slots[i], *region.header(), started, WakeHost::kAlways);
        CountServed(region.header(), /*started=*/false);
      }
    }
  }
}

void Supervisor::FailQueuedCalls(uint32_t w, const absl::Status& status) {
  Region& region = *workers_[w].region;
  const Geometry& g = region.geometry();
  // Acquire: pairs with the pool's release store of active_lanes.
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
      if (copy.slot < g.slots_per_lane) {
        WriteSlotStatus(slots[copy.slot], status);
        PublishSlotDone(slots[copy.slot], *region.header(), copy.seq, WakeHost::kAlways);
      }
      CountServed(region.header(), /*started=*/true);
    }
  }
}

void Supervisor::Loop(std::promise<absl::Status>* started) {
  for (uint32_t w = 0; w < workers_.size(); ++w) {
    absl::Status s = StartFirst(w);
    if (!s.ok()) {
      started->set_value(s);
      return;  // the pool shuts down, and Stop reaps the ones started
    }
  }
  started->set_value(absl::OkStatus());

  std::vector<pollfd> fds;
  std::vector<std::pair<uint32_t, int>> owners;  // (worker, 0 control / 1 out / 2 err)
  // Acquire: pairs with Stop's release store.
  while (!stop_.load(std::memory_order_acquire)) {
    fds.clear();
    owners.clear();
    fds.push_back(pollfd{wake_fd_, POLLIN, 0});
    owners.emplace_back(UINT32_MAX, 0);
    absl::Time next = absl::InfiniteFuture();
    bool any_failed = false;
    for (uint32_t w = 0; w < children_.size(); ++w) {
      Child& child = *children_[w];
      const int watched[3] = {child.control_fd, child.out.fd(), child.err.fd()};
      for (int kind = 0; kind < 3; ++kind) {
        if (watched[kind] < 0) continue;
        fds.push_back(pollfd{watched[kind], POLLIN, 0});
        owners.emplace_back(w, kind);
      }
      // Relaxed: only this thread writes it.
      const bool failed = workers_[w].status->failed.load(std::memory_order_relaxed);
      if (child.pid < 0 && !failed) next = std::min(next, child.restart_at);
      if (child.starting) next = std::min(next, child.ready_deadline);
      any_failed = any_failed || failed || (child.pid < 0 && ShuttingDown());
    }
    if (options_.hard_timeout.has_value()) {
      next =
          std::min(next, absl::Now() + std::max(absl::Milliseconds(1), *options_.hard_timeout / 4));
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
        (void)!read(wake_fd_, &drained, sizeof(drained));
        continue;
      }
      Child& child = *children_[w];
      if (kind == 1) {
        child.out.Pump();
      } else if (kind == 2) {
        child.err.Pump();
      } else if (child.starting) {
        ReplacementReady(w);
      } else if (child.control_fd >= 0) {
        char byte;
        const ssize_t n = read(child.control_fd, &byte, 1);
        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) OnDeath(w);
      }
    }
    // Acquire: as above.
    if (stop_.load(std::memory_order_acquire)) break;
    const absl::Time now = absl::Now();
    for (uint32_t w = 0; w < children_.size(); ++w) CheckTimers(w, now);
  }
}

void Supervisor::CheckTimers(uint32_t w, absl::Time now) {
  Child& child = *children_[w];
  // Relaxed: only this thread writes it.
  if (workers_[w].status->failed.load(std::memory_order_relaxed)) {
    FailQueuedCalls(w, absl::UnavailableError(absl::StrCat(
                           "weft: worker ", w, " was given up after ", options_.max_restarts,
                           " failed restarts: ", workers_[w].status->get_last_exit())));
    return;
  }
  if (child.pid < 0 && ShuttingDown()) {
    // No replacement comes any more: what waits for one fails.
    FailQueuedCalls(w, absl::UnavailableError(
                           absl::StrCat("weft: the pool shut down while worker ", w, " was down")));
    return;
  }
  if (child.pid > 0 && !child.starting && options_.hard_timeout.has_value() &&
      !child.killed_for_timeout) {
    // Relaxed: a time stamp; the kill is checked by the death path.
    const int64_t since =
        workers_[w].region->header()->busy_since_ns.load(std::memory_order_relaxed);
    if (since != 0 && MonotonicNanos() - since > absl::ToInt64Nanoseconds(*options_.hard_timeout)) {
      child.killed_for_timeout = true;
      logger_->Log(HardTimeoutKillEvent(w, child.pid, *options_.hard_timeout));
      kill(child.pid, SIGKILL);  // its EOF comes next; OnDeath completes the call
    }
  }
  if (child.starting && now >= child.ready_deadline) {
    KillAndReap(child.pid);
    AbandonStart(w, absl::DeadlineExceededError(
                        absl::StrCat("weft: worker ", w, " (", CommandString(options_),
                                     ") did not answer Ready within startup_timeout")));
  }
  if (child.pid < 0 && now >= child.restart_at && !ShuttingDown()) LaunchReplacement(w);
}

void Supervisor::EndProcesses(absl::Time until) {
  // The workers were told to stop (region stop flag): each drains and exits.
  // Closing the control socket tells them too. Then SIGTERM, then SIGKILL.
  for (auto& child : children_) {
    if (child->control_fd >= 0) close(child->control_fd);
    child->control_fd = -1;
  }
  auto reap_all = [&](absl::Time deadline) {
    for (;;) {
      bool left = false;
      for (uint32_t w = 0; w < children_.size(); ++w) {
        Child* child = children_[w].get();
        if (child->pid <= 0) continue;
        int status = 0;
        const pid_t r = waitpid(child->pid, &status, WNOHANG);
        if (r == child->pid) {
          logger_->Log(WorkerEndEvent(w, r, status, DescribeExit(status), /*shutting_down=*/true));
        }
        if (r == child->pid || (r < 0 && errno == ECHILD)) {
          child->pid = -1;
        } else {
          left = true;
        }
      }
      if (!left || absl::Now() >= deadline) return !left;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  };
  if (!reap_all(until)) {
    for (auto& child : children_) {
      if (child->pid > 0) kill(child->pid, SIGTERM);
    }
    if (!reap_all(absl::Now() + absl::Seconds(1))) {
      for (uint32_t w = 0; w < children_.size(); ++w) {
        Child& child = *children_[w];
        int status = -1;
        if (child.pid > 0) {
          const std::string how = KillAndReap(child.pid, &status);
          logger_->Log(WorkerEndEvent(w, child.pid, status, how, /*shutting_down=*/true));
        }
        child.pid = -1;
      }
    }
  }
  // Every worker is gone now. Calls it never finished (it exits when its
  // control socket closes, possibly before it served its rings) are
  // completed here as OnDeath would, so their slots can be given back.
  for (uint32_t w = 0; w < children_.size(); ++w) {
    const absl::Status stopped = absl::UnavailableError(
        absl::StrCat("weft: the pool shut down before worker ", w, " served the call"));
    CompleteStartedCalls(w, stopped);
    FailQueuedCalls(w, stopped);
  }
  for (uint32_t w = 0; w < children_.size(); ++w) {
    children_[w]->out.DrainAndClose();
    children_[w]->err.DrainAndClose();
    // Release / relaxed: as in OnDeath.
    workers_[w].status->pid.store(0, std::memory_order_release);
    workers_[w].status->up.store(false, std::memory_order_relaxed);
    workers_[w].region->Unlink();
  }
}

}  // namespace internal
}  // namespace weft
