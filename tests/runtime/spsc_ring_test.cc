#include "runtime/internal/spsc_ring.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>

#include "gtest/gtest.h"

namespace weft::internal {
namespace {

TEST(SpscRing, PopOnEmptyReturnsFalse) {
  SpscRing<int> ring(4);
  int v = 0;
  EXPECT_FALSE(ring.consumer().TryPop(v));
  EXPECT_EQ(ring.consumer().Peek(), nullptr);
}

TEST(SpscRing, FifoOrderAndFullAtCapacity) {
  SpscRing<int> ring(4);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(ring.producer().TryPush(i));
  EXPECT_FALSE(ring.producer().TryPush(99));
  int v = -1;
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(ring.consumer().TryPop(v));
    EXPECT_EQ(v, i);
  }
  EXPECT_FALSE(ring.consumer().TryPop(v));
  EXPECT_TRUE(ring.producer().TryPush(5));  // room again after the pops
}

TEST(SpscRing, UnpublishedEntriesAreInvisibleUntilPublish) {
  SpscRing<int> ring(8);
  ASSERT_TRUE(ring.producer().TryPushNoPublish(1));
  ASSERT_TRUE(ring.producer().TryPushNoPublish(2));
  EXPECT_EQ(ring.consumer().Peek(), nullptr);
  ring.producer().Publish();
  int v = 0;
  ASSERT_TRUE(ring.consumer().TryPop(v));
  EXPECT_EQ(v, 1);
  ASSERT_TRUE(ring.consumer().TryPop(v));
  EXPECT_EQ(v, 2);
}

TEST(SpscRing, IndicesWrapAroundManyTimes) {
  SpscRing<uint32_t> ring(2);
  for (uint32_t i = 0; i < 100'000; ++i) {
    ASSERT_TRUE(ring.producer().TryPush(i));
    uint32_t v = 0;
    ASSERT_TRUE(ring.consumer().TryPop(v));
    ASSERT_EQ(v, i);
  }
}

// Counts live instances so the test sees every constructed entry destroyed
// exactly once, including the ones left in the ring at its destruction.
struct Tracked {
  static inline std::atomic<int> live{0};
  static inline std::atomic<int> constructed{0};
  explicit Tracked(int v) : value(v) {
    live.fetch_add(1);
    constructed.fetch_add(1);
  }
  Tracked(const Tracked& o) : value(o.value) {
    live.fetch_add(1);
    constructed.fetch_add(1);
  }
  Tracked(Tracked&& o) noexcept : value(o.value) {
    live.fetch_add(1);
    constructed.fetch_add(1);
  }
  Tracked& operator=(const Tracked&) = default;
  Tracked& operator=(Tracked&&) = default;
  ~Tracked() { live.fetch_sub(1); }
  int value;
};

TEST(SpscRing, EveryEntryIsDestroyedExactlyOnce) {
  Tracked::live = 0;
  Tracked::constructed = 0;
  {
    SpscRing<Tracked> ring(8);
    for (int i = 0; i < 6; ++i) ASSERT_TRUE(ring.producer().TryEmplace(i));
    EXPECT_EQ(Tracked::live.load(), 6);
    Tracked* front = ring.consumer().Peek();
    ASSERT_NE(front, nullptr);
    EXPECT_EQ(front->value, 0);
    ring.consumer().Pop();
    EXPECT_EQ(Tracked::live.load(), 5);
    ASSERT_TRUE(ring.producer().TryEmplaceNoPublish(42));  // left unpublished
    EXPECT_EQ(Tracked::live.load(), 6);
  }
  EXPECT_EQ(Tracked::live.load(), 0);
  EXPECT_EQ(Tracked::constructed.load(), 7);
}

TEST(SpscRingStress, MillionsOfItemsArriveInOrderAcrossThreads) {
  constexpr uint64_t kItems = 4'000'000;
  SpscRing<uint64_t> ring(1024);
  std::thread producer([&] {
    uint64_t next = 0;
    while (next < kItems) {
      // Publish in small batches to exercise the batch path too.
      int batch = 0;
      while (next < kItems && batch < 7 && ring.producer().TryPushNoPublish(next)) {
        ++next;
        ++batch;
      }
      ring.producer().Publish();
      if (batch == 0) std::this_thread::yield();
    }
  });
  uint64_t expected = 0;
  uint64_t sum = 0;
  while (expected < kItems) {
    uint64_t v;
    if (ring.consumer().TryPop(v)) {
      ASSERT_EQ(v, expected);
      sum += v;
      ++expected;
    } else {
      std::this_thread::yield();
    }
  }
  producer.join();
  EXPECT_EQ(sum, kItems * (kItems - 1) / 2);
  uint64_t v;
  EXPECT_FALSE(ring.consumer().TryPop(v));
}

}  // namespace
}  // namespace weft::internal
