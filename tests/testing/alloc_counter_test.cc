// CountAllocations sees what it must (every form of operator new, malloc
// from shared libraries) and only on the thread that armed it; without this
// a zero count in the no-allocation tests would prove nothing.
#include "tests/testing/alloc_counter.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <thread>

#include "capnp/message.h"
#include "gtest/gtest.h"

namespace weft_test {
namespace {

// Where allocations go so that the compiler cannot drop them as unused.
void* volatile sink;

struct alignas(128) OverAligned {
  char bytes[128];
};

TEST(AllocCounter, CountsEveryFormOfOperatorNew) {
  CountAllocations counting;
  sink = new int(1);
  delete static_cast<int*>(sink);
  sink = new int[4];
  delete[] static_cast<int*>(sink);
  sink = new (std::nothrow) int(2);
  delete static_cast<int*>(sink);
  sink = new (std::nothrow) int[4];
  delete[] static_cast<int*>(sink);
  sink = new OverAligned;
  delete static_cast<OverAligned*>(sink);
  sink = new OverAligned[2];
  delete[] static_cast<OverAligned*>(sink);
  sink = new (std::nothrow) OverAligned;
  delete static_cast<OverAligned*>(sink);
  sink = ::operator new (24, std::align_val_t{64}, std::nothrow);
  ::operator delete (sink, std::align_val_t{64}, std::nothrow);
  const AllocCounts counts = counting.Stop();
  EXPECT_EQ(counts.operator_new, 8u) << counting.Describe();
  EXPECT_EQ(counts.operator_delete, 8u) << counting.Describe();
  // Each operator new got its memory from the malloc family.
  EXPECT_EQ(counts.malloc, 8u) << counting.Describe();
  EXPECT_EQ(counts.free, 8u) << counting.Describe();
}

TEST(AllocCounter, CountsMallocFamily) {
  void* (*volatile do_malloc)(size_t) = std::malloc;
  void* (*volatile do_calloc)(size_t, size_t) = std::calloc;
  void* (*volatile do_realloc)(void*, size_t) = std::realloc;
  void (*volatile do_free)(void*) = std::free;
  int (*volatile do_posix_memalign)(void**, size_t, size_t) = posix_memalign;
  void* (*volatile do_aligned_alloc)(size_t, size_t) = std::aligned_alloc;
  CountAllocations counting;
  void* p = do_malloc(40);
  p = do_realloc(p, 4000);
  do_free(p);
  p = do_calloc(3, 50);
  do_free(p);
  ASSERT_EQ(do_posix_memalign(&p, 256, 100), 0);
  do_free(p);
  do_free(do_aligned_alloc(128, 256));
  const AllocCounts counts = counting.Stop();
  EXPECT_EQ(counts.operator_new, 0u) << counting.Describe();
  // A realloc may be done by the sanitizer as malloc + free.
  EXPECT_GE(counts.malloc, 5u) << counting.Describe();
  EXPECT_GE(counts.free, 4u) << counting.Describe();
}

TEST(AllocCounter, CountsAllocationsInsideSharedLibraries) {
  CountAllocations counting;
  {
    // libcapnp.so allocates the first segment (calloc) and, for a second
    // segment, its arena's bookkeeping (operator new via kj::heap).
    capnp::MallocMessageBuilder message(8, capnp::AllocationStrategy::FIXED_SIZE);
    auto root = message.initRoot<capnp::AnyPointer>();
    root.initAs<capnp::Data>(4096);
  }
  const AllocCounts counts = counting.Stop();
  EXPECT_GE(counts.malloc, 2u) << counting.Describe();
  EXPECT_GE(counts.operator_new, 1u) << counting.Describe();
}

TEST(AllocCounter, CountsOnlyTheArmingThread) {
  std::atomic<bool> go{false};
  std::atomic<bool> done{false};
  AllocCounts other_counts;
  std::thread other([&] {
    // Acquire: pairs with the release store below; this thread allocates
    // only while the main thread's counter is armed.
    while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
    CountAllocations counting;
    for (int i = 0; i < 10; ++i) {
      sink = new int(i);
      delete static_cast<int*>(sink);
    }
    other_counts = counting.Stop();
    // Release: publishes other_counts to the main thread's acquire load.
    done.store(true, std::memory_order_release);
  });
  CountAllocations counting;
  // Release: the counter above is armed before the other thread starts.
  go.store(true, std::memory_order_release);
  // Acquire: pairs with the other thread's release store of done.
  while (!done.load(std::memory_order_acquire)) std::this_thread::yield();
  const AllocCounts mine = counting.Stop();
  other.join();
  EXPECT_EQ(mine.allocations(), 0u) << counting.Describe();
  EXPECT_EQ(mine.releases(), 0u) << counting.Describe();
  EXPECT_EQ(other_counts.operator_new, 10u);
  EXPECT_EQ(other_counts.operator_delete, 10u);
}

TEST(AllocCounter, NothingWhenDisarmed) {
  CountAllocations counting;
  const AllocCounts counts = counting.Stop();
  sink = new int(4);
  delete static_cast<int*>(sink);
  EXPECT_EQ(counting.Stop().allocations(), 0u);
  EXPECT_EQ(counts.allocations(), 0u);
}

}  // namespace
}  // namespace weft_test
