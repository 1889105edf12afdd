// What the process-worker tests (tests/process/*_test.cc) share: the worker
// binaries in this package's runfiles, a pool's options for one of them, a
// look at this process's children and at /dev/shm, bounded polling, a
// balancer the test steers, a watchdog, and the fixture that checks every
// test leaves no child process and no /dev/shm name behind.
//
// Synchronization is explicit: the test waits for a call to be running by
// polling Stats() (bounded), never by sleeping for a guessed time. The only
// time bounds are the requirements themselves (e.g. workers gone within 3 s
// of the host's death) and generous limits that turn a hang into a failure.
#ifndef WEFT_TESTS_PROCESS_PROCESS_TEST_UTIL_H_
#define WEFT_TESTS_PROCESS_PROCESS_TEST_UTIL_H_

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "gtest/gtest.h"
#include "runtime/pool.h"
#include "tests/process/proc_test.weft.h"

namespace weft_test {

using Pool = weft::Pool<ProcTest>;

// A file of this package's runfiles, as an absolute path.
std::string Runfile(const std::string& relative);

// tests/process/<name> in the runfiles (the test's BUILD rule lists it as data).
std::string WorkerBinary(const std::string& name);

// $TEST_TMPDIR, or /tmp outside Bazel.
std::string TempDir();

// The names under /dev/shm that weft could have made.
std::set<std::string> ShmNames();

std::string Describe(const std::set<std::string>& names);

// The names of ShmNames() that are not in `before`.
std::set<std::string> NewNames(const std::set<std::string>& before);

enum class ProcState { kGone, kZombie, kAlive };

const char* ToString(ProcState s);

ProcState StateOf(pid_t pid);

// Every process whose parent is this process (alive or zombie), with its
// state and command line.
std::vector<std::string> Children();

template <typename Predicate>
bool PollUntil(Predicate done, absl::Duration bound) {
  const absl::Time deadline = absl::Now() + bound;
  for (;;) {
    if (done()) return true;
    if (absl::Now() >= deadline) return done();
    absl::SleepFor(absl::Milliseconds(1));
  }
}

// Routes every call to the worker the test names.
class Pinned final : public weft::Balancer {
 public:
  size_t Pick(absl::Span<const weft::WorkerLoad> loads) override {
    (void)loads;
    return target_.load(std::memory_order_relaxed);
  }
  void Set(size_t worker) { target_.store(worker, std::memory_order_relaxed); }

 private:
  std::atomic<size_t> target_{0};
};

// Turns a hang into a precise failure: aborts the test binary (with a message
// naming what hung) unless disarmed within `bound`.
class Watchdog {
 public:
  Watchdog(std::string what, absl::Duration bound);
  ~Watchdog();

 private:
  std::string what_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

// `workers` process workers running tests/process/<binary>; each test sets
// the rest of its options itself.
weft::PoolOptions ProcOptions(int workers, const std::string& binary);

const char* ModeName(weft::SharedMemory mode);

// Every test starts and ends with no child process and no new /dev/shm name.
class ProcessTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  void ExpectCleanHost(const std::string& when);
  void ExpectAllGone(const std::set<pid_t>& pids, const std::string& when);

  std::set<std::string> shm_before_;
};

// The pid of the worker that serves a pid() call (-1, and a failure, if the
// call fails).
int32_t PidOf(weft::Stub<ProcTest>& stub);

}  // namespace weft_test

#endif  // WEFT_TESTS_PROCESS_PROCESS_TEST_UTIL_H_
