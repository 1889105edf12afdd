// The host-side base of every generated weft::Stub<I>.
//
// capnpc-weft generates, for each interface I, `weft::Stub<I>` deriving from
// internal::StubBase, with per method a builder form (a callable that fills
// the params in place in shared memory) and, where every param is a scalar,
// an enum, Text or Data, a flat form taking them as arguments:
//
//   weft::Stub<quickstart::Math> math = pool->stub();
//   auto a = math.square(7);                                         // flat
//   auto b = math.hypot([](auto p) { p.setX(3); p.setY(4); });      // builder
//
// A streaming method (`write @0 (chunk :Data) -> stream;`) is a one-way
// call: its forms return an absl::Status as soon as the request is queued
// (OK), or say why it was not sent, which includes the failure of an earlier
// streamed call of this thread (reported once, on the next streamed call or
// Flush()). Flush() waits until every streamed call this thread sent through
// the pool has been served. The submit ring and the lane's slots are the
// backpressure: a caller faster than the worker waits for room.
//
//   for (auto& chunk : chunks) WEFT_RETURN_IF_ERROR(log.write(chunk));
//   WEFT_RETURN_IF_ERROR(log.Flush());
//
// Thread safety: thread-safe. A stub may be copied and called from any
// number of threads at once; each host thread gets its own lanes, so the hot
// path takes no lock.
#ifndef WEFT_RUNTIME_STUB_H_
#define WEFT_RUNTIME_STUB_H_

#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "runtime/call_options.h"
#include "runtime/future.h"
#include "runtime/interface.h"
#include "runtime/outgoing_call.h"

namespace weft {

class Batch;

namespace internal {

class RpcTarget;

class StubBase {
 public:
  // An unbound stub: every call resolves FailedPrecondition.
  StubBase() = default;
  explicit StubBase(std::shared_ptr<PoolCore> core) : core_(std::move(core)) {}

  // Waits until every streamed call this thread sent through the pool was
  // served; the first failure among them not yet reported, else OK.
  [[nodiscard]] absl::Status Flush() { return OutgoingCall::FlushStreams(core_.get()); }

 protected:
  // Reserves a slot, lets `fill` build the params in place, and sends the
  // call. `fill` is called at most once, before Invoke returns, and is not
  // kept. Anything that goes wrong becomes the future's status.
  template <typename Params, typename Results, typename Fill>
  Future<Results> Invoke(const MethodInfo& method, Fill&& fill, const CallOptions& options) {
    OutgoingCall call;
    absl::Status begun = call.Begin(core_.get(), method, options);
    if (!begun.ok()) return Future<Results>(CallHandle(std::move(begun)));
    try {
      fill(call.message().initRoot<Params>());
    } catch (const kj::Exception& e) {
      return Future<Results>(CallHandle(call.BuildFailure(e)));
    }
    return Future<Results>(call.Submit(core_));
  }

  // A streamed call: like Invoke, but the result is only whether it was
  // queued (see the file comment).
  template <typename Params, typename Fill>
  absl::Status Stream(const MethodInfo& method, Fill&& fill, const CallOptions& options) {
    absl::Status earlier = OutgoingCall::StreamError(core_.get());
    if (!earlier.ok()) return earlier;
    OutgoingCall call;
    absl::Status begun = call.Begin(core_.get(), method, options);
    if (!begun.ok()) return begun;
    try {
      fill(call.message().initRoot<Params>());
    } catch (const kj::Exception& e) {
      return call.BuildFailure(e);
    }
    call.SubmitStreamed(core_);
    return absl::OkStatus();
  }

 private:
  friend class ::weft::Batch;
  friend class RpcTarget;
  std::shared_ptr<PoolCore> core_;
};

}  // namespace internal

// Publishes a burst of calls together. While a Batch lives, the calls this
// thread makes to the stub's pool are written to the workers' submit rings
// but not yet published; when it ends, or at Flush(), each ring's new calls
// become visible with one release store and one wake decision (a fence, and
// a futex wake only if the worker sleeps), instead of one of each per call.
//
//   std::vector<weft::Future<Math::SquareResults>> squares;
//   {
//     weft::Batch batch(math);
//     for (int64_t i = 0; i < 64; ++i) squares.push_back(math.square(i));
//   }  // published here
//
// Waiting on one of the batch's calls from this thread (Get, WaitFor, Ready,
// Then, a full lane) publishes first, so a thread never waits on itself;
// another thread waiting on one waits for the publish. Hold a batch only
// across a burst: its calls do not run, and a draining Shutdown waits for
// them, until it is published. Nests; an unbound stub's batch does nothing.
//
// Thread safety: thread-compatible; construct and destroy it on the thread
// that makes the calls.
class Batch {
 public:
  explicit Batch(const internal::StubBase& stub);
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;
  ~Batch();

  // Publishes the calls so far; the batch goes on.
  void Flush();

 private:
  std::shared_ptr<internal::PoolCore> core_;  // null: nothing to batch
  uint32_t lane_ = 0;
};
}  // namespace weft

#endif  // WEFT_RUNTIME_STUB_H_
