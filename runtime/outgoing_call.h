// internal::OutgoingCall: a call whose request is being built in place.
//
// The stub reserves a slot (BeginCall), the user's fill callback builds the
// params in the slot's shared memory through message(), and SubmitCall
// publishes the descriptor on the lane's submit ring. If the OutgoingCall is
// destroyed unsent (the fill threw), its slot goes back to the lane.
//
// Thread safety: thread-compatible; lives on the calling thread's stack.
#ifndef WEFT_RUNTIME_OUTGOING_CALL_H_
#define WEFT_RUNTIME_OUTGOING_CALL_H_

#include <cstdint>
#include <memory>
#include <optional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "capnp/message.h"
#include "kj/exception.h"
#include "runtime/call_options.h"
#include "runtime/future.h"
#include "runtime/interface.h"
#include "runtime/internal/region_message.h"

namespace weft {
namespace internal {

class HostCore;
class LaneHost;

class OutgoingCall {
 public:
  OutgoingCall() = default;
  OutgoingCall(const OutgoingCall&) = delete;
  OutgoingCall& operator=(const OutgoingCall&) = delete;
  ~OutgoingCall();

  // The request message, in the reserved slot. Valid after BeginCall.
  capnp::MessageBuilder& message() { return *builder_; }

  // Turns an exception thrown while building into the call's status
  // (ResourceExhausted when the message outgrew max_payload_bytes) and
  // returns the slot.
  absl::Status BuildFailure(const kj::Exception& e);

 private:
  friend absl::Status BeginCall(HostCore*, const MethodInfo&, const CallOptions&, OutgoingCall&);
  friend CallHandle SubmitCall(const std::shared_ptr<HostCore>&, OutgoingCall&);
  void ReturnSlot();

  LaneHost* lane_ = nullptr;  // not owned; null once submitted or returned
  uint32_t slot_ = 0;
  const MethodInfo* method_ = nullptr;
  absl::Time deadline_ = absl::InfiniteFuture();
  OnTimeout on_timeout_;
  bool holds_abort_slot_ = false;
  std::optional<RegionMessageBuilder> builder_;
};

// Picks the worker, binds the calling thread's lane, reserves a slot, and
// points `call` at it. Errors: Unavailable (shutting down), ResourceExhausted
// (no slot and queue_full = kFail, too many host threads), FailedPrecondition
// (null core: an unbound stub), DeadlineExceeded (no slot before deadline).
absl::Status BeginCall(HostCore* core, const MethodInfo& method, const CallOptions& options,
                       OutgoingCall& call);

// Publishes the built request; never fails (a failure resolves the future).
CallHandle SubmitCall(const std::shared_ptr<HostCore>& core, OutgoingCall& call);

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_OUTGOING_CALL_H_
