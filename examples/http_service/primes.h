// CountPrimes: the number of primes up to a limit and the largest of them,
// by a sieve of Eratosthenes over the odd numbers. It is deterministic and
// CPU-bound (about n/2 bytes of memory, O(n log log n) time), which makes it
// the stand-in for "heavy work" that http_service runs inline, on a plain
// thread pool, and on a weft pool.
//
//   http_service::PrimeCount r = http_service::CountPrimes(100);
//   // r.count == 25, r.last == 97
//
// Thread safety: a pure function; call it from any thread.
#ifndef WEFT_EXAMPLES_HTTP_SERVICE_PRIMES_H_
#define WEFT_EXAMPLES_HTTP_SERVICE_PRIMES_H_

#include <cstdint>

namespace http_service {

// The largest limit the service accepts: a 5 MB sieve, tens of milliseconds.
inline constexpr uint32_t kMaxLimit = 10'000'000;

struct PrimeCount {
  uint32_t count = 0;  // primes p with p <= limit
  uint32_t last = 0;   // the largest of them; 0 when there is none
  bool operator==(const PrimeCount&) const = default;
};

// Works for any limit; callers bound it (kMaxLimit) because the sieve takes
// limit / 2 bytes.
PrimeCount CountPrimes(uint32_t limit);

}  // namespace http_service

#endif  // WEFT_EXAMPLES_HTTP_SERVICE_PRIMES_H_
