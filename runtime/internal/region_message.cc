#include "runtime/internal/region_message.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "kj/debug.h"

namespace weft {
namespace internal {
namespace {
constexpr uint64_t kWordBytes = sizeof(capnp::word);
}  // namespace

RegionMessageBuilder::RegionMessageBuilder(char* base, uint64_t inline_offset,
                                           uint64_t inline_words, uint64_t inline_dirty_words,
                                           SpillSource* spill, uint64_t limit_words,
                                           bool spills_zeroed)
    : capnp::MessageBuilder(),
      base_(base),
      inline_offset_(inline_offset),
      inline_words_(inline_words),
      inline_dirty_words_(std::min(inline_dirty_words, inline_words)),
      spill_(spill),
      limit_words_(limit_words),
      spills_zeroed_(spills_zeroed) {}

kj::ArrayPtr<capnp::word> RegionMessageBuilder::allocateSegment(capnp::uint minimum_size) {
  const uint64_t minimum = std::max<uint64_t>(minimum_size, 1);
  if (segment_count_ == 0 && minimum <= inline_words_ && minimum <= limit_words_) {
    // Cap'n Proto requires zeroed segments; only what an earlier message
    // wrote is dirty.
    char* start = base_ + inline_offset_;
    std::memset(start, 0, inline_dirty_words_ * kWordBytes);
    inline_dirty_words_ = 0;
    inline_used_ = true;
    segment_count_ = 1;
    const uint64_t words = std::min(inline_words_, limit_words_);
    allocated_words_ = words;
    return kj::arrayPtr(reinterpret_cast<capnp::word*>(start), words);
  }
  // Grow geometrically so a large message needs few segments.
  const uint64_t remaining = limit_words_ - std::min(limit_words_, allocated_words_);
  if (minimum > remaining || segment_count_ == kMaxSegments || spill_ == nullptr) {
    overflowed_ = true;
    // The caller turns this into a status of its own (overflowed()).
    KJ_FAIL_REQUIRE("weft: the message exceeds max_payload_bytes");
  }
  uint64_t words = std::min(remaining, std::max(minimum, allocated_words_));
  std::optional<uint64_t> offset = spill_->AllocateSpill(words);
  if (!offset.has_value() && words > minimum) {
    words = minimum;
    offset = spill_->AllocateSpill(words);
  }
  if (!offset.has_value()) {
    overflowed_ = true;
    out_of_heap_ = true;
    KJ_FAIL_REQUIRE("weft: no room in the lane's heap for a message segment");
  }
  char* start = base_ + *offset;
  if (!spills_zeroed_) std::memset(start, 0, words * kWordBytes);
  spills_[spill_count_++] = SpillSpan{*offset, words};
  ++segment_count_;
  allocated_words_ += words;
  return kj::arrayPtr(reinterpret_cast<capnp::word*>(start), words);
}

void RegionMessageBuilder::WriteTable(SegmentTable& table) {
  kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>> segments = getSegmentsForOutput();
  table.count = static_cast<uint32_t>(segments.size());
  for (size_t i = 0; i < segments.size(); ++i) {
    table.segments[i].offset =
        static_cast<uint64_t>(reinterpret_cast<const char*>(segments[i].begin()) - base_);
    table.segments[i].words = segments[i].size();
  }
}

uint64_t RegionMessageBuilder::inline_used_words() {
  if (!inline_used_) return inline_dirty_words_;
  // The inline area, when used, is always the first segment.
  return getSegmentsForOutput()[0].size();
}

void CopyTableIn(const SegmentTable& local, SegmentTable& shared) {
  const uint32_t count = std::min(local.count, kMaxSegments);
  shared.count = local.count;
  std::memcpy(shared.segments, local.segments, count * sizeof(SegmentRef));
}

void CopyTableOut(const SegmentTable& shared, SegmentTable& local) {
  uint32_t count;
  std::memcpy(&count, &shared.count, sizeof(count));
  local.count = count;
  std::memcpy(local.segments, shared.segments, std::min(count, kMaxSegments) * sizeof(SegmentRef));
}

absl::Status OpenSegments(const SegmentTable& table, const char* base, uint64_t region_bytes,
                          std::initializer_list<ByteRange> allowed,
                          std::array<kj::ArrayPtr<const capnp::word>, kMaxSegments>& out) {
  if (table.count == 0 || table.count > kMaxSegments) {
    return absl::InvalidArgumentError(absl::StrCat("weft: message segment count ", table.count,
                                                   " is not in [1, ", kMaxSegments, "]"));
  }
  for (uint32_t i = 0; i < table.count; ++i) {
    const SegmentRef seg = table.segments[i];
    if (seg.offset % kWordBytes != 0 || seg.words > region_bytes / kWordBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("weft: message segment ", i, " is misaligned or too long"));
    }
    const uint64_t bytes = seg.words * kWordBytes;
    bool inside = false;
    for (const ByteRange& range : allowed) {
      if (seg.offset >= range.offset && seg.offset - range.offset <= range.bytes &&
          bytes <= range.bytes - (seg.offset - range.offset)) {
        inside = true;
        break;
      }
    }
    if (!inside || seg.offset > region_bytes || bytes > region_bytes - seg.offset) {
      return absl::InvalidArgumentError(
          absl::StrCat("weft: message segment ", i, " (offset ", seg.offset, ", ", seg.words,
                       " words) lies outside the area its message may occupy"));
    }
    out[i] = kj::arrayPtr(reinterpret_cast<const capnp::word*>(base + seg.offset), seg.words);
  }
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace weft
