// Cap'n Proto messages built and read in place in a shared-memory region.
//
// RegionMessageBuilder is a capnp::MessageBuilder whose first segment is a
// call slot's inline area and whose further segments come from a lane heap
// (SpillSource), all inside the region. When the message would grow past
// its limit (max_payload_bytes) allocateSegment throws a kj::Exception and
// overflowed() turns true: the caller turns that into ResourceExhausted
// before anything is sent.
//
// OpenSegments is the other side: it checks a segment table read from shared
// memory against the ranges the message may occupy and returns the segments
// for a capnp::SegmentArrayMessageReader.
//
// Thread safety: thread-compatible.
#ifndef WEFT_RUNTIME_INTERNAL_REGION_MESSAGE_H_
#define WEFT_RUNTIME_INTERNAL_REGION_MESSAGE_H_

#include <array>
#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "capnp/message.h"
#include "kj/array.h"
#include "runtime/internal/layout.h"

namespace weft {
namespace internal {

// Where spill segments come from. Implemented by the host's lane (request
// heap) and by the worker (response heap); Allocate may reclaim spans of
// finished calls before giving up.
class SpillSource {
 public:
  virtual ~SpillSource() = default;
  // The region offset of `words` free words (8-aligned), or nullopt.
  virtual std::optional<uint64_t> AllocateSpill(uint64_t words) = 0;
};

struct SpillSpan {
  uint64_t offset;  // region offset
  uint64_t words;
};

class RegionMessageBuilder final : public capnp::MessageBuilder {
 public:
  // `base` is the region's local address (not owned). The inline area is at
  // [inline_offset, + inline_words words); its first `inline_dirty_words`
  // hold an earlier message and are zeroed before use. `spill` may be null
  // (no spilling); it is not owned and must outlive the builder.
  // `spills_zeroed`: the spill source hands out only zeroed space (the
  // host's request heap keeps its free space zero, LaneHost), so a spilled
  // segment is not zeroed again here.
  RegionMessageBuilder(char* base, uint64_t inline_offset, uint64_t inline_words,
                       uint64_t inline_dirty_words, SpillSource* spill, uint64_t limit_words,
                       bool spills_zeroed = false);

  kj::ArrayPtr<capnp::word> allocateSegment(capnp::uint minimum_size) override;

  bool overflowed() const { return overflowed_; }
  bool out_of_heap() const { return out_of_heap_; }

  // Describes the message's segments (used words only) for the other side.
  void WriteTable(SegmentTable& table);
  // The heap spans this message took, to be freed once the peer is done.
  const SpillSpan* spills() const { return spills_.data(); }
  uint32_t spill_count() const { return spill_count_; }
  // Words of the inline area the message used (to be zeroed before reuse).
  uint64_t inline_used_words();

 private:
  char* base_;
  uint64_t inline_offset_;
  uint64_t inline_words_;
  uint64_t inline_dirty_words_;
  SpillSource* spill_;
  uint64_t limit_words_;
  uint64_t allocated_words_ = 0;
  uint32_t segment_count_ = 0;
  bool inline_used_ = false;
  bool overflowed_ = false;
  bool out_of_heap_ = false;
  bool spills_zeroed_ = false;
  // Only the first spill_count_ are set: not value-initialized, since a
  // builder is made per call and most never spill.
  std::array<SpillSpan, kMaxSegments> spills_;
  uint32_t spill_count_ = 0;
};

// Copies a segment table into / out of shared memory: the count and the
// entries in use only (a one-segment table is 24 bytes, not the 264 of a
// whole SegmentTable: what is not written need not cross to the other core).
// CopyTableOut reads the count once; a count past kMaxSegments is kept (for
// OpenSegments to refuse) and only kMaxSegments entries are copied.
void CopyTableIn(const SegmentTable& local, SegmentTable& shared);
void CopyTableOut(const SegmentTable& shared, SegmentTable& local);

// A range of the region a message's segments may lie in.
struct ByteRange {
  uint64_t offset;
  uint64_t bytes;
};

// Checks `table` (already copied out of shared memory) against `allowed` and
// the region size, and fills `out` with the segments. InvalidArgument names
// what is wrong; nothing outside the allowed ranges is ever addressed.
absl::Status OpenSegments(const SegmentTable& table, const char* base, uint64_t region_bytes,
                          std::initializer_list<ByteRange> allowed,
                          std::array<kj::ArrayPtr<const capnp::word>, kMaxSegments>& out);

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_INTERNAL_REGION_MESSAGE_H_
