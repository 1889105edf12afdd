#include "examples/http_service/primes.h"

#include <cstddef>
#include <vector>

namespace http_service {

PrimeCount CountPrimes(uint32_t limit) {
  if (limit < 2) return {};
  // composite[i] is about the odd number 2i + 1; 2 is counted apart. Index 0
  // (the number 1) is left unmarked and skipped by the count below.
  const size_t odds = (static_cast<size_t>(limit) + 1) / 2;
  std::vector<bool> composite(odds, false);
  // 64-bit arithmetic: p * p and m + 2p overflow 32 bits for limits near
  // UINT32_MAX.
  for (uint64_t p = 3; p * p <= limit; p += 2) {
    if (composite[p / 2]) continue;
    for (uint64_t m = p * p; m <= limit; m += 2 * p) composite[m / 2] = true;
  }
  PrimeCount result{.count = 1, .last = 2};
  for (size_t i = 1; i < odds; ++i) {
    if (composite[i]) continue;
    ++result.count;
    result.last = static_cast<uint32_t>(2 * i + 1);
  }
  return result;
}

}  // namespace http_service
