#include "runtime/internal/span_allocator.h"

#include "gtest/gtest.h"

namespace weft::internal {
namespace {

TEST(SpanAllocator, FirstFitAndExhaustion) {
  SpanAllocator heap(100);
  EXPECT_EQ(heap.Allocate(40), 0u);
  EXPECT_EQ(heap.Allocate(40), 40u);
  EXPECT_EQ(heap.Allocate(30), std::nullopt);
  EXPECT_EQ(heap.Allocate(20), 80u);
  EXPECT_EQ(heap.free_units(), 0u);
}

TEST(SpanAllocator, FreedNeighboursMergeIntoOneSpan) {
  SpanAllocator heap(90);
  const uint64_t a = *heap.Allocate(30);
  const uint64_t b = *heap.Allocate(30);
  const uint64_t c = *heap.Allocate(30);
  heap.Free(a, 30);
  heap.Free(c, 30);
  EXPECT_EQ(heap.Allocate(60), std::nullopt);  // two holes of 30, not adjacent
  heap.Free(b, 30);
  EXPECT_EQ(heap.free_units(), 90u);
  EXPECT_EQ(heap.Allocate(90), 0u);  // all merged back
}

}  // namespace
}  // namespace weft::internal
