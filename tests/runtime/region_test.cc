#include "runtime/internal/region.h"

#include <sys/mman.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace weft::internal {
namespace {

Geometry SmallGeometry() {
  Geometry g{};
  g.lanes = 2;
  g.slots_per_lane = 8;
  g.ring_capacity = 8;
  g.request_inline_bytes = 256;
  g.response_inline_bytes = 256;
  g.heap_bytes = 64 * 1024;
  return g;
}

TEST(Region, CreateThenMapSeesTheSameHeader) {
  absl::StatusOr<Region> region = Region::Create(SmallGeometry(), 0x1234, 3);
  ASSERT_TRUE(region.ok()) << region.status();
  absl::StatusOr<Region> mapped = Region::Map(region->fd());
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  EXPECT_EQ(mapped->header()->interface_id, 0x1234u);
  EXPECT_EQ(mapped->header()->method_count, 3u);
  EXPECT_EQ(mapped->size(), region->size());
  // Two mappings of one file: a write through one is read through the other.
  region->base()[mapped->lane(1).request_heap] = 42;
  EXPECT_EQ(mapped->base()[mapped->lane(1).request_heap], 42);
}

TEST(Region, LanesDoNotOverlapAndFitTheRegion) {
  const Geometry g = SmallGeometry();
  const LaneLayout a = LaneAt(g, 0);
  const LaneLayout b = LaneAt(g, 1);
  EXPECT_LT(a.response_heap + g.heap_bytes, b.start + 1);
  EXPECT_LE(b.response_heap + g.heap_bytes, RegionBytes(g));
  EXPECT_EQ(a.ring_control % kCacheLine, 0u);
  EXPECT_EQ(a.slots % kCacheLine, 0u);
  EXPECT_EQ(a.request_heap % 4096, 0u);
}

TEST(Region, CorruptedMagicIsRefused) {
  absl::StatusOr<Region> region = Region::Create(SmallGeometry(), 1, 1);
  ASSERT_TRUE(region.ok());
  region->header()->magic ^= 1;
  absl::StatusOr<Region> mapped = Region::Map(region->fd());
  ASSERT_FALSE(mapped.ok());
  EXPECT_EQ(mapped.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(mapped.status().message().find("magic"), std::string_view::npos);
}

TEST(Region, CorruptedVersionIsRefused) {
  absl::StatusOr<Region> region = Region::Create(SmallGeometry(), 1, 1);
  ASSERT_TRUE(region.ok());
  region->header()->layout_version = 99;
  absl::Status s = Region::Validate(region->base(), region->size());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("version"), std::string_view::npos);
}

TEST(Region, CorruptedGeometryIsRefused) {
  absl::StatusOr<Region> region = Region::Create(SmallGeometry(), 1, 1);
  ASSERT_TRUE(region.ok());
  region->header()->geometry.slots_per_lane = 1000;  // no longer fits the mapping
  EXPECT_EQ(Region::Validate(region->base(), region->size()).code(),
            absl::StatusCode::kInvalidArgument);
  region->header()->geometry.slots_per_lane = 8;
  region->header()->geometry.ring_capacity = 6;  // not a power of two
  EXPECT_EQ(Region::Validate(region->base(), region->size()).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Region, TruncatedMappingIsRefused) {
  absl::StatusOr<Region> region = Region::Create(SmallGeometry(), 1, 1);
  ASSERT_TRUE(region.ok());
  EXPECT_EQ(Region::Validate(region->base(), region->size() - 4096).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Region::Validate(region->base(), 16).code(), absl::StatusCode::kInvalidArgument);
}

TEST(Region, BadGeometryIsRefusedAtCreate) {
  Geometry g = SmallGeometry();
  g.lanes = 0;
  EXPECT_EQ(Region::Create(g, 1, 1).status().code(), absl::StatusCode::kInvalidArgument);
  g = SmallGeometry();
  g.ring_capacity = 4;  // smaller than slots_per_lane
  EXPECT_EQ(Region::Create(g, 1, 1).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
TEST(Region, OpeningAMissingNameSaysWhatASandboxMustShare) {
  // What a worker in a sandbox with a private /dev sees: the name the host
  // made is not there.
  absl::StatusOr<Region> r = Region::Open("/weft-00000000000000000000000000000000");
  ASSERT_EQ(r.status().code(), absl::StatusCode::kNotFound) << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(), "must share /dev/shm with the host"))
      << r.status();
  absl::StatusOr<Region> via_proc = Region::Open("/proc/self/fd/1000000");
  ASSERT_EQ(via_proc.status().code(), absl::StatusCode::kNotFound) << via_proc.status();
  EXPECT_TRUE(absl::StrContains(via_proc.status().message(), "must see the host's /proc"))
      << via_proc.status();
}

TEST(Region, OpeningAnExistingNameMapsIt) {
  Geometry g = SmallGeometry();
  absl::StatusOr<Region> made = Region::Create(g, 7, 1, /*named=*/true);
  ASSERT_TRUE(made.ok()) << made.status();
  absl::StatusOr<Region> opened = Region::Open(made->name());
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->header()->interface_id, 7u);
}

}  // namespace weft::internal
