// internal::OutgoingCall: a call whose request is being built in place.
//
// Used by the generated stubs through StubBase::Invoke (stub.h); users never
// name it. Begin reserves a slot on the calling thread's lane to the worker
// the balancer picked, the stub's fill callback builds the params through
// message(), and Submit publishes the call to the worker:
//
//   OutgoingCall call;
//   absl::Status begun = call.Begin(core, method, options);
//   fill(call.message().initRoot<Params>());
//   CallHandle handle = call.Submit(core_ptr);
//
// If the OutgoingCall is destroyed unsent (the fill threw), its slot goes
// back to the lane. Everything known about the call lives in its CallState
// (runtime/internal/call_state.h), which this only points to.
//
// Thread safety: thread-compatible; lives on the calling thread's stack.
#ifndef WEFT_RUNTIME_OUTGOING_CALL_H_
#define WEFT_RUNTIME_OUTGOING_CALL_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "capnp/message.h"
#include "kj/exception.h"
#include "runtime/call_options.h"
#include "runtime/future.h"
#include "runtime/interface.h"

namespace weft {
namespace internal {

struct CallState;
class LaneHost;
class PoolCore;

class OutgoingCall {
 public:
  OutgoingCall() = default;
  OutgoingCall(const OutgoingCall&) = delete;
  OutgoingCall& operator=(const OutgoingCall&) = delete;
  ~OutgoingCall();

  // Binds the calling thread's lane, settles the call's deadline, on_timeout
  // and abort slot, picks the worker and reserves a slot. `core` is not
  // kept. Errors: FailedPrecondition (null core: an unbound stub),
  // Unavailable (shutting down, or every worker given up),
  // ResourceExhausted (no slot with queue_full = kFail, no abort slot, too
  // many host threads), DeadlineExceeded (no slot before the deadline).
  absl::Status Begin(PoolCore* core, const MethodInfo& method, const CallOptions& options);

  // The request message, in the reserved slot. Valid after a successful Begin.
  capnp::MessageBuilder& message() { return *message_; }

  // Turns an exception thrown while building into the call's status
  // (ResourceExhausted when the message outgrew max_payload_bytes) and
  // returns the slot.
  absl::Status BuildFailure(const kj::Exception& e);

  // Publishes the built request; never fails (a failure resolves the
  // returned handle). `core` is shared with the handle.
  CallHandle Submit(const std::shared_ptr<PoolCore>& core);

  // ---- Streamed calls (methods declared `-> stream`; internal/stream_lane.h).
  // The first failure of this thread's earlier streamed calls to `core` not
  // reported yet (then nothing more should be sent), else OK. Settles the
  // finished ones on the way.
  static absl::Status StreamError(PoolCore* core);
  // Submit for a streamed call: the calling thread keeps the handle in its
  // StreamLane (waiting for its oldest call when too many are pending).
  void SubmitStreamed(const std::shared_ptr<PoolCore>& core);
  // Waits for every streamed call this thread sent to `core`; the first
  // failure not yet reported, else OK.
  static absl::Status FlushStreams(PoolCore* core);

 private:
  void ReturnSlot();
  void End();
  // ResourceExhausted for a request that did not fit, saying why.
  absl::Status OverflowStatus() const;

  // The request builder (runtime/internal/region_message.h) lives here, on
  // the calling thread's stack; outgoing_call.cc checks that it fits.
  static constexpr size_t kBuilderBytes = 576;

  LaneHost* lane_ = nullptr;               // not owned; null once submitted or returned
  CallState* state_ = nullptr;             // not owned; the lane's
  std::atomic<uint32_t>* busy_ = nullptr;  // the lane's busy flag while we submit
  uint64_t max_payload_bytes_ = 0;
  capnp::MessageBuilder* message_ = nullptr;  // constructed in builder_
  alignas(16) unsigned char builder_[kBuilderBytes];
};

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_OUTGOING_CALL_H_
