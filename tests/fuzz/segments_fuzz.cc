// Fuzzes OpenSegments (runtime/internal/region_message.h), the check every
// segment table read back from shared memory goes through: the host's for a
// process worker's response, the worker's for a request.
//
// A real region (memfd, Region::Create) and a fuzzed SegmentTable, allowed
// ranges and region size (formats.h, SegmentsInput). Invariants:
//   - OpenSegments accepts the table exactly when an independent model (in
//     128-bit arithmetic, so nothing wraps) says every segment is 8-aligned
//     and lies wholly inside one allowed range and inside the region; a
//     refusal is InvalidArgument with a message;
//   - an accepted segment is exactly base + offset, words long, and entries
//     past `count` are left alone;
//   - every byte of every accepted segment is read with everything outside
//     the allowed ranges poisoned: ASan reports a segment that strays.
#include <array>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "capnp/common.h"
#include "runtime/internal/layout.h"
#include "runtime/internal/region.h"
#include "runtime/internal/region_message.h"
#include "tests/fuzz/formats.h"
#include "tests/fuzz/fuzz_util.h"

namespace weft_fuzz {
namespace {

using weft::internal::ByteRange;
using weft::internal::Geometry;
using weft::internal::kMaxSegments;
using weft::internal::Region;
using weft::internal::SegmentTable;

using u128 = unsigned __int128;

Region& TheRegion() {
  static Region* region = [] {
    Geometry g{};
    g.lanes = 2;
    g.slots_per_lane = 2;
    g.ring_capacity = 2;
    g.request_inline_bytes = 256;
    g.response_inline_bytes = 256;
    g.heap_bytes = 16 * 1024;
    absl::StatusOr<Region> r = Region::Create(g, 0x1234, 1);
    FUZZ_CHECK(r.ok(), r.status().ToString());
    return new Region(*std::move(r));
  }();
  return *region;
}

uint64_t AreaStart(const Region& region, uint8_t base) {
  const Geometry& g = region.geometry();
  switch (base % kSegAreaCount) {
    case kSegRequestInline0:
      return region.lane(0).request_inline;
    case kSegResponseInline1:
      return region.lane(0).response_inline + g.response_inline_bytes;
    case kSegRequestHeap:
      return region.lane(0).request_heap;
    case kSegResponseHeap:
      return region.lane(0).response_heap;
    case kSegLane1:
      return region.lane(1).start;
    case kSegEnd:
      return region.size();
    default:
      return 0;
  }
}

bool ModelAccepts(const SegmentTable& table, uint64_t region_bytes,
                  const std::vector<ByteRange>& ranges) {
  if (table.count == 0 || table.count > kMaxSegments) return false;
  for (uint32_t i = 0; i < table.count; ++i) {
    const u128 begin = table.segments[i].offset;
    const u128 end = begin + u128{table.segments[i].words} * 8;
    if (begin % 8 != 0 || end > region_bytes) return false;
    bool inside = false;
    for (const ByteRange& r : ranges) {
      if (begin >= r.offset && end <= u128{r.offset} + r.bytes) inside = true;
    }
    if (!inside) return false;
  }
  return true;
}

absl::Status Open(const SegmentTable& table, const char* base, uint64_t region_bytes,
                  const std::vector<ByteRange>& r,
                  std::array<kj::ArrayPtr<const capnp::word>, kMaxSegments>& out) {
  using weft::internal::OpenSegments;
  switch (r.size()) {
    case 0:
      return OpenSegments(table, base, region_bytes, {}, out);
    case 1:
      return OpenSegments(table, base, region_bytes, {r[0]}, out);
    case 2:
      return OpenSegments(table, base, region_bytes, {r[0], r[1]}, out);
    default:
      return OpenSegments(table, base, region_bytes, {r[0], r[1], r[2]}, out);
  }
}

}  // namespace
}  // namespace weft_fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace weft_fuzz;
  Region& region = TheRegion();
  FuzzInput in(data, size);
  const SegmentsInput input = DecodeSegments(in);

  uint64_t region_bytes = region.size();
  if (input.cut_mode & 1) region_bytes -= std::min<uint64_t>(input.cut, region_bytes);
  std::vector<ByteRange> ranges;
  for (const RangeSpec& r : input.ranges) {
    ranges.push_back(ByteRange{AreaStart(region, r.base) + r.offset, r.bytes});
  }
  SegmentTable table;
  // Entries past `count` hold garbage: they must not be looked at.
  std::memset(&table, 0xA5, sizeof(table));
  table.count = input.table.count;
  for (size_t i = 0; i < input.table.segments.size(); ++i) {
    const SegmentSpec& s = input.table.segments[i];
    table.segments[i].offset = AreaStart(region, s.base) + s.offset;
    table.segments[i].words = s.words;
  }

  // Everything but the allowed ranges (inside what OpenSegments is told the
  // region is) becomes unaddressable while the segments are read.
  char* base = region.base();
  Poison(base, region.size());
  for (const ByteRange& r : ranges) {
    if (r.offset >= region_bytes) continue;
    Unpoison(base + r.offset, std::min<uint64_t>(r.bytes, region_bytes - r.offset));
  }

  const kj::ArrayPtr<const capnp::word> sentinel(reinterpret_cast<const capnp::word*>(&table), 1);
  std::array<kj::ArrayPtr<const capnp::word>, kMaxSegments> out;
  out.fill(sentinel);
  const absl::Status status = Open(table, base, region_bytes, ranges, out);
  const bool model = ModelAccepts(table, region_bytes, ranges);
  FUZZ_LOG("segments: ", table.count, " in ", ranges.size(), " ranges: ", status.ToString());
  FUZZ_CHECK(status.ok() == model, "OpenSegments says ", status.ToString(), ", the model says ",
             model ? "valid" : "invalid");
  if (status.ok()) {
    WalkStats stats;
    for (uint32_t i = 0; i < table.count; ++i) {
      FUZZ_CHECK(
          out[i].begin() == reinterpret_cast<const capnp::word*>(base + table.segments[i].offset) &&
              out[i].size() == table.segments[i].words,
          "segment ", i, " is not the one the table describes");
      stats.Mix(out[i].asBytes());  // ASan: every byte must be in an allowed range
    }
    for (uint32_t i = table.count; i < kMaxSegments; ++i) {
      FUZZ_CHECK(out[i].begin() == sentinel.begin() && out[i].size() == 1, "entry ", i,
                 " past the segment count was written");
    }
  } else {
    FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument && !status.message().empty(),
               "a refusal must be a clear InvalidArgument, got ", status.ToString());
  }
  Unpoison(base, region.size());
  return 0;
}
