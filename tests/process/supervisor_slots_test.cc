// Slots and heap across a process worker's death and the pool's shutdown:
// calls a worker never served are completed when it is gone, so their slots
// come back; a replacement adopts only the response heap the host still
// reads. (Found by the soak, tests/soak; fixed in Supervisor::EndProcesses and
// LaneWorker::AdoptPredecessorResponses.)
#include <signal.h>
#include <unistd.h>

#include <cstdint>
#include <iostream>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "runtime/pool.h"
#include "tests/process/proc_test.weft.h"
#include "tests/process/process_test_util.h"

namespace weft_test {
namespace {

constexpr uint64_t kForever = ~0ull;  // spin() iterations: ends only when aborted

// Bounded: the worker takes the call off its ring.
bool Started(Pool& pool, uint64_t calls) {
  return PollUntil([&] { return pool.Stats().workers[0].calls_started >= calls; }, kHangBound);
}

// Bounded: the worker finished the call.
bool Served(Pool& pool, uint64_t calls) {
  return PollUntil([&] { return pool.Stats().workers[0].calls_served >= calls; }, kHangBound);
}

// 5. pool.h: Shutdown ends with "every child reaped", and PoolCore::Shutdown
// then gives back "the slots of calls resolved early". A process worker told
// to stop exits as soon as its control socket closes (worker_main.cc's
// reader thread calls _exit), which Supervisor::EndProcesses does first,
// often before the worker served what was left in its rings; and
// EndProcesses, unlike OnDeath, completes none of those calls. Their slots
// then stay in use for good. A race: the test tries 10 times.
TEST(SupervisorSlots, ShutdownGivesBackTheSlotsOfCallsADeadWorkerNeverServed) {
  int trials_with_slots_left = 0;
  for (int trial = 0; trial < 10; ++trial) {
    auto pool = Pool::Create(ProcOptions(1, "proc_worker"));
    ASSERT_TRUE(pool.ok()) << pool.status();
    auto stub = pool->stub();
    auto running = stub.spin(kForever);
    ASSERT_TRUE(Started(*pool, 1));
    std::vector<weft::Future<ProcTest::SquareResults>> queued;
    for (int i = 0; i < 10; ++i) queued.push_back(stub.square(i));
    EXPECT_TRUE(pool->Shutdown(weft::ShutdownMode::kCancelPending).ok());
    EXPECT_EQ(running.Get().status().code(), absl::StatusCode::kCancelled);
    for (auto& q : queued) EXPECT_EQ(q.Get().status().code(), absl::StatusCode::kCancelled);
    const uint32_t in_use = pool->Stats().workers[0].slots_in_use;
    if (in_use != 0) ++trials_with_slots_left;
    EXPECT_EQ(in_use, 0u) << "trial " << trial << ": slots in use after Shutdown";
  }
  std::cout << "trials with slots in use after Shutdown(kCancelPending): " << trials_with_slots_left
            << " of 10\n";
}

// 6. A replacement process worker (LaneWorker::AdoptPredecessorResponses)
// reserves the response heap spans named by the response table of every
// slot whose last call is done but not yet released by the host. When that
// last call failed, the worker wrote no table, and the table is a stale one
// from an earlier call on the slot, long released. The spans are freed only
// once the host releases that slot — for a call resolved early, lazily (see
// 1.). Meanwhile the lane's response heap has that much less room, and a
// response that fits fails with "exceeds max_payload_bytes". Deterministic:
// slot 0 first carries a 100 KiB echo response, then a call aborted before
// the worker took it up (answered Cancelled, no table); after a kill, a
// 200 KiB echo no longer fits in the 256 KiB heap.
TEST(SupervisorSlots, AReplacementAdoptsOnlyTheResponseHeapStillInUse) {
  weft::PoolOptions options = ProcOptions(1, "proc_worker");
  options.max_payload_bytes = 256 << 10;
  auto pool = Pool::Create(options);
  ASSERT_TRUE(pool.ok()) << pool.status();
  auto stub = pool->stub();
  std::vector<kj::byte> data(200 << 10, 7);
  {
    auto a = stub.echo(capnp::Data::Reader(data.data(), 100 << 10));  // slot 0
    auto blocker = stub.spin(kForever);                               // slot 1
    ASSERT_TRUE(Started(*pool, 2));
    ASSERT_TRUE(a.Get().ok());  // slot 0 released; its table names 100 KiB of heap
    // Slot 0 again, queued behind the blocker, aborted: the worker answers
    // Cancelled without writing a table, and the host reclaims slot 0 only
    // lazily.
    auto aborted = stub.square(5, weft::CallOptions{.abortable = true});
    aborted.Abort();
    blocker.Abort();
    ASSERT_TRUE(Served(*pool, 3));
  }
  {
    // Without a kill, the large echo fits.
    auto r = stub.echo(capnp::Data::Reader(data.data(), data.size())).Get();
    std::cout << "200 KiB echo before the kill: " << r.status() << "\n";
    ASSERT_TRUE(r.ok());
  }
  const pid_t victim = pool->Stats().workers[0].pid;
  ASSERT_GT(victim, 0);
  ASSERT_EQ(kill(victim, SIGKILL), 0);
  ASSERT_TRUE(PollUntil(
      [&] {
        const weft::WorkerStats w = pool->Stats().workers[0];
        return w.up && w.pid != victim;
      },
      kHangBound));
  auto r = stub.echo(capnp::Data::Reader(data.data(), data.size())).Get();
  std::cout << "200 KiB echo after the worker was replaced: " << r.status() << "\n";
  EXPECT_TRUE(r.ok());
}

// A process worker that dies is replaced on the same region. The region's
// header (magic, layout version, geometry) lives in memory the worker could
// write, and every replacement checks it: the host rewrites it from its own
// copy before each start (Region::RestoreHeader), so a worker that corrupted
// it before dying is still replaced. (Found by the soak: its hostile worker's
// pool was given up after scribbles.) header_smasher_worker zeroes its
// region's magic number, then aborts, when asked to crash().
TEST(SupervisorSlots, AWorkerThatCorruptedItsRegionHeaderIsReplaced) {
  weft::PoolOptions options;
  options.workers = 1;
  options.runtime = weft::WorkerRuntime::kProcess;
  options.worker_command = {Runfile("tests/soak/header_smasher_worker")};
  auto pool = Pool::Create(options);
  ASSERT_TRUE(pool.ok()) << pool.status();
  auto stub = pool->stub();
  const pid_t first = pool->Stats().workers[0].pid;
  EXPECT_EQ(stub.crash().Get().status().code(), absl::StatusCode::kUnavailable);
  // Bounded: a replacement is up, or the worker was given up.
  ASSERT_TRUE(PollUntil(
      [&] {
        const weft::WorkerStats w = pool->Stats().workers[0];
        return (w.up && w.pid != first) || w.failed;
      },
      kHangBound));
  const weft::WorkerStats w = pool->Stats().workers[0];
  std::cout << "after the crash: up " << w.up << ", given up " << w.failed
            << ", last exit: " << w.last_exit << "\n";
  EXPECT_FALSE(w.failed);
  auto r = stub.square(3).Get();
  std::cout << "a call after the crash: " << r.status() << "\n";
  EXPECT_TRUE(r.ok());
}

}  // namespace
}  // namespace weft_test
