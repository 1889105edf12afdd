// What Cap'n Proto itself allocates for a message of two segments, measured
// with memory the test provides (no weft involved): the part of a spilled
// call's allocations that weft cannot remove.
//
// Cap'n Proto 0.9.2 keeps a message's first segment inside its arena, but
// every further segment's bookkeeping on the heap, per message, whoever
// provides the segment memory:
//  - building (capnp::_::BuilderArena::addSegmentInternal): the
//    MultiSegmentState, a SegmentBuilder, and two arrays (the builders'
//    kj::Vector, forOutput);
//  - reading (capnp::_::ReaderArena::tryGetSegment, on the first pointer
//    into the segment): a SegmentReader in a kj::HashMap (its table and
//    rows).
// weft builds requests and responses in place (capnp::MessageBuilder over
// the slot's inline area, spilling into the lane's heap) and reads them in
// place (capnp::SegmentArrayMessageReader), so a spilled call costs exactly
// these, and the no-allocation tests hold weft to adding nothing to them.
//
//   const CapnpSpillCost cost = MeasureCapnpSpillCost(1024, 4096);
//   EXPECT_EQ(per_call.allocations(), cost.build.allocations() + cost.read.allocations());
//
// Thread safety: thread-compatible (counts the calling thread).
#ifndef WEFT_TESTS_TESTING_CAPNP_SPILL_COST_H_
#define WEFT_TESTS_TESTING_CAPNP_SPILL_COST_H_

#include <cstddef>
#include <cstring>
#include <vector>

#include "capnp/any.h"
#include "capnp/message.h"
#include "capnp/serialize.h"
#include "kj/array.h"
#include "kj/debug.h"
#include "tests/testing/alloc_counter.h"

namespace weft_test {

struct CapnpSpillCost {
  AllocCounts build;  // building one message whose Data spills into a second segment
  AllocCounts read;   // opening it and reading that Data (one reader)
};

namespace internal_capnp_spill_cost {

// A first segment of `first_words`, then one of `rest_words`, both owned
// by the caller, like weft's RegionMessageBuilder.
class TwoSegments final : public capnp::MessageBuilder {
 public:
  TwoSegments(kj::ArrayPtr<capnp::word> first, kj::ArrayPtr<capnp::word> rest)
      : first_(first), rest_(rest) {}
  kj::ArrayPtr<capnp::word> allocateSegment(capnp::uint minimum_size) override {
    kj::ArrayPtr<capnp::word> out = served_ == 0 ? first_ : rest_;
    KJ_REQUIRE(served_ < 2 && out.size() >= minimum_size, "test segments too small");
    ++served_;
    return out;
  }

 private:
  kj::ArrayPtr<capnp::word> first_;
  kj::ArrayPtr<capnp::word> rest_;
  int served_ = 0;
};

}  // namespace internal_capnp_spill_cost

// One message of `data_bytes` of Data over a first segment of
// `first_segment_bytes` (a slot's inline area): built, then read back.
inline CapnpSpillCost MeasureCapnpSpillCost(size_t first_segment_bytes, size_t data_bytes) {
  using internal_capnp_spill_cost::TwoSegments;
  std::vector<capnp::word> first(first_segment_bytes / sizeof(capnp::word));
  std::vector<capnp::word> rest(data_bytes / sizeof(capnp::word) + 64);
  std::vector<kj::byte> data(data_bytes, 0x5a);
  kj::ArrayPtr<const capnp::word> segments[2];
  size_t segment_count = 0;
  CapnpSpillCost cost;
  {
    CountAllocations counting;
    {
      TwoSegments message(kj::arrayPtr(first.data(), first.size()),
                          kj::arrayPtr(rest.data(), rest.size()));
      message.getRoot<capnp::AnyPointer>().setAs<capnp::Data>(
          capnp::Data::Reader(data.data(), data.size()));
      kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>> out = message.getSegmentsForOutput();
      segment_count = out.size();
      for (size_t i = 0; i < out.size() && i < 2; ++i) segments[i] = out[i];
    }
    cost.build = counting.Stop();
  }
  KJ_REQUIRE(segment_count == 2, "the measured message must spill", segment_count);
  {
    CountAllocations counting;
    {
      capnp::SegmentArrayMessageReader reader(kj::arrayPtr(segments, 2));
      capnp::Data::Reader read = reader.getRoot<capnp::AnyPointer>().getAs<capnp::Data>();
      KJ_REQUIRE(read.size() == data_bytes && std::memcmp(read.begin(), data.data(), 1) == 0);
    }
    cost.read = counting.Stop();
  }
  return cost;
}

}  // namespace weft_test

#endif  // WEFT_TESTS_TESTING_CAPNP_SPILL_COST_H_
