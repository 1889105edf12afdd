// End-to-end tests of Pool<I> with thread workers: real shared memory, real
// Cap'n Proto messages, generated stubs and skeletons.
#include "runtime/pool.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/pool/test_service.weft.h"
#include "tests/pool/test_service_impl.h"
#include "tests/testing/watchdog.h"

namespace weft_test {
namespace {

using Pool = weft::Pool<TestService>;

struct Fixture {
  Gate gate;
  std::atomic<uint32_t> next_index{0};
  Pool::Factory factory() {
    return [this] { return std::make_unique<TestServiceImpl>(next_index++, &gate); };
  }
};

absl::StatusOr<Pool> MakePool(Fixture& f, weft::PoolOptions options) {
  return Pool::Create(options, f.factory());
}

weft::PoolOptions Options(int workers) {
  weft::PoolOptions options;
  options.workers = workers;
  return options;
}

TEST(Pool, SquareAndEcho) {
  Fixture f;
  auto pool = MakePool(f, Options(2));
  ASSERT_TRUE(pool.ok()) << pool.status();
  weft::Stub<TestService> stub = pool->stub();
  auto r = stub.square(7).Get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->getResult(), 49);
  const std::string text = "hello, shared memory";
  auto e = stub.echo([&](auto p) {
                 p.setData(capnp::Data::Reader(reinterpret_cast<const kj::byte*>(text.data()),
                                               text.size()));
               })
               .Get();
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(e->getData().begin()), e->getData().size()),
            text);
}

TEST(Pool, HundredThousandPipelinedCallsFromOneThread) {
  Fixture f;
  auto pool = MakePool(f, Options(2));
  ASSERT_TRUE(pool.ok());
  auto stub = pool->stub();
  constexpr int kCalls = 100'000;
  std::vector<weft::Future<TestService::SquareResults>> futures;
  futures.reserve(kCalls);
  for (int i = 0; i < kCalls; ++i) futures.push_back(stub.square(i));
  for (int i = 0; i < kCalls; ++i) {
    auto r = futures[i].Get();
    ASSERT_TRUE(r.ok()) << i << ": " << r.status();
    ASSERT_EQ(r->getResult(), int64_t{i} * i) << i;
  }
}

TEST(Pool, EightHostThreadsCallAtOnce) {
  Fixture f;
  auto pool = MakePool(f, Options(3));
  ASSERT_TRUE(pool.ok());
  constexpr int kThreads = 8;
  constexpr int kCalls = 5'000;
  std::atomic<int> correct{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t, stub = pool->stub()]() mutable {
      std::vector<weft::Future<TestService::SquareResults>> window;
      for (int i = 0; i < kCalls; ++i) {
        const int64_t v = int64_t{t} * 1'000'000 + i;
        window.push_back(stub.square(v));
        if (window.size() == 16 || i == kCalls - 1) {
          for (size_t k = 0; k < window.size(); ++k) {
            auto r = window[k].Get();
            const int64_t sent = v - static_cast<int64_t>(window.size() - 1 - k);
            if (r.ok() && r->getResult() == sent * sent) correct.fetch_add(1);
          }
          window.clear();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(correct.load(), kThreads * kCalls);
}

TEST(Pool, WorkerStatusReachesTheCallerUnchanged) {
  Fixture f;
  auto pool = MakePool(f, Options(1));
  ASSERT_TRUE(pool.ok());
  auto stub = pool->stub();
  auto r = stub.fail(static_cast<uint32_t>(absl::StatusCode::kNotFound), "no such thing").Get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "no such thing");
  EXPECT_EQ(stub.square(3).Get()->getResult(), 9);  // the worker keeps serving
}

TEST(Pool, ExceptionBecomesInternalWithItsText) {
  Fixture f;
  auto pool = MakePool(f, Options(1));
  ASSERT_TRUE(pool.ok());
  auto stub = pool->stub();
  auto r = stub.throwError("kaboom").Get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(r.status().message().find("kaboom"), std::string_view::npos) << r.status();
  EXPECT_EQ(stub.square(4).Get()->getResult(), 16);
}

TEST(Pool, OversizedRequestIsRefusedBeforeSendingAndThePoolKeepsWorking) {
  Fixture f;
  weft::PoolOptions options = Options(1);
  options.max_payload_bytes = 64 * 1024;
  auto pool = MakePool(f, options);
  ASSERT_TRUE(pool.ok());
  auto stub = pool->stub();
  std::vector<kj::byte> big(256 * 1024, 7);
  auto r = stub.echo(capnp::Data::Reader(big.data(), big.size())).Get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted) << r.status();
  EXPECT_EQ(pool->Stats().workers[0].calls_served, 0u);  // nothing was sent
  std::vector<kj::byte> fits(32 * 1024, 9);
  auto ok = stub.echo(capnp::Data::Reader(fits.data(), fits.size())).Get();
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->getChecksum(), Checksum(capnp::Data::Reader(fits.data(), fits.size())));
}

