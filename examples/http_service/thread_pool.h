// ThreadPool: a plain pool of std::threads that take jobs from one
// mutex-guarded queue, with its results handed back to a KJ event loop. It
// is the baseline http_service measures weft against: the usual way to get
// heavy work off an event loop, written as plainly as it can be.
//
//   http_service::ThreadPool threads(4);
//   kj::Promise<int> p = threads.Run([] { return 6 * 7; });  // on the loop
//   int answer = p.wait(wait_scope);                          // 42
//
// Run() completes through kj::newPromiseAndCrossThreadFulfiller, so the
// promise resolves on the loop of the thread that called Run(). Dropping the
// promise does not stop the job (there is no way to interrupt it); its
// result is discarded.
//
// Thread safety: thread-safe. Run() must be called on a thread with a KJ
// event loop; Post() from any thread. The destructor waits for the running
// jobs to finish and destroys the queued ones unrun (their promises reject).
// The lock is absl::Mutex, whose annotations clang checks; Debian's Abseil
// is not built for ThreadSanitizer, which this example is not run under.
#ifndef WEFT_EXAMPLES_HTTP_SERVICE_THREAD_POOL_H_
#define WEFT_EXAMPLES_HTTP_SERVICE_THREAD_POOL_H_

#include <deque>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "kj/async.h"
#include "kj/function.h"

namespace http_service {

class ThreadPool {
 public:
  // Starts `threads` threads (at least 1).
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Queues `job` to run on one of the threads.
  void Post(kj::Function<void()> job);

  // Runs `work` on one of the threads; the promise resolves on this thread's
  // event loop with what it returned, or rejects with what it threw.
  template <typename F>
  kj::Promise<std::invoke_result_t<F&>> Run(F work) {
    using R = std::invoke_result_t<F&>;
    auto paf = kj::newPromiseAndCrossThreadFulfiller<R>();
    Post([work = kj::mv(work), done = kj::mv(paf.fulfiller)]() mutable {
      done->rejectIfThrows([&] {
        if constexpr (std::is_void_v<R>) {
          work();
          done->fulfill();
        } else {
          done->fulfill(work());
        }
      });
    });
    return kj::mv(paf.promise);
  }

 private:
  void Loop();

  absl::Mutex mu_;
  absl::CondVar work_or_stop_;  // signalled by Post and the destructor
  std::deque<kj::Function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;  // written only by the constructor
};

}  // namespace http_service

#endif  // WEFT_EXAMPLES_HTTP_SERVICE_THREAD_POOL_H_
