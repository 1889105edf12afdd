// A one-lane region laid out for tests/pool's TestService, for the targets
// that drive a real lane over it (request_fuzz, response_fuzz).
#ifndef WEFT_TESTS_FUZZ_SERVICE_REGION_H_
#define WEFT_TESTS_FUZZ_SERVICE_REGION_H_

#include <cstdint>
#include <utility>

#include "absl/status/statusor.h"
#include "runtime/internal/layout.h"
#include "runtime/internal/region.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/pool/test_service.weft.h"

namespace weft_fuzz {

inline weft::internal::Region MakeServiceRegion(uint32_t slots, uint32_t inline_bytes,
                                                uint64_t heap_bytes) {
  using weft_test::TestService;
  weft::internal::Geometry g{};
  g.lanes = 1;
  g.slots_per_lane = slots;
  g.ring_capacity = slots;
  g.request_inline_bytes = inline_bytes;
  g.response_inline_bytes = inline_bytes;
  g.heap_bytes = heap_bytes;
  absl::StatusOr<weft::internal::Region> r = weft::internal::Region::Create(
      g, weft::InterfaceTraits<TestService>::kTypeId,
      static_cast<uint32_t>(weft::InterfaceTraits<TestService>::kMethodCount));
  FUZZ_CHECK(r.ok(), r.status().ToString());
  return *std::move(r);
}

}  // namespace weft_fuzz

#endif  // WEFT_TESTS_FUZZ_SERVICE_REGION_H_