TEST(Pool, OversizedResponseFailsThatCallOnly) {
  Fixture f;
  weft::PoolOptions options = Options(1);
  options.max_payload_bytes = 64 * 1024;
  auto pool = MakePool(f, options);
  ASSERT_TRUE(pool.ok());
  auto stub = pool->stub();
  auto r = stub.makeBlob(1 << 20).Get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted) << r.status();
  auto small = stub.makeBlob(1000).Get();
  ASSERT_TRUE(small.ok()) << small.status();
  EXPECT_EQ(small->getBlob().size(), 1000u);
}

TEST(Pool, ThreeMebibytePayloadsBothWays) {
  Fixture f;
  auto pool = MakePool(f, Options(2));
  ASSERT_TRUE(pool.ok());
  auto stub = pool->stub();
  std::vector<kj::byte> data(3 << 20);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<kj::byte>(i * 31 + 7);
  const capnp::Data::Reader in(data.data(), data.size());
  for (int round = 0; round < 4; ++round) {  // reuses the heaps
    auto r = stub.echo(in).Get();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->getChecksum(), Checksum(in));
    ASSERT_EQ(r->getData().size(), data.size());
    EXPECT_TRUE(std::equal(data.begin(), data.end(), r->getData().begin()));
  }
  auto blob = stub.makeBlob(3 << 20).Get();
  ASSERT_TRUE(blob.ok()) << blob.status();
  ASSERT_EQ(blob->getBlob().size(), size_t{3} << 20);
  EXPECT_EQ(blob->getBlob()[(3 << 20) - 1], static_cast<kj::byte>(((3 << 20) - 1) % 251));
}

TEST(Pool, CreateRejectsBadOptions) {
  Fixture f;
  auto expect_invalid = [&](weft::PoolOptions options, const char* field) {
    auto pool = MakePool(f, options);
    ASSERT_FALSE(pool.ok()) << field;
    EXPECT_EQ(pool.status().code(), absl::StatusCode::kInvalidArgument) << pool.status();
    EXPECT_NE(pool.status().message().find(field), std::string_view::npos) << pool.status();
  };
  weft::PoolOptions o = Options(0);
  expect_invalid(o, "workers");
  o = Options(1);
  o.slots_per_lane = 0;
  expect_invalid(o, "slots_per_lane");
  o = Options(1);
  o.ring_capacity = 300;
  expect_invalid(o, "ring_capacity");
  o = Options(1);
  o.max_payload_bytes = 16;
  expect_invalid(o, "max_payload_bytes");
  o = Options(1);
  o.max_host_threads = 0;
  expect_invalid(o, "max_host_threads");
  o = Options(1);
  o.default_timeout = absl::ZeroDuration();
  expect_invalid(o, "default_timeout");
  auto no_factory = Pool::Create(Options(1), nullptr);
  EXPECT_EQ(no_factory.status().code(), absl::StatusCode::kInvalidArgument);
  auto null_skeleton = Pool::Create(Options(1), [] { return nullptr; });
  EXPECT_EQ(null_skeleton.status().code(), absl::StatusCode::kInvalidArgument);
}

