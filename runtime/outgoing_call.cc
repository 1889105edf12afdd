#include "runtime/outgoing_call.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "runtime/internal/call_state.h"
#include "runtime/internal/lane_host.h"
#include "runtime/internal/pool_core.h"
#include "runtime/internal/region_message.h"

namespace weft {
namespace internal {
namespace {

static_assert(sizeof(RegionMessageBuilder) <= 576 && alignof(RegionMessageBuilder) <= 16,
              "OutgoingCall::kBuilderBytes must hold a RegionMessageBuilder");

RegionMessageBuilder& BuilderIn(capnp::MessageBuilder* message) {
  return *static_cast<RegionMessageBuilder*>(message);
}

// The call's deadline: CallOptions, else the method's $Weft.timeoutMs, else
// the pool's default_timeout; InfiniteDuration means none.
absl::Time DeadlineFor(const MethodInfo& method, const CallOptions& options,
                       const PoolOptions& pool) {
  std::optional<absl::Duration> timeout = options.timeout;
  if (!timeout.has_value() && method.timeout_ms != 0) {
    timeout = absl::Milliseconds(method.timeout_ms);
  }
  if (!timeout.has_value()) timeout = pool.default_timeout;
  if (!timeout.has_value() || *timeout == absl::InfiniteDuration()) {
    return absl::InfiniteFuture();
  }
  return absl::Now() + *timeout;
}

}  // namespace

absl::Status OutgoingCall::Begin(PoolCore* core, const MethodInfo& method,
                                 const CallOptions& options) {
  if (core == nullptr) {
    return absl::FailedPreconditionError(
        "weft: this stub is not bound to a pool (use pool.stub())");
  }
  absl::StatusOr<uint32_t> lane = core->BindLane();
  if (!lane.ok()) return lane.status();
  std::atomic<uint32_t>& busy = core->busy(*lane);
  // Seq_cst: ordered before the load of shutting_down (a Dekker pair with
  // PoolCore::Shutdown's store of the flag and its loads of busy).
  busy.store(1, std::memory_order_seq_cst);
  auto fail = [&busy](absl::Status status) {
    // Release: pairs with Shutdown's seq_cst load; we touch nothing more.
    busy.store(0, std::memory_order_release);
    return status;
  };
  if (core->shutting_down()) return fail(absl::UnavailableError("weft: the pool is shutting down"));
  const absl::Time deadline = DeadlineFor(method, options, core->options());
  OnTimeout on_timeout = options.on_timeout;
  if (on_timeout.kind() == OnTimeout::Kind::kMethodDefault) {
    on_timeout =
        method.default_on_timeout ? OnTimeout::DefaultResult() : OnTimeout::DeadlineExceeded();
  }
  const bool abortable = method.abortable || options.abortable;
  if (abortable && !core->aborts().TryReserve()) {
    return fail(absl::ResourceExhaustedError(absl::StrCat(
        "weft: all ", core->options().abort_slots,
        " abort slots are held by outstanding abortable calls (PoolOptions.abort_slots)")));
  }
  const uint32_t worker = core->picker().PickLive(*lane);
  if (worker == UINT32_MAX) {
    if (abortable) core->aborts().Release();
    return fail(absl::UnavailableError(
        "weft: every worker of the pool was given up after repeated failed starts"));
  }
  LaneHost* lane_host = core->Lane(worker, *lane);
  absl::StatusOr<uint32_t> slot = lane_host->AcquireSlot(deadline);
  if (!slot.ok()) {
    if (abortable) core->aborts().Release();
    return fail(slot.status());
  }
  CallState* state = lane_host->NewCall();
  state->slot = *slot;
  state->method = &method;
  state->deadline = deadline;
  state->on_timeout = std::move(on_timeout);
  state->holds_abort_slot = abortable;
  lane_ = lane_host;
  state_ = state;
  busy_ = &busy;
  max_payload_bytes_ = core->options().max_payload_bytes;
  message_ = &lane_host->PrepareRequest(*slot, builder_, deadline);
  return absl::OkStatus();
}

CallHandle OutgoingCall::Submit(const std::shared_ptr<PoolCore>& core) {
  RegionMessageBuilder& builder = BuilderIn(message_);
  if (builder.overflowed()) {
    // The fill caught our exception and carried on; the message is cut short.
    absl::Status failure = OverflowStatus();
    ReturnSlot();
    return CallHandle(std::move(failure));
  }
  CallState* state = std::exchange(state_, nullptr);
  LaneHost* lane = std::exchange(lane_, nullptr);
  lane->Submit(state, builder);
  core->picker().NoteSubmitted(lane->worker());
  End();
  return CallHandle(core, state);
}

absl::Status OutgoingCall::StreamError(PoolCore* core) {
  if (core == nullptr) {
    return absl::FailedPreconditionError(
        "weft: this stub is not bound to a pool (use pool.stub())");
  }
  absl::StatusOr<uint32_t> lane = core->BindLane();
  if (!lane.ok()) return lane.status();
  return core->stream(*lane).Poll();
}

void OutgoingCall::SubmitStreamed(const std::shared_ptr<PoolCore>& core) {
  const uint32_t lane = lane_->lane_index();
  CallHandle handle = Submit(core);
  // No more than the lane's slots across the workers can be in flight.
  const size_t bound = size_t{core->options().slots_per_lane} * core->options().workers;
  core->stream(lane).Push(std::move(handle), bound);
}

absl::Status OutgoingCall::FlushStreams(PoolCore* core) {
  if (core == nullptr) {
    return absl::FailedPreconditionError(
        "weft: this stub is not bound to a pool (use pool.stub())");
  }
  absl::StatusOr<uint32_t> lane = core->BindLane();
  if (!lane.ok()) return lane.status();
  return core->stream(*lane).Flush();
}

OutgoingCall::~OutgoingCall() {
  if (lane_ != nullptr) ReturnSlot();
}

void OutgoingCall::ReturnSlot() {
  CallState* state = std::exchange(state_, nullptr);
  LaneHost* lane = std::exchange(lane_, nullptr);
  if (state->holds_abort_slot) lane->aborts().Release();
  lane->ReturnUnsentSlot(state->slot, BuilderIn(message_));
  state->pool->Free(state);
  End();
}

void OutgoingCall::End() {
  BuilderIn(message_).~RegionMessageBuilder();
  message_ = nullptr;
  // Release: pairs with Shutdown's seq_cst load; the submission is done.
  busy_->store(0, std::memory_order_release);
  busy_ = nullptr;
}

absl::Status OutgoingCall::OverflowStatus() const {
  if (BuilderIn(message_).out_of_heap()) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "weft: no room for the request in this thread's lane to worker ", lane_->worker(),
        ": calls still in flight hold its request heap (max_payload_bytes = ", max_payload_bytes_,
        " bytes); wait for them, or raise max_payload_bytes"));
  }
  return absl::ResourceExhaustedError(
      absl::StrCat("weft: the request exceeds max_payload_bytes (", max_payload_bytes_,
                   " bytes); send less, or raise PoolOptions.max_payload_bytes"));
}

absl::Status OutgoingCall::BuildFailure(const kj::Exception& e) {
  absl::Status status;
  if (message_ != nullptr && BuilderIn(message_).overflowed()) {
    status = OverflowStatus();
  } else {
    status = absl::InvalidArgumentError(
        absl::StrCat("weft: building the request failed: ", e.getDescription().cStr()));
  }
  if (lane_ != nullptr) ReturnSlot();
  return status;
}

}  // namespace internal

}  // namespace weft
