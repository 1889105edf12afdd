// CallHandle and ResponseHandle (future.h): waiting for a call's outcome and
// owning its result. Every resolution goes through LaneHost::Resolve.
#include "runtime/future.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "capnp/dynamic.h"
#include "kj/debug.h"
#include "runtime/internal/call_state.h"
#include "runtime/internal/lane_host.h"
#include "runtime/internal/pool_core.h"
#include "runtime/internal/wait.h"

namespace weft {
namespace internal {
namespace {

bool Transient(uint32_t phase) { return phase == kResolving || phase == kEvacuating; }

}  // namespace

CallHandle& CallHandle::operator=(CallHandle&& other) noexcept {
  if (this != &other) {
    Abandon();
    core_ = std::move(other.core_);
    state_ = std::exchange(other.state_, nullptr);
    failure_ = std::exchange(other.failure_, absl::OkStatus());
    observer_ = other.observer_;
  }
  return *this;
}

CallHandle CallHandle::Observer() const {
  CallHandle observer;
  observer.observer_ = true;
  if (state_ == nullptr) {
    // Nothing to observe: it reads as resolved, with this outcome.
    observer.failure_ = failure_.ok()
                            ? absl::FailedPreconditionError("weft: an observer of a spent call")
                            : failure_;
    return observer;
  }
  // Relaxed: we hold a reference already, so the count cannot reach zero
  // meanwhile; the acq_rel decrements in Unref order the rest.
  state_->refs.fetch_add(1, std::memory_order_relaxed);
  observer.core_ = core_;
  observer.state_ = state_;
  return observer;
}

RegionHeader* CallHandle::Watch() const {
  if (state_ == nullptr) return nullptr;
  state_->lane->Watch(state_);
  return &state_->lane->header();
}

const MethodInfo* CallHandle::method() const {
  return state_ == nullptr ? nullptr : state_->method;
}

absl::Time CallHandle::deadline() const {
  return state_ == nullptr ? absl::InfiniteFuture() : state_->deadline;
}

bool CallHandle::Ready() const {
  if (state_ == nullptr) return true;
  CallState* call = state_;
  LaneHost* lane = call->lane;
  // Acquire: pairs with the release stores of phase by the resolver.
  const uint32_t phase = call->phase.load(std::memory_order_acquire);
  if (phase == kReadyInSlot || phase == kReady || phase == kTaken) return true;
  if (phase != kInFlight) return false;  // being resolved right now
  // A call held back in this thread's Batch is published before anyone here
  // polls or waits for it.
  lane->PublishIfCorkedHere();
  if (lane->WorkerDone(call)) {
    lane->Resolve(call, Outcome::FromWorker());
    // Acquire: as above.
    return !Transient(call->phase.load(std::memory_order_acquire));
  }
  if (call->deadline != absl::InfiniteFuture() && absl::Now() >= call->deadline) {
    lane->Resolve(call, Outcome::Deadline(call->on_timeout));
    return true;
  }
  return false;
}

bool CallHandle::WaitUntil(absl::Time until) {
  if (state_ == nullptr) return true;
  CallState* call = state_;
  for (;;) {
    if (Ready()) {
      // Transient phases end quickly; wait them out. Acquire: as in Ready.
      while (Transient(call->phase.load(std::memory_order_acquire))) CpuRelax();
      return true;
    }
    const absl::Time bound = std::min(until, call->deadline);
    // Acquire: as in Ready.
    if (Transient(call->phase.load(std::memory_order_acquire))) {
      CpuRelax();
      continue;
    }
    if (!call->lane->WaitResolvable(call, bound)) {
      if (absl::Now() >= call->deadline) continue;  // Ready() resolves it
      if (absl::Now() >= until) return Ready();
    }
  }
}

absl::StatusOr<ResponseHandle> CallHandle::Take() {
  if (observer_) {
    return absl::FailedPreconditionError("weft: an observer cannot take the call's outcome");
  }
  if (state_ == nullptr) {
    if (failure_.ok()) {
      return absl::FailedPreconditionError("weft: Future::Get() was already called");
    }
    absl::Status failure = std::move(failure_);
    failure_ = absl::OkStatus();
    return failure;
  }
  WaitUntil(absl::InfiniteFuture());
  CallState* call = std::exchange(state_, nullptr);
  for (;;) {
    // Acquire: pairs with the resolver's release store of phase.
    uint32_t phase = call->phase.load(std::memory_order_acquire);
    if (phase == kReadyInSlot) {
      // Acquire: pairs with the release store of kReadyInSlot.
      if (call->phase.compare_exchange_strong(phase, kTaken, std::memory_order_acquire,
                                              std::memory_order_acquire)) {
        return ResponseHandle(std::move(core_), call);
      }
      continue;  // an evacuation started; it ends in kReady
    }
    if (phase == kReady) {
      if (call->status.ok()) return ResponseHandle(std::move(core_), call);
      // A status of its own, not a second reference to the state's: the
      // state may be recycled on another thread (a reclaimer, a shutdown),
      // and Debian's libabsl drops a shared rep's count in code TSan does
      // not see, so sharing it reads as a race on the rep there. weft sets
      // no payloads: code and message are all there is.
      absl::Status status(call->status.code(), call->status.message());
      Unref(call);  // the handle's reference
      core_.reset();
      return status;
    }
    CpuRelax();
  }
}

void CallHandle::Abort() {
  if (state_ == nullptr) return;
  state_->lane->Resolve(state_,
                        Outcome::Early(absl::CancelledError("weft: call aborted by the caller")));
}

void CallHandle::Then(std::function<void(CallHandle)> run) && {
  if (state_ == nullptr) {
    run(std::move(*this));
    return;
  }
  std::shared_ptr<PoolCore> core = core_;
  core->continuations().Add(std::move(*this), std::move(run));
}

void CallHandle::Abandon() {
  if (state_ == nullptr) return;
  CallState* call = std::exchange(state_, nullptr);
  if (observer_) {
    Unref(call);  // the observer's reference
    core_.reset();
    return;
  }
  LaneHost* lane = call->lane;
  lane->Resolve(
      call, Outcome::Early(absl::CancelledError("weft: future destroyed before the call ended")));
  for (;;) {
    // Acquire: pairs with the resolver's release store of phase.
    uint32_t phase = call->phase.load(std::memory_order_acquire);
    if (phase == kReadyInSlot) {
      // Acquire: as above; we take the results only to drop them.
      if (call->phase.compare_exchange_strong(phase, kReady, std::memory_order_acquire,
                                              std::memory_order_acquire)) {
        lane->ReleaseSlot(call->slot, call->seq);
        Unref(call);  // the slot's reference
        break;
      }
      continue;
    }
    if (phase == kReady) break;
    CpuRelax();
  }
  Unref(call);  // the handle's reference
  core_.reset();
}

ResponseHandle& ResponseHandle::operator=(ResponseHandle&& other) noexcept {
  if (this != &other) {
    Release();
    core_ = std::move(other.core_);
    state_ = std::exchange(other.state_, nullptr);
  }
  return *this;
}

capnp::MessageReader& ResponseHandle::reader() const { return *state_->reader; }

capnp::AnyPointer::Reader ResponseHandle::root() const {
  if (state_->reader.has_value()) return state_->reader->getRoot<capnp::AnyPointer>();
  return capnp::readMessageUnchecked<capnp::AnyPointer>(state_->segments[0].begin());
}

bool ResponseHandle::untrusted() const { return !state_->lane->config().trusted_worker; }

namespace {

void Visit(const capnp::DynamicValue::Reader& value, int depth);

void Walk(const capnp::DynamicStruct::Reader& s, int depth) {
  KJ_REQUIRE(depth < 64, "results nested too deeply");
  auto visit = [&](capnp::StructSchema::Field field) {
    // Capabilities do not travel through shared memory; AnyPointer has no
    // type to check.
    if (field.getType().isInterface() || field.getType().isAnyPointer()) return;
    Visit(s.get(field), depth + 1);
  };
  for (capnp::StructSchema::Field field : s.getSchema().getNonUnionFields()) visit(field);
  KJ_IF_MAYBE (field, s.which()) {
    visit(*field);
  }
}

void Visit(const capnp::DynamicValue::Reader& value, int depth) {
  switch (value.getType()) {
    case capnp::DynamicValue::STRUCT:
      Walk(value.as<capnp::DynamicStruct>(), depth);
      break;
    case capnp::DynamicValue::LIST:
      for (capnp::DynamicValue::Reader element : value.as<capnp::DynamicList>()) {
        Visit(element, depth + 1);
      }
      break;
    default:
      break;  // scalars, enums, Text and Data (checked by get()), void
  }
}

}  // namespace

absl::Status CheckTypedResults(capnp::StructSchema schema, capnp::MessageReader& reader) {
  try {
    Walk(reader.getRoot<capnp::DynamicStruct>(schema), 0);
    return absl::OkStatus();
  } catch (const kj::Exception& e) {
    return absl::DataLossError(absl::StrCat("weft: the worker's results do not match ",
                                            schema.getProto().getDisplayName().cStr(), ": ",
                                            e.getDescription().cStr()));
  }
}

void ResponseHandle::Release() {
  if (state_ == nullptr) return;
  CallState* call = std::exchange(state_, nullptr);
  // Acquire: pairs with Take's CAS to kTaken (this thread's own, or one
  // published to it by moving the handle).
  if (call->phase.load(std::memory_order_acquire) == kTaken) {
    call->lane->ReleaseSlot(call->slot, call->seq);
    Unref(call);  // the slot's reference
  }
  Unref(call);  // the handle's reference
  core_.reset();
}

}  // namespace internal
}  // namespace weft