class FailingStart final : public weft::Skeleton<TestService> {
 public:
  absl::Status OnStart() override { return absl::PermissionDeniedError("no license"); }
  absl::Status square(SquareCall&) override { return absl::OkStatus(); }
  absl::Status echo(EchoCall&) override { return absl::OkStatus(); }
  absl::Status fail(FailCall&) override { return absl::OkStatus(); }
  absl::Status throwError(ThrowErrorCall&) override { return absl::OkStatus(); }
  absl::Status makeBlob(MakeBlobCall&) override { return absl::OkStatus(); }
  absl::Status gated(GatedCall&) override { return absl::OkStatus(); }
  absl::Status whoAmI(WhoAmICall&) override { return absl::OkStatus(); }
  absl::Status gatedDefault(GatedDefaultCall&) override { return absl::OkStatus(); }
  absl::Status gatedTimed(GatedTimedCall&) override { return absl::OkStatus(); }
  absl::Status spin(SpinCall&) override { return absl::OkStatus(); }
  absl::Status stuck(StuckCall&) override { return absl::OkStatus(); }
  absl::Status manyTexts(ManyTextsCall&) override { return absl::OkStatus(); }
};

TEST(Pool, FailedOnStartFailsCreate) {
  auto pool = Pool::Create(Options(2), [] { return std::make_unique<FailingStart>(); });
  ASSERT_FALSE(pool.ok());
  EXPECT_EQ(pool.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(pool.status().message().find("no license"), std::string_view::npos);
}

TEST(Pool, DestructionWithCallsInFlightResolvesEveryFuture) {
  Fixture f;
  std::vector<weft::Future<TestService::GatedResults>> gated;
  std::vector<weft::Future<TestService::SquareResults>> queued;
  {
    auto pool = MakePool(f, Options(2));
    ASSERT_TRUE(pool.ok());
    auto stub = pool->stub();
    for (int i = 0; i < 2; ++i) gated.push_back(stub.gated());
    for (int i = 0; i < 48; ++i) queued.push_back(stub.square(i));
    f.gate.WaitEntered(2);  // both workers are busy inside a call
    std::thread opener([&] { f.gate.Open(); });
    // The destructor drains: it returns once every call sent has finished.
    pool = absl::UnavailableError("destroyed");
    opener.join();
  }
  int resolved = 0;
  for (auto& g : gated) {
    auto r = g.Get();
    ASSERT_TRUE(r.ok()) << r.status();
    ++resolved;
  }
  for (int i = 0; i < 48; ++i) {
    auto r = queued[i].Get();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->getResult(), i * i);
    ++resolved;
  }
  EXPECT_EQ(resolved, 50);
}

TEST(Pool, ResponsesOutliveThePool) {
  Fixture f;
  absl::StatusOr<weft::Response<TestService::MakeBlobResults>> blob;
  {
    auto pool = MakePool(f, Options(1));
    ASSERT_TRUE(pool.ok());
    blob = pool->stub().makeBlob(5000).Get();
  }
  ASSERT_TRUE(blob.ok());
  EXPECT_EQ(blob->getBlob().size(), 5000u);
  EXPECT_EQ(blob->getBlob()[4999], static_cast<kj::byte>(4999 % 251));
}

TEST(Pool, CallsAfterShutdownAreUnavailable) {
  Fixture f;
  auto pool = MakePool(f, Options(1));
  ASSERT_TRUE(pool.ok());
  auto stub = pool->stub();
  EXPECT_TRUE(pool->Shutdown().ok());
  auto r = stub.square(2).Get();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
}

