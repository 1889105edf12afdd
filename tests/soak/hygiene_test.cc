// Pool hygiene: many create / call / destroy cycles must leave the process
// as they found it — file descriptors, threads, child processes, /dev/shm
// names, and resident memory (after a warm-up, within a generous bound). One
// test per kind of pool: thread workers, process workers with anonymous
// regions (memfd), process workers with named regions (shm_open).
//
// Each cycle creates a pool of two workers, makes a few calls (square, a
// spilled echo, an aborted spin, a Then, and for process workers pid(), which
// must name a child of this process), destroys the pool, and checks fds,
// threads, children and /dev/shm against the figures from before the first
// cycle, so a leak is reported at the cycle that made it. RSS is compared at
// the end with its value after the warm-up.
//
// Cycles: WEFT_HYGIENE_CYCLES (every pool kind), by default 1000 (fewer
// process cycles under the sanitizers, kDefaultProcessCycles below):
//
//   tools/bazel test //tests/soak:hygiene_test --test_output=all
//       --test_env=WEFT_HYGIENE_CYCLES=200   # a quicker run
//
// Every wait is bounded (a leak or a hang fails the test, naming the cycle);
// nothing depends on elapsed time.
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "runtime/pool.h"
#include "tests/process/proc_impl.h"
#include "tests/process/proc_test.weft.h"
#include "tests/process/process_test_util.h"
#include "tests/soak/census.h"
#include "tests/testing/checksum.h"

