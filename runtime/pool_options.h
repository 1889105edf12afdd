// PoolOptions: how a weft::Pool is built. Validated by Pool::Create, which
// returns InvalidArgument naming the bad field.
//
//   weft::PoolOptions options;
//   options.workers = 4;
//   options.balancer = weft::BalancerKind::kLeastBusy;
//   options.default_timeout = absl::Milliseconds(50);
//   auto pool = weft::Pool<quickstart::Math>::Create(options, factory);
//
// Thread safety: plain values (thread-compatible); the pool copies them.
#ifndef WEFT_RUNTIME_POOL_OPTIONS_H_
#define WEFT_RUNTIME_POOL_OPTIONS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "runtime/balancer.h"
#include "runtime/log.h"
#include "runtime/rpc_options.h"

namespace weft {

// How long a waiter polls before it sleeps. Counted in polls, not time: a
// poll is one check of the condition.
struct SpinPolicy {
  uint32_t spin_polls = 4096;  // with a pause instruction between polls
  uint32_t yield_polls = 64;   // with sched_yield between polls
};

enum class WorkerRuntime { kThread, kProcess };

// How a process worker finds its region.
enum class SharedMemory {
  kAnonymous,  // memfd_create; the worker inherits the file descriptor
  kNamed,      // shm_open with a random 128-bit name (mode 0600, O_EXCL), for
               // wrappers that cannot pass file descriptors; unlinked as soon
               // as the worker has mapped it
};

// Which worker a call goes to.
enum class BalancerKind {
  kRoundRobin,         // each host thread rotates through the workers
  kFirstIdle,          // the first worker with nothing queued or running, else round-robin
  kRandom,             // uniformly at random
  kFirstIdleOrRandom,  // the first idle worker, else random
  kLeastBusy,          // fewest calls queued + running
};

// What a call does when its lane has no free slot.
enum class QueueFull {
  kWait,  // wait for a slot, bounded by the call's deadline
  kFail,  // fail at once with ResourceExhausted
};

struct PoolOptions {
  // Local workers (threads or processes, as `runtime` says). May be 0 when
  // remote_workers has entries.
  int workers = 1;
  // Workers reached over Cap'n Proto RPC (rpc_options.h), after the local
  // ones: worker `workers + i` is remote_workers[i]. The same stubs and
  // balancers; the pool connects to each in Create (bounded by
  // startup_timeout, else Create fails Unavailable), and a connection lost
  // later fails the calls it carried with Unavailable, leaves the worker out
  // of balancing, and is made again with backoff (20 ms doubling up to 5 s,
  // without end). A deadline or Abort() cancels the RPC (the promise is
  // dropped). Each remote worker has a thread of its own running a KJ event
  // loop; host threads hand it calls through the usual submit rings.
  std::vector<RemoteWorker> remote_workers;
  WorkerRuntime runtime = WorkerRuntime::kThread;
  // Process workers: the worker binary's argv (a binary whose main is
  // WEFT_WORKER_MAIN), and an argv put in front of it (a wrapper such as
  // env, nice, setpriv, bwrap).
  std::vector<std::string> worker_command;
  std::vector<std::string> command_prefix;
  SharedMemory shared_memory = SharedMemory::kAnonymous;
  // Process workers: read results where the worker wrote them (no copy, no
  // check), as for thread workers. Only for workers the host trusts not to
  // rewrite a response while it is read: a worker that does can make
  // reading the Response throw or see torn data. Off (the default): results
  // are copied out of the region and every pointer checked before the future
  // resolves. Requests are always built in place, zero copy: no worker can
  // write them. Ignored for thread workers (always in place).
  bool trusted_workers = false;
  // A process worker must answer Ready within this, or Create fails.
  absl::Duration startup_timeout = absl::Seconds(10);
  // Process workers: a call running longer than this gets its worker
  // killed (SIGKILL) and replaced; the call resolves DeadlineExceeded and
  // the worker's other running calls Unavailable.
  std::optional<absl::Duration> hard_timeout;
  // Process workers: consecutive failed starts after which a worker is
  // given up (its queued calls fail Unavailable). Restarts back off
  // exponentially (20 ms doubling up to 5 s), so a worker that crashes at
  // every start cannot cause a fork storm.
  uint32_t max_restarts = 5;
  BalancerKind balancer = BalancerKind::kRoundRobin;
  // When set, picks the worker instead of `balancer`.
  std::shared_ptr<Balancer> custom_balancer;

  // Calls one host thread may have outstanding on one worker.
  uint32_t slots_per_lane = 256;
  // Submit ring entries per lane; 0 picks the smallest power of two that
  // holds slots_per_lane (a larger ring buys nothing: every entry has a slot).
  uint32_t ring_capacity = 0;
  // Bytes of each slot's inline request area and inline response area; a
  // message that outgrows it spills into the lane's heap.
  uint32_t initial_payload_bytes = 1024;
  // The largest request or response message. A request beyond it fails with
  // ResourceExhausted before anything is sent; a response beyond it fails
  // the call with ResourceExhausted. Each lane reserves this much (sparse,
  // untouched pages cost nothing) per direction.
  uint64_t max_payload_bytes = 64ull << 20;
  // How many abortable calls ($Weft.abortable methods, or CallOptions with
  // abortable = true) may be outstanding at once in the whole pool. Each
  // holds an abort slot from submission until it resolves; when none is
  // free the call fails at once with ResourceExhausted.
  uint32_t abort_slots = 1024;
  // The deadline of calls whose method and CallOptions name none.
  std::optional<absl::Duration> default_timeout;
  // How host threads and workers wait before they sleep.
  SpinPolicy spin;
  // Host threads that may call into the pool at the same time (each binds a
  // lane per worker while it lives).
  uint32_t max_host_threads = 64;
  QueueFull queue_full = QueueFull::kWait;
  // How long the pool's destructor (a kDrain shutdown) waits for calls in
  // flight before it cancels them.
  absl::Duration shutdown_grace = absl::Seconds(30);
  // Per-method counts, outcomes and latency histograms in shared memory
  // (Pool::Stats(), weft-top). Every call is counted; false skips that and
  // all per-method figures (the per-worker counters stay). The cost is in
  // benchmarks/ (compare: stats_on_over_off).
  bool stats = true;
  // Of the calls each host thread makes, one in `stats_time_every` is timed
  // (queue wait, service time, round trip: four clock reads, three of them
  // on the call's path, ~100 ns together on this project's VM); 1 times
  // every call. The histograms hold the timed calls, a uniform sample.
  uint32_t stats_time_every = 4;
  // The lifecycle log (runtime/log.h). Events below the level are dropped;
  // unset, the level is WEFT_LOG's, else kWarning. With a sink, events go to
  // it instead of stderr.
  std::optional<LogLevel> log_level;
  LogSink log_sink;
};

enum class ShutdownMode {
  kDrain,          // finish every queued and running call
  kCancelPending,  // resolve every outstanding call with Cancelled
};

}  // namespace weft

#endif  // WEFT_RUNTIME_POOL_OPTIONS_H_