TEST(Pool, UnboundStubFailsCleanly) {
  weft::Stub<TestService> stub;
  EXPECT_EQ(stub.square(1).Get().status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(Pool, GetTwiceIsAFailedPrecondition) {
  Fixture f;
  auto pool = MakePool(f, Options(1));
  ASSERT_TRUE(pool.ok());
  auto future = pool->stub().square(5);
  EXPECT_TRUE(future.Get().ok());
  EXPECT_EQ(future.Get().status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(Pool, IdleWorkersFallAsleepAndWakeForTheNextCall) {
  Fixture f;
  weft::PoolOptions options = Options(2);
  options.spin = weft::SpinPolicy{.spin_polls = 64, .yield_polls = 4};
  auto pool = MakePool(f, options);
  ASSERT_TRUE(pool.ok());
  auto stub = pool->stub();
  ASSERT_TRUE(stub.square(1).Get().ok());
  // Observable state, not timing: wait until every worker reports sleeping.
  for (;;) {
    weft::PoolStats stats = pool->Stats();
    bool all = true;
    for (const auto& w : stats.workers) all = all && w.sleeping;
    if (all) break;
    std::this_thread::yield();
  }
  for (const auto& w : pool->Stats().workers) EXPECT_GE(w.sleeps, 1u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(stub.square(i).Get()->getResult(), i * i);
}

TEST(Pool, RoundRobinSpreadsCallsOverEveryWorker) {
  Fixture f;
  auto pool = MakePool(f, Options(3));
  ASSERT_TRUE(pool.ok());
  auto stub = pool->stub();
  std::vector<int> seen(3);
  for (int i = 0; i < 9; ++i) {
    auto r = stub.whoAmI().Get();
    ASSERT_TRUE(r.ok());
    ++seen.at(r->getWorker());
  }
  EXPECT_EQ(seen, (std::vector<int>{3, 3, 3}));
}

TEST(Pool, DroppedFuturesGiveTheirSlotsBack) {
  Fixture f;
  weft::PoolOptions options = Options(1);
  options.slots_per_lane = 4;
  auto pool = MakePool(f, options);
  ASSERT_TRUE(pool.ok());
  auto stub = pool->stub();
  for (int i = 0; i < 10'000; ++i) (void)stub.square(i);
  EXPECT_EQ(stub.square(12).Get()->getResult(), 144);
}

TEST(Pool, HeldResponsesWithQueueFullFailGiveResourceExhausted) {
  Fixture f;
  weft::PoolOptions options = Options(1);
  options.slots_per_lane = 2;
  options.queue_full = weft::QueueFull::kFail;
  auto pool = MakePool(f, options);
  ASSERT_TRUE(pool.ok());
  auto stub = pool->stub();
  auto a = stub.square(1).Get();
  auto b = stub.square(2).Get();
  ASSERT_TRUE(a.ok() && b.ok());
  auto c = stub.square(3).Get();
  EXPECT_EQ(c.status().code(), absl::StatusCode::kResourceExhausted) << c.status();
  a = absl::CancelledError("dropped");  // gives one slot back
  EXPECT_EQ(stub.square(4).Get()->getResult(), 16);
}

// A deadline that passes while the worker runs the call. Whether the worker
// picks the call up before its deadline is a race that no timeout settles
// on every machine; instead of guessing one, the test doubles it after each
// call that expired before the worker took it, until one reached the gate
// (the watchdog only catches a hang). The gate never opens, so only the
// deadline can end the call.
TEST(Pool, DeadlineExceededWhileTheWorkerRuns) {
  Fixture f;
  auto pool = MakePool(f, Options(1));
  ASSERT_TRUE(pool.ok());
  auto stub = pool->stub();
  absl::Duration timeout = absl::Milliseconds(20);
  {
    Watchdog wd("sending gated() until one reaches the gate before its deadline", kHangBound);
    for (;;) {
      auto r = stub.gated(weft::CallOptions{.timeout = timeout}).Get();
      EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
      // The expired call raised the abort flag: the worker leaves the gate
      // (or skips the call) and serves the next call.
      EXPECT_EQ(stub.square(6).Get()->getResult(), 36);
      if (f.gate.entered() > 0) break;
      timeout *= 2;
    }
  }
  EXPECT_EQ(f.gate.entered(), 1);
  EXPECT_EQ(f.gate.aborted_count(), 1)
      << "the running call was not told of its deadline (" << absl::FormatDuration(timeout) << ")";
}

TEST(Pool, AbortResolvesCancelledAndTheWorkerSeesIt) {
  Fixture f;
  auto pool = MakePool(f, Options(1));
  ASSERT_TRUE(pool.ok());
  auto stub = pool->stub();
  auto call = stub.gated();
  f.gate.WaitEntered(1);
  call.Abort();
  EXPECT_EQ(call.Get().status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(stub.square(5).Get()->getResult(), 25);
}

TEST(Pool, MoreHostThreadsThanLanesGetResourceExhaustedThenRecover) {
  Fixture f;
  weft::PoolOptions options = Options(1);
  options.max_host_threads = 1;
  auto pool = MakePool(f, options);
  ASSERT_TRUE(pool.ok());
  auto stub = pool->stub();
  ASSERT_TRUE(stub.square(1).Get().ok());  // this thread holds the only lane
  absl::Status other;
  std::thread([&] { other = stub.square(2).Get().status(); }).join();
  EXPECT_EQ(other.code(), absl::StatusCode::kResourceExhausted) << other;
}

}  // namespace
}  // namespace weft_test
