// The no-allocation property on thread workers: once a host thread has made
// its first calls (which bind its lanes and allocate their blocks), a call —
// the stub (flat or builder form), Get() and the wait in it, reading the
// results, dropping the Response — makes no heap allocation on the calling
// thread. A call whose request or response spills out of the slot's inline
// area (a second segment) allocates exactly what Cap'n Proto 0.9.2's arenas
// allocate for any two-segment message, measured here with no weft involved
// (tests/testing/capnp_spill_cost.h), and nothing more.
//
// Counted by tests/testing/alloc_counter.h: every form of operator new and
// delete, and malloc and friends from every library (interposed in plain
// builds, through the sanitizer allocator's hook under ASan and TSan). The
// workers' own allocations are not counted (another thread).
// tests/process/no_alloc_test.cc is the same for process workers.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/pool.h"
#include "tests/pool/test_service.weft.h"
#include "tests/pool/test_service_impl.h"
#include "tests/testing/alloc_counter.h"
#include "tests/testing/capnp_spill_cost.h"
#include "tests/testing/checksum.h"
#include "tests/testing/watchdog.h"

namespace weft_test {
namespace {

constexpr int kWarmUp = 100;
constexpr int kCalls = 1000;
constexpr uint32_t kInlineBytes = 1024;
// Larger than a slot's inline area: the request and the response spill into
// the lanes' heaps (a second segment), far within max_payload_bytes.
constexpr size_t kSpilledBytes = 4 * kInlineBytes;
constexpr size_t kSmallBytes = 100;

using Pool = weft::Pool<TestService>;

weft::PoolOptions Options() {
  weft::PoolOptions options;
  options.workers = 2;  // round robin: consecutive calls alternate workers (lanes)
  options.initial_payload_bytes = kInlineBytes;
  return options;
}

std::vector<kj::byte> Bytes(size_t n) {
  std::vector<kj::byte> bytes(n);
  for (size_t i = 0; i < n; ++i) bytes[i] = static_cast<kj::byte>(i * 7 + 3);
  return bytes;
}

capnp::Data::Reader Reader(const std::vector<kj::byte>& bytes) {
  return capnp::Data::Reader(bytes.data(), bytes.size());
}

class NoAlloc : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<Pool> pool = MakeTestPool(gate_, options_);
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_.emplace(*std::move(pool));
    stub_ = pool_->stub();
  }

  // Runs the call kWarmUp then kCalls times; the counted ones must not allocate.
  template <typename Call>
  void ExpectNoAllocations(Call call) {
    ExpectAllocationsPerCall(AllocCounts(), call);
  }

  // As ExpectNoAllocations, but each call may allocate `per_call` (what Cap'n
  // Proto's own arenas need for its spilled messages), and nothing more.
  template <typename Call>
  void ExpectAllocationsPerCall(const AllocCounts& per_call, Call call) {
    const SteadyState s = CountSteadyState(kWarmUp, kCalls, call);
    std::printf("%d calls: %s (malloc counted by %s); Cap'n Proto's own per call: %s\n", kCalls,
                ToString(s.counts).c_str(), MallocCountingMode(), ToString(per_call).c_str());
    EXPECT_EQ(s.failed_calls, 0);
    EXPECT_EQ(s.counts.allocations(), kCalls * per_call.allocations())
        << kCalls << " calls: " << s.description;
    EXPECT_EQ(s.counts.releases(), kCalls * per_call.releases())
        << kCalls << " calls: " << s.description;
  }

  // Cap'n Proto's own cost of reading a spilled response, and of building a
  // spilled request and reading a spilled response.
  static AllocCounts SpilledResponse() { return Spill().read; }
  static AllocCounts SpilledBothWays() { return Spill().build + Spill().read; }
  static CapnpSpillCost Spill() { return MeasureCapnpSpillCost(kInlineBytes, kSpilledBytes); }

  static bool EchoedRight(const absl::StatusOr<weft::Response<TestService::EchoResults>>& r,
                          capnp::Data::Reader sent) {
    return r.ok() && r->getData() == sent && r->getChecksum() == Checksum(sent);
  }

