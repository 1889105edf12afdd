// weft::ShutdownOnSignal (runtime/signals.h) with thread workers and real
// signals: raise() (the handler runs on this thread before it returns) and
// kill(getpid(), ...) (on whichever thread the kernel picks). Nothing is
// decided by time: the tests wait for a gate, for triggered(), for the first
// Unavailable call, and bound only what could hang (kHangBound).
//
// The process-wide part (which handler a signal has) is checked with
// sigaction() itself. The tests use SIGUSR1 and SIGUSR2 where the signal
// does not matter, so that a broken guard ends the test binary with a
// signal's default action, which fails the test too.
#include "runtime/signals.h"

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <optional>
#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "runtime/pool.h"
#include "tests/pool/test_service.weft.h"
#include "tests/pool/test_service_impl.h"
#include "tests/testing/watchdog.h"

namespace weft_test {
namespace {

using Pool = weft::Pool<TestService>;
using Outcome = weft::SignalShutdown::Outcome;

weft::PoolOptions Options(int workers) {
  weft::PoolOptions options;
  options.workers = workers;
  // A call held at the gate occupies its worker; other calls go to an idle one.
  options.balancer = weft::BalancerKind::kFirstIdle;
  return options;
}

// The handler `sig` has now.
struct sigaction HandlerOf(int sig) {
  struct sigaction current = {};
  EXPECT_EQ(sigaction(sig, nullptr, &current), 0);
  return current;
}

bool IsDefault(int sig) {
  const struct sigaction current = HandlerOf(sig);
  return !(current.sa_flags & SA_SIGINFO) && current.sa_handler == SIG_DFL;
}

// Calls square() until one resolves Unavailable: the pool's shutdown has
// begun. The calls go to an idle worker (kFirstIdle), so none waits for a
// call held at the gate.
void AwaitShutdownBegun(weft::Stub<TestService>& stub) {
  Watchdog dog("a call resolved Unavailable after the signal", kHangBound);
  while (stub.square(1).Get().status().code() != absl::StatusCode::kUnavailable) {
    std::this_thread::yield();
  }
}

TEST(SignalShutdown, TheDefaultSignalsAreSigtermAndSigint) {
  for (int sig : {SIGTERM, SIGINT}) {
    SCOPED_TRACE(sig);
    Gate gate;
    auto pool = MakeTestPool(gate, Options(1));
    ASSERT_TRUE(pool.ok()) << pool.status();
    auto guard = weft::ShutdownOnSignal(*pool);
    ASSERT_TRUE(guard.ok()) << guard.status();
    auto stub = pool->stub();
    auto before = stub.square(3).Get();
    ASSERT_TRUE(before.ok()) << before.status();
    EXPECT_EQ(before->getResult(), 9);
    EXPECT_FALSE(guard->triggered());

    ASSERT_EQ(kill(getpid(), sig), 0);
    Outcome outcome;
    {
      Watchdog dog("Wait() after the signal", kHangBound);
      outcome = guard->Wait();
    }
    EXPECT_EQ(outcome.signal, sig);
    EXPECT_TRUE(outcome.status.ok()) << outcome.status;
    EXPECT_TRUE(guard->triggered());
    EXPECT_EQ(stub.square(4).Get().status().code(), absl::StatusCode::kUnavailable);
  }
}

TEST(SignalShutdown, ACallInFlightWhenTheSignalComesFinishesAndLaterCallsAreUnavailable) {
  Gate gate;
  auto pool = MakeTestPool(gate, Options(2));
  ASSERT_TRUE(pool.ok()) << pool.status();
  // No grace limit: only the gate decides when the drain may end.
  auto guard = weft::ShutdownOnSignal(*pool, {SIGUSR1}, absl::InfiniteDuration());
  ASSERT_TRUE(guard.ok()) << guard.status();
  auto stub = pool->stub();
  auto held = stub.gated();
  gate.WaitEntered(1);

  ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
  AwaitShutdownBegun(stub);
  EXPECT_TRUE(guard->triggered());
  EXPECT_FALSE(guard->WaitFor(absl::ZeroDuration()).has_value())
      << "the drain ended while a call was still held at the gate";
  EXPECT_FALSE(held.Ready());

  gate.Open();
  const std::optional<Outcome> outcome = guard->WaitFor(kHangBound);
  ASSERT_TRUE(outcome.has_value()) << "the drain never ended (hang)";
  EXPECT_EQ(outcome->signal, SIGUSR1);
  EXPECT_TRUE(outcome->status.ok()) << outcome->status;
  auto r = held.Get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->getWasAborted()) << "drained calls are not aborted";
  EXPECT_EQ(stub.square(2).Get().status().code(), absl::StatusCode::kUnavailable);
}

TEST(SignalShutdown, MoreSignalsDuringTheDrainChangeNothing) {
  Gate gate;
  auto pool = MakeTestPool(gate, Options(2));
  ASSERT_TRUE(pool.ok()) << pool.status();
  auto guard = weft::ShutdownOnSignal(*pool, {SIGUSR1, SIGUSR2}, absl::InfiniteDuration());
  ASSERT_TRUE(guard.ok()) << guard.status();
  auto stub = pool->stub();
  auto held = stub.gated();
  gate.WaitEntered(1);

  ASSERT_EQ(raise(SIGUSR1), 0);
  AwaitShutdownBegun(stub);
  // Both are written to the pipe before raise() returns; the watcher reads
  // them once the drain it runs has returned.
  ASSERT_EQ(raise(SIGUSR2), 0);
  ASSERT_EQ(raise(SIGUSR1), 0);
  EXPECT_FALSE(guard->WaitFor(absl::ZeroDuration()).has_value())
      << "a second signal ended the drain";
  EXPECT_FALSE(held.Ready()) << "a second signal resolved the held call";

  gate.Open();
  const std::optional<Outcome> outcome = guard->WaitFor(kHangBound);
  ASSERT_TRUE(outcome.has_value()) << "the drain never ended (hang)";
  EXPECT_EQ(outcome->signal, SIGUSR1) << "the outcome names the first signal";
  EXPECT_TRUE(outcome->status.ok()) << outcome->status;
  auto r = held.Get();
  ASSERT_TRUE(r.ok()) << r.status() << " (escalated to a cancel?)";
  EXPECT_FALSE(r->getWasAborted());
}

std::atomic<int> previous_handler_runs{0};
void PreviousHandler(int) { previous_handler_runs.fetch_add(1, std::memory_order_relaxed); }

TEST(SignalShutdown, DestroyingTheGuardRestoresThePreviousHandlerAndLeavesThePoolRunning) {
  Gate gate;
  auto pool = MakeTestPool(gate, Options(1));
  ASSERT_TRUE(pool.ok()) << pool.status();
  struct sigaction previous = {};
  previous.sa_handler = &PreviousHandler;
  sigemptyset(&previous.sa_mask);
  previous.sa_flags = 0;  // unlike the guard's SA_RESTART
  struct sigaction saved = {};
  ASSERT_EQ(sigaction(SIGUSR2, &previous, &saved), 0);
  {
    auto guard = weft::ShutdownOnSignal(*pool, {SIGUSR2});
    ASSERT_TRUE(guard.ok()) << guard.status();
    const struct sigaction installed = HandlerOf(SIGUSR2);
    EXPECT_NE(installed.sa_handler, &PreviousHandler);
    EXPECT_NE(installed.sa_flags & SA_RESTART, 0);
    EXPECT_FALSE(guard->triggered());
    EXPECT_FALSE(guard->WaitFor(absl::ZeroDuration()).has_value());
    Watchdog dog("destroying a guard that saw no signal", kHangBound);
    guard = absl::CancelledError("destroyed");
  }
  const struct sigaction restored = HandlerOf(SIGUSR2);
  EXPECT_EQ(restored.sa_handler, &PreviousHandler);
  EXPECT_EQ(restored.sa_flags & SA_RESTART, 0);
  ASSERT_EQ(raise(SIGUSR2), 0);
  EXPECT_EQ(previous_handler_runs.load(std::memory_order_relaxed), 1);

  auto r = pool->stub().square(5).Get();
  ASSERT_TRUE(r.ok()) << "the guard's destructor stopped the pool: " << r.status();
  EXPECT_EQ(r->getResult(), 25);
  ASSERT_EQ(sigaction(SIGUSR2, &saved, nullptr), 0);
}

TEST(SignalShutdown, ASignalIsHeldByOneGuardAtATime) {
  Gate gate;
  auto pool = MakeTestPool(gate, Options(1));
  ASSERT_TRUE(pool.ok()) << pool.status();
  ASSERT_TRUE(IsDefault(SIGUSR1) && IsDefault(SIGUSR2));
  {
    auto first = weft::ShutdownOnSignal(*pool, {SIGUSR1});
    ASSERT_TRUE(first.ok()) << first.status();
    auto second = weft::ShutdownOnSignal(*pool, {SIGUSR2, SIGUSR1});
    EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition) << second.status();
    EXPECT_TRUE(absl::StrContains(second.status().message(), "SIGUSR1")) << second.status();
    EXPECT_TRUE(IsDefault(SIGUSR2)) << "the refused guard left a handler behind";
    // Guards for different signals coexist.
    auto other = weft::ShutdownOnSignal(*pool, {SIGUSR2});
    EXPECT_TRUE(other.ok()) << other.status();
  }
  EXPECT_TRUE(IsDefault(SIGUSR1) && IsDefault(SIGUSR2));
  auto again = weft::ShutdownOnSignal(*pool, {SIGUSR1});
  EXPECT_TRUE(again.ok()) << "a destroyed guard still holds its signal: " << again.status();
  auto r = pool->stub().square(6).Get();
  ASSERT_TRUE(r.ok()) << r.status();
}

