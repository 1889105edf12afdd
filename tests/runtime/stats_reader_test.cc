// ReadPoolStats, the one reader of the stats (Pool::Stats() and weft-top),
// against regions a worker process corrupted: a bad header or a geometry
// that changed after the checks is reported as unreadable, with zero
// figures, and never read out of bounds; a good region reads.
#include <cstdlib>
#include <cstring>
#include <memory>

#include "gtest/gtest.h"
#include "runtime/internal/region.h"
#include "runtime/internal/stats_block.h"
#include "runtime/internal/stats_cells.h"

namespace weft {
namespace internal {
namespace {

Geometry Small() {
  Geometry g{};
  g.lanes = 1;
  g.slots_per_lane = 4;
  g.ring_capacity = 8;
  g.request_inline_bytes = 64;
  g.response_inline_bytes = 64;
  g.stats_methods = 2;
  g.heap_bytes = 4096;
  return g;
}

struct Fixture {
  Fixture() {
    StatsBlock::Spec spec;
    spec.interface_name = "test::Iface";
    spec.method_names = {"a", "b"};
    spec.workers = 1;
    spec.lanes = 1;
    block = *StatsBlock::Create(spec);
    region = *Region::Create(Small(), 0x1234, 2);
    // The worker's figures: 5 calls of "b", one timed.
    auto* cells = reinterpret_cast<WorkerMethodCells*>(region.base() + StatsOffset(Small()));
    AddOwned(cells[1].started, 5);
    AddOwned(cells[1].served, 5);
    AddOwned(cells[1].by_code[0], 5);
    Record(cells[1].service, 1500, /*shared=*/false);
  }
  // A copy of the region, to corrupt without touching the original.
  std::unique_ptr<char, decltype(&std::free)> Copy() const {
    char* copy = static_cast<char*>(std::aligned_alloc(4096, region.size()));
    std::memcpy(copy, region.base(), region.size());
    return {copy, &std::free};
  }
  StatsBlock block;
  Region region;
};

TEST(StatsReader, AGoodRegionReads) {
  Fixture f;
  PoolStats stats;
  const RegionView view{f.region.base(), f.region.size()};
  ReadPoolStats(f.block, {&view, 1}, 0, &stats);
  ASSERT_EQ(stats.workers.size(), 1u);
  EXPECT_TRUE(stats.workers[0].readable);
  ASSERT_EQ(stats.methods.size(), 2u);
  EXPECT_EQ(stats.methods[1].name, "b");
  EXPECT_EQ(stats.methods[1].served, 5u);
  EXPECT_EQ(stats.methods[1].service.count(), 1u);
  EXPECT_EQ(stats.interface_name, "test::Iface");
}

TEST(StatsReader, AScribbledHeaderIsUnreadableNotGarbage) {
  Fixture f;
  auto copy = f.Copy();
  std::memset(copy.get(), 0xA5, 64);  // magic, version, sizes
  PoolStats stats;
  const RegionView view{copy.get(), f.region.size()};
  ReadPoolStats(f.block, {&view, 1}, 0, &stats);
  EXPECT_FALSE(stats.workers[0].readable);
  EXPECT_EQ(stats.methods[1].served, 0u);
  EXPECT_EQ(stats.workers[0].calls_served, 0u);
  EXPECT_NE(stats.ToString().find("BAD"), std::string::npos) << stats.ToString();
}

TEST(StatsReader, AGeometryClaimingMoreCellsThanMappedIsUnreadable) {
  Fixture f;
  auto copy = f.Copy();
  // As if the worker rewrote its geometry between the checks and the read:
  // more lanes than the mapping holds. The view claims the old size.
  auto* header = reinterpret_cast<RegionHeader*>(copy.get());
  header->geometry.lanes = 4000;
  PoolStats stats;
  const RegionView view{copy.get(), f.region.size()};
  ReadPoolStats(f.block, {&view, 1}, 0, &stats);
  EXPECT_FALSE(stats.workers[0].readable);
  EXPECT_EQ(stats.methods[1].served, 0u);
}

TEST(StatsReader, AMissingRegionLeavesTheWorkersFiguresAtZero) {
  Fixture f;
  PoolStats stats;
  ReadPoolStats(f.block, {}, 0, &stats);
  ASSERT_EQ(stats.workers.size(), 1u);
  EXPECT_EQ(stats.workers[0].calls_served, 0u);
  EXPECT_EQ(stats.methods[1].served, 0u);
}

}  // namespace
}  // namespace internal
}  // namespace weft