  Gate gate_;
  weft::PoolOptions options_ = Options();
  std::optional<Pool> pool_;
  weft::Stub<TestService> stub_;
};

TEST_F(NoAlloc, FlatOneSegment) {
  ExpectNoAllocations([&](int i) {
    auto r = stub_.square(i).Get();
    return r.ok() && r->getResult() == int64_t{i} * i;
  });
}

TEST_F(NoAlloc, BuilderOneSegment) {
  ExpectNoAllocations([&](int i) {
    auto r = stub_.square([i](auto p) { p.setValue(-i); }).Get();
    return r.ok() && r->getResult() == int64_t{i} * i;
  });
}

TEST_F(NoAlloc, FlatOneSegmentData) {
  const std::vector<kj::byte> bytes = Bytes(kSmallBytes);
  ExpectNoAllocations(
      [&](int) { return EchoedRight(stub_.echo(Reader(bytes)).Get(), Reader(bytes)); });
}

TEST_F(NoAlloc, FlatSpilledRequestAndResponse) {
  const std::vector<kj::byte> bytes = Bytes(kSpilledBytes);
  ExpectAllocationsPerCall(SpilledBothWays(), [&](int) {
    return EchoedRight(stub_.echo(Reader(bytes)).Get(), Reader(bytes));
  });
}

TEST_F(NoAlloc, BuilderSpilledRequestAndResponse) {
  const std::vector<kj::byte> bytes = Bytes(kSpilledBytes);
  ExpectAllocationsPerCall(SpilledBothWays(), [&](int) {
    auto r = stub_
                 .echo([&](auto p) {
                   capnp::Data::Builder d = p.initData(bytes.size());
                   std::memcpy(d.begin(), bytes.data(), bytes.size());
                 })
                 .Get();
    return EchoedRight(r, Reader(bytes));
  });
}

TEST_F(NoAlloc, OneSegmentRequestSpilledResponse) {
  ExpectAllocationsPerCall(SpilledResponse(), [&](int) {
    auto r = stub_.makeBlob(kSpilledBytes).Get();
    if (!r.ok() || r->getBlob().size() != kSpilledBytes) return false;
    return r->getBlob()[kSpilledBytes - 1] == (kSpilledBytes - 1) % 251;
  });
}

// A window of calls in flight at once, then their Get()s in order.
TEST_F(NoAlloc, PipelinedWindow) {
  constexpr int kWindow = 16;
  std::vector<weft::Future<TestService::SquareResults>> futures(kWindow);
  ExpectNoAllocations([&](int i) {
    for (int k = 0; k < kWindow; ++k) futures[k] = stub_.square(i + k);
    bool right = true;
    for (int k = 0; k < kWindow; ++k) {
      auto r = futures[k].Get();
      right = right && r.ok() && r->getResult() == int64_t{i + k} * (i + k);
    }
    return right;
  });
}

// WaitFor and Ready before Get: the wait on its own.
TEST_F(NoAlloc, WaitForThenGet) {
  ExpectNoAllocations([&](int i) {
    auto f = stub_.square(i);
    if (!f.WaitFor(kHangBound) || !f.Ready()) return false;
    auto r = f.Get();
    return r.ok() && r->getResult() == int64_t{i} * i;
  });
}

// No spinning: nearly every Get() sleeps on the slot's futex, and the worker
// on its doorbell (woken by the host's submit).
class NoAllocSleeping : public NoAlloc {
 protected:
  void SetUp() override {
    options_.spin = weft::SpinPolicy{.spin_polls = 0, .yield_polls = 0};
    NoAlloc::SetUp();
  }
};

TEST_F(NoAllocSleeping, GetSleepsInTheWait) {
  const std::vector<kj::byte> bytes = Bytes(kSpilledBytes);
  ExpectAllocationsPerCall(SpilledBothWays(), [&](int i) {
    auto r = stub_.square(i).Get();
    return r.ok() && r->getResult() == int64_t{i} * i &&
           EchoedRight(stub_.echo(Reader(bytes)).Get(), Reader(bytes));
  });
}

}  // namespace
}  // namespace weft_test
