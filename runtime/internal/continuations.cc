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
    MutexLock lock(&mutex_);
    if (!stop_) {
      added_.push_back(Pending{std::move(call), std::move(run)});
      if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
      cv_.Signal();
      return;
    }
  }
  // Stopped: every call has resolved by now.
  run(std::move(call));
}

void Continuations::Stop() {
  std::thread thread;
  {
    MutexLock lock(&mutex_);
    stop_ = true;
    cv_.Signal();
    thread = std::move(thread_);
  }
  if (!thread.joinable()) return;
  if (thread.get_id() == std::this_thread::get_id()) {
    thread.detach();  // stopped from inside a callback
  } else {
    thread.join();
  }
}

void Continuations::Loop() {
  std::vector<Pending> pending;
  for (;;) {
    {
      MutexLock lock(&mutex_);
      while (added_.empty() && pending.empty() && !stop_) cv_.Wait(&mutex_);
      for (auto& c : added_) pending.push_back(std::move(c));
      added_.clear();
      if (stop_ && pending.empty()) return;
    }
    // Run what has resolved; wait (briefly, so that new registrations are
    // picked up) on the oldest of the rest.
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
