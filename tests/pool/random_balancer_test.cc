// kRandom and kFirstIdleOrRandom draw a sequence of their own for every lane
// of every pool (seeded from the kernel), so pools and threads do not all
// pick the same workers.
#include <latch>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/pool.h"
#include "tests/pool/test_service.weft.h"
#include "tests/pool/test_service_impl.h"

namespace weft_test {
namespace {

using Pool = weft::Pool<TestService>;
constexpr int kWorkers = 8;

absl::StatusOr<Pool> MakePool(Gate& gate, weft::BalancerKind balancer) {
  weft::PoolOptions options;
  options.workers = kWorkers;
  options.balancer = balancer;
  return MakeTestPool(gate, options);
}

std::vector<uint32_t> Picks(Pool& pool, int n) {
  auto stub = pool.stub();
  std::vector<uint32_t> picks;
  for (int i = 0; i < n; ++i) {
    auto r = stub.whoAmI().Get();
    EXPECT_TRUE(r.ok()) << r.status();
    picks.push_back(r.ok() ? r->getWorker() : 999);
  }
  return picks;
}

TEST(RandomBalancer, TwoPoolsDrawDifferentSequences) {
  // 64 picks among 8 workers: two independent seeds give the same sequence
  // with probability 8^-64.
  Gate gate;
  auto a = MakePool(gate, weft::BalancerKind::kRandom);
  auto b = MakePool(gate, weft::BalancerKind::kRandom);
  ASSERT_TRUE(a.ok() && b.ok());
  const std::vector<uint32_t> from_a = Picks(*a, 64);
  const std::vector<uint32_t> from_b = Picks(*b, 64);
  EXPECT_NE(from_a, from_b);
  EXPECT_GT(std::set<uint32_t>(from_a.begin(), from_a.end()).size(), 1u);
}

TEST(RandomBalancer, ManyThreadsFirstCallsDoNotAllGoToOneWorker) {
  // Eight threads' first calls all on one worker: probability 8^-7 with
  // independent seeds; certain with one fixed seed.
  for (weft::BalancerKind kind :
       {weft::BalancerKind::kRandom, weft::BalancerKind::kFirstIdleOrRandom}) {
    Gate gate;
    auto pool = MakePool(gate, kind);
    ASSERT_TRUE(pool.ok());
    // Hold every worker busy so kFirstIdleOrRandom falls back to random.
    std::vector<weft::Future<TestService::GatedResults>> held;
    if (kind == weft::BalancerKind::kFirstIdleOrRandom) {
      auto stub = pool->stub();
      for (int i = 0; i < kWorkers; ++i) held.push_back(stub.gated());  // first idle: 0..7
      gate.WaitEntered(kWorkers);
    }
    std::vector<uint32_t> first(8);
    std::vector<std::thread> threads;
    std::vector<weft::Future<TestService::WhoAmIResults>> calls(8);
    // Every thread keeps its lane until all have called (a thread that ended
    // would hand its lane, and its random state, to the next one).
    std::latch all_called(8);
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        calls[t] = pool->stub().whoAmI();
        all_called.arrive_and_wait();
      });
    }
    for (auto& th : threads) th.join();
    gate.Open();
    std::set<uint32_t> distinct;
    for (auto& c : calls) {
      auto r = c.Get();
      ASSERT_TRUE(r.ok()) << r.status();
      distinct.insert(r->getWorker());
    }
    EXPECT_GT(distinct.size(), 1u) << "all eight first calls went to worker " << *distinct.begin();
    for (auto& h : held) ASSERT_TRUE(h.Get().ok());
  }
}

}  // namespace
}  // namespace weft_test
