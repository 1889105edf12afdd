// RemoteLink: a pool's worker that is a Cap'n Proto RPC endpoint
// (PoolOptions::remote_workers). To the host it is one more worker with a
// region of its own: the same lanes, rings, slots, balancer and stats. Its
// consumer is a thread of the pool's running a KJ event loop, which turns
// each call it takes from a ring into an RPC on the connection and each RPC
// answer into the call's completion in the slot, as a thread worker's would
// be written. Many calls are in flight at once; they complete in any order.
//
//   auto remote = RemoteLink::Create(&region, config);   // the eventfd
//   lane_host->set_wake_fd(remote->wake_fd());             // every lane
//   std::thread([&] { remote->Run(started); });            // connects, serves
//
// Cancellation: a call's deadline (a KJ timer) and the host's abort word
// (checked each turn, and every millisecond while abortable calls are in
// flight and the loop sleeps) drop the RPC's promise, which Cap'n Proto
// turns into a Finish message to the server. A lost connection fails every
// call in flight with Unavailable, sets the worker `failed` (the balancer
// skips it) and reconnects with backoff (20 ms doubling to 5 s, without end);
// a call that reaches the ring meanwhile fails Unavailable at once.
//
// Sleeping: as WorkerLoop, but without spinning first (an RPC takes tens of
// microseconds; a spinning thread would take the CPU the host thread or the
// socket's peer may need), and in epoll (the connection's
// socket, the timers, and an eventfd the host writes instead of waking the
// doorbell futex: LaneHost::set_wake_fd). The worker drains the eventfd,
// stores worker_sleeping = 1, issues a seq_cst fence, re-checks the rings,
// and only then waits; the host's tail store + fence + load of
// worker_sleeping (LaneHost::WakeWorker) make one side see the other.
//
// Thread safety: Create on any thread; Run on the worker's thread, once.
#ifndef WEFT_RUNTIME_INTERNAL_REMOTE_LINK_H_
#define WEFT_RUNTIME_INTERNAL_REMOTE_LINK_H_

#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "runtime/interface.h"
#include "runtime/internal/lifecycle_log.h"
#include "runtime/internal/region.h"
#include "runtime/internal/worker_status.h"
#include "runtime/pool_options.h"

namespace weft {
namespace internal {

class RemoteLink {
 public:
  struct Config {
    uint32_t index = 0;  // the pool's worker index, for messages
    weft::RemoteWorker endpoint;
    uint64_t max_payload_words = 0;
    absl::Span<const MethodInfo> methods;
    absl::Duration startup_timeout;
    Logger* logger = nullptr;        // not owned
    WorkerStatus* status = nullptr;  // not owned; `failed` while disconnected
  };
  // Not owned: `region` (the worker's) outlives the worker.
  static absl::StatusOr<std::unique_ptr<RemoteLink>> Create(Region* region, Config config);
  ~RemoteLink();
  RemoteLink(const RemoteLink&) = delete;
  RemoteLink& operator=(const RemoteLink&) = delete;

  // The eventfd the host writes to wake the worker.
  int wake_fd() const { return wake_fd_; }

  // The worker thread's body. Connects, bounded by startup_timeout, and
  // sets `started` to the outcome (Unavailable naming the address and the
  // cause, or InvalidArgument for a bad address or TLS material); then
  // serves until the host sets the region's stop flag and the rings are
  // drained (calls still in flight then are cancelled).
  void Run(std::promise<absl::Status>& started);

 private:
  class Loop;  // the KJ side, made on the worker's thread (remote_link.cc)
  RemoteLink(Region* region, Config config, int wake_fd)
      : region_(region), config_(std::move(config)), wake_fd_(wake_fd) {}

  Region* region_;
  Config config_;
  int wake_fd_;
};

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_INTERNAL_REMOTE_LINK_H_
