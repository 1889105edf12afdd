// WorkerStatus: what the pool knows about one worker's life, shared by the
// supervisor (which writes it for process workers), the balancer (which
// skips failed workers) and Stats().
//
// Thread safety: thread-safe; the atomics are single-writer (the supervisor,
// or the pool for thread workers), last_exit is guarded by its mutex.
#ifndef WEFT_RUNTIME_INTERNAL_WORKER_STATUS_H_
#define WEFT_RUNTIME_INTERNAL_WORKER_STATUS_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "runtime/internal/mutex.h"

namespace weft {
namespace internal {

// How long to wait before the next start of a worker (a process worker's
// replacement, a remote worker's connection) after `failures` failed ones
// in a row: 20 ms, doubling, at most 5 s.
inline absl::Duration RestartBackoff(uint32_t failures) {
  return std::min(absl::Milliseconds(20) * (1 << std::min<uint32_t>(failures, 8)),
                  absl::Seconds(5));
}

struct WorkerStatus {
  // The process the host forked (0 while down). Release stores by the
  // supervisor pair with the acquire load in Stats().
  std::atomic<int> pid{0};
  // The boot token of the latest start (0 while down); release stores by
  // the supervisor before the start can serve, acquire load in Stats().
  std::atomic<uint64_t> token{0};
  std::atomic<bool> up{false};      // relaxed: display only
  std::atomic<bool> failed{false};  // given up; release store, relaxed loads by the balancer

  void set_last_exit(std::string how) {
    MutexLock lock(&mutex);
    last_exit = std::move(how);
  }
  std::string get_last_exit() {
    MutexLock lock(&mutex);
    return last_exit;
  }

  Mutex mutex;
  std::string last_exit ABSL_GUARDED_BY(mutex);  // "killed by signal 9 (Killed)"
};

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_INTERNAL_WORKER_STATUS_H_
