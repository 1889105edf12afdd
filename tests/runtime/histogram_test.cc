// LatencyHistogram's bucket math and percentiles against distributions
// whose exact quantiles the test computes by sorting.
#include "runtime/histogram.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace weft {
namespace {

using H = LatencyHistogram;

TEST(HistogramBuckets, CoverEveryValueOnceInOrderAndAreAtMostASixteenthWide) {
  // Consecutive buckets touch, and every value maps into [low, high).
  for (uint32_t b = 0; b + 1 < H::kBuckets; ++b) {
    ASSERT_EQ(H::BucketHigh(b), H::BucketLow(b + 1)) << "bucket " << b;
    ASSERT_EQ(H::BucketOf(H::BucketLow(b)), b);
    ASSERT_EQ(H::BucketOf(H::BucketHigh(b) - 1), b);
    if (b >= H::kSubBuckets) {
      const double width = static_cast<double>(H::BucketHigh(b) - H::BucketLow(b));
      ASSERT_LE(width / static_cast<double>(H::BucketLow(b)), 1.0 / 16) << "bucket " << b;
    }
  }
  EXPECT_EQ(H::BucketOf(0), 0u);
  EXPECT_EQ(H::BucketOf(15), 15u);
  EXPECT_EQ(H::BucketOf(uint64_t{1} << 40), H::kBuckets - 1);
  EXPECT_EQ(H::BucketOf(UINT64_MAX), H::kBuckets - 1);
  EXPECT_EQ(H::BucketLow(H::kBuckets - 1), uint64_t{1} << 40);
}

TEST(HistogramPercentiles, AnEmptyHistogramReportsZero) {
  H h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.Percentile(0.5), 0u);
  EXPECT_EQ(h.max_ns(), 0u);
  EXPECT_EQ(h.mean_ns(), 0.0);
}

TEST(HistogramPercentiles, SmallValuesAreExact) {
  H h;
  for (uint64_t v = 0; v < 16; ++v) h.Record(v);
  EXPECT_EQ(h.Percentile(0), 0u);
  EXPECT_EQ(h.Percentile(0.5), 7u);  // the 8th of 16 values
  EXPECT_EQ(h.Percentile(1), 15u);
  EXPECT_EQ(h.sum_ns(), 120u);
}

// Every quantile of `values` within 1/32 of the exact one (the rank's value).
void ExpectQuantilesClose(const std::vector<uint64_t>& values) {
  H h;
  for (uint64_t v : values) h.Record(v);
  std::vector<uint64_t> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  ASSERT_EQ(h.count(), sorted.size());
  for (double q : {0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1.0}) {
    const size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
    const double exact = static_cast<double>(sorted[std::max<size_t>(rank, 1) - 1]);
    const double got = static_cast<double>(h.Percentile(q));
    EXPECT_NEAR(got, exact, exact / 32 + 1) << "q " << q;
  }
}

TEST(HistogramPercentiles, UniformValuesAreWithinThreePercent) {
  std::vector<uint64_t> values;
  for (uint64_t v = 1; v <= 100'000; ++v) values.push_back(v * 37);
  ExpectQuantilesClose(values);
}

TEST(HistogramPercentiles, ALogNormalLatencyIsWithinThreePercent) {
  // Shaped like call latencies: median ~1.5 us with a long tail.
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(std::log(1500.0), 0.8);
  std::vector<uint64_t> values;
  for (int i = 0; i < 200'000; ++i) values.push_back(static_cast<uint64_t>(dist(rng)));
  ExpectQuantilesClose(values);
}

TEST(HistogramPercentiles, ABimodalDistributionShowsBothModes) {
  H h;
  h.Record(1'000, 900);      // 90% fast
  h.Record(5'000'000, 100);  // 10% slow
  EXPECT_NEAR(static_cast<double>(h.Percentile(0.5)), 1'000, 1'000 / 32.0);
  EXPECT_NEAR(static_cast<double>(h.Percentile(0.95)), 5'000'000, 5'000'000 / 32.0);
  EXPECT_EQ(h.count(), 1000u);
  EXPECT_DOUBLE_EQ(h.mean_ns(), (900.0 * 1'000 + 100.0 * 5'000'000) / 1000);
}

TEST(HistogramMerge, AddsCountsSumsAndBuckets) {
  H a, b;
  a.Record(100, 3);
  b.Record(100'000, 1);
  a.Merge(b);
  EXPECT_EQ(a.count(), 4u);
  EXPECT_EQ(a.sum_ns(), 300u + 100'000u);
  EXPECT_EQ(a.buckets()[H::BucketOf(100)], 3u);
  EXPECT_EQ(a.buckets()[H::BucketOf(100'000)], 1u);
}

TEST(HistogramCountBelow, IsExactAtBucketBoundariesAndNeverOvercounts) {
  H h;
  for (uint64_t v = 1; v <= 10'000; ++v) h.Record(v);
  const uint64_t boundary = H::BucketLow(H::BucketOf(4096));  // 4096 starts a bucket
  EXPECT_EQ(h.CountBelow(boundary), boundary - 1);            // 1 .. 4095
  for (uint64_t le : {1000u, 2500u, 5000u}) EXPECT_LE(h.CountBelow(le), le - 1);
  EXPECT_EQ(h.CountBelow(UINT64_MAX), h.count());
}

TEST(HistogramAssign, RecomputesTheCountFromTheBuckets) {
  std::array<uint64_t, H::kBuckets> buckets{};
  buckets[H::BucketOf(2000)] = 5;
  H h;
  h.Assign(buckets, 10'000);
  EXPECT_EQ(h.count(), 5u);
  EXPECT_EQ(h.Percentile(0.5),
            H::BucketLow(H::BucketOf(2000)) +
                (H::BucketHigh(H::BucketOf(2000)) - H::BucketLow(H::BucketOf(2000))) / 2);
}

}  // namespace
}  // namespace weft
