// Pool::Shutdown and the destructor are bounded by the grace even when a
// thread worker is stuck in a method that never returns on its own; a
// moved-from pool is inert.
#include <memory>
#include <optional>
#include <thread>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "runtime/pool.h"
#include "tests/pool/test_service.weft.h"
#include "tests/pool/test_service_impl.h"
#include "tests/testing/watchdog.h"

namespace weft_test {
namespace {

using Pool = weft::Pool<TestService>;

TEST(Shutdown, ReturnsWithinTheGraceAndNamesAStuckThreadWorker) {
  // The gate outlives the pool: the stuck thread is left running and reads it.
  static Gate gate;
  weft::PoolOptions options;
  options.workers = 2;
  auto pool = MakeTestPool(gate, options);
  ASSERT_TRUE(pool.ok());
  auto stuck = pool->stub().stuck();  // round robin: worker 0
  gate.WaitEntered(1);
  absl::Status stopped;
  {
    Watchdog dog("Shutdown(kDrain, 100ms) returned with a stuck thread worker", kHangBound);
    stopped = pool->Shutdown(weft::ShutdownMode::kDrain, absl::Milliseconds(100));
  }
  EXPECT_EQ(stopped.code(), absl::StatusCode::kDeadlineExceeded) << stopped;
  EXPECT_TRUE(absl::StrContains(stopped.message(), "thread worker(s) 0 ")) << stopped;
  EXPECT_EQ(stuck.Get().status().code(), absl::StatusCode::kCancelled);
  // Destroying the pool now must not free what the stuck thread still uses:
  // let it return afterwards and finish (ASan would see a use after free).
  pool = absl::UnavailableError("destroyed");
  gate.Open();
  Watchdog dog("the stuck thread returned once its gate opened", kHangBound);
  while (gate.left() < 1) std::this_thread::yield();
}

TEST(Shutdown, TheDestructorIsBoundedByShutdownGrace) {
  static Gate gate;  // outlives the pool, as above
  weft::PoolOptions options;
  options.workers = 1;
  options.shutdown_grace = absl::Milliseconds(100);
  std::optional<Pool> pool;
  {
    auto made = MakeTestPool(gate, options);
    ASSERT_TRUE(made.ok());
    pool.emplace(std::move(*made));
  }
  auto stuck = pool->stub().stuck();
  gate.WaitEntered(1);
  {
    Watchdog dog("~Pool returned within shutdown_grace with a stuck worker", kHangBound);
    pool.reset();
  }
  EXPECT_EQ(stuck.Get().status().code(), absl::StatusCode::kCancelled);
  gate.Open();
  Watchdog dog("the stuck thread returned once its gate opened", kHangBound);
  while (gate.left() < 1) std::this_thread::yield();
}

TEST(Shutdown, ASecondShutdownWaitsForTheFirstAndGetsItsResult) {
  static Gate gate;
  weft::PoolOptions options;
  // Two workers, first idle: the probing calls below go to the free one.
  options.workers = 2;
  options.balancer = weft::BalancerKind::kFirstIdle;
  auto pool = MakeTestPool(gate, options);
  ASSERT_TRUE(pool.ok());
  auto held = pool->stub().gated();
  gate.WaitEntered(1);
  Watchdog dog("two concurrent Shutdowns returned", kHangBound);
  std::thread first([&] { EXPECT_TRUE(pool->Shutdown().ok()); });
  auto stub = pool->stub();
  while (stub.square(1).Get().status().code() != absl::StatusCode::kUnavailable) {
    std::this_thread::yield();
  }
  std::thread second([&] { EXPECT_TRUE(pool->Shutdown().ok()); });
  gate.Open();
  first.join();
  second.join();
  EXPECT_TRUE(held.Get().ok());
}

TEST(Shutdown, AMovedFromPoolHasNoStatsAndNothingToStop) {
  Gate gate;
  weft::PoolOptions options;
  options.workers = 2;
  auto pool = MakeTestPool(gate, options);
  ASSERT_TRUE(pool.ok());
  Pool moved = std::move(*pool);
  EXPECT_TRUE(pool->Stats().workers.empty());
  EXPECT_TRUE(pool->Shutdown().ok());
  EXPECT_EQ(moved.Stats().workers.size(), 2u);
  auto r = moved.stub().square(9).Get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->getResult(), 81);
}

}  // namespace
}  // namespace weft_test
