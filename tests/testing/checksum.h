// The checksum the test workers return for Data they read (FNV-1a, 64-bit):
// one definition for the skeletons and the tests that check their answers.
#ifndef WEFT_TESTS_TESTING_CHECKSUM_H_
#define WEFT_TESTS_TESTING_CHECKSUM_H_

#include <cstdint>

#include "capnp/blob.h"

namespace weft_test {

inline uint64_t Checksum(capnp::Data::Reader data) {
  uint64_t sum = 1469598103934665603ull;
  for (kj::byte b : data) sum = (sum ^ b) * 1099511628211ull;
  return sum;
}

}  // namespace weft_test

#endif  // WEFT_TESTS_TESTING_CHECKSUM_H_
