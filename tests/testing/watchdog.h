// Watchdog: fails a "did not hang" check with a clear message instead of
// letting a hung test sit until Bazel's timeout.
//
//   Watchdog dog(absl::Seconds(30), "Shutdown from a Then callback returned");
//   ... the code that must not hang ...
//   dog.Done();
//
// If Done() is not called within the bound, the process prints the message
// and aborts. The bound is generous: only a hang can exceed it; it is not a
// timing assertion.
#ifndef WEFT_TESTS_TESTING_WATCHDOG_H_
#define WEFT_TESTS_TESTING_WATCHDOG_H_

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

#include "absl/time/time.h"

namespace weft_test {

class Watchdog {
 public:
  Watchdog(absl::Duration bound, std::string what)
      : what_(std::move(what)), thread_([this, bound] {
          std::unique_lock<std::mutex> lock(mu_);
          if (!cv_.wait_for(lock, absl::ToChronoSeconds(bound), [this] { return done_; })) {
            std::fprintf(stderr, "watchdog: hang — not done within %s: %s\n",
                         absl::FormatDuration(bound).c_str(), what_.c_str());
            std::abort();
          }
        }) {}
  ~Watchdog() { Done(); }
  void Done() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::string what_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace weft_test

#endif  // WEFT_TESTS_TESTING_WATCHDOG_H_
