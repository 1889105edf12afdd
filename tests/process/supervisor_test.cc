// The supervisor of process workers: a worker SIGKILLed mid-call fails that
// call and is replaced; calls queued behind it are served by the
// replacement; a worker crashing at every start is given up after
// max_restarts; a slow replacement does not hold up handling another
// worker's death; four host threads keep calling while workers are killed
// 10 times.
//
// Nothing here is timed: a call is known to be running by Stats()'s
// calls_started, a start by the worker's start log, a death by the status
// it gives the calls; every wait is bounded by kHangBound, which only a
// hang exceeds.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "runtime/pool.h"
#include "tests/process/proc_test.weft.h"
#include "tests/process/process_test_util.h"
#include "tests/testing/checksum.h"

namespace weft_test {
namespace {

// ------------------------------------------------------------ kill -9 mid-call

TEST_F(ProcessTest, KillNineMidCallFailsThatCallAndTheReplacementServes) {
  std::set<pid_t> seen;
  {
    auto balancer = std::make_shared<Pinned>();
    weft::PoolOptions options = ProcOptions(2, "proc_worker");
    options.custom_balancer = balancer;
    auto pool = Pool::Create(options);
    ASSERT_TRUE(pool.ok()) << pool.status();
    auto stub = pool->stub();
    constexpr size_t kVictim = 1;
    constexpr size_t kBystander = 0;
    const pid_t bystander = pool->Stats().workers[kBystander].pid;
    seen.insert(bystander);

    balancer->Set(kVictim);
    const uint64_t started_before = pool->Stats().workers[kVictim].calls_started;
    auto spin = stub.spin(~0ull);
    ASSERT_TRUE(PollUntil(
        [&] { return pool->Stats().workers[kVictim].calls_started > started_before; }, kHangBound))
        << "spin() never started on worker " << kVictim;
    const pid_t victim = pool->Stats().workers[kVictim].pid;
    ASSERT_GT(victim, 0);
    seen.insert(victim);
    EXPECT_FALSE(spin.Ready());

    ASSERT_EQ(kill(victim, SIGKILL), 0) << std::strerror(errno);
    ASSERT_TRUE(spin.WaitFor(kHangBound))
        << "the running call never resolved after its worker's SIGKILL (hang)";
    auto s = spin.Get();
    ASSERT_FALSE(s.ok()) << "spin(~0) cannot have finished; got reached=" << s->getReached();
    EXPECT_EQ(s.status().code(), absl::StatusCode::kUnavailable) << s.status();
    // The death resolved it: the supervisor names the worker, its pid and
    // how it died.
    EXPECT_NE(s.status().message().find(absl::StrCat("worker 1 (pid ", victim, ") died")),
              std::string::npos)
        << s.status();
    EXPECT_NE(s.status().message().find("signal 9"), std::string::npos) << s.status();
    std::cout << "spin resolved after the SIGKILL: " << s.status() << "\n";

    // 200 calls, all served by the replacement.
    std::set<pid_t> served;
    for (int i = 0; i < 200; ++i) {
      auto f = stub.pid();
      ASSERT_TRUE(f.WaitFor(kHangBound)) << "call " << i << " after the kill hung";
      auto r = f.Get();
      ASSERT_TRUE(r.ok()) << "call " << i << " after the kill: " << r.status();
      served.insert(r->getPid());
    }
    ASSERT_EQ(served.size(), 1u) << "calls to one worker slot served by several pids";
    const pid_t replacement = *served.begin();
    seen.insert(replacement);
    EXPECT_NE(replacement, victim);
    EXPECT_NE(replacement, bystander);
    {
      auto sq = stub.square(11).Get();
      ASSERT_TRUE(sq.ok()) << sq.status();
      EXPECT_EQ(sq->getResult(), 121);
    }  // its Response (and slot) goes here

    weft::PoolStats stats = pool->Stats();
    EXPECT_EQ(stats.workers[kVictim].pid, replacement);
    EXPECT_GE(stats.workers[kVictim].restarts, 1u);
    EXPECT_TRUE(stats.workers[kVictim].up);
    EXPECT_FALSE(stats.workers[kVictim].failed);
    // The other worker never noticed.
    EXPECT_EQ(stats.workers[kBystander].pid, bystander);
    EXPECT_EQ(stats.workers[kBystander].restarts, 0u);
    balancer->Set(kBystander);
    EXPECT_EQ(PidOf(stub), bystander);

    // Every Response is gone: no slot and no abort slot is still held.
    stats = pool->Stats();
    for (size_t w = 0; w < stats.workers.size(); ++w) {
      EXPECT_EQ(stats.workers[w].slots_in_use, 0u) << "worker " << w;
    }
    EXPECT_EQ(stats.abort_slots_in_use, 0u);

    // The killed process was reaped by the pool, not left a zombie.
    EXPECT_TRUE(PollUntil([&] { return StateOf(victim) == ProcState::kGone; }, kHangBound))
        << "the SIGKILLed worker " << victim << " is " << ToString(StateOf(victim));
    Watchdog wd("destroying the pool", kHangBound);
    pool = absl::UnavailableError("destroyed");
  }
  ExpectAllGone(seen, "after the pool was destroyed");
}

// Calls sent to a worker after it was killed, before the host noticed, are
// queued (never started): they wait for the replacement and succeed.
TEST_F(ProcessTest, CallsQueuedBehindAKilledWorkerAreServedByItsReplacement) {
  std::set<pid_t> seen;
  {
    auto balancer = std::make_shared<Pinned>();
    weft::PoolOptions options = ProcOptions(1, "proc_worker");
    options.custom_balancer = balancer;
    auto pool = Pool::Create(options);
    ASSERT_TRUE(pool.ok()) << pool.status();
    auto stub = pool->stub();
    auto spin = stub.spin(~0ull);
    ASSERT_TRUE(PollUntil([&] { return pool->Stats().workers[0].calls_started > 0; }, kHangBound))
        << "spin() never started";
    const pid_t victim = pool->Stats().workers[0].pid;
    seen.insert(victim);
    // Queue calls while the worker is busy, then kill it: none of them started.
    std::vector<weft::Future<ProcTest::SquareResults>> queued;
    for (int i = 0; i < 100; ++i) queued.push_back(stub.square(i));
    ASSERT_EQ(kill(victim, SIGKILL), 0);
    ASSERT_TRUE(spin.WaitFor(kHangBound)) << "the running call never resolved (hang)";
    EXPECT_EQ(spin.Get().status().code(), absl::StatusCode::kUnavailable);
    int ok = 0;
    std::map<std::string, int> failures;
    for (int i = 0; i < 100; ++i) {
      ASSERT_TRUE(queued[i].WaitFor(kHangBound)) << "queued call " << i << " hung";
      auto r = queued[i].Get();
      if (r.ok() && r->getResult() == int64_t{i} * i) {
        ++ok;
      } else if (!r.ok()) {
        ++failures[r.status().ToString()];
      }
    }
    std::string summary;
    for (const auto& [status, n] : failures) absl::StrAppend(&summary, n, " x ", status, "; ");
    EXPECT_EQ(ok, 100) << "queued calls that did not succeed on the replacement: " << summary;
    seen.insert(pool->Stats().workers[0].pid);
    Watchdog wd("destroying the pool", kHangBound);
    pool = absl::UnavailableError("destroyed");
  }
  ExpectAllGone(seen, "after the pool was destroyed");
}

// ------------------------------------------------------------ crash at every start

TEST_F(ProcessTest, WorkerCrashingAtEveryStartIsGivenUpAndCallsFailUnavailable) {
  const std::string marker = absl::StrCat(TempDir(), "/weft_crash_marker_", getpid());
  const std::string start_log = absl::StrCat(TempDir(), "/weft_start_log_", getpid());
  unlink(marker.c_str());
  unlink(start_log.c_str());
  std::set<pid_t> seen;
  {
    weft::PoolOptions options = ProcOptions(1, "crash_on_start_worker");
    options.command_prefix = {"env", "WEFT_TEST_CRASH_MARKER=" + marker,
                              "WEFT_TEST_START_LOG=" + start_log};
    options.max_restarts = 3;
    auto pool = Pool::Create(options);
    ASSERT_TRUE(pool.ok()) << pool.status();
    auto stub = pool->stub();
    const pid_t first = PidOf(stub);
    seen.insert(first);
    EXPECT_EQ(pool->Stats().workers[0].pid, first);

    // From now on every start crashes.
    { std::ofstream(marker) << "crash\n"; }
    auto c = stub.crash();
    ASSERT_TRUE(c.WaitFor(kHangBound)) << "crash() never resolved (hang)";
    auto cr = c.Get();
    EXPECT_EQ(cr.status().code(), absl::StatusCode::kUnavailable) << cr.status();

    // Sent while the worker is down: waits for a replacement that never comes.
    auto pending = stub.square(3);

    bool failed = false;
    weft::WorkerStats last;
    ASSERT_TRUE(PollUntil(
        [&] {
          last = pool->Stats().workers[0];
          if (last.pid > 0) seen.insert(last.pid);
          failed = last.failed;
          return failed;
        },
        kHangBound))
        << "the worker was never given up; restarts=" << last.restarts << " up=" << last.up;
    // Every start, failed or not, wrote a line to the start log: the first
    // start, then the failed replacements. Each failed one had written its
    // line before it aborted, so all of them are in the log by the time
    // `failed` is set.
    const int attempts = static_cast<int>(StartedPids(start_log).size()) - 1;
    std::cout << "given up: " << attempts << " failed start attempts, Stats().restarts "
              << last.restarts << ", last_exit \"" << last.last_exit << "\"\n";
    EXPECT_GE(attempts, 1) << "no replacement was even tried";
    EXPECT_LE(attempts, static_cast<int>(options.max_restarts))
        << "more start attempts than max_restarts";
    EXPECT_LE(last.restarts, static_cast<uint64_t>(options.max_restarts));
    EXPECT_FALSE(last.up);
    EXPECT_NE(absl::AsciiStrToLower(last.last_exit).find("signal"), std::string::npos)
        << "last_exit should say the replacement died of SIGABRT: " << last.last_exit;

    ASSERT_TRUE(pending.WaitFor(kHangBound))
        << "a call queued for the given-up worker never resolved (hang)";
    auto p = pending.Get();
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.status().code(), absl::StatusCode::kUnavailable) << p.status();
    EXPECT_NE(p.status().message().find("given up"), std::string::npos) << p.status();

    auto later = stub.square(4);
    ASSERT_TRUE(later.WaitFor(kHangBound)) << "a call to a given-up worker hung";
    auto l = later.Get();
    ASSERT_FALSE(l.ok());
    EXPECT_EQ(l.status().code(), absl::StatusCode::kUnavailable) << l.status();
    EXPECT_NE(l.status().message().find("given up"), std::string::npos) << l.status();
    std::cout << "call to the given-up worker: " << l.status() << "\n";

    // The restart attempts stopped: no start was logged after it was given
    // up. (A correct supervisor never launches one, so this cannot fail
    // spuriously; it catches a start that came during the calls above.)
    EXPECT_EQ(static_cast<int>(StartedPids(start_log).size()) - 1, attempts)
        << "start attempts went on after the worker was given up";
    EXPECT_TRUE(pool->Stats().workers[0].failed);
    EXPECT_EQ(pool->Stats().workers[0].slots_in_use, 0u);
    Watchdog wd("destroying the pool", kHangBound);
    pool = absl::UnavailableError("destroyed");
  }
  for (pid_t pid : StartedPids(start_log)) seen.insert(pid);
  unlink(marker.c_str());
  unlink(start_log.c_str());
  ExpectAllGone(seen, "after the pool was destroyed");
}

// While one worker's replacement is slow to start, another worker's death
// must still be handled: its running call resolves Unavailable while that
// start is pending, not after it.
//
// No stopwatch: worker 0's replacement blocks in OnStart (the hang marker)
// and startup_timeout is an hour, so that start cannot end during the test.
// A supervisor that waited for it would never resolve worker 1's call, and
// the hang bound would fail the test; one that handles both resolves it,
// and the test checks that worker 0's replacement was still starting (not
// up, alive in OnStart) when it did.
TEST_F(ProcessTest, SlowReplacementDoesNotDelayAnotherWorkersDeath) {
  const std::string hang = absl::StrCat(TempDir(), "/weft_hang_marker_", getpid());
  const std::string start_log = absl::StrCat(TempDir(), "/weft_start_log_slow_", getpid());
  unlink(hang.c_str());
  unlink(start_log.c_str());
  std::set<pid_t> seen;
  {
    auto balancer = std::make_shared<Pinned>();
    weft::PoolOptions options = ProcOptions(2, "crash_on_start_worker");
    options.command_prefix = {"env", "WEFT_TEST_HANG_MARKER=" + hang,
                              "WEFT_TEST_START_LOG=" + start_log};
    options.custom_balancer = balancer;
    // Never reached: a start that hangs stays pending for the whole test.
    options.startup_timeout = absl::Hours(1);
    auto pool = Pool::Create(options);
    ASSERT_TRUE(pool.ok()) << pool.status();
    auto stub = pool->stub();
    for (const auto& w : pool->Stats().workers) seen.insert(w.pid);
    ASSERT_EQ(StartedPids(start_log).size(), 2u);

    // Worker 0 dies; its replacement hangs in OnStart.
    { std::ofstream(hang) << "hang\n"; }
    balancer->Set(0);
    auto c = stub.crash();
    ASSERT_TRUE(c.WaitFor(kHangBound)) << "crash() never resolved (hang)";
    EXPECT_EQ(c.Get().status().code(), absl::StatusCode::kUnavailable);
    ASSERT_TRUE(PollUntil([&] { return StartedPids(start_log).size() >= 3; }, kHangBound))
        << "no replacement was started for worker 0";
    const pid_t slow = StartedPids(start_log)[2];  // in OnStart, for good
    seen.insert(slow);

    // Worker 1 is killed mid-call while that start is pending.
    balancer->Set(1);
    const uint64_t started = pool->Stats().workers[1].calls_started;
    auto spin = stub.spin(~0ull);
    ASSERT_TRUE(
        PollUntil([&] { return pool->Stats().workers[1].calls_started > started; }, kHangBound))
        << "spin() never started on worker 1";
    const pid_t victim = pool->Stats().workers[1].pid;
    ASSERT_GT(victim, 0);
    ASSERT_EQ(kill(victim, SIGKILL), 0);
    ASSERT_TRUE(spin.WaitFor(kHangBound))
        << "worker 1's running call was never resolved after its SIGKILL while worker 0's "
           "replacement was starting: the slow start holds up the supervisor";
    auto s = spin.Get();
    EXPECT_EQ(s.status().code(), absl::StatusCode::kUnavailable) << s.status();
    EXPECT_NE(s.status().message().find(absl::StrCat("worker 1 (pid ", victim, ") died")),
              std::string::npos)
        << s.status();
    // ... and that was while worker 0's replacement was still starting.
    const weft::WorkerStats w0 = pool->Stats().workers[0];
    EXPECT_EQ(w0.pid, slow);
    EXPECT_FALSE(w0.up) << "worker 0's replacement came up: its start was not pending";
    EXPECT_EQ(StateOf(slow), ProcState::kAlive);
    std::cout << "worker 1's call resolved while worker 0's replacement (pid " << slow
              << ") was starting: " << s.status() << "\n";

    unlink(hang.c_str());
    // The pending starts (worker 0's, and worker 1's replacement's, which
    // saw the marker too) are ended by the pool as it stops.
    Watchdog wd("destroying the pool", kHangBound);
    pool = absl::UnavailableError("destroyed");
  }
  for (pid_t pid : StartedPids(start_log)) seen.insert(pid);
  unlink(start_log.c_str());
  ExpectAllGone(seen, "after the pool was destroyed");
}

// ------------------------------------------------------------ repeated kills

// Four host threads keep calling two workers while the test SIGKILLs them
// again and again: every call resolves (OK, or Unavailable when its worker
// died under it), the right answers come back, and no slot leaks.
// (FourThreadsEchoSpilledPayloads in end_to_end_test.cc is the same traffic
// without any kill.)
TEST_F(ProcessTest, CallersOnManyThreadsSurviveRepeatedKills) {
  std::set<pid_t> seen;
  {
    auto pool = Pool::Create(ProcOptions(2, "proc_worker"));
    ASSERT_TRUE(pool.ok()) << pool.status();
    std::atomic<bool> stop{false};
    std::atomic<int> ok{0}, unavailable{0}, wrong{0}, other{0}, hung{0};
    std::mutex other_mu;
    std::string other_status;
    std::vector<std::thread> callers;
    for (int t = 0; t < 4; ++t) {
      callers.emplace_back([&, t, stub = pool->stub()]() mutable {
        std::vector<kj::byte> payload(1000 + t * 3000);
        for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<kj::byte>(i + t);
        const capnp::Data::Reader reader(payload.data(), payload.size());
        const uint64_t sum = Checksum(reader);
        for (int64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
          std::vector<weft::Future<ProcTest::SquareResults>> window;
          for (int k = 0; k < 8; ++k) window.push_back(stub.square(i * 8 + k));
          auto e = stub.echo(reader);
          for (int k = 0; k < 8; ++k) {
            if (!window[k].WaitFor(kHangBound)) {
              ++hung;
              continue;
            }
            auto r = window[k].Get();
            if (r.ok()) {
              (r->getResult() == (i * 8 + k) * (i * 8 + k) ? ok : wrong)++;
            } else if (r.status().code() == absl::StatusCode::kUnavailable) {
              ++unavailable;
            } else {
              ++other;
              std::lock_guard<std::mutex> lock(other_mu);
              other_status = r.status().ToString();
            }
          }
          if (!e.WaitFor(kHangBound)) {
            ++hung;
            continue;
          }
          auto r = e.Get();
          if (r.ok()) {
            (r->getChecksum() == sum && r->getData().size() == payload.size() ? ok : wrong)++;
          } else if (r.status().code() == absl::StatusCode::kUnavailable) {
            ++unavailable;
          } else {
            ++other;
            std::lock_guard<std::mutex> lock(other_mu);
            other_status = r.status().ToString();
          }
        }
      });
    }
    for (int round = 0; round < 10; ++round) {
      const size_t w = static_cast<size_t>(round % 2);
      const uint64_t restarts = pool->Stats().workers[w].restarts;
      // Let some calls through first.
      const int ok_before = ok.load();
      ASSERT_TRUE(PollUntil([&] { return ok.load() > ok_before + 50; }, kHangBound))
          << "round " << round << ": calls stopped succeeding";
      const pid_t victim = pool->Stats().workers[w].pid;
      ASSERT_GT(victim, 0) << "round " << round;
      seen.insert(victim);
      ASSERT_EQ(kill(victim, SIGKILL), 0);
      ASSERT_TRUE(PollUntil(
          [&] {
            weft::WorkerStats s = pool->Stats().workers[w];
            return s.up && s.restarts > restarts && s.pid > 0 && s.pid != victim;
          },
          kHangBound))
          << "round " << round << ": worker " << w << " was not replaced";
    }
    stop = true;
    for (auto& t : callers) t.join();
    for (const auto& w : pool->Stats().workers) seen.insert(w.pid);
    std::cout << "ok " << ok << ", unavailable " << unavailable << ", wrong " << wrong << ", other "
              << other << " (" << other_status << "), hung " << hung << "\n";
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_EQ(other.load(), 0) << other_status;
    EXPECT_EQ(hung.load(), 0);
    EXPECT_GT(ok.load(), 500);
    weft::PoolStats stats = pool->Stats();
    for (size_t w = 0; w < stats.workers.size(); ++w) {
      EXPECT_EQ(stats.workers[w].slots_in_use, 0u) << "worker " << w;
      EXPECT_GE(stats.workers[w].restarts, 5u) << "worker " << w;
    }
    auto stub = pool->stub();
    for (int i = 0; i < 20; ++i) {
      auto r = stub.square(i).Get();
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(r->getResult(), i * i);
    }
    Watchdog wd("destroying the pool", kHangBound);
    pool = absl::UnavailableError("destroyed");
  }
  ExpectAllGone(seen, "after the pool was destroyed");
}

}  // namespace
}  // namespace weft_test
