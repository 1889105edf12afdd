// C++20 coroutines over weft calls: a Future is awaitable, and weft::Task<T>
// is a coroutine type to write them in.
//
//   weft::Task<int64_t> SquarePlusOne(weft::Stub<Math> math, int64_t v) {
//     absl::StatusOr<weft::Response<Math::SquareResults>> r = co_await math.square(v);
//     if (!r.ok()) co_return -1;
//     co_return r->getResult() + 1;
//   }
//   weft::Task<int64_t> t = SquarePlusOne(pool.stub(), 7);   // runs until its first co_await
//   int64_t v = t.Get();                                      // blocks until it co_returned
//
// Where a coroutine resumes: `co_await future` resumes it on the pool's
// continuation thread (runtime/internal/continuations.h) as soon as the call
// resolves — or at once, without suspending, if it already has. To resume on
// your own executor (an event loop, a thread pool), await
// `weft::ResumeOn(executor, future)`: it always resumes through the
// executor, even for a call already resolved. The executor is any callable
// taking a std::function<void()> and running it later, on its thread.
//
// Cancellation: destroying a weft::Task that has not finished abandons it:
// the weft call it awaits now is aborted (Cancelled; an abortable method
// sees call.aborted()), so are the calls it awaits later, and the coroutine
// runs on to its end by itself and frees its frame then (so it must not
// reach for objects its caller destroys with the Task). A Task it awaits
// in turn is not abandoned with it. Safe from any thread at any time,
// also while the coroutine runs elsewhere. With a coroutine type of your
// own, destroying a frame suspended at `co_await future` abandons the call
// (as destroying the future would); do that only while no other thread can
// resume it.
//
// Blocking: code resumed on the continuation thread (a plain co_await)
// must not block on another call of the same pool (Get, Next): that thread
// delivers those calls too. Post to your own executor (ResumeOn) first.
//
// weft::Task<T> starts eagerly (when called) and may be awaited by one
// coroutine (`co_await std::move(task)`) or waited on by one thread
// (Get()). An exception leaving the coroutine is rethrown there.
//
// Thread safety: a Task is thread-compatible; the hand-off between the
// thread that finishes the coroutine and the one awaiting it is lock-free.
#ifndef WEFT_RUNTIME_TASK_H_
#define WEFT_RUNTIME_TASK_H_

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

#include "absl/status/statusor.h"
#include "runtime/future.h"

namespace weft {

// Runs a resumption later, on the executor's own thread.
using Executor = std::function<void(std::function<void()>)>;

namespace internal {

// The hand-off between FutureAwaiter::await_suspend and the continuation
// that fires when the call resolves; shared by both.
struct AwaitState {
  enum : uint32_t { kRegistering, kSuspended, kResolvedEarly, kQueued, kResumed, kCancelled };

  // The continuation thread: the call resolved.
  static void Resolved(const std::shared_ptr<AwaitState>& state) {
    uint32_t expected = kRegistering;
    // Acq_rel (every CAS on phase): pairs with the others and with the
    // awaiter's exchange to kCancelled; whoever moves the phase on owns
    // what follows.
    if (state->phase.compare_exchange_strong(expected, kResolvedEarly, std::memory_order_acq_rel)) {
      return;  // await_suspend has not suspended yet: it sees kResolvedEarly
    }
    expected = kSuspended;
    if (state->executor) {
      if (state->phase.compare_exchange_strong(expected, kQueued, std::memory_order_acq_rel)) {
        Post(state);
      }
      return;
    }
    if (state->phase.compare_exchange_strong(expected, kResumed, std::memory_order_acq_rel)) {
      state->handle.resume();
    }
  }
  // Queues the resumption on the executor; it re-checks that the frame
  // was not destroyed meanwhile.
  static void Post(const std::shared_ptr<AwaitState>& state) {
    state->executor([state] {
      uint32_t queued = kQueued;
      // Acq_rel: as above; fails if the frame was destroyed (kCancelled).
      if (state->phase.compare_exchange_strong(queued, kResumed, std::memory_order_acq_rel)) {
        state->handle.resume();
      }
    });
  }

  std::atomic<uint32_t> phase{kRegistering};
  std::coroutine_handle<> handle;
  Executor executor;
  CallHandle abort;  // an observer of the call: aborts it if the Task is abandoned
};

// What Task<T> and Task<void> share: the frame's completion hand-off, and
// the call it awaits now (so that abandoning the Task can abort it).
class TaskPromiseBase {
 public:
  std::suspend_never initial_suspend() noexcept { return {}; }

  // Final suspension: whoever awaits the task is resumed (by symmetric
  // transfer) or woken; an abandoned task's frame frees itself.
  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> self) noexcept;
    void await_resume() noexcept {}
    TaskPromiseBase* promise;
  };
  FinalAwaiter final_suspend() noexcept { return FinalAwaiter{this}; }
  void unhandled_exception() { error_ = std::current_exception(); }

