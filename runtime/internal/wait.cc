#include "runtime/internal/wait.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>

namespace weft {
namespace internal {

int64_t MonotonicNanos() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

int64_t ToMonotonicNanos(absl::Time t) {
  if (t == absl::InfiniteFuture()) return 0;
  const int64_t delta = absl::ToInt64Nanoseconds(t - absl::Now());
  return MonotonicNanos() + delta;
}

bool FutexWait(std::atomic<uint32_t>* word, uint32_t expected, absl::Time until) {
  timespec relative;
  timespec* timeout = nullptr;
  if (until != absl::InfiniteFuture()) {
    const absl::Duration left = until - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    relative = absl::ToTimespec(left);
    timeout = &relative;
  }
  // The futex word is a std::atomic<uint32_t> (lock-free, same size and
  // representation as uint32_t, static_asserts in layout.h); the kernel
  // compares it with `expected` atomically with going to sleep.
  const long rc = syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT, expected,
                          timeout, nullptr, 0);
  if (rc == -1 && errno == ETIMEDOUT) return false;
  return true;  // woken, value changed (EAGAIN), or interrupted: re-check
}

WaitAnyResult FutexWaitAny(const FutexWaiter* waiters, size_t count, absl::Time until) {
  if (count == 0 || count > kMaxFutexWaiters) return WaitAnyResult::kUnsupported;
  futex_waitv vector[kMaxFutexWaiters] = {};
  for (size_t i = 0; i < count; ++i) {
    vector[i].val = waiters[i].expected;
    // As in FutexWait: the kernel reads the atomic's 32-bit representation.
    vector[i].uaddr = reinterpret_cast<uintptr_t>(waiters[i].word);
    vector[i].flags = FUTEX_32;  // shared: the words may be in another process's mapping too
  }
  timespec absolute;
  timespec* timeout = nullptr;
  if (until != absl::InfiniteFuture()) {
    if (until <= absl::Now()) return WaitAnyResult::kTimedOut;
    absolute = absl::ToTimespec(until);  // absolute, on CLOCK_REALTIME below
    timeout = &absolute;
  }
  const long rc =
      syscall(SYS_futex_waitv, vector, static_cast<unsigned>(count), 0u, timeout, CLOCK_REALTIME);
  if (rc >= 0) return WaitAnyResult::kWoken;
  if (errno == ENOSYS) return WaitAnyResult::kUnsupported;
  if (errno == ETIMEDOUT) return WaitAnyResult::kTimedOut;
  return WaitAnyResult::kWoken;  // a value changed (EAGAIN) or interrupted: re-check
}

void FutexWake(std::atomic<uint32_t>* word, int count) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE, count, nullptr, nullptr, 0);
}

void SignalEventFd(int fd) {
  const uint64_t one = 1;
  // EAGAIN (the counter is full) leaves it readable; EINTR cannot happen
  // for a non-blocking write. Nothing else is expected of an eventfd.
  (void)!write(fd, &one, sizeof(one));
}

}  // namespace internal
}  // namespace weft
