// The quickstart's skeleton implementation, shared by the host program
// (thread workers) and math_worker (process workers).
#ifndef WEFT_EXAMPLES_QUICKSTART_MATH_IMPL_H_
#define WEFT_EXAMPLES_QUICKSTART_MATH_IMPL_H_

#include <cmath>
#include <cstdint>

#include "examples/quickstart/math.weft.h"

namespace quickstart {

class MathImpl final : public weft::Skeleton<Math> {
 public:
  absl::Status square(SquareCall& call) override {
    const int64_t v = call.params().getValue();
    call.results().setResult(v * v);
    return absl::OkStatus();
  }

  absl::Status hypot(HypotCall& call) override {
    call.results().setLength(std::hypot(call.params().getX(), call.params().getY()));
    return absl::OkStatus();
  }

  absl::Status countTo(CountToCall& call) override {
    uint64_t i = 0;
    const uint64_t limit = call.params().getLimit();
    while (i < limit && !call.aborted()) ++i;
    call.results().setReached(i);
    return absl::OkStatus();
  }
};

}  // namespace quickstart

#endif  // WEFT_EXAMPLES_QUICKSTART_MATH_IMPL_H_
