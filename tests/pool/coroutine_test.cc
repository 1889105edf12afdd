// C++20 coroutines over weft calls (runtime/task.h): co_await on a Future,
// weft::Task, resumption on an executor, cancellation by destroying a frame.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/pool.h"
#include "runtime/task.h"
#include "tests/pool/test_service.weft.h"
#include "tests/pool/test_service_impl.h"
#include "tests/testing/watchdog.h"

namespace weft_test {
namespace {

using Pool = weft::Pool<TestService>;

weft::Task<int64_t> SquarePlusOne(weft::Stub<TestService> stub, int64_t v) {
  absl::StatusOr<weft::Response<TestService::SquareResults>> r = co_await stub.square(v);
  if (!r.ok()) co_return -1;
  co_return r->getResult() + 1;
}

TEST(Coroutines, CoAwaitYieldsTheCallsOutcome) {
  Gate gate;
  Pool pool = MakeWorkerPool(gate, 1);
  weft::Task<int64_t> t = SquarePlusOne(pool.stub(), 7);
  EXPECT_EQ(t.Get(), 50);
}

TEST(Coroutines, TenThousandConcurrentCoAwaits) {
  Gate gate;
  Pool pool = MakeWorkerPool(gate, 2);
  weft::Stub<TestService> stub = pool.stub();
  constexpr int kTasks = 10'000;
  std::vector<weft::Task<int64_t>> tasks;
  tasks.reserve(kTasks);
  Watchdog dog("10,000 coroutines each awaiting a call finished", kHangBound);
  // Each runs until its co_await and suspends there (or goes on at once if
  // its call already resolved): all of them are in flight together, up to
  // the lanes' slots, which the runtime recycles as results are taken.
  for (int i = 0; i < kTasks; ++i) tasks.push_back(SquarePlusOne(stub, i));
  for (int i = 0; i < kTasks; ++i) {
    ASSERT_EQ(tasks[i].Get(), int64_t{i} * i + 1) << "task " << i;
  }
  dog.Done();
}

weft::Task<int64_t> SumOfTwo(weft::Stub<TestService> stub, int64_t a, int64_t b) {
  // A Task awaited from another Task.
  int64_t x = co_await SquarePlusOne(stub, a);
  int64_t y = co_await SquarePlusOne(stub, b);
  co_return x + y;
}

TEST(Coroutines, ATaskAwaitsAnotherTask) {
  Gate gate;
  Pool pool = MakeWorkerPool(gate, 2);
  EXPECT_EQ(SumOfTwo(pool.stub(), 3, 4).Get(), 10 + 17);
}

weft::Task<absl::StatusCode> FailingCall(weft::Stub<TestService> stub) {
  auto r = co_await stub.fail(static_cast<uint32_t>(absl::StatusCode::kNotFound), "no such thing");
  co_return r.status().code();
}

TEST(Coroutines, AFailedCallIsAStatusNotAnException) {
  Gate gate;
  Pool pool = MakeWorkerPool(gate, 1);
  EXPECT_EQ(FailingCall(pool.stub()).Get(), absl::StatusCode::kNotFound);
}

weft::Task<void> Throws() {
  throw std::runtime_error("from the coroutine");
  co_return;
}

TEST(Coroutines, AnExceptionLeavingTheCoroutineIsRethrownByGet) {
  weft::Task<void> t = Throws();
  EXPECT_TRUE(t.done());
  EXPECT_THROW(t.Get(), std::runtime_error);
}

// A single-threaded executor: runs what it is given on its own thread.
class LoopThread {
 public:
  LoopThread() : thread_([this] { Run(); }) {}
  ~LoopThread() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  weft::Executor executor() {
    return [this](std::function<void()> f) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        queue_.push_back(std::move(f));
      }
      cv_.notify_all();
    };
  }
  std::thread::id id() const { return thread_.get_id(); }

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;
      std::function<void()> f = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      f();
      lock.lock();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stop_ = false;
  std::thread thread_;
};

weft::Task<std::thread::id> ResumedWhere(weft::Stub<TestService> stub, weft::Executor ex) {
  auto r = co_await weft::ResumeOn(std::move(ex), stub.gated());
  EXPECT_TRUE(r.ok()) << r.status();
  co_return std::this_thread::get_id();
}

TEST(Coroutines, ResumeOnResumesOnTheExecutorsThread) {
  Gate gate;
  Pool pool = MakeWorkerPool(gate, 1);
  LoopThread loop;
  weft::Task<std::thread::id> t = ResumedWhere(pool.stub(), loop.executor());
  gate.WaitEntered(1);  // the coroutine is suspended on an unresolved call
  EXPECT_FALSE(t.done());
  Watchdog dog("the coroutine resumed on its executor", kHangBound);
  gate.Open();
  EXPECT_EQ(t.Get(), loop.id());
  dog.Done();
}

