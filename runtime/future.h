// weft::Future<R> and weft::Response<R>: the host's side of one call.
//
//   weft::Future<quickstart::Math::SquareResults> f = math.square(7);
//   absl::StatusOr<weft::Response<quickstart::Math::SquareResults>> r = f.Get();
//   if (r.ok()) use(r->getResult());   // read in place in shared memory
//
// Every call resolves exactly once: to a Response, or to a non-OK status
// (see DESIGN.md "Errors"). Many futures may be outstanding from one thread
// (pipelining); a future may be waited on from any thread, by one thread at
// a time. Destroying an unresolved future abandons the call: its result is
// dropped and its slot reclaimed once the worker is done with it.
//
// A Response<R> is an R::Reader over the results where the worker wrote
// them; it owns the call slot and returns it when destroyed. Keep it short-
// lived: a lane has `slots_per_lane` slots, and while a response holds one
// the lane has one fewer (when they run out, results not yet claimed by
// Get() are copied out of shared memory to free their slots).
//
// Thread safety: Future and Response are thread-compatible (move-only).
#ifndef WEFT_RUNTIME_FUTURE_H_
#define WEFT_RUNTIME_FUTURE_H_

#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "capnp/message.h"
#include "capnp/schema.h"
#include "kj/exception.h"

namespace weft {

struct MethodInfo;
template <typename R>
class Future;

namespace internal {

class PoolCore;
struct CallState;
struct RegionHeader;

// Owns a resolved call's result: the slot it lives in, or the copy taken
// when the slot had to be freed early. Move-only.
class ResponseHandle {
 public:
  ResponseHandle() = default;
  ResponseHandle(std::shared_ptr<PoolCore> core, CallState* state)
      : core_(std::move(core)), state_(state) {}
  ResponseHandle(ResponseHandle&& other) noexcept
      : core_(std::move(other.core_)), state_(std::exchange(other.state_, nullptr)) {}
  ResponseHandle& operator=(ResponseHandle&& other) noexcept;
  ~ResponseHandle() { Release(); }

  // The message reader over the results; valid while this handle lives.
  // Untrusted results always have one; trusted one-segment results do not
  // (see root()).
  capnp::MessageReader& reader() const;
  // The results' root, valid while this handle lives. Trusted one-segment
  // results (a thread worker's, or a trusted process worker's) are read
  // without bounds checks, as Cap'n Proto reads its own constants: no
  // reader, no arena, no checks per call. Everything else through reader().
  capnp::AnyPointer::Reader root() const;
  // True when the results came from an untrusted (process) worker: already
  // copied and checked pointer by pointer, but not yet against their type.
  bool untrusted() const;

 private:
  void Release();

  std::shared_ptr<PoolCore> core_;
  CallState* state_ = nullptr;
};

// True for a results struct with no pointer fields: each of its getters
// reads the data section, bounds-checked against the struct's own size, so
// none can throw whatever a worker wrote; only the root pointer's kind can be
// wrong, which getRoot checks.
template <typename T, typename = void>
inline constexpr bool kPointerFree = false;
template <typename T>
inline constexpr bool kPointerFree<T, std::void_t<decltype(T::_capnpPrivate::pointerCount)>> =
    T::_capnpPrivate::pointerCount == 0;

// Reads every field of the message's root as `schema` says, once; DataLoss
// naming the problem if a field does not match its type. (future.cc)
absl::Status CheckTypedResults(capnp::StructSchema schema, capnp::MessageReader& reader);

// The non-template part of Future<R>. Move-only.
class CallHandle {
 public:
  CallHandle() = default;
  CallHandle(std::shared_ptr<PoolCore> core, CallState* state)
      : core_(std::move(core)), state_(state) {}
  // A call that failed before anything was sent.
  explicit CallHandle(absl::Status failure) : failure_(std::move(failure)) {}
  CallHandle(CallHandle&& other) noexcept
      : core_(std::move(other.core_)),
        state_(std::exchange(other.state_, nullptr)),
        // Not a moved-from Status: a spent handle reads as "already taken".
        failure_(std::exchange(other.failure_, absl::OkStatus())),
        observer_(other.observer_) {}
  CallHandle& operator=(CallHandle&& other) noexcept;
  ~CallHandle() { Abandon(); }

  bool Ready() const;
  // Waits until the call resolves or `until` passes; true when resolved.
  bool WaitUntil(absl::Time until);
  // Waits for the outcome and hands it over; the handle is spent after.
  absl::StatusOr<ResponseHandle> Take();
  // Cancels: the caller gets Cancelled, the worker sees aborted().
  void Abort();
  // Hands the call to `run` once it has resolved (see Future::Then).
  void Then(std::function<void(CallHandle)> run) &&;

