// Reproducers of runtime defects found by the soak (soak_test.cc) that are
// still open. Each test asserts what the contract (DESIGN.md, the public
// headers) says and fails today; the target is tagged "manual", so
// `//tests/soak/...` does not run it. Five of the six the soak found are
// fixed, and their regression tests live with their units: stats_test
// (slots of calls resolved early), call_control_test (a worker sees an
// abortable call's deadline; on_timeout wins whichever side saw it), and
// tests/process/supervisor_slots_test (shutdown completes what a dead worker
// never served; a replacement adopts only live response heap). Run them with
//
//   tools/bazel test //tests/soak:runtime_defects_test --test_output=all
//
// Where the soak works around one of these, it names the test here. Once a
// defect is fixed, its test passes: drop the soak's workaround and move the
// test into the suite of the unit it belongs to.
#include <signal.h>
#include <unistd.h>

#include <cstdint>
#include <iostream>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "runtime/pool.h"
#include "tests/process/proc_impl.h"
#include "tests/process/proc_test.weft.h"
#include "tests/process/process_test_util.h"

namespace weft_test {
namespace {

absl::StatusOr<Pool> ThreadPool(weft::PoolOptions options) {
  return Pool::Create(options, [] { return std::make_unique<ProcImpl>(); });
}

// Bounded: the worker finished the call.
bool Served(Pool& pool, uint64_t calls) {
  return PollUntil([&] { return pool.Stats().workers[0].calls_served >= calls; },
                   absl::Seconds(10));
}

// 4. pool_options.h: max_payload_bytes is "The largest request or response
// message"; "a response beyond it fails the call with ResourceExhausted".
// Today a lane's response heap is max_payload_bytes for all its slots
// together, so two responses under the limit in flight on one lane (the
// first not yet taken by Get()) fail the second with "the response of echo
// exceeds max_payload_bytes". (Requests wait for heap space instead.)
TEST(RuntimeDefect, ResponsesUnderTheLimitFailWhenTheirSumIsOverIt) {
  for (const bool process : {false, true}) {
    SCOPED_TRACE(process ? "process worker" : "thread worker");
    weft::PoolOptions options = process ? ProcOptions(1, "proc_worker") : weft::PoolOptions();
    options.max_payload_bytes = 256 << 10;
    auto pool = process ? Pool::Create(options) : ThreadPool(options);
    ASSERT_TRUE(pool.ok()) << pool.status();
    auto stub = pool->stub();
    std::vector<kj::byte> data(150 << 10, 7);  // 150 KiB each: under the limit
    auto first = stub.echo(capnp::Data::Reader(data.data(), data.size()));
    auto second = stub.echo(capnp::Data::Reader(data.data(), data.size()));
    ASSERT_TRUE(Served(*pool, 2));  // both answered before either is taken
    auto a = first.Get();
    auto b = second.Get();
    std::cout << (process ? "process" : "thread") << " worker: first " << a.status() << ", second "
              << b.status() << "\n";
    EXPECT_TRUE(a.ok());
    EXPECT_TRUE(b.ok());
  }
}

}  // namespace
}  // namespace weft_test
