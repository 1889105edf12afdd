#include "runtime/internal/wait.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

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

void FutexWake(std::atomic<uint32_t>* word, int count) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE, count, nullptr, nullptr, 0);
}

}  // namespace internal
}  // namespace weft
