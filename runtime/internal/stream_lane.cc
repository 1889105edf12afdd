#include "runtime/internal/stream_lane.h"

#include <cstddef>
#include <utility>

#include "absl/strings/str_cat.h"

namespace weft {
namespace internal {

void StreamLane::Settle(CallHandle& handle) {
  absl::StatusOr<ResponseHandle> outcome = handle.Take();  // waits if unresolved
  if (outcome.ok()) return;                                // the ResponseHandle frees the slot here
  if (error_.ok()) {
    error_ = outcome.status();
  } else {
    ++more_failures_;
  }
}

absl::Status StreamLane::TakeError() {
  if (error_.ok()) return absl::OkStatus();
  absl::Status error = std::exchange(error_, absl::OkStatus());
  const uint64_t more = std::exchange(more_failures_, 0);
  std::string message = absl::StrCat("weft: a streamed call failed: ", error.message());
  if (more > 0) absl::StrAppend(&message, " (and ", more, " more streamed calls after it)");
  return absl::Status(error.code(), message);
}

absl::Status StreamLane::Poll() {
  MutexLock lock(&mutex_);
  while (!pending_.empty() && pending_.front().Ready()) {
    Settle(pending_.front());
    pending_.pop_front();
  }
  return TakeError();
}

void StreamLane::Push(CallHandle handle, size_t bound) {
  MutexLock lock(&mutex_);
  while (!pending_.empty() && (pending_.size() >= bound || pending_.front().Ready())) {
    Settle(pending_.front());
    pending_.pop_front();
  }
  pending_.push_back(std::move(handle));
}

absl::Status StreamLane::Flush() {
  MutexLock lock(&mutex_);
  while (!pending_.empty()) {
    Settle(pending_.front());
    pending_.pop_front();
  }
  return TakeError();
}

void StreamLane::Clear() {
  std::deque<CallHandle> dropped;
  {
    MutexLock lock(&mutex_);
    dropped.swap(pending_);
    error_ = absl::OkStatus();
    more_failures_ = 0;
  }
  // Dropped outside the lock: abandoning a call may take the lane's locks.
}

}  // namespace internal
}  // namespace weft
