// The no-allocation property on process workers: tests/pool/no_alloc_test.cc
// across the process boundary. After the warm-up (the first calls bind the
// lanes and map their private staging areas), a call — flat or builder form,
// Get() and the wait in it, the copy of the results out of the region and
// their validation, reading them, dropping the Response — makes no heap
// allocation on the calling thread, but for what Cap'n Proto's arenas
// allocate for a message past its first segment
// (tests/testing/capnp_spill_cost.h): a spilled request is built once (in
// the private staging copy), a spilled response read twice (the pointer
// check of the copy, then the caller's reader).
//
// Counted by tests/testing/alloc_counter.h (operator new and delete in every
// form; malloc and friends interposed in plain builds, through the sanitizer
// allocator's hook under ASan and TSan). The worker processes' allocations
// are not counted.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/pool.h"
#include "tests/process/proc_test.weft.h"
#include "tests/process/process_test_util.h"
#include "tests/testing/alloc_counter.h"
#include "tests/testing/capnp_spill_cost.h"
#include "tests/testing/checksum.h"
#include "tests/testing/watchdog.h"

namespace weft_test {
namespace {

constexpr int kWarmUp = 100;
constexpr int kCalls = 1000;
constexpr uint32_t kInlineBytes = 1024;
// Larger than a slot's inline area: both messages spill into the lanes'
// heaps (a second segment), far within max_payload_bytes.
constexpr size_t kSpilledBytes = 4 * kInlineBytes;
constexpr size_t kSmallBytes = 100;

std::vector<kj::byte> Bytes(size_t n) {
  std::vector<kj::byte> bytes(n);
  for (size_t i = 0; i < n; ++i) bytes[i] = static_cast<kj::byte>(i * 7 + 3);
  return bytes;
}

capnp::Data::Reader Reader(const std::vector<kj::byte>& bytes) {
  return capnp::Data::Reader(bytes.data(), bytes.size());
}

class NoAllocProcess : public ProcessTest {
 protected:
  void SetUp() override {
    ProcessTest::SetUp();
    if (HasFatalFailure()) return;
    weft::PoolOptions options = ProcOptions(2, "proc_worker");  // round robin over both
    options.initial_payload_bytes = kInlineBytes;
    options.spin = spin_;
    absl::StatusOr<Pool> pool = Pool::Create(options);
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_.emplace(*std::move(pool));
    stub_ = pool_->stub();
  }
  void TearDown() override {
    stub_ = weft::Stub<ProcTest>();
    pool_.reset();  // the workers are gone before the fixture looks
    ProcessTest::TearDown();
  }

  // Runs the call kWarmUp then kCalls times; each counted call must
  // allocate exactly `per_call` (Cap'n Proto's own, for spilled messages).
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
  template <typename Call>
  void ExpectNoAllocations(Call call) {
    ExpectAllocationsPerCall(AllocCounts(), call);
  }

  // A spilled request built once; a spilled response read by two readers.
  static AllocCounts SpilledBothWays() {
    const CapnpSpillCost cost = MeasureCapnpSpillCost(kInlineBytes, kSpilledBytes);
    return cost.build + cost.read + cost.read;
  }

  static bool EchoedRight(const absl::StatusOr<weft::Response<ProcTest::EchoResults>>& r,
                          capnp::Data::Reader sent) {
    return r.ok() && r->getData() == sent && r->getChecksum() == Checksum(sent);
  }

  weft::SpinPolicy spin_;
  std::optional<Pool> pool_;
  weft::Stub<ProcTest> stub_;
};

TEST_F(NoAllocProcess, FlatOneSegment) {
  ExpectNoAllocations([&](int i) {
    auto r = stub_.square(i).Get();
    return r.ok() && r->getResult() == int64_t{i} * i;
  });
}

TEST_F(NoAllocProcess, BuilderOneSegment) {
  ExpectNoAllocations([&](int i) {
    auto r = stub_.square([i](auto p) { p.setValue(-i); }).Get();
    return r.ok() && r->getResult() == int64_t{i} * i;
  });
}

TEST_F(NoAllocProcess, FlatOneSegmentData) {
  const std::vector<kj::byte> bytes = Bytes(kSmallBytes);
  ExpectNoAllocations(
      [&](int) { return EchoedRight(stub_.echo(Reader(bytes)).Get(), Reader(bytes)); });
}

TEST_F(NoAllocProcess, FlatSpilledRequestAndResponse) {
  const std::vector<kj::byte> bytes = Bytes(kSpilledBytes);
  ExpectAllocationsPerCall(SpilledBothWays(), [&](int) {
    return EchoedRight(stub_.echo(Reader(bytes)).Get(), Reader(bytes));
  });
}

TEST_F(NoAllocProcess, BuilderSpilledRequestAndResponse) {
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

// A window of calls in flight at once, then their Get()s in order.
TEST_F(NoAllocProcess, PipelinedWindow) {
  constexpr int kWindow = 16;
  std::vector<weft::Future<ProcTest::SquareResults>> futures(kWindow);
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
TEST_F(NoAllocProcess, WaitForThenGet) {
  ExpectNoAllocations([&](int i) {
    auto f = stub_.square(i);
    if (!f.WaitFor(kHangBound) || !f.Ready()) return false;
    auto r = f.Get();
    return r.ok() && r->getResult() == int64_t{i} * i;
  });
}

// No spinning: nearly every Get() sleeps on the slot's futex, and the
// workers on their doorbells.
class NoAllocProcessSleeping : public NoAllocProcess {
 protected:
  void SetUp() override {
    spin_ = weft::SpinPolicy{.spin_polls = 0, .yield_polls = 0};
    NoAllocProcess::SetUp();
  }
};

TEST_F(NoAllocProcessSleeping, GetSleepsInTheWait) {
  const std::vector<kj::byte> bytes = Bytes(kSpilledBytes);
  ExpectAllocationsPerCall(SpilledBothWays(), [&](int i) {
    auto r = stub_.square(i).Get();
    return r.ok() && r->getResult() == int64_t{i} * i &&
           EchoedRight(stub_.echo(Reader(bytes)).Get(), Reader(bytes));
  });
}

}  // namespace
}  // namespace weft_test
