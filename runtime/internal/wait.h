// Adaptive waiting: spin with a pause instruction, then yield, then sleep on
// a 32-bit futex word in shared memory (so it works across processes).
//
//   if (!SpinThenYield(policy, [&] { return ready(); })) {
//     ... advertise, re-check, FutexWait(&word, seen, deadline) ...  // see slot.h
//   }
//
// The sleeping side follows one protocol everywhere (worker doorbell, call
// completion words): it advertises itself (a flag, seq_cst), re-checks its
// condition, and only then calls FutexWait with the word's value read before
// the re-check. The waking side publishes its data, issues a seq_cst fence,
// and calls FutexWake only if a sleeper is advertised. Either the sleeper's
// re-check sees the data, or the waker sees the flag (both are ordered in the
// single seq_cst order), so no wake-up is lost and a waker with nobody asleep
// makes no syscall.
//
// Thread safety: the functions are thread-safe.
#ifndef WEFT_RUNTIME_INTERNAL_WAIT_H_
#define WEFT_RUNTIME_INTERNAL_WAIT_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "runtime/pool_options.h"

namespace weft {

namespace internal {

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// FUTEX_WAIT on a shared (not process-private) word: sleeps while *word ==
// expected, until woken, `until` passes, or a spurious wake-up. Returns
// false when `until` passed.
bool FutexWait(std::atomic<uint32_t>* word, uint32_t expected, absl::Time until);
// One word of a FutexWaitAny: sleep while *word == expected.
struct FutexWaiter {
  std::atomic<uint32_t>* word;
  uint32_t expected;
};
// The most words FutexWaitAny takes (the kernel's FUTEX_WAITV_MAX).
inline constexpr size_t kMaxFutexWaiters = 128;
enum class WaitAnyResult { kWoken, kTimedOut, kUnsupported };
// futex_waitv (Linux 5.16+) on shared words: sleeps while every word holds
// its expected value, until one is woken, `until` passes, or a spurious
// wake-up. kUnsupported (ENOSYS) when the kernel lacks it, or for more than
// kMaxFutexWaiters words; the caller then falls back to a timed wait.
WaitAnyResult FutexWaitAny(const FutexWaiter* waiters, size_t count, absl::Time until);

// Wakes up to `count` sleepers on `word`.
void FutexWake(std::atomic<uint32_t>* word, int count);
// Adds 1 to an eventfd's counter (a non-blocking eventfd: a full counter
// means it is readable already, which is all a wake needs).
void SignalEventFd(int fd);

// Monotonic clock in nanoseconds (CLOCK_MONOTONIC), the clock deadlines in
// shared memory use.
int64_t MonotonicNanos();
int64_t ToMonotonicNanos(absl::Time t);  // 0 for InfiniteFuture

// Polls `done()` per `policy`, spinning then yielding; returns true as soon
// as it holds, false after the polls run out (the caller then sleeps).
template <typename Done>
bool SpinThenYield(const SpinPolicy& policy, Done&& done) {
  for (uint32_t i = 0; i < policy.spin_polls; ++i) {
    if (done()) return true;
    CpuRelax();
  }
  for (uint32_t i = 0; i < policy.yield_polls; ++i) {
    if (done()) return true;
    std::this_thread::yield();
  }
  return done();
}

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_INTERNAL_WAIT_H_
