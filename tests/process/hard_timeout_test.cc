// PoolOptions.hard_timeout: a call running longer is resolved
// DeadlineExceeded, its stuck worker is killed and replaced, and a call
// queued behind it resolves either way.
//
// No stopwatch decides these tests. That hard_timeout, and nothing else,
// resolved the stuck call is shown by what the pool reports: spin(~0) has no
// deadline and cannot finish by itself, so only a kill ends it; the status
// is DeadlineExceeded with the supervisor's "ran past hard_timeout (1s)"
// message, which it writes only for a worker it killed because its busy
// time (counted from when the worker took the call, by the runtime's own
// clock) passed hard_timeout; and the worker took the call (calls_started)
// and was alive until the supervisor's SIGKILL (last_exit). How long the
// kill took is not asserted; waits are bounded by kHangBound only.
//
// hard_timeout is 1 s, not less: it applies to every call on the pool,
// including the quick pid() and square() calls that must succeed on the
// replacement, and each must run for less than that (a few microseconds of
// CPU, which a loaded machine stretches to milliseconds, never to 1 s).
// Only a per-call hard timeout in the runtime (which does not exist) would
// let the stuck call have one and the others none.
#include <unistd.h>

#include <iostream>
#include <set>
#include <string>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "runtime/pool.h"
#include "tests/process/proc_test.weft.h"
#include "tests/process/process_test_util.h"

namespace weft_test {
namespace {

constexpr absl::Duration kHardTimeout = absl::Seconds(1);
// What the supervisor says of a call it resolved by killing its worker 0.
std::string RanPastHardTimeout() {
  return "ran past hard_timeout (" + absl::FormatDuration(kHardTimeout) + "); worker 0 was killed";
}

TEST_F(ProcessTest, HardTimeoutKillsAStuckWorkerAndTheReplacementServes) {
  std::set<pid_t> seen;
  {
    weft::PoolOptions options = ProcOptions(1, "proc_worker");
    options.hard_timeout = kHardTimeout;
    auto pool = Pool::Create(options);
    ASSERT_TRUE(pool.ok()) << pool.status();
    auto stub = pool->stub();
    const pid_t stuck = PidOf(stub);
    seen.insert(stuck);
    const uint64_t started_before = pool->Stats().workers[0].calls_started;

    auto spin = stub.spin(~0ull);  // no deadline of its own; never ends by itself
    ASSERT_TRUE(spin.WaitFor(kHangBound)) << "hard_timeout never fired (hang)";
    auto s = spin.Get();
    ASSERT_FALSE(s.ok()) << "spin(~0) cannot have finished; got reached=" << s->getReached();
    EXPECT_EQ(s.status().code(), absl::StatusCode::kDeadlineExceeded) << s.status();
    EXPECT_NE(s.status().message().find(RanPastHardTimeout()), std::string::npos)
        << "not resolved by the hard_timeout kill: " << s.status();
    std::cout << "hard_timeout resolved the call: " << s.status() << "\n";
    // The worker took the call (its busy time, which hard_timeout bounds,
    // starts there) and ran it until the supervisor killed it: it neither
    // crashed nor exited.
    weft::WorkerStats w = pool->Stats().workers[0];
    EXPECT_GT(w.calls_started, started_before) << "the stuck worker never took spin()";
    EXPECT_NE(w.last_exit.find("killed by signal 9"), std::string::npos)
        << "the stuck worker should have ended by the supervisor's SIGKILL: " << w.last_exit;
    EXPECT_TRUE(PollUntil([&] { return StateOf(stuck) == ProcState::kGone; }, kHangBound))
        << "the stuck worker " << stuck << " is " << ToString(StateOf(stuck));

    for (int i = 0; i < 50; ++i) {
      auto f = stub.pid();
      ASSERT_TRUE(f.WaitFor(kHangBound)) << "call " << i << " after the hard timeout hung";
      auto r = f.Get();
      ASSERT_TRUE(r.ok()) << "call " << i << ": " << r.status();
      EXPECT_NE(r->getPid(), stuck);
      seen.insert(r->getPid());
    }
    EXPECT_GE(pool->Stats().workers[0].restarts, 1u);
    EXPECT_EQ(pool->Stats().workers[0].slots_in_use, 0u);
    EXPECT_EQ(pool->Stats().abort_slots_in_use, 0u);
  }
  ExpectAllGone(seen, "after the pool was destroyed");
}

// A call queued behind the one that hits hard_timeout resolves either way
// (served by the replacement, or Unavailable) and never hangs.
TEST_F(ProcessTest, HardTimeoutCallQueuedBehindTheStuckCallResolves) {
  std::set<pid_t> seen;
  {
    weft::PoolOptions options = ProcOptions(1, "proc_worker");
    options.hard_timeout = kHardTimeout;
    auto pool = Pool::Create(options);
    ASSERT_TRUE(pool.ok()) << pool.status();
    auto stub = pool->stub();
    seen.insert(pool->Stats().workers[0].pid);
    auto spin = stub.spin(~0ull);
    auto behind = stub.square(5);
    ASSERT_TRUE(spin.WaitFor(kHangBound)) << "hard_timeout never fired (hang)";
    auto s = spin.Get();
    EXPECT_EQ(s.status().code(), absl::StatusCode::kDeadlineExceeded) << s.status();
    EXPECT_NE(s.status().message().find(RanPastHardTimeout()), std::string::npos)
        << "not resolved by the hard_timeout kill: " << s.status();
    ASSERT_TRUE(behind.WaitFor(kHangBound)) << "the queued call hung";
    auto r = behind.Get();
    EXPECT_TRUE((r.ok() && r->getResult() == 25) ||
                r.status().code() == absl::StatusCode::kUnavailable)
        << r.status();
    std::cout << "call queued behind the stuck one: "
              << (r.ok() ? std::string("OK") : r.status().ToString()) << "\n";
    seen.insert(pool->Stats().workers[0].pid);
  }
  ExpectAllGone(seen, "after the pool was destroyed");
}

}  // namespace
}  // namespace weft_test
