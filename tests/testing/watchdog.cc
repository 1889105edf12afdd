#include "tests/testing/watchdog.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <utility>

namespace weft_test {

Watchdog::Watchdog(std::string what, absl::Duration bound, std::function<uint64_t()> progress)
    : what_(std::move(what)) {
  thread_ = std::thread(
      [this, bound, progress = std::move(progress)]() mutable { Run(bound, std::move(progress)); });
}

Watchdog::~Watchdog() { Done(); }

void Watchdog::Done() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Watchdog::Run(absl::Duration bound, std::function<uint64_t()> progress) {
  std::unique_lock<std::mutex> lock(mu_);
  absl::Time deadline = absl::Now() + bound;
  uint64_t last = progress ? progress() : 0;
  for (;;) {
    absl::Duration wait = deadline - absl::Now();
    if (progress) wait = std::min(wait, absl::Seconds(1));
    if (cv_.wait_for(lock, absl::ToChronoMilliseconds(std::max(wait, absl::ZeroDuration())),
                     [this] { return done_; })) {
      return;
    }
    if (progress) {
      const uint64_t now = progress();
      if (now != last) {
        last = now;
        deadline = absl::Now() + bound;
      }
    }
    if (absl::Now() >= deadline) break;
  }
  std::fprintf(stderr, "\nWATCHDOG: %s %s %s; aborting\n", what_.c_str(),
               progress ? "made no progress for" : "did not finish within",
               absl::FormatDuration(bound).c_str());
  std::fflush(stderr);
  std::cout.flush();  // what the test printed so far (racy, but we are dying)
  std::abort();
}

}  // namespace weft_test
