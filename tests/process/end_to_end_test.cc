// Process workers end to end: two real worker processes (proc_worker) serve
// flat and builder calls, 1 MiB echoes, a window of pipelined calls, and
// spilled payloads from four host threads; nothing is killed here.
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/pool.h"
#include "tests/process/proc_test.weft.h"
#include "tests/process/process_test_util.h"
#include "tests/testing/checksum.h"

namespace weft_test {
namespace {

TEST_F(ProcessTest, SquareAndEchoOnTwoProcessWorkers) {
  std::set<pid_t> seen;
  {
    auto pool = Pool::Create(ProcOptions(2, "proc_worker"));
    ASSERT_TRUE(pool.ok()) << pool.status();
    auto stub = pool->stub();

    weft::PoolStats stats = pool->Stats();
    ASSERT_EQ(stats.workers.size(), 2u);
    for (const auto& w : stats.workers) {
      EXPECT_TRUE(w.up);
      EXPECT_FALSE(w.failed);
      EXPECT_GT(w.pid, 0);
      EXPECT_NE(w.pid, getpid());
      EXPECT_EQ(w.restarts, 0u);
      seen.insert(w.pid);
    }
    EXPECT_EQ(seen.size(), 2u) << "the two workers should be two processes";

    // Flat and builder forms.
    auto flat = stub.square(7).Get();
    ASSERT_TRUE(flat.ok()) << flat.status();
    EXPECT_EQ(flat->getResult(), 49);
    auto built = stub.square([](auto p) { p.setValue(-12); }).Get();
    ASSERT_TRUE(built.ok()) << built.status();
    EXPECT_EQ(built->getResult(), 144);

    // Calls reach both processes, and the pids they report are the ones Stats() shows.
    std::set<pid_t> served;
    for (int i = 0; i < 8; ++i) served.insert(PidOf(stub));
    EXPECT_EQ(served, seen);

    // Small echo, flat.
    const std::string text = "hello, another process";
    auto small =
        stub.echo(capnp::Data::Reader(reinterpret_cast<const kj::byte*>(text.data()), text.size()))
            .Get();
    ASSERT_TRUE(small.ok()) << small.status();
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(small->getData().begin()),
                          small->getData().size()),
              text);

    // 1 MiB both ways, byte-exact, in both forms.
    std::vector<kj::byte> big(1 << 20);
    std::mt19937_64 rng(42);
    for (auto& b : big) b = static_cast<kj::byte>(rng());
    const capnp::Data::Reader big_reader(big.data(), big.size());
    const uint64_t big_sum = Checksum(big_reader);
    for (int form = 0; form < 2; ++form) {
      for (int i = 0; i < 2; ++i) {  // once on each worker (round-robin)
        auto e = form == 0 ? stub.echo(big_reader).Get()
                           : stub.echo([&](auto p) {
                                   capnp::Data::Builder d = p.initData(big.size());
                                   std::memcpy(d.begin(), big.data(), big.size());
                                 })
                                 .Get();
        ASSERT_TRUE(e.ok()) << "form " << form << ": " << e.status();
        EXPECT_EQ(e->getChecksum(), big_sum)
            << "the worker read different bytes (form " << form << ")";
        ASSERT_EQ(e->getData().size(), big.size());
        EXPECT_EQ(std::memcmp(e->getData().begin(), big.data(), big.size()), 0)
            << "the response differs from the request (form " << form << ")";
      }
    }

    // A window of pipelined calls.
    std::vector<weft::Future<ProcTest::SquareResults>> window;
    for (int i = 0; i < 2000; ++i) window.push_back(stub.square(i));
    for (int i = 0; i < 2000; ++i) {
      auto r = window[i].Get();
      ASSERT_TRUE(r.ok()) << i << ": " << r.status();
      ASSERT_EQ(r->getResult(), int64_t{i} * i);
    }
  }
  ExpectAllGone(seen, "after the pool was destroyed");
}

// The same traffic as CallersOnManyThreadsSurviveRepeatedKills
// (supervisor_test.cc) without any kill: spilled (multi-segment) requests and
// responses from four host threads.
TEST_F(ProcessTest, FourThreadsEchoSpilledPayloads) {
  std::set<pid_t> seen;
  {
    auto pool = Pool::Create(ProcOptions(2, "proc_worker"));
    ASSERT_TRUE(pool.ok()) << pool.status();
    for (const auto& w : pool->Stats().workers) seen.insert(w.pid);
    std::atomic<int> ok{0}, bad{0};
    std::mutex mu;
    std::string bad_status;
    std::vector<std::thread> callers;
    for (int t = 0; t < 4; ++t) {
      callers.emplace_back([&, t, stub = pool->stub()]() mutable {
        std::vector<kj::byte> payload(1000 + t * 3000);
        for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<kj::byte>(i + t);
        const capnp::Data::Reader reader(payload.data(), payload.size());
        const uint64_t sum = Checksum(reader);
        for (int i = 0; i < 2000; ++i) {
          auto r = stub.echo(reader).Get();
          if (r.ok() && r->getChecksum() == sum && r->getData().size() == payload.size()) {
            ++ok;
          } else {
            ++bad;
            std::lock_guard<std::mutex> lock(mu);
            bad_status = r.ok() ? "OK with wrong data" : r.status().ToString();
          }
        }
      });
    }
    for (auto& t : callers) t.join();
    EXPECT_EQ(bad.load(), 0) << "e.g. " << bad_status;
    EXPECT_EQ(ok.load(), 8000);
  }
  ExpectAllGone(seen, "after the pool was destroyed");
}

}  // namespace
}  // namespace weft_test
