// weft::Batch: calls made while a batch lives are held back and published
// together when it ends; a thread never waits on its own held-back calls.
// Every test that could hang if a held-back call were never published runs
// under a watchdog ("did not hang" tests); none measures time.
#include <cstdint>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "runtime/pool.h"
#include "tests/pool/test_service.weft.h"
#include "tests/pool/test_service_impl.h"
#include "tests/testing/watchdog.h"

namespace weft_test {
namespace {

constexpr absl::Duration kHangBound = absl::Seconds(60);

TEST(Batch, EveryCallOfABatchResolvesWithItsOwnResultOnceItEnds) {
  Gate gate;
  weft::Pool<TestService> pool = MakeWorkerPool(gate, 2);
  weft::Stub<TestService> stub = pool.stub();
  Watchdog watchdog("a batch's calls", kHangBound);
  std::vector<weft::Future<TestService::SquareResults>> squares;
  {
    weft::Batch batch(stub);
    for (int64_t i = 0; i < 200; ++i) squares.push_back(stub.square(i));
  }
  for (int64_t i = 0; i < 200; ++i) {
    auto r = squares[i].Get();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->getResult(), i * i);
  }
}

TEST(Batch, HeldBackCallsDoNotOccupyTheWorkerUntilPublished) {
  // One worker. A gated call held back in this thread's batch must not be
  // running: another thread's call is served while the batch is open. (If
  // it had been published and taken, the worker would be stuck in the gate
  // and the other call would hang: the watchdog fails the test.)
  Gate gate;
  weft::Pool<TestService> pool = MakeWorkerPool(gate, 1);
  weft::Stub<TestService> stub = pool.stub();
  Watchdog watchdog("a call beside an open batch", kHangBound);
  std::optional<weft::Future<TestService::GatedResults>> gated;
  {
    weft::Batch batch(stub);
    gated.emplace(stub.gated());
    std::thread other([&] {
      auto r = stub.square(12).Get();
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(r->getResult(), 144);
    });
    other.join();
    EXPECT_EQ(gate.entered(), 0);
  }
  gate.WaitEntered(1);  // published by the batch's end
  gate.Open();
  auto r = gated->Get();
  ASSERT_TRUE(r.ok()) << r.status();
}

TEST(Batch, WaitingOnACallOfTheOpenBatchPublishesItInsteadOfHanging) {
  Gate gate;
  weft::Pool<TestService> pool = MakeWorkerPool(gate, 1);
  weft::Stub<TestService> stub = pool.stub();
  Watchdog watchdog("Get() inside a batch", kHangBound);
  weft::Batch batch(stub);
  auto a = stub.square(3);
  auto b = stub.square(4);
  auto ra = a.Get();  // this thread holds it back: Get publishes first
  ASSERT_TRUE(ra.ok()) << ra.status();
  EXPECT_EQ(ra->getResult(), 9);
  EXPECT_TRUE(b.WaitFor(kHangBound));  // published with a
  auto c = stub.square(5);
  while (!c.Ready()) {
  }  // Ready() polls publish too
  EXPECT_EQ(c.Get()->getResult(), 25);
}

TEST(Batch, MoreCallsThanSlotsInOneBatchDoNotWaitOnThemselves) {
  // 4 slots: the fifth call needs a slot the first four hold; waiting for
  // one publishes them.
  Gate gate;
  weft::Pool<TestService> pool = MakeWorkerPool(gate, 1, /*slots_per_lane=*/4);
  weft::Stub<TestService> stub = pool.stub();
  Watchdog watchdog("a batch larger than the lane", kHangBound);
  std::vector<weft::Future<TestService::SquareResults>> squares;
  {
    weft::Batch batch(stub);
    for (int64_t i = 0; i < 4; ++i) squares.push_back(stub.square(i));
    // The fifth waits for a slot; every future is still unclaimed, so the
    // lane copies a finished result out to free one.
    squares.push_back(stub.square(4));
  }
  for (int64_t i = 0; i < 5; ++i) EXPECT_EQ(squares[i].Get()->getResult(), i * i);
}

TEST(Batch, AnotherThreadWaitingOnAHeldBackCallGetsItWhenTheBatchEnds) {
  Gate gate;
  weft::Pool<TestService> pool = MakeWorkerPool(gate, 1);
  weft::Stub<TestService> stub = pool.stub();
  Watchdog watchdog("a waiter on another thread", kHangBound);
  std::thread waiter;
  {
    weft::Batch batch(stub);
    auto f = std::make_shared<weft::Future<TestService::SquareResults>>(stub.square(7));
    waiter = std::thread([f] {
      auto r = f->Get();
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(r->getResult(), 49);
    });
  }
  waiter.join();
}

TEST(Batch, NestedBatchesPublishAtTheOutermostEndAndFlushPublishesEarly) {
  // Two workers (round robin): each gated call holds one of them.
  Gate gate;
  weft::Pool<TestService> pool = MakeWorkerPool(gate, 2);
  weft::Stub<TestService> stub = pool.stub();
  Watchdog watchdog("nested batches", kHangBound);
  std::optional<weft::Future<TestService::GatedResults>> first, second;
  {
    weft::Batch outer(stub);
    {
      weft::Batch inner(stub);
      first.emplace(stub.gated());
    }
    // The inner end publishes nothing; Flush does.
    outer.Flush();
    gate.WaitEntered(1);
    second.emplace(stub.gated());
  }
  gate.WaitEntered(2);
  gate.Open();
  EXPECT_TRUE(first->Get().ok());
  EXPECT_TRUE(second->Get().ok());
}

TEST(Batch, AnUnboundStubsBatchDoesNothing) {
  weft::Stub<TestService> unbound;
  weft::Batch batch(unbound);
  batch.Flush();
  auto r = unbound.square(2).Get();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << r.status();
}

}  // namespace
}  // namespace weft_test