TEST(SignalShutdown, SignalsThatCannotOrMustNotBeCaughtAreInvalidArgument) {
  Gate gate;
  auto pool = MakeTestPool(gate, Options(1));
  ASSERT_TRUE(pool.ok()) << pool.status();
  for (int sig : {0, -1, NSIG, SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGFPE, SIGABRT}) {
    auto guard = weft::ShutdownOnSignal(*pool, {SIGUSR1, sig});
    EXPECT_EQ(guard.status().code(), absl::StatusCode::kInvalidArgument) << sig;
    // Each message points at the signal to use instead.
    EXPECT_TRUE(absl::StrContains(guard.status().message(), "SIGTERM")) << guard.status();
  }
  auto none = weft::ShutdownOnSignal(*pool, {});
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument) << none.status();
  EXPECT_TRUE(absl::StrContains(none.status().message(), "SIGTERM")) << none.status();
  auto negative = weft::ShutdownOnSignal(*pool, weft::kShutdownSignals, absl::Seconds(-1));
  EXPECT_EQ(negative.status().code(), absl::StatusCode::kInvalidArgument) << negative.status();
  EXPECT_TRUE(absl::StrContains(negative.status().message(), "negative")) << negative.status();
  EXPECT_TRUE(IsDefault(SIGUSR1)) << "a refused guard left a handler behind";

  // The C library keeps the first two real-time signals for itself: only
  // sigaction() can say so, after SIGUSR1 was caught, which must be undone.
  auto reserved = weft::ShutdownOnSignal(*pool, {SIGUSR1, __SIGRTMIN});
  EXPECT_EQ(reserved.status().code(), absl::StatusCode::kInvalidArgument) << reserved.status();
  EXPECT_TRUE(IsDefault(SIGUSR1)) << "the guard that failed half-way left a handler behind";
  auto after = weft::ShutdownOnSignal(*pool, {SIGUSR1, SIGUSR1});  // duplicates count once
  EXPECT_TRUE(after.ok()) << "the guard that failed half-way still holds SIGUSR1: "
                          << after.status();

  Pool moved = std::move(*pool);
  auto from_moved = weft::ShutdownOnSignal(*pool, {SIGUSR2});
  EXPECT_EQ(from_moved.status().code(), absl::StatusCode::kInvalidArgument) << from_moved.status();
  EXPECT_TRUE(absl::StrContains(from_moved.status().message(), "moved")) << from_moved.status();
}

