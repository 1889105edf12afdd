// What the process-worker tests (tests/process/*_test.cc) share: the worker
// binaries in this package's runfiles, a pool's options for one of them, a
// look at this process's children and at /dev/shm, a balancer the test
// steers, and the fixture that checks every test leaves no child process and
// no /dev/shm name behind. Bounded polling and the watchdog come from
// tests/testing/watchdog.h.
//
// Synchronization is explicit: the test waits for a call to be running by
// polling Stats(), for a worker's start by the marker it writes, for a
// process's end by its exit status, never by sleeping for a guessed time.
// No test asserts how long anything took: the only time bounds are
// kHangBound and the like, which only a hang can exceed.
#ifndef WEFT_TESTS_PROCESS_PROCESS_TEST_UTIL_H_
#define WEFT_TESTS_PROCESS_PROCESS_TEST_UTIL_H_

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "gtest/gtest.h"
#include "runtime/pool.h"
#include "tests/process/proc_test.weft.h"
#include "tests/testing/watchdog.h"

namespace weft_test {

using Pool = weft::Pool<ProcTest>;

// A file of this package's runfiles, as an absolute path.
std::string Runfile(const std::string& relative);

// tests/process/<name> in the runfiles (the test's BUILD rule lists it as data).
std::string WorkerBinary(const std::string& name);

// $TEST_TMPDIR, or /tmp outside Bazel.
std::string TempDir();

// The pids in a start log, in order: each worker that logs its start
// (LogStart in proc_impl.h: crash_on_start_worker, never_ready_worker)
// appends its pid when it reaches OnStart.
std::vector<pid_t> StartedPids(const std::string& start_log);

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
