// Pool::Stats() of process workers after a known sequence: calls before
// and after a worker is SIGKILLed, the restart, how it died, and the
// per-method counts the workers keep in their regions (which outlive the
// process that wrote them).
#include <signal.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>

#include "gtest/gtest.h"
#include "runtime/pool.h"
#include "tests/process/proc_test.weft.h"
#include "tests/process/process_test_util.h"

namespace weft_test {
namespace {

// A copy: callers often pass a temporary PoolStats.
std::optional<weft::MethodStats> Find(const weft::PoolStats& stats, const std::string& name) {
  for (const weft::MethodStats& m : stats.methods) {
    if (m.name == name) return m;
  }
  return std::nullopt;
}

TEST_F(ProcessTest, StatsCountCallsAcrossAKillNineAndTheRestart) {
  weft::PoolOptions options = ProcOptions(1, "proc_worker");
  options.stats_time_every = 1;  // every call in the histograms too
  auto pool = Pool::Create(options);
  ASSERT_TRUE(pool.ok()) << pool.status();
  auto stub = pool->stub();
  for (int i = 0; i < 25; ++i) ASSERT_TRUE(stub.square(i).Get().ok());
  const pid_t first = pool->Stats().workers[0].pid;
  ASSERT_GT(first, 0);

  ASSERT_EQ(kill(first, SIGKILL), 0) << std::strerror(errno);
  ASSERT_TRUE(PollUntil(
      [&] {
        const weft::WorkerStats w = pool->Stats().workers[0];
        return w.up && w.pid != first && w.restarts == 1;
      },
      kHangBound))
      << "the worker was not replaced after its SIGKILL";
  for (int i = 0; i < 15; ++i) ASSERT_TRUE(stub.square(i).Get().ok());
  // The worker records a call's figures just after it publishes the result.
  ASSERT_TRUE(PollUntil(
      [&] {
        const std::optional<weft::MethodStats> m = Find(pool->Stats(), "square");
        return m.has_value() && m->served == 40;
      },
      kHangBound))
      << "the workers' count of square calls never reached 40";

  const weft::PoolStats stats = pool->Stats();
  const weft::WorkerStats& w = stats.workers[0];
  EXPECT_EQ(w.restarts, 1u);
  EXPECT_NE(w.last_exit.find("signal 9"), std::string::npos) << w.last_exit;
  EXPECT_EQ(w.submitted, 40u);
  EXPECT_EQ(w.calls_served, 40u);
  EXPECT_EQ(w.in_flight, 0u);
  const std::optional<weft::MethodStats> square = Find(stats, "square");
  ASSERT_TRUE(square.has_value());
  EXPECT_EQ(square->submitted, 40u);
  EXPECT_EQ(square->resolved, 40u);
  EXPECT_EQ(square->by_code[0], 40u);
  // Both processes counted into the same region: 25 + 15.
  EXPECT_EQ(square->served, 40u);
  EXPECT_EQ(square->service.count(), 40u);
  EXPECT_EQ(square->queue_wait.count(), 40u);
  EXPECT_EQ(square->round_trip.count(), 40u);
}

}  // namespace
}  // namespace weft_test