  // The awaiting coroutine's side: false if the task is done already.
  bool SetContinuation(std::coroutine_handle<> awaiting) {
    return Register(reinterpret_cast<uintptr_t>(awaiting.address()));
  }
  // A thread's side: blocks until the coroutine finished.
  void WaitDone() {
    ThreadWaiter waiter;
    if (!Register(reinterpret_cast<uintptr_t>(&waiter) | kThreadBit)) return;  // done already
    // Acquire: pairs with the release store in FinalAwaiter.
    while (waiter.woken.load(std::memory_order_acquire) == 0) {
      waiter.woken.wait(0, std::memory_order_acquire);
    }
  }
  bool done() const {
    // Acquire: pairs with the exchange in FinalAwaiter; the result is visible.
    return state_.load(std::memory_order_acquire) == kDone;
  }
  void RethrowIfFailed() {
    if (error_) std::rethrow_exception(error_);
  }

  // FutureAwaiter: the call this coroutine awaits now (aborted at once if
  // the task was abandoned), and no longer.
  void SetCurrentAwait(std::shared_ptr<AwaitState> await) {
    std::lock_guard<std::mutex> lock(await_mu_);
    if (abandoned_) await->abort.Abort();
    current_await_ = std::move(await);
  }
  void ClearCurrentAwait(const AwaitState* await) {
    std::lock_guard<std::mutex> lock(await_mu_);
    if (current_await_.get() == await) current_await_.reset();
  }

  // The Task is destroyed unfinished: aborts the call awaited now (and any
  // awaited later), and hands the frame to the coroutine, which frees it
  // when it finishes. False if it already finished (the Task frees it).
  bool Abandon() {
    {
      // First, while the frame is certainly alive: once state_ says
      // kAbandoned below, the coroutine may finish and free it any moment.
      std::lock_guard<std::mutex> lock(await_mu_);
      abandoned_ = true;
      if (current_await_ != nullptr) current_await_->abort.Abort();
    }
    uintptr_t seen = state_.load(std::memory_order_acquire);
    while (seen != kDone) {
      // Acq_rel: pairs with the exchange in FinalAwaiter. A registered
      // awaiting frame (one being destroyed with us) is dropped too.
      if (state_.compare_exchange_weak(seen, kAbandoned, std::memory_order_acq_rel)) return true;
    }
    return false;
  }

 private:
  // Lives on the waiting thread's stack until it is woken.
  struct ThreadWaiter {
    std::atomic<uint32_t> woken{0};
  };
  // state_: kRunning, kDone, kAbandoned, an awaiting frame's address
  // (16-aligned), or a ThreadWaiter's address with kThreadBit set.
  static constexpr uintptr_t kRunning = 0;
  static constexpr uintptr_t kThreadBit = 1;
  static constexpr uintptr_t kDone = 2;
  static constexpr uintptr_t kAbandoned = 4;

  bool Register(uintptr_t waiter) {
    uintptr_t expected = kRunning;
    // Acq_rel: pairs with the exchange in FinalAwaiter: the finishing
    // thread sees the waiter, or we see kDone (and the result).
    return state_.compare_exchange_strong(expected, waiter, std::memory_order_acq_rel);
  }

  std::atomic<uintptr_t> state_{kRunning};
  std::exception_ptr error_;
  std::mutex await_mu_;
  bool abandoned_ = false;                     // guarded by await_mu_
  std::shared_ptr<AwaitState> current_await_;  // guarded by await_mu_
};

inline std::coroutine_handle<> TaskPromiseBase::FinalAwaiter::await_suspend(
    std::coroutine_handle<> self) noexcept {
  // Acq_rel: publishes the result (release) to whoever sees kDone, and sees
  // the waiter registered (acquire). The last touch of the frame: once it
  // is kDone, the Task may destroy the frame at any moment.
  const uintptr_t waiter = promise->state_.exchange(kDone, std::memory_order_acq_rel);
  if (waiter == kRunning) return std::noop_coroutine();
  if (waiter == kAbandoned) {
    self.destroy();  // nobody holds the Task any more
    return std::noop_coroutine();
  }
  if ((waiter & kThreadBit) != 0) {
    auto* thread = reinterpret_cast<ThreadWaiter*>(waiter & ~kThreadBit);
    // Release: pairs with WaitDone's acquire loads. notify_one does not
    // read the waiter, which may already be gone once the store is seen.
    thread->woken.store(1, std::memory_order_release);
    thread->woken.notify_one();
    return std::noop_coroutine();
  }
  return std::coroutine_handle<>::from_address(reinterpret_cast<void*>(waiter));
}

template <typename R>
class FutureAwaiter {
 public:
  FutureAwaiter(Future<R> future, Executor executor)
      : future_(std::move(future)), executor_(std::move(executor)) {}
  FutureAwaiter(FutureAwaiter&&) = default;
  ~FutureAwaiter() {
    if (state_ == nullptr) return;
    if (task_ != nullptr) task_->ClearCurrentAwait(state_.get());
    // Acq_rel: pairs with Resolved's CASes. A frame destroyed while
    // suspended: the continuation must not resume it; future_ abandons
    // the call when it is destroyed next.
    state_->phase.exchange(AwaitState::kCancelled, std::memory_order_acq_rel);
  }