TEST(SignalShutdown, TheGuardFollowsAMovedPoolAndMayOutliveIt) {
  Gate gate;
  {
    auto pool = MakeTestPool(gate, Options(1));
    ASSERT_TRUE(pool.ok()) << pool.status();
    auto guard = weft::ShutdownOnSignal(*pool, {SIGUSR1});
    ASSERT_TRUE(guard.ok()) << guard.status();
    Pool moved = std::move(*pool);
    ASSERT_EQ(raise(SIGUSR1), 0);
    const std::optional<Outcome> outcome = guard->WaitFor(kHangBound);
    ASSERT_TRUE(outcome.has_value()) << "the shutdown never ended (hang)";
    EXPECT_EQ(outcome->signal, SIGUSR1);
    EXPECT_TRUE(outcome->status.ok()) << outcome->status;
    EXPECT_EQ(moved.stub().square(1).Get().status().code(), absl::StatusCode::kUnavailable)
        << "the signal did not stop the pool the guard's was moved to";
  }
  {
    std::optional<Pool> pool;
    {
      auto made = MakeTestPool(gate, Options(1));
      ASSERT_TRUE(made.ok()) << made.status();
      pool.emplace(std::move(*made));
    }
    auto guard = weft::ShutdownOnSignal(*pool, {SIGUSR2});
    ASSERT_TRUE(guard.ok()) << guard.status();
    pool.reset();  // drains and stops it; the guard still holds its workers
    ASSERT_EQ(raise(SIGUSR2), 0);
    const std::optional<Outcome> outcome = guard->WaitFor(kHangBound);
    ASSERT_TRUE(outcome.has_value()) << "the shutdown never ended (hang)";
    EXPECT_EQ(outcome->signal, SIGUSR2);
    EXPECT_TRUE(outcome->status.ok()) << outcome->status;
  }
}

