// SieveImpl: the weft skeleton of the Sieve interface, one CountPrimes per
// call, run on the pool's worker threads.
//
//   auto pool = weft::Pool<http_service::Sieve>::Create(
//       options, [] { return std::make_unique<http_service::SieveImpl>(); });
//
// Thread safety: stateless; each worker has its own instance anyway.
#ifndef WEFT_EXAMPLES_HTTP_SERVICE_SIEVE_IMPL_H_
#define WEFT_EXAMPLES_HTTP_SERVICE_SIEVE_IMPL_H_

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "examples/http_service/primes.h"
#include "examples/http_service/sieve.weft.h"

namespace http_service {

class SieveImpl final : public weft::Skeleton<Sieve> {
 public:
  absl::Status primes(PrimesCall& call) override {
    const uint32_t limit = call.params().getLimit();
    // The HTTP layer checks this too; the worker does not trust its callers
    // to have done so.
    if (limit > kMaxLimit) {
      return absl::InvalidArgumentError(
          absl::StrCat("limit ", limit, " is over the maximum of ", kMaxLimit));
    }
    const PrimeCount r = CountPrimes(limit);
    call.results().setCount(r.count);
    call.results().setLast(r.last);
    return absl::OkStatus();
  }
};

}  // namespace http_service

#endif  // WEFT_EXAMPLES_HTTP_SERVICE_SIEVE_IMPL_H_