  // With an executor, always through it (even for a call already resolved).
  bool await_ready() { return !executor_ && future_.Ready(); }

  template <typename P>
  bool await_suspend(std::coroutine_handle<P> handle) {
    state_ = std::make_shared<AwaitState>();
    state_->handle = handle;
    state_->executor = std::move(executor_);
    state_->abort = future_.weft_handle().Observer();
    if constexpr (std::is_base_of_v<TaskPromiseBase, P>) {
      task_ = &handle.promise();
      task_->SetCurrentAwait(state_);
    }
    CallHandle observer = future_.weft_handle().Observer();
    std::move(observer).Then([state = state_](CallHandle) { AwaitState::Resolved(state); });
    uint32_t expected = AwaitState::kRegistering;
    // Acq_rel: pairs with Resolved's CAS. Fails if the call resolved (and
    // its continuation ran) already.
    if (state_->phase.compare_exchange_strong(expected, AwaitState::kSuspended,
                                              std::memory_order_acq_rel)) {
      return true;
    }
    if (!state_->executor) return false;  // go on here, without suspending
    // Release: publishes the state to the executor's thread (Post's CAS).
    state_->phase.store(AwaitState::kQueued, std::memory_order_release);
    AwaitState::Post(state_);
    return true;
  }

  absl::StatusOr<Response<R>> await_resume() {
    if (task_ != nullptr) task_->ClearCurrentAwait(state_.get());
    task_ = nullptr;
    return future_.Get();
  }

 private:
  Future<R> future_;
  Executor executor_;
  std::shared_ptr<AwaitState> state_;
  TaskPromiseBase* task_ = nullptr;  // the awaiting Task's promise, if it is one
};

}  // namespace internal

// `co_await future`: resumes on the continuation thread (or goes on at once
// if the call already resolved).
template <typename R>
internal::FutureAwaiter<R> operator co_await(Future<R>&& future) {
  return internal::FutureAwaiter<R>(std::move(future), nullptr);
}

// `co_await weft::ResumeOn(executor, future)`: resumes through `executor`,
// always (a call already resolved is posted to it too).
template <typename R>
internal::FutureAwaiter<R> ResumeOn(Executor executor, Future<R> future) {
  return internal::FutureAwaiter<R>(std::move(future), std::move(executor));
}

template <typename T>
class Task;

namespace internal {

template <typename T>
class TaskPromise : public TaskPromiseBase {
 public:
  Task<T> get_return_object();
  template <typename U>
  void return_value(U&& value) {
    value_.emplace(std::forward<U>(value));
  }
  T Take() {
    RethrowIfFailed();
    return std::move(*value_);
  }

 private:
  std::optional<T> value_;
};

template <>
class TaskPromise<void> : public TaskPromiseBase {
 public:
  Task<void> get_return_object();
  void return_void() {}
  void Take() { RethrowIfFailed(); }
};

}  // namespace internal

template <typename T>
class [[nodiscard]] Task {
 public:
  using promise_type = internal::TaskPromise<T>;

  Task(Task&& other) noexcept : frame_(std::exchange(other.frame_, nullptr)) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      Destroy();
      frame_ = std::exchange(other.frame_, nullptr);
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() { Destroy(); }

  // True once the coroutine co_returned (or threw).
  bool done() const { return frame_ && frame_.promise().done(); }
  // Blocks this thread until the coroutine finished; returns its value
  // (rethrows its exception). Once only.
  T Get() {
    frame_.promise().WaitDone();
    return frame_.promise().Take();
  }

  // `co_await std::move(task)` from another coroutine.
  auto operator co_await() && {
    struct Awaiter {
      bool await_ready() { return frame.promise().done(); }
      bool await_suspend(std::coroutine_handle<> awaiting) {
        return frame.promise().SetContinuation(awaiting);
      }
      T await_resume() { return frame.promise().Take(); }
      std::coroutine_handle<promise_type> frame;
    };
    return Awaiter{frame_};
  }

 private:
  friend class internal::TaskPromise<T>;
  explicit Task(std::coroutine_handle<promise_type> frame) : frame_(frame) {}
  // An unfinished task is abandoned (its frame frees itself when it ends),
  // a finished one destroyed.
  void Destroy() {
    if (!frame_) return;
    std::coroutine_handle<promise_type> frame = std::exchange(frame_, nullptr);
    if (!frame.promise().Abandon()) frame.destroy();
  }

  std::coroutine_handle<promise_type> frame_;
};

namespace internal {
template <typename T>
Task<T> TaskPromise<T>::get_return_object() {
  return Task<T>(std::coroutine_handle<TaskPromise<T>>::from_promise(*this));
}
inline Task<void> TaskPromise<void>::get_return_object() {
  return Task<void>(std::coroutine_handle<TaskPromise<void>>::from_promise(*this));
}
}  // namespace internal

}  // namespace weft

#endif  // WEFT_RUNTIME_TASK_H_
