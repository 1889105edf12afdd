#include "runtime/internal/span_allocator.h"

#include "gtest/gtest.h"
#include "tests/testing/alloc_counter.h"

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

TEST(SpanAllocator, FreeMergesWithEitherNeighbourOrNone) {
  SpanAllocator heap(100);
  const uint64_t a = *heap.Allocate(20);
  const uint64_t b = *heap.Allocate(20);
  const uint64_t c = *heap.Allocate(20);
  const uint64_t d = *heap.Allocate(20);
  // Free: [80, 100). Freeing b: a hole with no free neighbour.
  heap.Free(b, 20);
  EXPECT_EQ(heap.free_units(), 40u);
  // c joins b's hole (its predecessor): [20, 60).
  heap.Free(c, 20);
  EXPECT_EQ(heap.Allocate(40), 20u);
  heap.Free(20, 40);
  // a joins the hole after it: [0, 60).
  heap.Free(a, 20);
  EXPECT_EQ(heap.Allocate(60), 0u);
  heap.Free(0, 60);
  // d joins both: everything is one span again.
  heap.Free(d, 20);
  EXPECT_EQ(heap.free_units(), 100u);
  EXPECT_EQ(heap.Allocate(100), 0u);
  EXPECT_EQ(heap.Allocate(1), std::nullopt);
}

// Allocate and Free run on every spilled call: once the heap has seen as
// many free spans as the pattern makes, they allocate nothing.
TEST(SpanAllocator, SteadyStateAllocatesNothing) {
  SpanAllocator heap(1000);
  auto pattern = [&heap] {
    const uint64_t a = *heap.Allocate(100);
    const uint64_t b = *heap.Allocate(50);
    const uint64_t c = *heap.Allocate(200);
    heap.Free(b, 50);                        // a hole between two taken spans
    const uint64_t e = *heap.Allocate(650);  // the whole tail: its span goes
    heap.Free(a, 100);                       // joins the hole after it
    heap.Free(e, 650);
    heap.Free(c, 200);  // joins both neighbours
    return heap.free_units() == 1000;
  };
  ASSERT_TRUE(pattern());
  weft_test::CountAllocations counting;
  bool right = true;
  for (int i = 0; i < 100; ++i) right = pattern() && right;
  const weft_test::AllocCounts counts = counting.Stop();
  EXPECT_TRUE(right);
  EXPECT_EQ(counts.allocations(), 0u) << counting.Describe();
  EXPECT_EQ(counts.releases(), 0u) << counting.Describe();
}

}  // namespace
}  // namespace weft::internal
