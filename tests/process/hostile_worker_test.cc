// Hostile workers (hostile_worker): one that scribbles random bytes over its
// own shared-memory region, one that tries to write the request areas the
// host builds requests in (read-only to it), and one that rewrites its
// responses while the host reads them. Each runs in a death-test child, so a host crash or
// hang is reported as such; the host must survive and its other worker must
// keep serving.
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "gtest/gtest-spi.h"
#include "gtest/gtest.h"
#include "runtime/pool.h"
#include "tests/process/proc_test.weft.h"
#include "tests/process/process_test_util.h"
#include "tests/testing/checksum.h"

namespace weft_test {
namespace {

// What a call to a hostile worker may resolve to besides OK: the host's own
// verdicts (DataLoss / InvalidArgument on malformed data, Unavailable when it
// dies, DeadlineExceeded when it stalls, Internal for what its skeleton
// threw), plus any status the worker itself writes back: a worker may return
// any status from a skeleton method, so a hostile one can name any code
// (e.g. Cancelled, from its own "aborted before a worker picked it up" check
// on a scribbled abort flag). The code must still be a valid absl code and
// the message bounded.
bool IsHostileOutcome(const absl::Status& status) {
  const int code = static_cast<int>(status.code());
  return code >= 1 && code <= 16 && status.message().size() <= 4096;
}

// The body of the test below, run in a death-test child: a host crash or a
// hang (the watchdogs abort) is then reported as such and the rest of the
// suite still runs. Everything it prints goes to stderr, which the death
// test shows.
void HostileScribblerBody() {
  const std::set<std::string> shm_before = ShmNames();
  std::set<pid_t> seen;
  {
    auto balancer = std::make_shared<Pinned>();
    weft::PoolOptions options = ProcOptions(2, "hostile_worker");
    options.custom_balancer = balancer;
    auto pool = Pool::Create(options);
    ASSERT_TRUE(pool.ok()) << pool.status();
    auto stub = pool->stub();
    constexpr size_t kHostile = 0;
    constexpr size_t kHealthy = 1;
    balancer->Set(kHealthy);
    const pid_t healthy = PidOf(stub);
    balancer->Set(kHostile);
    const pid_t hostile = PidOf(stub);
    ASSERT_NE(healthy, hostile);
    seen.insert(healthy);
    seen.insert(hostile);

    // The scribbler may wreck scribble()'s own answer, so the call has a
    // deadline; a generous one, so that it is the scribbling, not a loaded
    // machine, that decides how the call ends. That the worker took the
    // call, and so started scribbling, is checked by its counter.
    const uint64_t taken = pool->Stats().workers[kHostile].calls_started;
    auto sc = stub.scribble(weft::CallOptions{.timeout = kHangBound / 2});
    ASSERT_TRUE(sc.WaitFor(kHangBound)) << "scribble() hung";
    auto scr = sc.Get();
    ASSERT_TRUE(scr.ok() || IsHostileOutcome(scr.status())) << scr.status();
    ASSERT_FALSE(!scr.ok() && scr.status().message().find("no weft mapping") != std::string::npos)
        << "the hostile worker found nothing to scribble on: " << scr.status();
    ASSERT_GT(pool->Stats().workers[kHostile].calls_started, taken)
        << "the hostile worker never took scribble(): " << scr.status();

    std::map<std::string, int> hostile_outcomes;
    int healthy_ok = 0;
    std::vector<kj::byte> payload(4096);
    for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<kj::byte>(i * 7);
    const capnp::Data::Reader payload_reader(payload.data(), payload.size());
    const uint64_t payload_sum = Checksum(payload_reader);
    // The hostile worker's calls have a deadline, since a wrecked ring or
    // slot may never answer; any outcome is accepted for them, so the
    // deadline decides nothing the test checks.
    const weft::CallOptions bounded{.timeout = absl::Milliseconds(300)};
    // At least 100 rounds, and on until the scribbler has visibly done damage
    // (a hostile call that failed, or the hostile worker replaced), at most
    // 5000: how long that takes does not matter.
    int rounds = 0;
    bool damaged = false;
    for (int i = 0; i < 5000 && (i < 100 || !damaged); ++i, ++rounds) {
      // The hostile worker: a square and an echo, each bounded.
      balancer->Set(kHostile);
      auto h1 = stub.square(i, bounded);
      auto h2 = stub.echo(payload_reader, bounded);
      // The healthy worker, interleaved, with no deadline: each call must
      // succeed, and only a hang (the bound below) fails it.
      balancer->Set(kHealthy);
      auto g1 = stub.square(i);
      auto g2 = stub.echo(payload_reader);

      ASSERT_TRUE(h1.WaitFor(kHangBound)) << "iteration " << i << ": a hostile square() hung";
      ASSERT_TRUE(h2.WaitFor(kHangBound)) << "iteration " << i << ": a hostile echo() hung";
      auto r1 = h1.Get();
      auto r2 = h2.Get();
      for (const absl::Status& st : {r1.status(), r2.status()}) {
        EXPECT_TRUE(st.ok() || IsHostileOutcome(st)) << "iteration " << i << ": " << st;
        ++hostile_outcomes[st.ok() ? std::string("OK") : absl::StatusCodeToString(st.code())];
        damaged = damaged || !st.ok();
      }
      if (r2.ok()) {
        // Whatever it returned, reading an OK response must be safe: no
        // exception, no access outside the region.
        try {
          volatile uint64_t sink = Checksum(r2->getData()) + r2->getChecksum();
          (void)sink;
        } catch (const kj::Exception& e) {
          ++hostile_outcomes["OK, but reading it threw"];
          ADD_FAILURE() << "iteration " << i
                        << ": an OK echo response from the hostile worker threw when read: "
                        << e.getDescription().cStr();
        }
      }
      if (r1.ok()) {
        try {
          volatile int64_t sink = r1->getResult();
          (void)sink;
        } catch (const kj::Exception& e) {
          ADD_FAILURE() << "iteration " << i
                        << ": an OK square response from the hostile worker threw when read: "
                        << e.getDescription().cStr();
        }
      }

      ASSERT_TRUE(g1.WaitFor(kHangBound)) << "iteration " << i << ": a healthy square() hung";
      ASSERT_TRUE(g2.WaitFor(kHangBound)) << "iteration " << i << ": a healthy echo() hung";
      auto q1 = g1.Get();
      auto q2 = g2.Get();
      ASSERT_TRUE(q1.ok()) << "iteration " << i << ": the healthy worker failed: " << q1.status();
      ASSERT_TRUE(q2.ok()) << "iteration " << i << ": the healthy worker failed: " << q2.status();
      EXPECT_EQ(q1->getResult(), int64_t{i} * i);
      EXPECT_EQ(q2->getChecksum(), payload_sum);
      ++healthy_ok;
      if (i % 10 == 0) {
        EXPECT_EQ(PidOf(stub), healthy) << "the healthy worker was replaced";
      }
      const weft::WorkerStats hostile_now = pool->Stats().workers[kHostile];
      if (hostile_now.pid > 0) seen.insert(hostile_now.pid);
      damaged = damaged || hostile_now.restarts > 0 || hostile_now.pid != hostile;
    }
    std::string summary;
    for (const auto& [code, n] : hostile_outcomes) absl::StrAppend(&summary, code, ": ", n, "  ");
    std::cout << "hostile worker outcomes: " << summary << "\n"
              << "hostile worker restarts: " << pool->Stats().workers[kHostile].restarts
              << std::endl;
    EXPECT_EQ(healthy_ok, rounds);
    std::cout << rounds << " rounds, all " << healthy_ok << " healthy ones OK; damage "
              << (damaged ? "seen" : "not seen") << std::endl;
    weft::PoolStats stats = pool->Stats();
    EXPECT_EQ(stats.workers[kHealthy].pid, healthy);
    EXPECT_EQ(stats.workers[kHealthy].restarts, 0u);
    EXPECT_EQ(stats.workers[kHealthy].slots_in_use, 0u);
    Watchdog wd("destroying the pool with a hostile worker", kHangBound);
    pool = absl::UnavailableError("destroyed");
  }
  for (pid_t pid : seen) {
    EXPECT_EQ(StateOf(pid), ProcState::kGone)
        << "worker pid " << pid << " after the pool was destroyed";
  }
  const std::vector<std::string> children = Children();
  EXPECT_TRUE(children.empty()) << "children left: " << absl::StrJoin(children, "; ");
  const std::set<std::string> added = NewNames(shm_before);
  EXPECT_TRUE(added.empty()) << "new /dev/shm names: " << Describe(added);
}

// In a death-test child gtest records failures without printing them: the
// child collects them and prints them on stderr, which the parent shows.
[[noreturn]] void HostileScribblerChild() {
  dup2(STDERR_FILENO, STDOUT_FILENO);
  ::testing::TestPartResultArray results;
  {
    ::testing::ScopedFakeTestPartResultReporter reporter(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ALL_THREADS, &results);
    HostileScribblerBody();
  }
  std::cout.flush();
  bool failed = false;
  for (int i = 0; i < results.size(); ++i) {
    const ::testing::TestPartResult& r = results.GetTestPartResult(i);
    if (!r.failed()) continue;
    failed = true;
    std::fprintf(stderr, "%s:%d: Failure\n%s\n", r.file_name() ? r.file_name() : "?",
                 r.line_number(), r.message());
  }
  if (!failed) std::fprintf(stderr, "hostile scribbler: passed\n");
  std::fflush(nullptr);
  std::_Exit(failed ? 1 : 0);
}

TEST_F(ProcessTest, HostileWorkerScribblingOverItsRegionOnlyFailsItsOwnCalls) {
  // WEFT_TEST_HOSTILE_INLINE=1 runs it in this process (for gdb).
  if (std::getenv("WEFT_TEST_HOSTILE_INLINE") != nullptr) {
    HostileScribblerBody();
    return;
  }
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(HostileScribblerChild(), ::testing::ExitedWithCode(0), "hostile scribbler: passed");
}

// The death-test child of the test below: exits 0 after printing "host
// survived", or with a code naming what went wrong (3 Create failed, 4 a
// call hung, 5 the other worker failed, 6 poison() found a way to write the
// request areas, 7 a call to the poisoner failed), or dies of a signal.
[[noreturn]] void PoisonedRequestAreasChild(int workers) {
  auto balancer = std::make_shared<Pinned>();
  weft::PoolOptions options = ProcOptions(workers, "hostile_worker");
  options.custom_balancer = balancer;
  auto pool = Pool::Create(options);
  if (!pool.ok()) {
    std::fprintf(stderr, "Create: %s\n", pool.status().ToString().c_str());
    std::_Exit(3);
  }
  auto stub = pool->stub();
  balancer->Set(0);
  // poison() writes only request areas, never its own slot or response, so
  // it answers; OK means every way to write them was refused. No deadline:
  // only a hang (the bound) fails it.
  auto poisoning = stub.poison();
  if (!poisoning.WaitFor(kHangBound)) {
    std::fprintf(stderr, "poison() hung\n");
    std::_Exit(4);
  }
  auto p = poisoning.Get();
  std::fprintf(stderr, "poison: %s\n", p.status().ToString().c_str());
  if (!p.ok()) std::_Exit(6);
  std::map<std::string, int> outcomes;
  std::map<std::string, std::string> examples;
  std::vector<kj::byte> payload(600, 0x5a);
  for (int round = 0; round < 4; ++round) {
    // Many at once, so that never-used slots are taken too.
    balancer->Set(0);
    std::vector<weft::Future<ProcTest::EchoResults>> window;
    for (int i = 0; i < 64; ++i) {
      window.push_back(stub.echo(capnp::Data::Reader(payload.data(), 8 + (i * 37) % 592),
                                 weft::CallOptions{.timeout = absl::Seconds(2)}));
    }
    std::vector<weft::Future<ProcTest::GetEnvResults>> texts;
    for (int i = 0; i < 16; ++i) {
      texts.push_back(stub.getEnv("HOME", weft::CallOptions{.timeout = absl::Seconds(2)}));
    }
    // The requests were built where the worker could not reach: every
    // call succeeds (the deadline bounds a call a poisoned lane would never
    // answer, and the check below fails it).
    for (auto& f : window) {
      if (!f.WaitFor(kHangBound)) std::_Exit(4);
      auto r = f.Get();
      const std::string code = r.ok() ? "OK" : absl::StatusCodeToString(r.status().code());
      ++outcomes[code];
      examples.emplace(code, r.status().ToString());
    }
    for (auto& f : texts) {
      if (!f.WaitFor(kHangBound)) std::_Exit(4);
      auto r = f.Get();
      const std::string code = r.ok() ? "OK" : absl::StatusCodeToString(r.status().code());
      ++outcomes[code];
      examples.emplace(code, r.status().ToString());
    }
    if (workers > 1) {
      balancer->Set(1);
      auto h = stub.square(round).Get();
      if (!h.ok() || h->getResult() != round * round) std::_Exit(5);
    }
  }
  {
    std::ofstream report(TempDir() + "/poison_report.txt");
    report << "poison: " << p.status() << "\n";
    for (const auto& [code, n] : outcomes) {
      report << "outcome " << code << ": " << n << " (e.g. " << examples[code] << ")\n";
    }
  }
  if (outcomes.size() != 1 || outcomes.count("OK") != 1) {
    for (const auto& [code, n] : outcomes) {
      std::fprintf(stderr, "outcome %s: %d (e.g. %s)\n", code.c_str(), n, examples[code].c_str());
    }
    std::_Exit(7);
  }
  std::fprintf(stderr, "host survived\n");
  std::fflush(stderr);
  std::_Exit(0);  // no pool destruction here: only the calls are under test
}

// A hostile worker tries every way to write the request areas of its region
// (where the host builds requests in place, read-only to it) and, through
// any that works, fills them with pointer-like words aimed gigabytes
// outside the segment. Every way must be refused, every later call to that
// worker succeed, the host neither crash nor write outside the region, and
// the other worker keep serving. Run in a death-test child so
// that a host crash is reported as such instead of ending the suite.
class Poisoned : public ProcessTest, public ::testing::WithParamInterface<int> {};

TEST_P(Poisoned, HostileWorkerPoisoningRequestAreasCannotCrashTheHost) {
  // For debugging the host under gdb: WEFT_TEST_POISON_INLINE=1 runs the
  // child's body in this process.
  if (std::getenv("WEFT_TEST_POISON_INLINE") != nullptr) PoisonedRequestAreasChild(GetParam());
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  unlink((TempDir() + "/poison_report.txt").c_str());
  EXPECT_EXIT(PoisonedRequestAreasChild(GetParam()), ::testing::ExitedWithCode(0), "host survived");
  std::ifstream report(TempDir() + "/poison_report.txt");
  std::cout << "child's report:\n" << report.rdbuf() << std::endl;
}

INSTANTIATE_TEST_SUITE_P(Workers, Poisoned, ::testing::Values(1, 2));

// The death-test child of the test below: exits 0 after printing "host
// survived", or with a code naming what went wrong (3 Create failed, 4 a
// call hung, 5 the other worker failed, 8 a response changed while it was
// read, 9 an outcome no worker may cause), or dies of a signal.
[[noreturn]] void RewrittenResponsesChild() {
  auto balancer = std::make_shared<Pinned>();
  weft::PoolOptions options = ProcOptions(2, "hostile_worker");
  options.custom_balancer = balancer;
  auto pool = Pool::Create(options);
  if (!pool.ok()) {
    std::fprintf(stderr, "Create: %s\n", pool.status().ToString().c_str());
    std::_Exit(3);
  }
  auto stub = pool->stub();
  std::map<std::string, int> outcomes;
  std::vector<kj::byte> payload(64 << 10);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<kj::byte>(i * 7);
  for (int i = 0; i < 200; ++i) {
    balancer->Set(0);
    // Inline (8..600 bytes) and spilled (up to 64 KiB) responses.
    const size_t n = i % 4 == 3 ? (8 << 10) + (i * 331) % (56 << 10) : 8 + (i * 37) % 592;
    auto f = stub.rewrite(capnp::Data::Reader(payload.data(), n),
                          weft::CallOptions{.timeout = absl::Seconds(2)});
    if (!f.WaitFor(kHangBound)) std::_Exit(4);
    auto r = f.Get();
    ++outcomes[r.ok() ? "OK" : absl::StatusCodeToString(r.status().code())];
    if (!r.ok()) {
      if (!IsHostileOutcome(r.status())) std::_Exit(9);
      continue;
    }
    // The host reads a checked copy: what it read once, it reads again,
    // however the worker rewrites its response areas meanwhile.
    const capnp::Data::Reader first = r->getData();
    const std::vector<kj::byte> seen(first.begin(), first.end());
    for (int k = 0; k < 50; ++k) {
      const capnp::Data::Reader again = r->getData();
      if (again.size() != seen.size() || !std::equal(again.begin(), again.end(), seen.begin())) {
        std::fprintf(stderr, "call %d: the response changed while it was read\n", i);
        std::_Exit(8);
      }
    }
  }
  balancer->Set(1);
  auto h = stub.square(9).Get();
  if (!h.ok() || h->getResult() != 81) std::_Exit(5);
  {
    std::ofstream report(TempDir() + "/rewrite_report.txt");
    for (const auto& [code, n] : outcomes) report << "outcome " << code << ": " << n << "\n";
  }
  std::fprintf(stderr, "host survived\n");
  std::fflush(stderr);
  std::_Exit(0);  // no pool destruction here: only the calls are under test
}

// A hostile worker answers, then keeps rewriting its response areas (the
// slots' response tables, inline areas, heap) while the host copies and
// reads them. The host's results never change under it, it never crashes,
// and the other worker keeps serving.
TEST_F(ProcessTest, HostileWorkerRewritingResponsesWhileTheHostReadsCannotCrashIt) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  unlink((TempDir() + "/rewrite_report.txt").c_str());
  EXPECT_EXIT(RewrittenResponsesChild(), ::testing::ExitedWithCode(0), "host survived");
  std::ifstream report(TempDir() + "/rewrite_report.txt");
  std::cout << "child's report:\n" << report.rdbuf() << std::endl;
}

}  // namespace
}  // namespace weft_test