weft::Task<void> AwaitGated(weft::Stub<TestService> stub, std::atomic<int>* code) {
  auto r = co_await stub.gated();
  code->store(static_cast<int>(r.status().code()));
}

TEST(Coroutines, DestroyingAnUnfinishedTaskAbortsItsCallAndTheCoroutineEndsByItself) {
  Gate gate;
  Pool pool = MakeWorkerPool(gate, 1);
  weft::Stub<TestService> stub = pool.stub();
  std::atomic<int> code{-1};
  {
    weft::Task<void> t = AwaitGated(stub, &code);
    gate.WaitEntered(1);
    EXPECT_FALSE(t.done());
  }  // abandoned while suspended at co_await
  ASSERT_TRUE(PollUntil([&] { return gate.aborted_count() == 1; }, kHangBound))
      << "the worker never saw aborted()";
  // The coroutine resumed with the abort and ran to its end (its frame
  // freed itself: LeakSanitizer would say otherwise under --config=asan).
  ASSERT_TRUE(PollUntil([&] { return code.load() != -1; }, kHangBound));
  EXPECT_EQ(code.load(), static_cast<int>(absl::StatusCode::kCancelled));
  // The pool keeps working.
  EXPECT_EQ(SquarePlusOne(stub, 5).Get(), 26);
}

// An executor the test drains by hand, on its own thread.
class ManualExecutor {
 public:
  weft::Executor executor() {
    return [this](std::function<void()> f) {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(f));
    };
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return queue_.size();
  }
  void Drain() {
    std::deque<std::function<void()>> run;
    {
      std::lock_guard<std::mutex> lock(mu_);
      run.swap(queue_);
    }
    for (auto& f : run) f();
  }

 private:
  std::mutex mu_;
  std::deque<std::function<void()>> queue_;
};

weft::Task<void> GatedOn(weft::Stub<TestService> stub, weft::Executor ex, std::atomic<int>* code) {
  auto r = co_await weft::ResumeOn(std::move(ex), stub.gated());
  code->store(static_cast<int>(r.status().code()));
}

TEST(Coroutines, DestroyingATaskWhoseResumptionIsQueuedIsSafe) {
  Gate gate;
  Pool pool = MakeWorkerPool(gate, 1);
  ManualExecutor manual;
  std::atomic<int> code{-1};
  std::optional<weft::Task<void>> t;
  t.emplace(GatedOn(pool.stub(), manual.executor(), &code));
  gate.WaitEntered(1);
  gate.Open();
  // The call resolved; its resumption waits in the executor's queue.
  ASSERT_TRUE(PollUntil([&] { return manual.size() == 1; }, kHangBound));
  t.reset();       // abandoned with its resumption queued
  manual.Drain();  // the coroutine runs to its end and frees itself
  EXPECT_EQ(code.load(), static_cast<int>(absl::StatusCode::kOk));
}

TEST(Coroutines, ResumeOnPostsEvenACallThatAlreadyResolved) {
  Gate gate;
  Pool pool = MakeWorkerPool(gate, 1);
  weft::Stub<TestService> stub = pool.stub();
  LoopThread loop;
  auto f = stub.square(3);
  ASSERT_TRUE(f.WaitFor(kHangBound));  // resolved before it is awaited
  auto resumed_where = [](weft::Future<TestService::SquareResults> f,
                          weft::Executor ex) -> weft::Task<std::thread::id> {
    auto r = co_await weft::ResumeOn(std::move(ex), std::move(f));
    EXPECT_TRUE(r.ok());
    co_return std::this_thread::get_id();
  };
  EXPECT_EQ(resumed_where(std::move(f), loop.executor()).Get(), loop.id());
}

weft::Task<void> TimedAwait(weft::Stub<TestService> stub, std::atomic<int>* finished) {
  auto r = co_await stub.gated(weft::CallOptions{.timeout = absl::Microseconds(500)});
  (void)r;
  finished->fetch_add(1);
}

TEST(Coroutines, DestroyingTasksWhileTheirCallsTimeOutIsSafe) {
  Gate gate;  // never opened: every call ends at its deadline
  Pool pool = MakeWorkerPool(gate, 2);
  weft::Stub<TestService> stub = pool.stub();
  std::atomic<int> finished{0};
  constexpr int kTasks = 200;
  for (int i = 0; i < kTasks; ++i) {
    // Destroyed at once, as its deadline may fire: the abandonment and the
    // continuation thread's resumption race (ASan/TSan check the outcome).
    weft::Task<void> t = TimedAwait(stub, &finished);
  }
  ASSERT_TRUE(PollUntil([&] { return finished.load() == kTasks; }, kHangBound))
      << finished.load() << " of " << kTasks << " abandoned coroutines ended";
  gate.Open();
}

}  // namespace
}  // namespace weft_test
