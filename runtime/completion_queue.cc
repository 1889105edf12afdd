#include "runtime/completion_queue.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/clock.h"
#include "runtime/internal/mutex.h"

namespace weft {

// Shared by the queue and the continuation callbacks of its calls, which
// may run after the queue is gone (they then find it closed).
struct CompletionQueue::State {
  explicit State(int fd) : event_fd(fd) {}
  ~State() { close(event_fd); }

  // Called once per added call, when it resolved (any thread).
  void Resolved(uint64_t id) {
    internal::MutexLock lock(&mutex);
    if (closed) return;
    ready.push_back(id);
    // Semaphore mode: the counter is ready.size(), changed under `mutex`
    // on both sides, so the fd is readable exactly while `ready` is not
    // empty. A write of 1 cannot fail short of a counter near 2^64.
    const uint64_t one = 1;
    const ssize_t n = write(event_fd, &one, sizeof(one));
    (void)n;
    cv.Signal();
  }

  struct Entry {
    uint64_t tag;
    internal::CallHandle handle;  // the call's owner
  };

  const int event_fd;
  mutable internal::Mutex mutex;
  internal::CondVar cv;
  uint64_t next_id ABSL_GUARDED_BY(mutex) = 0;
  std::unordered_map<uint64_t, Entry> entries ABSL_GUARDED_BY(mutex);  // outstanding
  std::deque<uint64_t> ready ABSL_GUARDED_BY(mutex);                   // resolved, in order
  bool closed ABSL_GUARDED_BY(mutex) = false;
};

absl::StatusOr<CompletionQueue> CompletionQueue::Create() {
  const int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE);
  if (fd < 0) {
    return absl::ResourceExhaustedError(
        absl::StrCat("weft: CompletionQueue::Create: eventfd: ", std::strerror(errno),
                     " (raise the process's open-file limit, ulimit -n)"));
  }
  return CompletionQueue(std::make_shared<State>(fd));
}

CompletionQueue& CompletionQueue::operator=(CompletionQueue&& other) noexcept {
  if (this != &other) {
    Close();
    state_ = std::move(other.state_);
  }
  return *this;
}

CompletionQueue::~CompletionQueue() { Close(); }

void CompletionQueue::Close() {
  if (state_ == nullptr) return;
  std::unordered_map<uint64_t, State::Entry> abandoned;
  {
    internal::MutexLock lock(&state_->mutex);
    state_->closed = true;
    abandoned = std::move(state_->entries);
    state_->entries.clear();
    state_->ready.clear();
  }
  // Outside the lock: abandoning a call resolves it, which may run its
  // continuation (Resolved, which takes the lock and finds the queue closed).
  abandoned.clear();
  state_.reset();
}

void CompletionQueue::AddHandle(internal::CallHandle handle, uint64_t tag) {
  if (state_ == nullptr) return;  // moved from: the call is abandoned with `handle`
  internal::CallHandle observer = handle.Observer();
  uint64_t id;
  {
    internal::MutexLock lock(&state_->mutex);
    id = state_->next_id++;
    state_->entries.emplace(id, State::Entry{tag, std::move(handle)});
  }
  // The observer goes to the pool's continuation thread, the owner stays
  // here: destroying the queue abandons the call.
  std::move(observer).Then([state = state_, id](internal::CallHandle) { state->Resolved(id); });
}

std::optional<Completion> CompletionQueue::Next(absl::Time until) {
  if (state_ == nullptr) return std::nullopt;  // moved from
  State& s = *state_;
  internal::MutexLock lock(&s.mutex);
  for (;;) {
    if (!s.ready.empty()) {
      const uint64_t id = s.ready.front();
      s.ready.pop_front();
      uint64_t value;
      // Semaphore mode: takes 1 off the counter (see Resolved).
      const ssize_t n = read(s.event_fd, &value, sizeof(value));
      (void)n;
      auto node = s.entries.extract(id);
      // The last one out: other threads waiting in Next() return nullopt.
      if (s.entries.empty()) s.cv.SignalAll();
      return Completion(node.mapped().tag, std::move(node.mapped().handle));
    }
    if (s.entries.empty()) return std::nullopt;
    if (!s.cv.WaitUntil(&s.mutex, until)) {
      if (s.ready.empty()) return std::nullopt;
    }
  }
}

int CompletionQueue::fd() const { return state_ == nullptr ? -1 : state_->event_fd; }

size_t CompletionQueue::outstanding() const {
  if (state_ == nullptr) return 0;
  internal::MutexLock lock(&state_->mutex);
  return state_->entries.size();
}

}  // namespace weft
