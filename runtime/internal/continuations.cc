#include "runtime/internal/continuations.h"

#include <utility>

#include "absl/time/clock.h"

namespace weft {
namespace internal {

void Continuations::Add(CallHandle call, std::function<void(CallHandle)> run) {
  if (call.Ready()) {
    run(std::move(call));
    return;
  }
  {
    State& s = *state_;
    MutexLock lock(&s.mutex);
    if (!s.stop) {
      s.added.push_back(Pending{std::move(call), std::move(run)});
      if (!s.thread.joinable()) {
        s.thread = std::thread(&Continuations::Loop, state_);
        s.thread_id = s.thread.get_id();
      }
      s.cv.Signal();
      return;
    }
  }
  // Stopped: every call has resolved by now.
  run(std::move(call));
}

bool Continuations::OnLoopThread() const {
  MutexLock lock(&state_->mutex);
  return state_->thread_id == std::this_thread::get_id();
}

void Continuations::Stop() {
  std::thread thread;
  {
    MutexLock lock(&state_->mutex);
    state_->stop = true;
    state_->cv.Signal();
    thread = std::move(state_->thread);
  }
  if (!thread.joinable()) return;
  if (thread.get_id() == std::this_thread::get_id()) {
    // Stopped from inside a callback: the thread finishes on its own, on
    // the state it shares.
    thread.detach();
  } else {
    thread.join();
  }
}

void Continuations::Loop(std::shared_ptr<State> state) {
  State& s = *state;
  std::vector<Pending> pending;
  for (;;) {
    {
      MutexLock lock(&s.mutex);
      while (s.added.empty() && pending.empty() && !s.stop) s.cv.Wait(&s.mutex);
      for (auto& c : s.added) pending.push_back(std::move(c));
      s.added.clear();
      if (s.stop && pending.empty()) return;
    }
    // Run what has resolved; wait (briefly, so that new registrations are
    // picked up) on the oldest of the rest. A callback may destroy the pool:
    // from here on only `s` and `pending` are touched.
    size_t kept = 0;
    for (size_t i = 0; i < pending.size(); ++i) {
      if (pending[i].call.Ready()) {
        Pending c = std::move(pending[i]);
        c.run(std::move(c.call));
      } else {
        if (kept != i) pending[kept] = std::move(pending[i]);
        ++kept;
      }
    }
    pending.resize(kept);
    if (!pending.empty()) pending.front().call.WaitUntil(absl::Now() + absl::Milliseconds(1));
  }
}

}  // namespace internal
}  // namespace weft
