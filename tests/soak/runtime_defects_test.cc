// Reproducers of runtime defects found by the soak (soak_test.cc). Each test
// asserts what the contract (DESIGN.md, the public headers) says and fails
// today; the target is tagged "manual", so `//tests/soak/...` does not run
// it. Run them with
//
//   tools/bazel test //tests/soak:runtime_defects_test --test_output=all
//
// Where the soak works around one of these, it names the test here. Once a
// defect is fixed, its test passes: drop the soak's workaround and move the
// test into the suite of the unit it belongs to.
#include <signal.h>
#include <unistd.h>

#include <cstdint>
#include <iostream>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "runtime/pool.h"
#include "tests/process/proc_impl.h"
#include "tests/process/proc_test.weft.h"
#include "tests/process/process_test_util.h"

namespace weft_test {
namespace {

constexpr uint64_t kForever = ~0ull;  // spin() iterations: ends only when aborted

absl::StatusOr<Pool> ThreadPool(weft::PoolOptions options) {
  return Pool::Create(options, [] { return std::make_unique<ProcImpl>(); });
}

// Bounded: the worker takes the call off its ring.
bool Started(Pool& pool, uint64_t calls) {
  return PollUntil([&] { return pool.Stats().workers[0].calls_started >= calls; },
                   absl::Seconds(10));
}

// Bounded: the worker finished the call.
bool Served(Pool& pool, uint64_t calls) {
  return PollUntil([&] { return pool.Stats().workers[0].calls_served >= calls; },
                   absl::Seconds(10));
}

// 1. future.h: a dropped (or aborted, or timed-out) call's "slot [is]
// reclaimed once the worker is done with it". Today it is reclaimed only
// when the lane runs out of free slots (LaneHost::AcquireSlot ->
// ReclaimFinished) or at Shutdown (PoolCore::Shutdown -> ReclaimOrphans):
// Stats().slots_in_use of an idle pool stays above 0 for as long as the
// pool lives, and a lane holds such slots (and the worker the response heap
// spans of their responses, see 6.) until then.
TEST(RuntimeDefect, ASlotOfACallResolvedEarlyStaysInUseAfterTheWorkerFinished) {
  weft::PoolOptions options;
  auto pool = ThreadPool(options);
  ASSERT_TRUE(pool.ok()) << pool.status();
  auto stub = pool->stub();
  {
    auto f = stub.spin(kForever);
    ASSERT_TRUE(Started(*pool, 1));
    f.Abort();
    EXPECT_EQ(f.Get().status().code(), absl::StatusCode::kCancelled);
  }
  ASSERT_TRUE(Served(*pool, 1));  // the worker is done with it
  {
    auto r = stub.square(3).Get();  // another call on the same lane
    ASSERT_TRUE(r.ok()) << r.status();
  }
  const uint32_t in_use = pool->Stats().workers[0].slots_in_use;
  std::cout << "slots in use, idle pool, every call resolved and served: " << in_use << "\n";
  EXPECT_EQ(in_use, 0u);
  pool->Shutdown();
  std::cout << "after Shutdown: " << pool->Stats().workers[0].slots_in_use << "\n";
}

// 2. call.h: aborted() is "True once the caller aborted the call or its
// deadline passed". Today the worker learns of a passed deadline only when a
// host thread waits on that very future (CallHandle::Ready resolves it and
// raises the abort word); CallContext::Aborted reads only the abort word,
// and the worker checks the descriptor's deadline only before it starts a
// call. So an abortable call past its deadline keeps its worker busy, and
// every call queued behind it waits, until its caller comes back to it. With
// two threads each waiting for a call queued behind the other's expired
// call, neither comes back: a deadlock.
TEST(RuntimeDefect, AnExpiredDeadlineIsNotSeenByTheWorkerUntilTheHostWaits) {
  weft::PoolOptions options;
  auto pool = ThreadPool(options);
  ASSERT_TRUE(pool.ok()) << pool.status();
  auto stub = pool->stub();
  auto expired = stub.spin(kForever, weft::CallOptions{.timeout = absl::Milliseconds(10)});
  ASSERT_TRUE(Started(*pool, 1));
  absl::SleepFor(absl::Milliseconds(50));  // the deadline is a time: let it pass
  auto behind = stub.square(3);
  // The evidence is a bounded wait: 3 s after the deadline the worker still
  // spins on the expired call (it would stop within microseconds of seeing
  // aborted()).
  const bool served = behind.WaitFor(absl::Seconds(3));
  std::cout << "a call queued behind an expired abortable call finished within 3 s: "
            << (served ? "yes" : "no") << "\n";
  EXPECT_TRUE(served);
  EXPECT_EQ(expired.Get().status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(behind.WaitFor(absl::Seconds(10)));  // waiting on `expired` released it
}

// 3. call_options.h: on_timeout is "What the call resolves to when the
// deadline passes". When the worker picks a call up after its deadline it
// answers DeadlineExceeded itself (LaneWorker::Run), and the host resolves
// the call from that answer (CallHandle::Ready checks WorkerDone before the
// deadline), so DefaultResult() and Return(status) are ignored.
TEST(RuntimeDefect, OnTimeoutIsIgnoredWhenTheWorkerSawTheDeadline) {
  weft::PoolOptions options;
  auto pool = ThreadPool(options);
  ASSERT_TRUE(pool.ok()) << pool.status();
  auto stub = pool->stub();
  auto busy = stub.spin(kForever);
  ASSERT_TRUE(Started(*pool, 1));
  auto with_default =
      stub.square(3, weft::CallOptions{.timeout = absl::Milliseconds(1),
                                       .on_timeout = weft::OnTimeout::DefaultResult()});
  auto with_status = stub.square(
      3, weft::CallOptions{.timeout = absl::Milliseconds(1),
                           .on_timeout = weft::OnTimeout::Return(absl::AbortedError("mine"))});
  absl::SleepFor(absl::Milliseconds(20));  // both deadlines pass while queued
  busy.Abort();
  ASSERT_TRUE(Served(*pool, 3));  // the worker answered both
  auto d = with_default.Get();
  auto s = with_status.Get();
  std::cout << "DefaultResult(): " << d.status() << "\nReturn(Aborted): " << s.status() << "\n";
  EXPECT_TRUE(d.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kAborted);
}

// 4. pool_options.h: max_payload_bytes is "The largest request or response
// message"; "a response beyond it fails the call with ResourceExhausted".
// Today a lane's response heap is max_payload_bytes for all its slots
// together, so two responses under the limit in flight on one lane (the
// first not yet taken by Get()) fail the second with "the response of echo
// exceeds max_payload_bytes". (Requests wait for heap space instead.)
TEST(RuntimeDefect, ResponsesUnderTheLimitFailWhenTheirSumIsOverIt) {
  for (const bool process : {false, true}) {
    SCOPED_TRACE(process ? "process worker" : "thread worker");
    weft::PoolOptions options = process ? ProcOptions(1, "proc_worker") : weft::PoolOptions();
    options.max_payload_bytes = 256 << 10;
    auto pool = process ? Pool::Create(options) : ThreadPool(options);
    ASSERT_TRUE(pool.ok()) << pool.status();
    auto stub = pool->stub();
    std::vector<kj::byte> data(150 << 10, 7);  // 150 KiB each: under the limit
    auto first = stub.echo(capnp::Data::Reader(data.data(), data.size()));
    auto second = stub.echo(capnp::Data::Reader(data.data(), data.size()));
    ASSERT_TRUE(Served(*pool, 2));  // both answered before either is taken
    auto a = first.Get();
    auto b = second.Get();
    std::cout << (process ? "process" : "thread") << " worker: first " << a.status() << ", second "
              << b.status() << "\n";
    EXPECT_TRUE(a.ok());
    EXPECT_TRUE(b.ok());
  }
}

// 5. pool.h: Shutdown ends with "every child reaped", and PoolCore::Shutdown
// then gives back "the slots of calls resolved early". A process worker told
// to stop exits as soon as its control socket closes (worker_main.cc's
// reader thread calls _exit), which Supervisor::EndProcesses does first,
// often before the worker served what was left in its rings; and
// EndProcesses, unlike OnDeath, completes none of those calls. Their slots
// then stay in use for good. A race: the test tries 10 times.
TEST(RuntimeDefect, SlotsOfCallsAProcessWorkerNeverServedStayInUse) {
  int trials_with_slots_left = 0;
  for (int trial = 0; trial < 10; ++trial) {
    auto pool = Pool::Create(ProcOptions(1, "proc_worker"));
    ASSERT_TRUE(pool.ok()) << pool.status();
    auto stub = pool->stub();
    auto running = stub.spin(kForever);
    ASSERT_TRUE(Started(*pool, 1));
    std::vector<weft::Future<ProcTest::SquareResults>> queued;
    for (int i = 0; i < 10; ++i) queued.push_back(stub.square(i));
    pool->Shutdown(weft::ShutdownMode::kCancelPending);
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
TEST(RuntimeDefect, AReplacementWorkerReservesHeapNamedByStaleResponseTables) {
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
      absl::Seconds(30)));
  auto r = stub.echo(capnp::Data::Reader(data.data(), data.size())).Get();
  std::cout << "200 KiB echo after the worker was replaced: " << r.status() << "\n";
  EXPECT_TRUE(r.ok());
}

// 7. pool_options.h / DESIGN.md: a process worker that dies is replaced
// "on the same region", given up only after max_restarts failed starts in a
// row. The region's header (magic, layout version, geometry) lives in the
// memory the worker could write; the host never writes it again, and every
// replacement checks it (Region::Map) and fails to start. So a worker that
// corrupted its header before dying can never be replaced: after
// max_restarts failed starts it is given up, and its share of the pool is
// gone for good. (The soak sees this each time its hostile worker scribbles:
// most calls to the hostile pool end Unavailable, "given up".)
// header_smasher_worker zeroes its region's magic number, then aborts, when
// asked to crash().
TEST(RuntimeDefect, AWorkerThatCorruptsItsRegionHeaderCanNeverBeReplaced) {
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
      absl::Seconds(60)));
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
