#include "runtime/internal/continuations.h"

#include <pthread.h>

#include <algorithm>
#include <climits>
#include <utility>

#include "absl/time/clock.h"
#include "runtime/internal/layout.h"
#include "runtime/internal/wait.h"

namespace weft {
namespace internal {

void Continuations::Add(CallHandle call, std::function<void(CallHandle)> run) {
  if (call.Ready()) {
    run(std::move(call));
    return;
  }
  bool stopped = false;
  {
    State& s = *state_;
    MutexLock lock(&s.mutex);
    stopped = s.stop;
    if (!stopped) {
      s.added.push_back(Pending{std::move(call), std::move(run)});
      if (!s.thread.joinable()) {
        s.thread = std::thread(&Continuations::Loop, state_);
        s.thread_id = s.thread.get_id();
      }
    }
  }
  if (stopped) {
    // Stopped: every call has resolved by now.
    run(std::move(call));
    return;
  }
  Kick(*state_);
}

void Continuations::Kick(State& s) {
  // Seq_cst (both): pairs with Sleep's advertise (sleeping) then read
  // (kick); either Sleep's re-check sees what we changed, or we see it
  // asleep and wake it.
  s.kick.fetch_add(1, std::memory_order_seq_cst);
  if (s.sleeping.load(std::memory_order_seq_cst) != 0) FutexWake(&s.kick, INT_MAX);
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
    thread = std::move(state_->thread);
  }
  Kick(*state_);
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
  // Named for top -H and /proc/PID/task/*/comm (at most 15 characters).
  pthread_setname_np(pthread_self(), "weft-then");
  State& s = *state;
  std::vector<Pending> pending;
  for (;;) {
    size_t fresh = pending.size();
    {
      MutexLock lock(&s.mutex);
      for (auto& c : s.added) pending.push_back(std::move(c));
      s.added.clear();
      if (s.stop && pending.empty()) return;
    }
    // Watch the new calls before the scan below re-checks them (the order
    // CallHandle::Watch asks for).
    for (; fresh < pending.size(); ++fresh) {
      pending[fresh].doorbell = pending[fresh].call.Watch();
    }
    // Run what has resolved. A callback may destroy the pool: from here on
    // only `s` and `pending` are touched (each pending handle keeps its own
    // pool's core, and so its region, alive).
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
    Sleep(s, pending);
  }
}

void Continuations::Sleep(State& s, std::vector<Pending>& pending) {
  // The words to sleep on: the kick word, and each region's doorbell once.
  FutexWaiter waiters[kMaxFutexWaiters];
  RegionHeader* headers[kMaxFutexWaiters];
  size_t regions = 0;
  bool too_many = false;
  absl::Time until = absl::InfiniteFuture();
  for (const Pending& p : pending) {
    until = std::min(until, p.call.deadline());
    if (p.doorbell == nullptr || too_many) continue;
    if (std::find(headers, headers + regions, p.doorbell) != headers + regions) continue;
    if (regions + 1 == kMaxFutexWaiters) {
      too_many = true;
      continue;
    }
    headers[regions++] = p.doorbell;
  }
  // Advertise, read the words, re-check, sleep (wait.h's protocol).
  // Seq_cst (all of them): pairs with Kick and RingHostDoorbell.
  s.sleeping.store(1, std::memory_order_seq_cst);
  for (size_t i = 0; i < regions; ++i) {
    headers[i]->host_sleepers.fetch_add(1, std::memory_order_seq_cst);
  }
  waiters[0] = {&s.kick, s.kick.load(std::memory_order_seq_cst)};
  for (size_t i = 0; i < regions; ++i) {
    waiters[i + 1] = {&headers[i]->host_doorbell,
                      headers[i]->host_doorbell.load(std::memory_order_seq_cst)};
  }
  bool ready = false;
  {
    MutexLock lock(&s.mutex);
    ready = !s.added.empty() || s.stop;
  }
  for (size_t i = 0; i < pending.size() && !ready; ++i) ready = pending[i].call.Ready();
  if (!ready) {
    WaitAnyResult result = WaitAnyResult::kUnsupported;
    if (!too_many) result = FutexWaitAny(waiters, regions + 1, until);
    if (result == WaitAnyResult::kUnsupported) {
      // No futex_waitv (or too many regions): the kick word, in slices
      // short enough to notice the calls' outcomes.
      FutexWait(&s.kick, waiters[0].expected, std::min(until, absl::Now() + absl::Milliseconds(1)));
    }
  }
  for (size_t i = 0; i < regions; ++i) {
    // Relaxed: only a hint for the ringers.
    headers[i]->host_sleepers.fetch_sub(1, std::memory_order_relaxed);
  }
  // Relaxed: only a hint for Kick.
  s.sleeping.store(0, std::memory_order_relaxed);
}

}  // namespace internal
}  // namespace weft
