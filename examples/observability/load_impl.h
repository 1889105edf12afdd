// The observability example's skeleton, shared by its thread workers and
// its worker binary (load_worker.cc).
#ifndef WEFT_EXAMPLES_OBSERVABILITY_LOAD_IMPL_H_
#define WEFT_EXAMPLES_OBSERVABILITY_LOAD_IMPL_H_

#include <chrono>

#include "examples/observability/load.weft.h"

namespace observability {

class LoadImpl : public weft::Skeleton<Load> {
 public:
  absl::Status fast(FastCall& call) override {
    call.results().setValue(call.params().getValue() * 2);
    return absl::OkStatus();
  }
  absl::Status slow(SlowCall& call) override {
    // Stands for real work: a bounded busy wait the caller asked for.
    const auto until =
        std::chrono::steady_clock::now() + std::chrono::microseconds(call.params().getMicros());
    while (std::chrono::steady_clock::now() < until && !call.aborted()) {
    }
    return absl::OkStatus();
  }
  absl::Status flaky(FlakyCall& call) override {
    const uint64_t value = call.params().getValue();
    if (value % 10 == 9) return absl::UnavailableError("flaky: every 10th call fails");
    call.results().setValue(value);
    return absl::OkStatus();
  }
};

}  // namespace observability

#endif  // WEFT_EXAMPLES_OBSERVABILITY_LOAD_IMPL_H_
