// Future::Then callbacks and their lifetime rules: a callback may destroy the
// pool, call Shutdown (also while another thread's Shutdown is draining), or
// submit new calls. Memory errors here show under --config=asan / tsan.
#include <atomic>
#include <future>
#include <memory>
#include <optional>
#include <thread>

#include "gtest/gtest.h"
#include "runtime/pool.h"
#include "tests/pool/test_service.weft.h"
#include "tests/pool/test_service_impl.h"
#include "tests/testing/watchdog.h"

namespace weft_test {
namespace {

using Pool = weft::Pool<TestService>;

std::optional<Pool> MakePool(Gate& gate, int workers = 1,
                             weft::BalancerKind balancer = weft::BalancerKind::kRoundRobin) {
  weft::PoolOptions options;
  options.workers = workers;
  options.balancer = balancer;
  auto pool = MakeTestPool(gate, options);
  EXPECT_TRUE(pool.ok()) << pool.status();
  if (!pool.ok()) return std::nullopt;
  return std::move(*pool);
}

TEST(Continuations, ACallbackMayDestroyThePool) {
  Gate gate;
  std::optional<Pool> pool = MakePool(gate);
  ASSERT_TRUE(pool.has_value());
  std::promise<bool> ran;
  {
    // Only the pool and the pending call hold the pool's core.
    weft::Stub<TestService> stub = pool->stub();
    auto f = stub.gated();
    gate.WaitEntered(1);  // unresolved: the callback runs on the continuation thread
    std::move(f).Then([&](auto r) {
      const bool ok = r.ok();
      pool.reset();  // the pool's last user reference, from inside its own callback
      ran.set_value(ok);
    });
  }
  Watchdog dog("a Then callback that destroys the pool ran and returned", kHangBound);
  gate.Open();
  EXPECT_TRUE(ran.get_future().get());
  dog.Done();
  EXPECT_FALSE(pool.has_value());
}

TEST(Continuations, ACallbackMayCallShutdown) {
  Gate gate;
  std::optional<Pool> pool = MakePool(gate);
  ASSERT_TRUE(pool.has_value());
  weft::Stub<TestService> stub = pool->stub();
  auto f = stub.gated();
  gate.WaitEntered(1);
  std::promise<absl::Status> shut;
  std::move(f).Then([&](auto) { shut.set_value(pool->Shutdown()); });
  Watchdog dog("Shutdown called from a Then callback returned", kHangBound);
  gate.Open();
  EXPECT_TRUE(shut.get_future().get().ok());
  dog.Done();
  // The pool is shut down: new calls fail at once.
  EXPECT_EQ(stub.square(3).Get().status().code(), absl::StatusCode::kUnavailable);
}

TEST(Continuations, ACallbackCallingShutdownDoesNotDeadlockAShutdownInProgress) {
  Gate gate;
  // Two workers, first idle: the probing calls below go to the free one.
  std::optional<Pool> pool = MakePool(gate, 2, weft::BalancerKind::kFirstIdle);
  ASSERT_TRUE(pool.has_value());
  weft::Stub<TestService> stub = pool->stub();
  auto f = stub.gated();
  gate.WaitEntered(1);
  std::promise<absl::Status> from_callback;
  std::move(f).Then([&](auto) { from_callback.set_value(pool->Shutdown()); });
  Watchdog dog("a Shutdown draining a call whose Then callback calls Shutdown finished",
               kHangBound);
  // Another thread starts draining: it waits for the gated call.
  std::thread drainer([&] { EXPECT_TRUE(pool->Shutdown(weft::ShutdownMode::kDrain).ok()); });
  // New calls fail once that Shutdown is under way (it holds the drain).
  while (stub.square(1).Get().status().code() != absl::StatusCode::kUnavailable) {
    std::this_thread::yield();
  }
  gate.Open();  // the call finishes; its callback calls Shutdown during the drain
  EXPECT_TRUE(from_callback.get_future().get().ok());
  drainer.join();
  dog.Done();
}

TEST(Continuations, ACallbackMaySubmitNewCalls) {
  Gate gate;
  std::optional<Pool> pool = MakePool(gate, 2);
  ASSERT_TRUE(pool.has_value());
  weft::Stub<TestService> stub = pool->stub();
  auto f = stub.gated();
  gate.WaitEntered(1);
  std::promise<int64_t> result;
  std::move(f).Then([&](auto) {
    auto r = stub.square(12).Get();  // a call from the continuation thread
    result.set_value(r.ok() ? r->getResult() : -1);
  });
  Watchdog dog("a Then callback's own call resolved", kHangBound);
  gate.Open();
  EXPECT_EQ(result.get_future().get(), 144);
  dog.Done();
}

}  // namespace
}  // namespace weft_test
