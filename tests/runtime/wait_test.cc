// The wake-up protocol under stress: a lost wake-up leaves both threads
// asleep for good, which the watchdog turns into a failure (never a pass).
#include "runtime/internal/wait.h"

#include <atomic>
#include <cstdint>
#include <thread>

#include "gtest/gtest.h"
#include "tests/testing/watchdog.h"

namespace weft::internal {
namespace {

// A one-word mailbox with the sleep protocol of wait.h: the receiver
// advertises itself, re-checks, then sleeps on the word.
struct Mailbox {
  std::atomic<uint32_t> value{0};
  std::atomic<uint32_t> sleeping{0};

  void Post(uint32_t v) {
    value.store(v, std::memory_order_release);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (sleeping.load(std::memory_order_relaxed) != 0) FutexWake(&value, 1);
  }

  void AwaitAtLeast(uint32_t v, const SpinPolicy& policy) {
    if (SpinThenYield(policy, [&] { return value.load(std::memory_order_acquire) >= v; })) return;
    for (;;) {
      sleeping.store(1, std::memory_order_seq_cst);
      const uint32_t seen = value.load(std::memory_order_seq_cst);
      if (seen >= v) break;
      FutexWait(&value, seen, absl::InfiniteFuture());
    }
    sleeping.store(0, std::memory_order_relaxed);
  }
};

// Two threads hand a counter back and forth `rounds` times. The watchdog
// fires only if the count stops moving for kHangBound: a loaded machine may
// make the run as slow as it likes, a lost wake-up stops it.
void PingPong(const SpinPolicy& policy, uint32_t rounds) {
  Mailbox ping, pong;
  weft_test::Watchdog wd("the ping-pong (a lost wake-up?)", weft_test::kHangBound, [&] {
    // Relaxed: a progress sample, no data is read through it.
    return uint64_t{pong.value.load(std::memory_order_relaxed)};
  });
  std::thread other([&] {
    for (uint32_t i = 1; i <= rounds; ++i) {
      ping.AwaitAtLeast(i, policy);
      pong.Post(i);
    }
  });
  for (uint32_t i = 1; i <= rounds; ++i) {
    ping.Post(i);
    pong.AwaitAtLeast(i, policy);
  }
  other.join();
  EXPECT_EQ(pong.value.load(), rounds);
}

TEST(SpinThenSleep, PingPongWithoutSpinNeverLosesAWakeUp) {
  // No spinning: every hand-off goes through the sleep path, the one that
  // could lose a wake-up.
  PingPong(SpinPolicy{.spin_polls = 0, .yield_polls = 0}, 20'000);
}

TEST(SpinThenSleep, MixedSpinAndSleepPingPong) {
  PingPong(SpinPolicy{.spin_polls = 8, .yield_polls = 1}, 50'000);
}

TEST(FutexWait, ReturnsAtOnceWhenTheValueDiffers) {
  std::atomic<uint32_t> word{5};
  EXPECT_TRUE(FutexWait(&word, 4, absl::InfiniteFuture()));  // EAGAIN path
}

TEST(FutexWait, ReportsAPassedDeadline) {
  std::atomic<uint32_t> word{5};
  EXPECT_FALSE(FutexWait(&word, 5, absl::Now() - absl::Seconds(1)));
}

}  // namespace
}  // namespace weft::internal
