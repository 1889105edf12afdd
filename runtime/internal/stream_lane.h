// StreamLane: one host thread's streamed calls to one pool (methods declared
// `-> stream`), sent without a Future each.
//
//   StreamLane& s = core->stream(lane);      // the calling thread's lane
//   WEFT_RETURN_IF_ERROR(s.Poll());          // an earlier streamed call failed?
//   s.Push(std::move(handle), bound);        // keep the call until it settles
//   absl::Status all = s.Flush();            // wait for every one of them
//
// It keeps the handles of the calls sent and not yet settled, oldest first,
// at most `bound` of them (the lane's slots across all workers: no more can
// be in flight anyway): a Push when full first waits for the oldest, which
// is the backpressure a streaming caller feels, together with the slots and
// the submit ring. Settling a call takes its outcome and frees its slot; the
// first failure is kept until Poll or Flush reports it (once), with how many
// more failed since.
//
// Order: calls of one thread to one worker travel on one SPSC lane and are
// served in order; the worker runs them one at a time.
//
// Thread safety: thread-safe; used by its lane's thread and, at the pool's
// end or a new binding of the lane, by whoever clears it. The mutex is
// uncontended on the streaming path.
#ifndef WEFT_RUNTIME_INTERNAL_STREAM_LANE_H_
#define WEFT_RUNTIME_INTERNAL_STREAM_LANE_H_

#include <cstddef>
#include <cstdint>
#include <deque>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "runtime/future.h"
#include "runtime/internal/mutex.h"

namespace weft {
namespace internal {

class StreamLane {
 public:
  // Settles the calls at the front that have finished; returns the first
  // failure not reported yet (and forgets it), else OK.
  absl::Status Poll();
  // Keeps `handle` until it settles, first waiting for the oldest call while
  // `bound` are pending.
  void Push(CallHandle handle, size_t bound);
  // Waits for every call pushed so far; returns the first failure not
  // reported yet, else OK.
  absl::Status Flush();
  // Drops everything without waiting (a dropped handle abandons its call):
  // for a lane a new thread binds, and the pool's end.
  void Clear();

 private:
  void Settle(CallHandle& handle) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  absl::Status TakeError() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  Mutex mutex_;
  std::deque<CallHandle> pending_ ABSL_GUARDED_BY(mutex_);
  absl::Status error_ ABSL_GUARDED_BY(mutex_);
  uint64_t more_failures_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_INTERNAL_STREAM_LANE_H_