  // A second handle on the same call that only observes it: Ready,
  // WaitUntil, Abort, deadline and Then (the callback gets the observer)
  // work; Take fails; dropping it leaves the call alone. For waiting on a call owned elsewhere (a
  // coroutine frame, a KJ promise) without keeping the owner's handle.
  CallHandle Observer() const;
  // Marks the call watched: its outcome rings its region's host doorbell
  // (runtime/internal/slot.h). Returns that region's header, null when the
  // call never reached a lane. Re-check Ready() after.
  RegionHeader* Watch() const;
  // When the call times out; InfiniteFuture without a deadline.
  absl::Time deadline() const;
  // The method called; null when the call never reached a lane.
  const MethodInfo* method() const;

 private:
  void Abandon();

  std::shared_ptr<PoolCore> core_;
  CallState* state_ = nullptr;
  absl::Status failure_;  // the outcome when state_ is null and not spent
  bool observer_ = false;
};

}  // namespace internal

template <typename R>
class Response : public R::Reader {
 public:
  Response(Response&&) noexcept = default;
  Response& operator=(Response&&) noexcept = default;
  Response(const Response&) = delete;
  Response& operator=(const Response&) = delete;

 private:
  friend class Future<R>;
  Response(typename R::Reader reader, internal::ResponseHandle handle)
      : R::Reader(reader), handle_(std::move(handle)) {}

  internal::ResponseHandle handle_;
};

template <typename R>
class [[nodiscard]] Future {
 public:
  Future() : handle_(absl::FailedPreconditionError("weft::Future: empty future")) {}
  explicit Future(internal::CallHandle handle) : handle_(std::move(handle)) {}
  Future(Future&&) noexcept = default;
  Future& operator=(Future&&) noexcept = default;

  // Blocks until the call resolves and returns its outcome. Once only: a
  // second Get() returns FailedPrecondition.
  absl::StatusOr<Response<R>> Get() {
    absl::StatusOr<internal::ResponseHandle> handle = handle_.Take();
    if (!handle.ok()) return std::move(handle).status();
    typename R::Reader root;
    try {
      if (!internal::kPointerFree<R> && handle->untrusted()) {
        // Every getter the caller may use must be safe: read each field once
        // as R's schema says (a list where a struct belongs, a List(UInt16)
        // where Data belongs, would make that getter throw). Results without
        // pointer fields have no such getter (kPointerFree).
        absl::Status typed =
            internal::CheckTypedResults(capnp::Schema::from<R>(), handle->reader());
        if (!typed.ok()) return typed;
      }
      root = handle->root().template getAs<R>();
    } catch (const kj::Exception& e) {
      return absl::DataLossError(
          absl::StrCat("weft: malformed results from worker: ", e.getDescription().cStr()));
    }
    return Response<R>(root, *std::move(handle));
  }

  // Waits at most `timeout`; true when the call has resolved.
  bool WaitFor(absl::Duration timeout) { return handle_.WaitUntil(absl::Now() + timeout); }
  // True when Get() would not block.
  bool Ready() const { return handle_.Ready(); }
  // Cancels the call: Get() returns Cancelled (unless it already resolved),
  // and the worker's call.aborted() becomes true.
  void Abort() { handle_.Abort(); }

  // For weft's own adapters (completion queue, coroutines, KJ promises).
  internal::CallHandle& weft_handle() { return handle_; }

  // Calls `callback(absl::StatusOr<Response<R>>)` once the call resolves,
  // consuming the future. The callback runs on this thread, before Then
  // returns, if the call has already resolved; otherwise on the pool's
  // continuation thread (one per pool, started on first use) — never on a
  // worker — promptly: that thread sleeps until a call it waits for
  // resolves (it is woken by the worker's doorbell, no polling). Keep
  // callbacks short: they run one after another. Every callback runs
  // exactly once, at the latest when the pool shuts down. A callback may
  // destroy the pool (drop its last reference), call Shutdown (which then
  // returns at once instead of waiting for the callbacks) and submit new
  // calls.
  template <typename F>
  void Then(F&& callback) && {
    auto shared = std::make_shared<std::decay_t<F>>(std::forward<F>(callback));
    std::move(handle_).Then([shared](internal::CallHandle handle) {
      Future<R> resolved(std::move(handle));
      (*shared)(resolved.Get());
    });
  }

 private:
  internal::CallHandle handle_;
};

}  // namespace weft

#endif  // WEFT_RUNTIME_FUTURE_H_
