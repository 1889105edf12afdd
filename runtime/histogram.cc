#include "runtime/histogram.h"

#include <algorithm>
#include <cmath>

namespace weft {

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (uint32_t b = 0; b < kBuckets; ++b) buckets_[b] += other.buckets_[b];
  count_ += other.count_;
  sum_ns_ += other.sum_ns_;
}

void LatencyHistogram::Assign(const std::array<uint64_t, kBuckets>& buckets, uint64_t sum_ns) {
  buckets_ = buckets;
  count_ = 0;
  for (uint64_t c : buckets_) count_ += c;
  sum_ns_ = sum_ns;
}

uint64_t LatencyHistogram::Percentile(double q) const {
  if (count_ == 0) return 0;
  if (!(q > 0)) q = 0;  // also NaN
  if (q > 1) q = 1;
  // The rank (1-based) of the value asked for.
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (uint32_t b = 0; b < kBuckets; ++b) {
    seen += buckets_[b];
    if (seen >= rank) {
      if (b < kSubBuckets) return BucketLow(b);  // exact
      return BucketLow(b) + (BucketHigh(b) - BucketLow(b)) / 2;
    }
  }
  return BucketLow(kBuckets - 1);
}

uint64_t LatencyHistogram::max_ns() const {
  for (uint32_t b = kBuckets; b > 0; --b) {
    if (buckets_[b - 1] != 0) return BucketHigh(b - 1) - 1;
  }
  return 0;
}

uint64_t LatencyHistogram::CountBelow(uint64_t ns) const {
  uint64_t total = 0;
  for (uint32_t b = 0; b < kBuckets && BucketHigh(b) <= ns; ++b) total += buckets_[b];
  return total;
}

}  // namespace weft
