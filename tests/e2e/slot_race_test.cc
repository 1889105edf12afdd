// Minimal reproduction of a runtime race (see the comment on the test).
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "runtime/pool.h"
#include "tests/e2e/catalog.weft.h"

namespace shop::catalog {
namespace {

class Pong final : public weft::Skeleton<Health> {
 public:
  absl::Status ping(PingCall& call) override {
    call.results().setWorker(7);
    return absl::OkStatus();
  }
  absl::Status note(NoteCall&) override { return absl::OkStatus(); }
};

// One thread pipelines more calls than its lane has slots, holding no
// Response at all. When the lane is full, LaneHost::AcquireSlot
// (runtime/internal/lane_host.cc) runs ReclaimFinished(), finds no call done yet, then
// scans for an unfinished call to wait on. If the worker finishes the last
// in-flight calls between those two scans, the scan finds none and the call
// fails with ResourceExhausted "... held by live weft::Response objects",
// although no Response is alive: it should go round the loop again
// (ReclaimFinished would now evacuate the finished calls) and succeed.
TEST(SlotRace, PipeliningPastTheSlotCountNeverFailsWithoutLiveResponses) {
  weft::PoolOptions options;
  options.workers = 1;
  options.slots_per_lane = 1;  // the smallest lane hits the race on most runs
  auto pool = weft::Pool<Health>::Create(options, [] { return std::make_unique<Pong>(); });
  ASSERT_TRUE(pool.ok()) << pool.status();
  auto stub = pool->stub();
  constexpr int kCalls = 20'000;
  std::vector<weft::Future<Health::PingResults>> futures;
  futures.reserve(kCalls);
  for (int i = 0; i < kCalls; ++i) futures.push_back(stub.ping());
  int failed = 0;
  absl::Status first;
  for (int i = 0; i < kCalls; ++i) {
    auto r = futures[i].Get();
    if (!r.ok() || r->getWorker() != 7) {
      if (failed++ == 0) first = r.status();
    }
  }
  EXPECT_EQ(failed, 0) << "first failure: " << first;
}

}  // namespace
}  // namespace shop::catalog
