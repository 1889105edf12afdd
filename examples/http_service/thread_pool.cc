#include "examples/http_service/thread_pool.h"

#include <algorithm>

namespace http_service {

ThreadPool::ThreadPool(int threads) {
  threads = std::max(threads, 1);
  threads_.reserve(threads);
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
}

ThreadPool::~ThreadPool() {
  std::deque<kj::Function<void()>> unrun;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    unrun.swap(queue_);
    work_or_stop_.SignalAll();
  }
  for (std::thread& t : threads_) t.join();
  // `unrun` goes here, outside the lock: destroying a job destroys its
  // fulfiller, which rejects its promise.
}

void ThreadPool::Post(kj::Function<void()> job) {
  absl::MutexLock lock(&mu_);
  queue_.push_back(kj::mv(job));
  work_or_stop_.Signal();
}

void ThreadPool::Loop() {
  while (true) {
    kj::Function<void()> job;
    {
      absl::MutexLock lock(&mu_);
      // Wake-ups may be spurious: the loop re-checks.
      while (!stopping_ && queue_.empty()) work_or_stop_.Wait(&mu_);
      if (stopping_) return;
      job = kj::mv(queue_.front());
      queue_.pop_front();
    }
    job();
  }
}

}  // namespace http_service
