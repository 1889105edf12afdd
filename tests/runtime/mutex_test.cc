// weft::internal::Mutex / MutexLock / CondVar at run time (their
// annotations are checked at compile time by --config=clang and
// tools/check_thread_safety.sh). A lost wake-up makes a test hang, which its
// watchdog turns into a failure, never a pass. Also runs under --config=tsan.
#include "runtime/internal/mutex.h"

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/testing/watchdog.h"

namespace weft::internal {
namespace {

// True if another thread cannot take `mu` right now, i.e. someone holds it.
// (std::mutex::try_lock from the owning thread would be undefined.)
bool HeldElsewhere(Mutex* mu) {
  bool took = false;
  std::thread probe([&] {
    if (mu->TryLock()) {
      took = true;
      mu->Unlock();
    }
  });
  probe.join();
  return !took;
}

struct Counter {
  Mutex mu;
  int64_t value ABSL_GUARDED_BY(mu) = 0;
  // How many threads are inside the critical section; must never exceed 1.
  std::atomic<int> inside{0};
  std::atomic<int> max_inside{0};

  void Increment() {
    MutexLock lock(&mu);
    const int now = inside.fetch_add(1, std::memory_order_relaxed) + 1;
    if (now > max_inside.load(std::memory_order_relaxed)) {
      max_inside.store(now, std::memory_order_relaxed);
    }
    // A read-modify-write in two steps, so that overlapping critical
    // sections would lose increments.
    const int64_t seen = value;
    value = seen + 1;
    inside.fetch_sub(1, std::memory_order_relaxed);
  }

  int64_t Get() {
    MutexLock lock(&mu);
    return value;
  }
};

TEST(MutexTest, MutualExclusionUnderContention) {
  constexpr int kThreads = 8;
  constexpr int kIncrements = 20000;
  Counter counter;
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      for (int i = 0; i < kIncrements; ++i) counter.Increment();
    });
  }
  go.store(true, std::memory_order_release);
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(counter.Get(), int64_t{kThreads} * kIncrements);
  EXPECT_EQ(counter.max_inside.load(), 1);
}

TEST(MutexTest, ExplicitLockUnlockAndTryLock) {
  Mutex mu;
  mu.Lock();
  mu.AssertHeld();
  EXPECT_TRUE(HeldElsewhere(&mu));
  mu.Unlock();
  EXPECT_FALSE(HeldElsewhere(&mu));

  if (mu.TryLock()) {
    EXPECT_TRUE(HeldElsewhere(&mu));
    mu.Unlock();
  } else {
    ADD_FAILURE() << "TryLock failed on a free Mutex";
  }
}

TEST(MutexTest, MutexLockHoldsForItsScope) {
  Mutex mu;
  {
    MutexLock lock(&mu);
    EXPECT_TRUE(HeldElsewhere(&mu));
  }
  EXPECT_FALSE(HeldElsewhere(&mu));
}

// Two threads hand a token back and forth through one guarded slot; each
// side waits for its turn on its own CondVar.
struct HandOff {
  Mutex mu;
  CondVar to_ponger, to_pinger;
  int turn ABSL_GUARDED_BY(mu) = 0;  // even: the pinger's move, odd: the ponger's
  int pongs ABSL_GUARDED_BY(mu) = 0;
};

TEST(CondVarTest, WaitSignalHandOff) {
  constexpr int kRounds = 2000;
  HandOff h;
  weft_test::Watchdog wd("the hand-off (a lost wake-up?)", weft_test::kHangBound);
  std::thread ponger([&] {
    for (int i = 0; i < kRounds; ++i) {
      MutexLock lock(&h.mu);
      while (h.turn % 2 == 0) h.to_ponger.Wait(&h.mu);
      ++h.pongs;
      ++h.turn;
      h.to_pinger.Signal();
    }
  });
  for (int i = 0; i < kRounds; ++i) {
    MutexLock lock(&h.mu);
    ++h.turn;
    h.to_ponger.Signal();
    while (h.turn % 2 == 1) h.to_pinger.Wait(&h.mu);
  }
  ponger.join();
  MutexLock lock(&h.mu);
  EXPECT_EQ(h.pongs, kRounds);
  EXPECT_EQ(h.turn, 2 * kRounds);
}

