#include "runtime/internal/span_allocator.h"

#include <iterator>
#include <utility>

namespace weft {
namespace internal {

SpanAllocator::SpanAllocator(uint64_t size) : size_(size), free_units_(size) {
  if (size > 0) free_.emplace(0, size);
}

// Allocate and Free run on every call whose message spills, so in a steady
// state they allocate nothing: a span that shrinks or grows keeps its map
// node (extracted and re-inserted under its new offset), and a node no span
// needs any more waits in spare_ for the next span that does.

std::optional<uint64_t> SpanAllocator::Allocate(uint64_t length) {
  for (auto it = free_.begin(); it != free_.end(); ++it) {
    if (it->second < length) continue;
    const uint64_t offset = it->first;
    const uint64_t rest = it->second - length;
    const auto next = std::next(it);
    Map::node_type node = free_.extract(it);
    if (rest > 0) {
      node.key() = offset + length;
      node.mapped() = rest;
      free_.insert(next, std::move(node));
    } else {
      spare_.push_back(std::move(node));
    }
    free_units_ -= length;
    return offset;
  }
  return std::nullopt;
}

void SpanAllocator::Free(uint64_t offset, uint64_t length) {
  free_units_ += length;
  const auto next = free_.lower_bound(offset);
  const bool joins_next = next != free_.end() && offset + length == next->first;
  if (next != free_.begin()) {
    const auto prev = std::prev(next);
    if (prev->first + prev->second == offset) {
      // Grows the span that ends where this one starts (its offset stays).
      prev->second += length;
      if (joins_next) {
        prev->second += next->second;
        spare_.push_back(free_.extract(next));
      }
      return;
    }
  }
  if (joins_next) {
    // The span that starts where this one ends now starts here.
    const auto after = std::next(next);
    Map::node_type node = free_.extract(next);
    node.key() = offset;
    node.mapped() += length;
    free_.insert(after, std::move(node));
    return;
  }
  if (!spare_.empty()) {
    Map::node_type node = std::move(spare_.back());
    spare_.pop_back();
    node.key() = offset;
    node.mapped() = length;
    free_.insert(next, std::move(node));
    return;
  }
  free_.emplace_hint(next, offset, length);
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
