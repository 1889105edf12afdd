// MUST NOT COMPILE under clang -Wthread-safety -Werror=thread-safety: each
// method of Account breaks the locking rules its annotations state, and
// clang must reject every one of them. This proves that
// runtime/internal/mutex.h's annotations are live, i.e. that a guarded
// field touched without its Mutex fails the --config=clang build.
//
// Deliberately in no Bazel target (it would break `bazel build //...`);
// tools/check_thread_safety.sh compiles it, and compiles its twin
// thread_safety_positive.cc (the same methods done right), which must pass.
// Each `expected-error@+1` comment names the error clang must report on the
// line after it; the script checks them with clang's -verify, so that a file
// failing for any other reason (a typo, a missing include) does not count.
#include "absl/base/thread_annotations.h"
#include "runtime/internal/mutex.h"

namespace weft::internal {
namespace {

class Account {
 public:
  // Reads a guarded field without holding the Mutex.
  int Balance() {
    // expected-error@+1 {{reading variable 'balance_' requires holding mutex 'mu_'}}
    return balance_;
  }

  // Writes it after the MutexLock's scope has ended.
  void Reset() {
    {
      MutexLock lock(&mu_);
      balance_ = 0;
    }
    // expected-error@+1 {{writing variable 'balance_' requires holding mutex 'mu_' exclusively}}
    balance_ = 0;
  }

  // Calls a function that requires the lock without holding it.
  void Deposit(int amount) {
    // expected-error@+1 {{calling function 'AddLocked' requires holding mutex 'mu_' exclusively}}
    AddLocked(amount);
  }

  // Waits on the CondVar without holding its Mutex.
  void AwaitFunds() {
    // expected-error@+1 {{calling function 'Wait' requires holding mutex 'mu_' exclusively}}
    cv_.Wait(&mu_);
  }

  // Returns with the lock still held.
  void Freeze() {
    mu_.Lock();  // expected-note {{mutex acquired here}}
    // expected-error@+1 {{mutex 'mu_' is still held at the end of function}}
  }

  // Unlocks a Mutex it does not hold.
  void Thaw() {
    // expected-error@+1 {{releasing mutex 'mu_' that was not held}}
    mu_.Unlock();
  }

 private:
  void AddLocked(int amount) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { balance_ += amount; }

  Mutex mu_;
  CondVar cv_;
  int balance_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace
}  // namespace weft::internal