struct Gate {
  Mutex mu;
  CondVar cv;
  bool open ABSL_GUARDED_BY(mu) = false;
  int waiting ABSL_GUARDED_BY(mu) = 0;
  int through ABSL_GUARDED_BY(mu) = 0;
};

TEST(CondVarTest, SignalAllWakesEveryWaiter) {
  constexpr int kWaiters = 6;
  Gate g;
  weft_test::Watchdog wd("waking every waiter (a lost wake-up?)", weft_test::kHangBound);
  std::vector<std::thread> waiters;
  for (int i = 0; i < kWaiters; ++i) {
    waiters.emplace_back([&] {
      MutexLock lock(&g.mu);
      ++g.waiting;
      g.cv.SignalAll();  // tells the opener one more is waiting
      while (!g.open) g.cv.Wait(&g.mu);
      ++g.through;
    });
  }
  {
    MutexLock lock(&g.mu);
    while (g.waiting < kWaiters) g.cv.Wait(&g.mu);
    g.open = true;
    g.cv.SignalAll();
  }
  for (std::thread& t : waiters) t.join();
  MutexLock lock(&g.mu);
  EXPECT_EQ(g.through, kWaiters);
}

TEST(CondVarTest, WaitUntilPastDeadlineTimesOutAndKeepsTheLock) {
  Mutex mu;
  CondVar cv;
  MutexLock lock(&mu);
  EXPECT_FALSE(cv.WaitUntil(&mu, absl::Now()));
  EXPECT_FALSE(cv.WaitUntil(&mu, absl::Now() - absl::Seconds(1)));
  EXPECT_FALSE(cv.WaitUntil(&mu, absl::InfinitePast()));
  EXPECT_TRUE(HeldElsewhere(&mu));
}

// The timed wait itself (not the past-deadline shortcut): nobody signals,
// so it must eventually report the timeout, with the lock held again. Any
// true before that is a spurious wake-up. The clock check is WaitUntil's
// contract (false means the deadline has passed), not a measure of speed:
// a slow machine only makes it truer.
TEST(CondVarTest, WaitUntilNearDeadlineTimesOut) {
  Mutex mu;
  CondVar cv;
  MutexLock lock(&mu);
  weft_test::Watchdog wd("WaitUntil reporting its timeout", weft_test::kHangBound);
  const absl::Time deadline = absl::Now() + absl::Milliseconds(1);
  while (cv.WaitUntil(&mu, deadline)) {
  }
  EXPECT_GE(absl::Now(), deadline);
  EXPECT_TRUE(HeldElsewhere(&mu));
}

// A signal before the deadline: WaitUntil returns true (deadlines here are
// far away, so a false would be a bug, not a slow machine).
TEST(CondVarTest, WaitUntilReturnsTrueWhenSignalled) {
  weft_test::Watchdog wd("WaitUntil waking when signalled", weft_test::kHangBound);
  for (const absl::Time deadline : {absl::Now() + absl::Hours(1), absl::InfiniteFuture()}) {
    Gate g;  // `open` is the flag the signaller sets
    std::thread signaller([&] {
      MutexLock lock(&g.mu);
      g.open = true;
      g.cv.Signal();
    });
    {
      MutexLock lock(&g.mu);
      while (!g.open) {
        const bool woken = g.cv.WaitUntil(&g.mu, deadline);
        EXPECT_TRUE(woken) << "timed out before " << deadline;
        if (!woken) break;
      }
    }
    signaller.join();
  }
}

}  // namespace
}  // namespace weft::internal
