// Mutex, MutexLock and CondVar: std::mutex and std::condition_variable
// with the thread-safety annotations clang checks (-Wthread-safety, on in
// --config=clang), so that ABSL_GUARDED_BY / ABSL_EXCLUSIVE_LOCKS_REQUIRED
// on weft's own state are verified at compile time.
//
//   class Queue {
//    public:
//     void Push(int v) {
//       MutexLock lock(&mu_);
//       items_.push_back(v);
//       cv_.Signal();
//     }
//     int Pop() {
//       MutexLock lock(&mu_);
//       while (items_.empty()) cv_.Wait(&mu_);  // wake-ups may be spurious
//       int v = items_.front();
//       items_.pop_front();
//       return v;
//     }
//
//    private:
//     Mutex mu_;
//     CondVar cv_;
//     std::deque<int> items_ ABSL_GUARDED_BY(mu_);
//   };
//
// Touching items_ without holding mu_, calling Wait without it, or
// returning with a Lock() not undone by Unlock() is a compile error under
// clang (tools/check_thread_safety.sh proves it); gcc ignores the
// annotations and builds the same code.
//
// Thread safety: Mutex and CondVar are thread-safe (that is their job).
// Mutex is not recursive: locking it twice from one thread deadlocks, and
// only the thread holding it may Unlock() it. A MutexLock belongs to one
// thread.
//
// Why not absl::Mutex, which carries these annotations already: Debian's
// Abseil is not built with ThreadSanitizer, so TSan would not see
// absl::Mutex's synchronization and would report races on everything it
// guards. This wrapper is std::mutex underneath, which TSan intercepts
// (pthread_mutex_*, pthread_cond_*), so --config=tsan keeps working.
#ifndef WEFT_RUNTIME_INTERNAL_MUTEX_H_
#define WEFT_RUNTIME_INTERNAL_MUTEX_H_

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace weft::internal {

class ABSL_LOCKABLE Mutex {
 public:
  constexpr Mutex() noexcept = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }
  // Returns true if it took the lock; never blocks.
  bool TryLock() ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) { return mu_.try_lock(); }

  // Tells the analysis that the caller holds the lock (e.g. in a callback
  // it cannot follow). Checks nothing at run time: std::mutex cannot say
  // who holds it.
  void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK() {}

 private:
  friend class CondVar;
  std::mutex mu_;
};

// Holds `mu` from construction to the end of the scope.
class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }

  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

// A condition variable for Mutex. As with any condition variable, wake-ups
// may be spurious: wait in a loop on the condition itself.
class CondVar {
 public:
  CondVar() = default;
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  // Releases `mu`, sleeps until signalled (or spuriously woken), and takes
  // `mu` again before returning.
  void Wait(Mutex* mu) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    // The unique_lock adopts the lock the caller holds and gives it back
    // (release(), which does not unlock) once wait() has re-taken it.
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();
  }

  // Like Wait, but gives up at `deadline`. Returns false if it timed out
  // (the deadline has passed), true if it was signalled or woke spuriously
  // before then. Note the polarity: absl::CondVar::WaitWithDeadline returns
  // true on timeout. A deadline already past returns false at once, without
  // releasing `mu`. The time left is waited for on the steady clock.
  bool WaitUntil(Mutex* mu, absl::Time deadline) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (deadline == absl::InfiniteFuture()) {
      Wait(mu);
      return true;
    }
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    // libstdc++ adds the timeout to steady_clock::now(), which would
    // overflow for a deadline centuries away; a capped wait that runs out
    // early reports a wake-up, which callers handle like a spurious one.
    const std::chrono::nanoseconds timeout =
        absl::ToChronoNanoseconds(left < kMaxSingleWait ? left : kMaxSingleWait);
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    const std::cv_status status = cv_.wait_for(lock, timeout);
    lock.release();
    return status == std::cv_status::no_timeout || absl::Now() < deadline;
  }

  // Wakes one waiter, or all of them. Holding the Mutex is not required.
  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  static constexpr absl::Duration kMaxSingleWait = absl::Hours(24);
  std::condition_variable cv_;
};

}  // namespace weft::internal

#endif  // WEFT_RUNTIME_INTERNAL_MUTEX_H_
