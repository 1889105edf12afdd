// weft::ToPromise: a weft call as a kj::Promise, for Cap'n Proto code that
// lives in a KJ event loop.
//
//   kj::EventLoop loop;
//   kj::WaitScope wait_scope(loop);
//   kj::Promise<weft::Response<Math::SquareResults>> p = weft::ToPromise(math.square(7));
//   weft::Response<Math::SquareResults> r = p.wait(wait_scope);
//
// The promise resolves on the event loop of the thread that called
// ToPromise (which must have one): the pool's continuation thread fulfils a
// cross-thread fulfiller as soon as the call resolves, and the loop reads
// the outcome. A failed call rejects the promise with a kj::Exception whose
// description is the status (absl::Status::ToString()) and whose
// type follows its code: Unavailable is DISCONNECTED, ResourceExhausted is
// OVERLOADED, Unimplemented is UNIMPLEMENTED, anything else FAILED.
//
// Dropping the promise before it resolves abandons the call, as destroying
// the future would: the result is dropped and an abortable method sees
// call.aborted().
//
// Depend on //runtime:weft_kj. Under ThreadSanitizer,
// Debian's uninstrumented libkj-async hides the lock that orders the
// cross-thread hand-off; suppress "race:kj::_::XThreadPafImpl" and
// "race:kj::_::XThreadFulfiller" (as tests/pool/kj_promise_test.cc does).
#ifndef WEFT_RUNTIME_KJ_PROMISE_H_
#define WEFT_RUNTIME_KJ_PROMISE_H_

#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "kj/async.h"
#include "kj/exception.h"
#include "runtime/future.h"

namespace weft {
namespace internal {

// The exception a failed call rejects its promise with (the mapping of
// runtime/internal/rpc_status.h, defined there).
kj::Exception StatusToException(const absl::Status& status);

// Fulfils the loop's promise once the observed call resolves (any thread).
void FulfilWhenResolved(CallHandle observer, kj::Own<kj::CrossThreadPromiseFulfiller<void>> done);

}  // namespace internal

template <typename R>
kj::Promise<Response<R>> ToPromise(Future<R> future) {
  auto resolved = kj::newPromiseAndCrossThreadFulfiller<void>();
  // The owner stays with the promise (dropping it abandons the call); an
  // observer waits for it on the continuation thread.
  auto owner = kj::heap<Future<R>>(std::move(future));
  internal::FulfilWhenResolved(owner->weft_handle().Observer(), kj::mv(resolved.fulfiller));
  Future<R>* call = owner.get();
  return resolved.promise
      .then([call]() -> Response<R> {
        absl::StatusOr<Response<R>> r = call->Get();
        if (!r.ok()) kj::throwFatalException(internal::StatusToException(r.status()));
        return *std::move(r);
      })
      .attach(kj::mv(owner));
}

}  // namespace weft

#endif  // WEFT_RUNTIME_KJ_PROMISE_H_
