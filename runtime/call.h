// weft::Call<Params, Results>: what a skeleton method receives.
//
// Each generated skeleton names one per method (`SquareCall` for `square`):
//
//   absl::Status square(SquareCall& call) override {
//     call.results().setResult(call.params().getValue() * call.params().getValue());
//     return absl::OkStatus();
//   }
//
// params() reads the request in place in shared memory; results() builds the
// response in place in shared memory. Neither outlives the method call.
//
// Thread safety: thread-compatible; used only by the worker running the call.
#ifndef WEFT_RUNTIME_CALL_H_
#define WEFT_RUNTIME_CALL_H_

#include <time.h>

#include <atomic>
#include <cstdint>

#include "capnp/message.h"
#include "runtime/interface.h"

namespace weft {
namespace internal {

// The runtime's side of one call being served; built by the worker loop.
// Not kept past the skeleton method's return.
struct CallContext {
  capnp::MessageReader* request;
  capnp::MessageBuilder* response;
  // Raised by the host when the caller aborts or the deadline passes.
  const std::atomic<uint32_t>* abort_flag;
  const MethodInfo* method;
  // CLOCK_MONOTONIC nanoseconds after which the call counts as aborted; 0:
  // none (the call has no deadline, or is not abortable).
  int64_t deadline_ns = 0;

  bool Aborted() const {
    // Relaxed: a hint polled in a loop; no data is published through it.
    // Pairs with the store in the host's abort path (LaneHost::Resolve,
    // runtime/internal/lane_host.cc).
    if (abort_flag != nullptr && abort_flag->load(std::memory_order_relaxed) != 0) return true;
    if (deadline_ns == 0) return false;
    // The worker sees a passed deadline by itself: the host need not be
    // waiting on the call for the method to stop.
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec > deadline_ns;
  }
};

}  // namespace internal

template <typename Params, typename Results>
class Call {
 public:
  explicit Call(internal::CallContext& context)
      : context_(context),
        params_(context.request->getRoot<Params>()),
        results_(context.response->initRoot<Results>()) {}

  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;

  // The request, read in place.
  typename Params::Reader params() const { return params_; }
  // The response, built in place. Returning a non-OK status discards it.
  typename Results::Builder results() { return results_; }
  // True once the caller aborted the call or its deadline passed. Poll it in
  // long loops and return early; what is returned then is dropped.
  bool aborted() const { return context_.Aborted(); }
  // Which method this is (name, ordinal, annotations).
  const MethodInfo& method() const { return *context_.method; }

 private:
  internal::CallContext& context_;
  typename Params::Reader params_;
  typename Results::Builder results_;
};

}  // namespace weft

#endif  // WEFT_RUNTIME_CALL_H_
