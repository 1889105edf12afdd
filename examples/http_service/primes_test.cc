#include "examples/http_service/primes.h"

#include "gtest/gtest.h"

namespace http_service {
namespace {

TEST(CountPrimes, NoneBelowTwo) {
  EXPECT_EQ(CountPrimes(0), (PrimeCount{0, 0}));
  EXPECT_EQ(CountPrimes(1), (PrimeCount{0, 0}));
}

TEST(CountPrimes, SmallLimits) {
  EXPECT_EQ(CountPrimes(2), (PrimeCount{1, 2}));
  EXPECT_EQ(CountPrimes(3), (PrimeCount{2, 3}));
  EXPECT_EQ(CountPrimes(4), (PrimeCount{2, 3}));
  EXPECT_EQ(CountPrimes(9), (PrimeCount{4, 7}));  // 9 = 3 * 3 is not counted
  EXPECT_EQ(CountPrimes(100), (PrimeCount{25, 97}));
}

// Against trial division, every limit up to 2,000.
TEST(CountPrimes, MatchesTrialDivision) {
  PrimeCount expected;
  for (uint32_t k = 0; k <= 2000; ++k) {
    bool prime = k >= 2;
    for (uint32_t d = 2; d * d <= k && prime; ++d) prime = k % d != 0;
    if (prime) expected = {expected.count + 1, k};
    ASSERT_EQ(CountPrimes(k), expected) << "limit " << k;
  }
}

// The known values of pi(10^k) and the largest prime below 10^k.
TEST(CountPrimes, PowersOfTen) {
  EXPECT_EQ(CountPrimes(10'000), (PrimeCount{1'229, 9'973}));
  EXPECT_EQ(CountPrimes(100'000), (PrimeCount{9'592, 99'991}));
  EXPECT_EQ(CountPrimes(1'000'000), (PrimeCount{78'498, 999'983}));
  EXPECT_EQ(CountPrimes(kMaxLimit), (PrimeCount{664'579, 9'999'991}));
}

}  // namespace
}  // namespace http_service
