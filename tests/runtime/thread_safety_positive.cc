// The twin of thread_safety_negative.cc with every lock held where the
// annotations ask for it: MUST COMPILE under clang -Wthread-safety
// -Werror=thread-safety with no diagnostic. tools/check_thread_safety.sh
// checks both, so the negative file's failure is known to come from the
// missing locks, not from the annotations rejecting correct code. In no
// Bazel target, like its twin.
#include "absl/base/thread_annotations.h"
#include "runtime/internal/mutex.h"

namespace weft::internal {
namespace {

class Account {
 public:
  int Balance() {
    MutexLock lock(&mu_);
    return balance_;
  }

  void Reset() {
    {
      MutexLock lock(&mu_);
      balance_ = 0;
    }
    MutexLock lock(&mu_);
    balance_ = 0;
  }

  void Deposit(int amount) {
    MutexLock lock(&mu_);
    AddLocked(amount);
    cv_.SignalAll();
  }

  void AwaitFunds() {
    MutexLock lock(&mu_);
    while (balance_ <= 0) cv_.Wait(&mu_);
  }

  bool AwaitFundsUntil(absl::Time deadline) {
    MutexLock lock(&mu_);
    while (balance_ <= 0) {
      if (!cv_.WaitUntil(&mu_, deadline)) return false;
    }
    return true;
  }

  void Freeze() ABSL_EXCLUSIVE_LOCK_FUNCTION(mu_) { mu_.Lock(); }

  void Thaw() ABSL_UNLOCK_FUNCTION(mu_) { mu_.Unlock(); }

  bool TryAdd(int amount) {
    if (!mu_.TryLock()) return false;
    AddLocked(amount);
    mu_.Unlock();
    return true;
  }

 private:
  void AddLocked(int amount) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { balance_ += amount; }

  Mutex mu_;
  CondVar cv_;
  int balance_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace
}  // namespace weft::internal
