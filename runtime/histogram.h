// LatencyHistogram: a fixed-size log-linear histogram of durations in
// nanoseconds (HDR-style), the value type Pool::Stats() returns.
//
//   weft::LatencyHistogram h;
//   h.Record(1500);                      // 1.5 us
//   uint64_t p99 = h.Percentile(0.99);   // ns, within 3.2% of the true value
//
// Buckets: values below 16 ns each have their own bucket; above, every
// power of two [2^k, 2^(k+1)) is cut into 16 equal buckets, so a bucket is
// at most 1/16 of its lower bound wide and a percentile (the bucket's
// midpoint) is within 1/32 (3.2%) of every value in it. The top bucket
// holds everything from 2^40 ns (18 minutes) up. 593 buckets, 4.7 KB.
//
// The pool's own histograms live in shared memory and are written there by
// their single writer (runtime/internal/stats_block.h); this type is what a
// reader copies them into.
//
// Thread safety: a plain value (thread-compatible).
#ifndef WEFT_RUNTIME_HISTOGRAM_H_
#define WEFT_RUNTIME_HISTOGRAM_H_

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace weft {

class LatencyHistogram {
 public:
  static constexpr uint32_t kSubBucketBits = 4;
  static constexpr uint32_t kSubBuckets = 1u << kSubBucketBits;  // 16
  static constexpr uint32_t kTopBit = 40;                        // 2^40 ns and up: the last bucket
  // 16 exact, 16 per octave from 2^4 to 2^40, and one for 2^40 ns and up.
  static constexpr uint32_t kBuckets = kSubBuckets + (kTopBit - kSubBucketBits) * kSubBuckets + 1;

  // The bucket `ns` falls in.
  static constexpr uint32_t BucketOf(uint64_t ns) {
    if (ns < kSubBuckets) return static_cast<uint32_t>(ns);
    const uint32_t bit = 63 - static_cast<uint32_t>(std::countl_zero(ns));  // >= kSubBucketBits
    if (bit >= kTopBit) return kBuckets - 1;
    const uint32_t shift = bit - kSubBucketBits;
    const uint32_t mantissa = static_cast<uint32_t>(ns >> shift) - kSubBuckets;  // 0..15
    return kSubBuckets + shift * kSubBuckets + mantissa;
  }
  // The smallest value in bucket `b`.
  static constexpr uint64_t BucketLow(uint32_t b) {
    if (b < kSubBuckets) return b;
    const uint32_t shift = (b - kSubBuckets) / kSubBuckets;
    const uint64_t mantissa = kSubBuckets + (b - kSubBuckets) % kSubBuckets;
    return mantissa << shift;
  }
  // One past the largest value in bucket `b` (the top bucket: a nominal
  // bound, 1/16 above its low end).
  static constexpr uint64_t BucketHigh(uint32_t b) {
    if (b < kSubBuckets) return b + 1;
    const uint32_t shift = (b - kSubBuckets) / kSubBuckets;
    return BucketLow(b) + (uint64_t{1} << shift);
  }

  void Record(uint64_t ns, uint64_t count = 1) {
    buckets_[BucketOf(ns)] += count;
    count_ += count;
    sum_ns_ += ns * count;
  }
  // Adds another histogram's counts to this one.
  void Merge(const LatencyHistogram& other);
  // Sets the raw contents (a reader copying shared memory). `count` is
  // recomputed from the buckets, so a torn or corrupt copy stays
  // self-consistent.
  void Assign(const std::array<uint64_t, kBuckets>& buckets, uint64_t sum_ns);

  uint64_t count() const { return count_; }
  uint64_t sum_ns() const { return sum_ns_; }
  double mean_ns() const { return count_ == 0 ? 0.0 : static_cast<double>(sum_ns_) / count_; }
  // The value at quantile `q` (0 <= q <= 1; clamped): the midpoint of the
  // bucket that holds the ceil(q * count)-th smallest value; 0 when empty.
  uint64_t Percentile(double q) const;
  // The largest recorded value's bucket's upper bound; 0 when empty.
  uint64_t max_ns() const;
  // The values in buckets that end at or below `ns`: exactly the values
  // < `ns` when `ns` is a bucket boundary, else without the bucket `ns`
  // falls in (what a Prometheus `le` bound reports).
  uint64_t CountBelow(uint64_t ns) const;
  const std::array<uint64_t, kBuckets>& buckets() const { return buckets_; }

 private:
  std::array<uint64_t, kBuckets> buckets_{};
  uint64_t count_ = 0;
  uint64_t sum_ns_ = 0;
};

}  // namespace weft

#endif  // WEFT_RUNTIME_HISTOGRAM_H_
