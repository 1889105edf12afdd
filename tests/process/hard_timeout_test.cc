// PoolOptions.hard_timeout: a call running longer is resolved
// DeadlineExceeded, its stuck worker is killed and replaced, and a call
// queued behind it resolves either way.
#include <unistd.h>

#include <iostream>
#include <set>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "runtime/pool.h"
#include "tests/process/proc_test.weft.h"
#include "tests/process/process_test_util.h"

namespace weft_test {
namespace {

TEST_F(ProcessTest, HardTimeoutKillsAStuckWorkerAndTheReplacementServes) {
  std::set<pid_t> seen;
  {
    weft::PoolOptions options = ProcOptions(1, "proc_worker");
    options.hard_timeout = absl::Milliseconds(200);
    auto pool = Pool::Create(options);
    ASSERT_TRUE(pool.ok()) << pool.status();
    auto stub = pool->stub();
    const pid_t stuck = PidOf(stub);
    seen.insert(stuck);

    const absl::Time t0 = absl::Now();
    auto spin = stub.spin(~0ull);  // no deadline of its own
    ASSERT_TRUE(spin.WaitFor(absl::Seconds(10))) << "hard_timeout never fired";
    const absl::Duration took = absl::Now() - t0;
    auto s = spin.Get();
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), absl::StatusCode::kDeadlineExceeded) << s.status();
    EXPECT_GE(took, absl::Milliseconds(190)) << "killed before hard_timeout";
    std::cout << "hard_timeout resolved the call after " << absl::FormatDuration(took) << ": "
              << s.status() << "\n";
    EXPECT_TRUE(PollUntil([&] { return StateOf(stuck) == ProcState::kGone; }, absl::Seconds(5)))
        << "the stuck worker " << stuck << " is " << ToString(StateOf(stuck));

    for (int i = 0; i < 50; ++i) {
      auto f = stub.pid();
      ASSERT_TRUE(f.WaitFor(absl::Seconds(30))) << "call " << i << " after the hard timeout hung";
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
    options.hard_timeout = absl::Milliseconds(200);
    auto pool = Pool::Create(options);
    ASSERT_TRUE(pool.ok()) << pool.status();
    auto stub = pool->stub();
    seen.insert(pool->Stats().workers[0].pid);
    auto spin = stub.spin(~0ull);
    auto behind = stub.square(5);
    ASSERT_TRUE(spin.WaitFor(absl::Seconds(10)));
    EXPECT_EQ(spin.Get().status().code(), absl::StatusCode::kDeadlineExceeded);
    ASSERT_TRUE(behind.WaitFor(absl::Seconds(30))) << "the queued call hung";
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
