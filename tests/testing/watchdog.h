// Hang detection for the tests, which never decide pass/fail on elapsed
// time: they synchronize explicitly (gates, Stats() counters, statuses) and
// bound only what could hang. Speed is measured in benchmarks/, not here.
//
//   ASSERT_TRUE(future.WaitFor(kHangBound)) << "the call hung";
//   ASSERT_TRUE(PollUntil([&] { return pool->Stats().workers[0].up; }, kHangBound));
//   Watchdog wd("destroying the pool", kHangBound);  // aborts the binary on a hang
#ifndef WEFT_TESTS_TESTING_WATCHDOG_H_
#define WEFT_TESTS_TESTING_WATCHDOG_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace weft_test {

// How long a test waits for something that must happen (a call resolving, a
// process exiting, a replacement serving) before it calls it a hang. Far
// beyond what any of them takes on a loaded machine, so only a hang exceeds
// it; it is never a speed requirement.
inline constexpr absl::Duration kHangBound = absl::Seconds(60);

// Polls `done` (every millisecond) until it is true or `bound` has passed;
// returns its last value. The bound only turns a hang into a failure.
template <typename Predicate>
bool PollUntil(Predicate done, absl::Duration bound) {
  const absl::Time deadline = absl::Now() + bound;
  for (;;) {
    if (done()) return true;
    if (absl::Now() >= deadline) return done();
    absl::SleepFor(absl::Milliseconds(1));
  }
}

// Turns a hang into a precise failure: aborts the test binary, with a
// message naming what hung, unless destroyed within `bound`. With
// `progress`, the bound is on the time since the value it returns last
// changed (sampled about once a second): a long run that keeps moving is no
// hang, however slow.
class Watchdog {
 public:
  Watchdog(std::string what, absl::Duration bound,
           std::function<uint64_t()> progress = std::function<uint64_t()>());
  ~Watchdog();
  // Disarms early (what the destructor does); idempotent.
  void Done();

  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  void Run(absl::Duration bound, std::function<uint64_t()> progress);

  std::string what_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace weft_test

#endif  // WEFT_TESTS_TESTING_WATCHDOG_H_
