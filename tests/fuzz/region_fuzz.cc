// Fuzzes the checks a worker makes on the region it is handed before it
// uses any of it: Region::Validate on a header, and Region::Map on a memfd
// holding that header (runtime/internal/region.h).
//
// The input (formats.h, RegionInput) is the header's bytes, the size of the
// mapping it is checked against (raw, or derived from the header so that
// valid regions are reached), and fix-ups that make chosen fields right.
// Invariants:
//   - Validate reads nothing but the header: it runs on a heap copy of
//     exactly min(size, sizeof(RegionHeader)) bytes, so ASan reports any
//     read past it;
//   - a refusal is InvalidArgument with a message (Map may also fail with
//     Internal for a mapping the kernel refuses);
//   - an accepted region's geometry passes CheckGeometry, RegionBytes of it
//     is the mapping's size, the header's derived fields match, and every
//     lane's parts lie in order inside the mapping; a LaneWorker is built
//     over the first and last lane and reads their rings (a SEGV if a lane
//     were outside the mapping).
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include "absl/status/status.h"
#include "runtime/internal/lane_worker.h"
#include "runtime/internal/layout.h"
#include "runtime/internal/region.h"
#include "tests/fuzz/formats.h"
#include "tests/fuzz/fuzz_util.h"

namespace weft_fuzz {
namespace {

using namespace weft::internal;

// The largest memfd Map is tried on (sparse: only the header page is ever
// written). Larger sizes are checked by Validate alone.
constexpr uint64_t kMaxMapBytes = uint64_t{256} << 20;
constexpr std::align_val_t kHeaderAlign{alignof(RegionHeader)};

int Memfd() {
  static const int fd = [] {
    const int fd = memfd_create("weft-fuzz-region", MFD_CLOEXEC);
    FUZZ_CHECK(fd >= 0, "memfd_create");
    return fd;
  }();
  return fd;
}

void CheckRegionGeometry(const RegionHeader& h, uint64_t bytes) {
  const Geometry& g = h.geometry;
  FUZZ_CHECK(CheckGeometry(g).ok(), "an accepted region has a bad geometry");
  FUZZ_CHECK(RegionBytes(g) == bytes && h.total_bytes == bytes, "sizes disagree: ", RegionBytes(g),
             " / ", h.total_bytes, " / ", bytes);
  FUZZ_CHECK(h.lanes_offset == LanesOffset() && h.lane_stride == LaneStride(g),
             "the header's lane fields do not match its geometry");
  const uint64_t stride = LaneStride(g);
  FUZZ_CHECK(LanesOffset() >= sizeof(RegionHeader) && stride % 4096 == 0, "lane stride ", stride);
  // Lanes are evenly spaced: checking the first and the last covers them all.
  for (uint32_t i : {0u, g.lanes - 1}) {
    const LaneLayout l = LaneAt(g, i);
    FUZZ_CHECK(l.start == LanesOffset() + uint64_t{i} * stride, "lane ", i, " start");
    FUZZ_CHECK(l.start <= l.ring_control && l.ring_control + sizeof(RingControl) <= l.descriptors &&
                   l.descriptors + uint64_t{g.ring_capacity} * sizeof(CallDescriptor) <= l.slots &&
                   l.slots + uint64_t{g.slots_per_lane} * sizeof(SlotShared) <= l.response_inline &&
                   l.response_inline + uint64_t{g.slots_per_lane} * g.response_inline_bytes <=
                       l.response_heap &&
                   l.response_heap + g.heap_bytes <= l.start + stride &&
                   l.start + stride <= RequestsOffset(g),
               "lane ", i, "'s parts overlap or leave the lanes");
    // Its request areas: in the requests block, which ends before the stats.
    const uint64_t request_stride = RequestsBytes(g) / g.lanes;
    FUZZ_CHECK(RequestsOffset(g) + uint64_t{i} * request_stride == l.request_inline &&
                   l.request_inline + uint64_t{g.slots_per_lane} * g.request_inline_bytes <=
                       l.request_heap &&
                   l.request_heap + g.heap_bytes <= l.request_inline + request_stride &&
                   RequestsOffset(g) + RequestsBytes(g) <= StatsOffset(g) &&
                   StatsOffset(g) <= bytes && RequestsOffset(g) % 4096 == 0 &&
                   request_stride % 4096 == 0,
               "lane ", i, "'s parts overlap or leave the region");
    FUZZ_CHECK(l.ring_control % kCacheLine == 0 && l.slots % kCacheLine == 0 &&
                   l.request_heap % 8 == 0 && l.response_heap % 8 == 0,
               "lane ", i, " is misaligned");
  }
}

void TryMap(const std::string& header, uint64_t bytes) {
  const int fd = Memfd();
  FUZZ_CHECK(ftruncate(fd, 0) == 0, "ftruncate");
  if (bytes > kMaxMapBytes) return;
  FUZZ_CHECK(ftruncate(fd, static_cast<off_t>(bytes)) == 0, "ftruncate to ", bytes);
  const size_t n = std::min<uint64_t>(header.size(), bytes);
  FUZZ_CHECK(pwrite(fd, header.data(), n, 0) == static_cast<ssize_t>(n), "pwrite");
  // No requests block: Map validates the header before it maps one.
  absl::StatusOr<Region> region = Region::Map(fd, /*requests_fd=*/-1);
  FUZZ_LOG("region: Map ", region.status().ToString());
  if (!region.ok()) {
    const absl::StatusCode code = region.status().code();
    FUZZ_CHECK(
        (code == absl::StatusCode::kInvalidArgument || code == absl::StatusCode::kInternal) &&
            !region.status().message().empty(),
        "Map failed unclearly: ", region.status().ToString());
    return;
  }
  FUZZ_CHECK(region->size() == bytes && region->fd() == -1, "Map's region is not the file");
  CheckRegionGeometry(*region->header(), bytes);
  const Geometry& g = region->geometry();
  FUZZ_CHECK(std::memcmp(&g, &region->header()->geometry, sizeof(g)) == 0,
             "Map kept another geometry than the header's");
  // What a worker does next: build its lanes and look at their rings.
  for (uint32_t i : {0u, g.lanes - 1}) {
    LaneWorker lane(region->base(), region->size(), g, i, g.heap_bytes / 8);
    FUZZ_CHECK(lane.ring().Peek() == nullptr, "a fresh lane's ring is not empty");
  }
}

}  // namespace
}  // namespace weft_fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace weft_fuzz;
  FuzzInput in(data, size);
  const RegionInput input = DecodeRegion(in);

  // The header, zero-extended, with the fix-ups asked for.
  alignas(RegionHeader) unsigned char raw[sizeof(RegionHeader)] = {};
  std::memcpy(raw, input.header.data(), std::min(input.header.size(), sizeof(raw)));
  auto* h = reinterpret_cast<RegionHeader*>(raw);
  if (input.fixups & kFixMagic) {
    h->magic = kRegionMagic;
    h->layout_version = kLayoutVersion;
    h->header_bytes = sizeof(RegionHeader);
  }
  const bool geometry_ok = CheckGeometry(h->geometry).ok();
  if ((input.fixups & kFixLaneFields) && geometry_ok) {
    h->lanes_offset = LanesOffset();
    h->lane_stride = LaneStride(h->geometry);
  }
  uint64_t bytes = input.size;
  switch (input.size_mode % kSizeModeCount) {
    case kSizeFromGeometry:
      if (geometry_ok) bytes = RegionBytes(h->geometry) + static_cast<int8_t>(input.size);
      break;
    case kSizeFromHeader:
      bytes = h->total_bytes;
      break;
    case kSizeSmall:
      bytes = input.size % 4096;
      break;
    default:
      break;
  }
  if (input.fixups & kFixTotal) h->total_bytes = bytes;
  const std::string header(reinterpret_cast<const char*>(raw), sizeof(raw));

  // Validate on exactly the bytes it may read.
  const size_t readable = std::min<uint64_t>(bytes, sizeof(RegionHeader));
  // Aligned as a RegionHeader (UBSan checks member accesses), and exactly
  // `readable` bytes long (ASan's redzone starts right after them).
  const auto release = [](void* p) { ::operator delete[](p, kHeaderAlign); };
  std::unique_ptr<void, decltype(release)> copy(
      ::operator new[](std::max<size_t>(readable, 1), kHeaderAlign), release);
  std::memcpy(copy.get(), raw, readable);
  const absl::Status valid = Region::Validate(static_cast<const char*>(copy.get()), bytes);
  FUZZ_LOG("region: ", bytes, " bytes: Validate ", valid.ToString());
  if (valid.ok()) {
    FUZZ_CHECK(bytes >= sizeof(RegionHeader), "a region smaller than its header was accepted");
    CheckRegionGeometry(*h, bytes);
  } else {
    FUZZ_CHECK(valid.code() == absl::StatusCode::kInvalidArgument && !valid.message().empty(),
               "Validate failed unclearly: ", valid.ToString());
  }
  TryMap(header, bytes);
  return 0;
}