namespace weft_test {
namespace {

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

// A process cycle costs two fork/execs and boot handshakes: 30-40 ms in
// fastbuild on two cores (1000 cycles: 35-40 s per kind), up to ~120 ms when
// the machine is loaded, and ~180 ms under the sanitizers, where 1000 cycles
// of both kinds would take ten minutes; there, fewer.
constexpr int kDefaultThreadCycles = 1000;
constexpr int kDefaultProcessCycles = kSanitized ? 100 : 1000;
constexpr int kWarmupCycles = 20;
// RSS after the last cycle may exceed RSS after the warm-up by this much:
// allocator caches (glibc keeps freed memory and thread stacks for reuse),
// and under the sanitizers their quarantine and shadow memory.
constexpr int64_t kRssBoundKib = (kSanitized ? 512 : 64) << 10;

struct Mode {
  const char* name;
  bool process;
  weft::SharedMemory memory;
};

int Cycles(const Mode& mode) {
  const char* env = std::getenv("WEFT_HYGIENE_CYCLES");
  if (env != nullptr && *env != '\0') return std::max(1, std::atoi(env));
  return mode.process ? kDefaultProcessCycles : kDefaultThreadCycles;
}

// What differs from `before` now, as text ("" when nothing does).
std::string Leaks(const Census& before) {
  std::vector<std::string> leaks;
  const int fds = OpenFdCount();
  if (fds != before.fds) leaks.push_back(absl::StrCat("fds ", before.fds, " -> ", fds));
  const int threads = ThreadCount();
  if (threads != before.threads) {
    leaks.push_back(absl::StrCat("threads ", before.threads, " -> ", threads));
  }
  const std::vector<std::string> children = NewChildren(before.children, Children());
  if (!children.empty()) {
    leaks.push_back(absl::StrCat("children: ", absl::StrJoin(children, "; ")));
  }
  if (ShmNames() != before.shm) {  // cheap; the careful check only when it differs
    const std::set<std::string> left = ShmNamesLeftBehind(before.shm);
    if (!left.empty()) leaks.push_back(absl::StrCat("/dev/shm: ", Describe(left)));
  }
  return absl::StrJoin(leaks, ", ");
}

class Hygiene : public ::testing::TestWithParam<Mode> {};

TEST_P(Hygiene, CreateCallDestroyCyclesLeaveNothingBehind) {
  const Mode mode = GetParam();
  const int cycles = Cycles(mode);
  std::vector<kj::byte> payload(3000);  // spills past the 1 KiB inline area
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<kj::byte>(i * 13);
  const capnp::Data::Reader data(payload.data(), payload.size());
  const uint64_t sum = Checksum(data);
  std::atomic<int> continuations{0};

  // TSan's runtime starts a background thread of its own when the program
  // makes its first thread: make one first, so that it is not counted.
  pid_t warm_tid = 0;
  std::thread([&warm_tid] { warm_tid = gettid(); }).join();
  // join() returns before the kernel has finished the thread's exit: wait
  // until its task is gone, or the census counts it (CI saw "threads 2 -> 1"
  // in a cycle that had left nothing behind).
  ASSERT_TRUE(PollUntil(
      [&] { return access(absl::StrCat("/proc/self/task/", warm_tid).c_str(), F_OK) != 0; },
      kHangBound))
      << "the warm-up thread's task never went away";
  const Census before = TakeCensus();
  int64_t warm_kib = before.rss_kib;
  const absl::Time start = absl::Now();
  int done = 0;
  for (int c = 0; c < cycles; ++c) {
    {
      weft::PoolOptions options =
          mode.process ? ProcOptions(2, "proc_worker") : weft::PoolOptions();
      options.workers = 2;
      options.shared_memory = mode.memory;
      absl::StatusOr<Pool> pool =
          mode.process ? Pool::Create(options)
                       : Pool::Create(options, [] { return std::make_unique<ProcImpl>(); });
      ASSERT_TRUE(pool.ok()) << "cycle " << c << ": " << pool.status();
      weft::Stub<ProcTest> stub = pool->stub();

      auto square = stub.square(c).Get();
      ASSERT_TRUE(square.ok()) << "cycle " << c << ": " << square.status();
      EXPECT_EQ(square->getResult(), int64_t{c} * c);
      auto echo = stub.echo(data).Get();
      ASSERT_TRUE(echo.ok()) << "cycle " << c << ": " << echo.status();
      EXPECT_EQ(echo->getChecksum(), sum);
      auto spin = stub.spin(~0ull);
      spin.Abort();
      EXPECT_EQ(spin.Get().status().code(), absl::StatusCode::kCancelled) << "cycle " << c;
      stub.square(2).Then([&continuations](auto r) {
        if (r.ok() && r->getResult() == 4) continuations.fetch_add(1);
      });
      if (mode.process) {
        auto pid = stub.pid().Get();
        ASSERT_TRUE(pid.ok()) << "cycle " << c << ": " << pid.status();
        EXPECT_NE(pid->getPid(), getpid());
        EXPECT_NE(NewChildren(before.children, Children()).size(), 0u)
            << "cycle " << c << ": the worker is not a child of this process";
      }
      Watchdog wd(absl::StrCat("destroying the pool of cycle ", c), absl::Seconds(60));
      pool = absl::UnavailableError("destroyed");
    }  // every Response is gone here too
    // Every Then callback has run by the time its pool is gone.
    ASSERT_EQ(continuations.load(), c + 1) << "cycle " << c;
    // Bounded: a thread joined a moment ago may still be counted by the
    // kernel while it finishes exiting.
    std::string leaks;
    PollUntil([&] { return (leaks = Leaks(before)).empty(); }, absl::Seconds(5));
    ASSERT_TRUE(leaks.empty()) << "cycle " << c << " left: " << leaks;
    done = c + 1;
    if (done == std::min(kWarmupCycles, cycles)) warm_kib = StatusKib("VmRSS");
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const Census after = TakeCensus();
  std::printf(
      "hygiene %s: %d cycles in %.1f s (%.1f ms each)\n"
      "hygiene %s:   before / after: fds %d / %d, threads %d / %d, children %zu / %zu, "
      "/dev/shm weft names %zu / %zu\n"
      "hygiene %s:   RSS %s before, %s after %d warm-up cycles, %s after the last (+%s; bound "
      "+%s), peak %s\n",
      mode.name, done, seconds, 1000 * seconds / std::max(done, 1), mode.name, before.fds,
      after.fds, before.threads, after.threads, before.children.size(), after.children.size(),
      before.shm.size(), after.shm.size(), mode.name, Mib(before.rss_kib).c_str(),
      Mib(warm_kib).c_str(), std::min(kWarmupCycles, cycles), Mib(after.rss_kib).c_str(),
      Mib(after.rss_kib - warm_kib).c_str(), Mib(kRssBoundKib).c_str(), Mib(after.hwm_kib).c_str());
  std::fflush(stdout);
  EXPECT_EQ(done, cycles);
  EXPECT_LE(after.rss_kib, warm_kib + kRssBoundKib);
}

INSTANTIATE_TEST_SUITE_P(
    Pools, Hygiene,
    ::testing::Values(Mode{"threads", false, weft::SharedMemory::kAnonymous},
                      Mode{"processes_anonymous", true, weft::SharedMemory::kAnonymous},
                      Mode{"processes_named", true, weft::SharedMemory::kNamed}),
    [](const ::testing::TestParamInfo<Mode>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace weft_test
