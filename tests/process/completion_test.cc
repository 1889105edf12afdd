// Completion delivery (Then, CompletionQueue) with process workers: the
// worker process rings its region's host doorbell across the mapping, and
// the supervisor rings it for the calls of a worker that died.
#include <signal.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>

#include "gtest/gtest.h"
#include "runtime/completion_queue.h"
#include "runtime/pool.h"
#include "tests/process/proc_test.weft.h"
#include "tests/process/process_test_util.h"
#include "tests/testing/watchdog.h"

namespace weft_test {
namespace {

TEST_F(ProcessTest, ACompletionQueueDeliversProcessWorkersResultsOnce) {
  auto pool = Pool::Create(ProcOptions(2, "proc_worker"));
  ASSERT_TRUE(pool.ok()) << pool.status();
  auto stub = pool->stub();
  absl::StatusOr<weft::CompletionQueue> cq = weft::CompletionQueue::Create();
  ASSERT_TRUE(cq.ok()) << cq.status();
  constexpr int kCalls = 300;
  for (int i = 0; i < kCalls; ++i) cq->Add(stub.square(i), static_cast<uint64_t>(i));
  Watchdog dog("the queue delivered every process worker's result", kHangBound);
  std::map<uint64_t, int> seen;
  while (std::optional<weft::Completion> c = cq->Next()) {
    ++seen[c->tag()];
    auto r = c->Get<ProcTest::SquareResults>();
    ASSERT_TRUE(r.ok()) << c->tag() << ": " << r.status();
    EXPECT_EQ(r->getResult(), static_cast<int64_t>(c->tag() * c->tag()));
  }
  dog.Done();
  ASSERT_EQ(seen.size(), static_cast<size_t>(kCalls));
  for (const auto& [tag, n] : seen) EXPECT_EQ(n, 1) << "tag " << tag;
}

TEST_F(ProcessTest, AThenCallbackRunsWhenItsWorkerIsKilled) {
  weft::PoolOptions options = ProcOptions(1, "proc_worker");
  auto pool = Pool::Create(options);
  ASSERT_TRUE(pool.ok()) << pool.status();
  auto stub = pool->stub();
  const int32_t pid = PidOf(stub);
  ASSERT_GT(pid, 0);
  std::atomic<int> code{-1};
  const uint64_t started_before = pool->Stats().workers[0].calls_started;
  // Runs until aborted: only the worker's death ends it.
  stub.spin(UINT64_MAX).Then([&](auto r) { code.store(static_cast<int>(r.status().code())); });
  // Killed while it runs (a queued call would go to the replacement).
  ASSERT_TRUE(PollUntil([&] { return pool->Stats().workers[0].calls_started > started_before; },
                        kHangBound))
      << "spin() never started";
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  // The supervisor completes the running call and rings the doorbell; the
  // continuation thread, asleep on it, runs the callback.
  ASSERT_TRUE(PollUntil([&] { return code.load() != -1; }, kHangBound))
      << "the callback of a killed worker's call never ran";
  EXPECT_EQ(code.load(), static_cast<int>(absl::StatusCode::kUnavailable));
  // The replacement serves.
  auto r = stub.square(9).Get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->getResult(), 81);
}

}  // namespace
}  // namespace weft_test
