#include "runtime/internal/region.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

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
  absl::StatusOr<Region> mapped = Region::Map(region->fd(), region->requests_fd());
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  EXPECT_EQ(mapped->header()->interface_id, 0x1234u);
  EXPECT_EQ(mapped->header()->method_count, 3u);
  EXPECT_EQ(mapped->size(), region->size());
  // Two mappings of the files: a write through one is read through the
  // other, in the lanes and in the requests block.
  region->base()[mapped->lane(1).request_heap] = 42;
  EXPECT_EQ(mapped->base()[mapped->lane(1).request_heap], 42);
  region->base()[mapped->lane(1).response_heap] = 43;
  EXPECT_EQ(mapped->base()[mapped->lane(1).response_heap], 43);
  mapped->base()[mapped->lane(0).response_inline] = 44;
  EXPECT_EQ(region->base()[region->lane(0).response_inline], 44);
}

// What a hostile process worker would try to get a writable view of the
// requests block it was handed (the host builds requests there in place).
// Each way is refused by the seals; the host's own mapping still writes.
TEST(Region, TheRequestsBlockCannotBeMadeWritableByTheOneItIsHandedTo) {
  absl::StatusOr<Region> region = Region::Create(SmallGeometry(), 1, 1);
  ASSERT_TRUE(region.ok()) << region.status();
  absl::StatusOr<Region> mapped = Region::Map(region->fd(), region->requests_fd());
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  const Geometry g = SmallGeometry();
  const int fd = region->requests_fd();
  const size_t bytes = RequestsBytes(g);
  char* view = mapped->base() + RequestsOffset(g);

  errno = 0;
  EXPECT_NE(mprotect(view, bytes, PROT_READ | PROT_WRITE), 0) << "mprotect made it writable";
  EXPECT_EQ(errno, EACCES);
  void* writable = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  EXPECT_EQ(writable, MAP_FAILED) << "a writable shared mapping was allowed";
  EXPECT_EQ(errno, EPERM);
  const char byte = 1;
  EXPECT_EQ(pwrite(fd, &byte, 1, 0), -1) << "pwrite went through";
  EXPECT_EQ(errno, EPERM);
  EXPECT_NE(ftruncate(fd, 0), 0) << "the block could be shrunk";
  EXPECT_NE(ftruncate(fd, static_cast<off_t>(bytes) * 2), 0) << "the block could be grown";
  EXPECT_NE(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096), 0)
      << "a hole could be punched";
  // Re-opened through /proc as a new, writable file description: the seals
  // are the file's, so nothing changes.
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  const int reopened = open(path.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(reopened, 0) << "open " << path << ": " << std::strerror(errno);
  writable = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, reopened, 0);
  EXPECT_EQ(writable, MAP_FAILED) << "a writable mapping through /proc was allowed";
  EXPECT_EQ(write(reopened, &byte, 1), -1) << "write through /proc went through";
  close(reopened);
  // The seals cannot be lifted or added to.
  EXPECT_NE(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), 0);
  EXPECT_EQ(fcntl(fd, F_GET_SEALS) & F_SEAL_SEAL, F_SEAL_SEAL);

  // The host, which mapped it before sealing, still builds there.
  region->base()[region->lane(0).request_inline] = 7;
  EXPECT_EQ(view[0], 7);
}

TEST(Region, TheRegionsSizeIsSealed) {
  // A worker that shrank its region would make the host's next access to a
  // page past the new end a SIGBUS.
  absl::StatusOr<Region> region = Region::Create(SmallGeometry(), 1, 1);
  ASSERT_TRUE(region.ok()) << region.status();
  EXPECT_NE(ftruncate(region->fd(), 4096), 0);
  EXPECT_EQ(errno, EPERM);
  EXPECT_NE(fcntl(region->fd(), F_ADD_SEALS, F_SEAL_FUTURE_WRITE), 0)
      << "a worker could stop its replacements from mapping the region";
}

TEST(Region, LanesDoNotOverlapAndFitTheRegion) {
  const Geometry g = SmallGeometry();
  const LaneLayout a = LaneAt(g, 0);
  const LaneLayout b = LaneAt(g, 1);
  EXPECT_LT(a.response_heap + g.heap_bytes, b.start + 1);
  EXPECT_LE(b.response_heap + g.heap_bytes, RequestsOffset(g));
  // The request areas are in the requests block, after the lanes.
  EXPECT_LE(a.request_inline + uint64_t{g.slots_per_lane} * g.request_inline_bytes, a.request_heap);
  EXPECT_LE(a.request_heap + g.heap_bytes, b.request_inline);
  EXPECT_LE(b.request_heap + g.heap_bytes, RequestsOffset(g) + RequestsBytes(g));
  EXPECT_LE(RequestsOffset(g) + RequestsBytes(g), RegionBytes(g));
  EXPECT_EQ(RequestsOffset(g) % 4096, 0u);
  EXPECT_EQ(a.ring_control % kCacheLine, 0u);
  EXPECT_EQ(a.slots % kCacheLine, 0u);
  EXPECT_EQ(a.request_heap % 4096, 0u);
}

TEST(Region, CorruptedMagicIsRefused) {
  absl::StatusOr<Region> region = Region::Create(SmallGeometry(), 1, 1);
  ASSERT_TRUE(region.ok());
  region->header()->magic ^= 1;
  absl::StatusOr<Region> mapped = Region::Map(region->fd(), region->requests_fd());
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
  absl::StatusOr<Region> r = Region::Open("/weft-00000000000000000000000000000000", -1);
  ASSERT_EQ(r.status().code(), absl::StatusCode::kNotFound) << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(), "must share /dev/shm with the host"))
      << r.status();
  absl::StatusOr<Region> via_proc = Region::Open("/proc/self/fd/1000000", -1);
  ASSERT_EQ(via_proc.status().code(), absl::StatusCode::kNotFound) << via_proc.status();
  EXPECT_TRUE(absl::StrContains(via_proc.status().message(), "must see the host's /proc"))
      << via_proc.status();
}

TEST(Region, OpeningAnExistingNameMapsIt) {
  Geometry g = SmallGeometry();
  absl::StatusOr<Region> made = Region::Create(g, 7, 1, /*named=*/true);
  ASSERT_TRUE(made.ok()) << made.status();
  absl::StatusOr<Region> opened = Region::Open(made->name(), made->requests_fd());
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->header()->interface_id, 7u);
}

}  // namespace weft::internal
