// SpanAllocator: first-fit allocation of contiguous spans inside a fixed
// range, for the large Cap'n Proto segments that spill out of a call slot.
//
//   SpanAllocator heap(/*size=*/1 << 20);
//   std::optional<uint64_t> at = heap.Allocate(4096);   // an offset in [0, size)
//   heap.Free(*at, 4096);
//
// Only the bookkeeping lives here (process-local); the memory it hands out
// is in shared memory and is addressed by offset. Adjacent free spans merge.
// Allocate and Free make no heap allocation in a steady state (they run on
// every call whose message spills; tests/pool/no_alloc_test.cc).
//
// Thread safety: thread-compatible. Each heap has exactly one owner: the
// host thread that owns a lane (requests) or the worker (responses).
#ifndef WEFT_RUNTIME_INTERNAL_SPAN_ALLOCATOR_H_
#define WEFT_RUNTIME_INTERNAL_SPAN_ALLOCATOR_H_

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

namespace weft {
namespace internal {

class SpanAllocator {
 public:
  explicit SpanAllocator(uint64_t size);

  // The offset of `length` free units, or nullopt when no free span is long
  // enough. `length` must be > 0.
  [[nodiscard]] std::optional<uint64_t> Allocate(uint64_t length);
  // Returns a span given out by Allocate (same offset and length).
  void Free(uint64_t offset, uint64_t length);
  // Marks [offset, offset + length) as taken if it is wholly free (used to
  // rebuild the bookkeeping of a heap that outlived its previous owner).
  // Returns false, changing nothing, otherwise.
  bool Reserve(uint64_t offset, uint64_t length);

  uint64_t size() const { return size_; }
  uint64_t free_units() const { return free_units_; }

 private:
  using Map = std::map<uint64_t, uint64_t>;

  uint64_t size_;
  uint64_t free_units_;
  Map free_;  // offset -> length; disjoint, never adjacent
  // Nodes taken out of free_, kept for reuse: Allocate and Free allocate
  // nothing once the heap has seen as many free spans as it will.
  std::vector<Map::node_type> spare_;
};

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_INTERNAL_SPAN_ALLOCATOR_H_
