// What Stats() and readers of results promise: an idle pool shows no slots
// in use, whatever its callers dropped; results read without a traversal
// budget the caller must know about; a request over max_payload_bytes says
// so plainly.
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "runtime/pool.h"
#include "tests/pool/test_service.weft.h"
#include "tests/pool/test_service_impl.h"
#include "tests/testing/watchdog.h"

namespace weft_test {
namespace {

using Pool = weft::Pool<TestService>;

TEST(Stats, AnIdlePoolShowsNoSlotsInUseAfterDroppedFutures) {
  Gate gate;
  weft::PoolOptions options;
  options.workers = 1;
  auto pool = MakeTestPool(gate, options);
  ASSERT_TRUE(pool.ok());
  auto stub = pool->stub();
  {
    std::vector<weft::Future<TestService::GatedResults>> dropped;
    for (int i = 0; i < 10; ++i) dropped.push_back(stub.gated());
    gate.WaitEntered(1);
  }  // dropped while the worker still runs or queues them
  gate.Open();
  {
    Watchdog dog("the worker served the 10 dropped calls", kHangBound);
    while (pool->Stats().workers[0].calls_served < 10) std::this_thread::yield();
  }
  EXPECT_EQ(pool->Stats().workers[0].slots_in_use, 0u);
  EXPECT_EQ(pool->Stats().abort_slots_in_use, 0u);
}

TEST(Results, ALoopOverALongListNeedsNoTraversalBudget) {
  Gate gate;
  weft::PoolOptions options;
  options.workers = 1;
  options.initial_payload_bytes = 4096;
  auto pool = MakeTestPool(gate, options);
  ASSERT_TRUE(pool.ok());
  constexpr uint32_t kCount = 100'000;
  auto r = pool->stub().manyTexts(kCount).Get();
  ASSERT_TRUE(r.ok()) << r.status();
  // Each getItems() re-reads the list pointer; with a per-message traversal
  // budget this loop would run out of it long before the end.
  size_t total = 0;
  for (uint32_t i = 0; i < kCount; ++i) total += r->getItems()[i].size();
  size_t expected = 0;
  for (uint32_t i = 0; i < kCount; ++i) expected += absl::StrCat("item ", i).size();
  EXPECT_EQ(total, expected);
  EXPECT_EQ(std::string(r->getItems()[kCount - 1].cStr()), absl::StrCat("item ", kCount - 1));
}

TEST(Requests, OneOverMaxPayloadBytesSaysSoPlainly) {
  Gate gate;
  weft::PoolOptions options;
  options.workers = 1;
  options.max_payload_bytes = 64 * 1024;
  auto pool = MakeTestPool(gate, options);
  ASSERT_TRUE(pool.ok());
  std::vector<kj::byte> big(128 * 1024, 7);
  auto r = pool->stub().echo(capnp::Data::Reader(big.data(), big.size())).Get();
  ASSERT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted) << r.status();
  const std::string message(r.status().message());
  EXPECT_TRUE(absl::StrContains(message, "exceeds max_payload_bytes (65536 bytes)")) << message;
  EXPECT_FALSE(absl::StrContains(message, "limit_words_")) << message;
  EXPECT_FALSE(absl::StrContains(message, "65536 = ")) << message;
  // The pool keeps working.
  auto ok = pool->stub().square(5).Get();
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->getResult(), 25);
}

}  // namespace
}  // namespace weft_test
