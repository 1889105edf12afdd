#include "runtime/internal/span_allocator.h"

#include <iterator>

namespace weft {
namespace internal {

SpanAllocator::SpanAllocator(uint64_t size) : size_(size), free_units_(size) {
  if (size > 0) free_.emplace(0, size);
}

std::optional<uint64_t> SpanAllocator::Allocate(uint64_t length) {
  for (auto it = free_.begin(); it != free_.end(); ++it) {
    if (it->second < length) continue;
    const uint64_t offset = it->first;
    const uint64_t rest = it->second - length;
    free_.erase(it);
    if (rest > 0) free_.emplace(offset + length, rest);
    free_units_ -= length;
    return offset;
  }
  return std::nullopt;
}

void SpanAllocator::Free(uint64_t offset, uint64_t length) {
  auto next = free_.lower_bound(offset);
  // Merge with the span that ends where this one starts.
  if (next != free_.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second == offset) {
      offset = prev->first;
      length += prev->second;
      free_units_ -= prev->second;
      free_.erase(prev);
    }
  }
  // Merge with the span that starts where this one ends.
  if (next != free_.end() && offset + length == next->first) {
    length += next->second;
    free_units_ -= next->second;
    free_.erase(next);
  }
  free_units_ += length;
  free_.emplace(offset, length);
}

bool SpanAllocator::Reserve(uint64_t offset, uint64_t length) {
  if (length == 0 || offset > size_ || length > size_ - offset) return false;
  auto it = free_.upper_bound(offset);
  if (it == free_.begin()) return false;
  --it;
  const uint64_t start = it->first, span = it->second;
  if (offset + length > start + span) return false;
  free_.erase(it);
  if (offset > start) free_.emplace(start, offset - start);
  if (start + span > offset + length)
    free_.emplace(offset + length, start + span - offset - length);
  free_units_ -= length;
  return true;
}

}  // namespace internal
}  // namespace weft