TEST(SignalShutdown, AMovedFromGuardCatchesNothing) {
  Gate gate;
  auto pool = MakeTestPool(gate, Options(1));
  ASSERT_TRUE(pool.ok()) << pool.status();
  auto guard = weft::ShutdownOnSignal(*pool, {SIGUSR1});
  ASSERT_TRUE(guard.ok()) << guard.status();
  weft::SignalShutdown taken = std::move(*guard);
  EXPECT_FALSE(guard->triggered());
  EXPECT_EQ(guard->Wait().status.code(), absl::StatusCode::kFailedPrecondition);
  const std::optional<Outcome> at_once = guard->WaitFor(kHangBound);
  ASSERT_TRUE(at_once.has_value());
  EXPECT_EQ(at_once->signal, 0);

  ASSERT_EQ(raise(SIGUSR1), 0);
  const std::optional<Outcome> outcome = taken.WaitFor(kHangBound);
  ASSERT_TRUE(outcome.has_value()) << "the guard moved to did not catch the signal";
  EXPECT_EQ(outcome->signal, SIGUSR1);
  EXPECT_FALSE(guard->triggered());
}

// The supervisor forks process workers while a guard may be installed, and
// the child runs the host's handlers (with a copy of the pipe) until exec().
// Its signals must not drain the host's pool.
TEST(SignalShutdown, ASignalInAForkedChildDoesNotDrainTheParentsPool) {
  Gate gate;
  auto pool = MakeTestPool(gate, Options(1));
  ASSERT_TRUE(pool.ok()) << pool.status();
  auto guard = weft::ShutdownOnSignal(*pool, {SIGUSR1, SIGUSR2});
  ASSERT_TRUE(guard.ok()) << guard.status();
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Only async-signal-safe calls in the child of a threaded process.
    _exit(raise(SIGUSR1) == 0 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  // Anything the child wrote is ahead of this in the pipe: the outcome
  // names the first signal the watcher read.
  ASSERT_EQ(raise(SIGUSR2), 0);
  const std::optional<Outcome> outcome = guard->WaitFor(kHangBound);
  ASSERT_TRUE(outcome.has_value()) << "the shutdown never ended (hang)";
  EXPECT_EQ(outcome->signal, SIGUSR2) << "the child's SIGUSR1 reached the parent's watcher";
}

}  // namespace
}  // namespace weft_test
