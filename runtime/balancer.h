// weft::Balancer: a user-supplied policy that picks the worker for a call.
//
//   class PreferZero final : public weft::Balancer {
//    public:
//     size_t Pick(absl::Span<const weft::WorkerLoad> loads) override {
//       return loads[0].idle ? 0 : 1 + loads.size() / 2;
//     }
//   };
//   options.custom_balancer = std::make_shared<PreferZero>();
//
// The built-in policies are chosen with PoolOptions::balancer
// (BalancerKind); a custom_balancer, when set, replaces them.
//
// Thread safety: Pick is called on the calling thread, from any number of
// host threads at once, on every call: it must be thread-safe and should
// not lock or make syscalls.
#ifndef WEFT_RUNTIME_BALANCER_H_
#define WEFT_RUNTIME_BALANCER_H_

#include <cstddef>
#include <cstdint>

#include "absl/types/span.h"

namespace weft {

// A snapshot of one worker's load, read (relaxed) just before Pick.
struct WorkerLoad {
  uint64_t in_flight;  // sent and not yet finished: queued + running
  uint64_t queued;     // sent and not yet started
  bool idle;           // nothing queued or running
};

class Balancer {
 public:
  virtual ~Balancer() = default;
  // Returns the index of the worker for the next call; an index out of
  // range is taken modulo the number of workers.
  virtual size_t Pick(absl::Span<const WorkerLoad> loads) = 0;
};

}  // namespace weft

#endif  // WEFT_RUNTIME_BALANCER_H_
