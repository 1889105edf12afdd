// weft::RpcServer: a pool served over Cap'n Proto two-party RPC.
//
//   #include "quickstart/math.weft-rpc.h"   // generated: weft::RpcService<Math>
//
//   auto pool = weft::Pool<quickstart::Math>::Create(options, factory);
//   weft::RpcServerOptions serve;
//   serve.address = "unix:/tmp/math.sock";
//   absl::StatusOr<std::unique_ptr<weft::RpcServer>> server =
//       weft::RpcServer::Serve(*pool, serve);
//
// Any Cap'n Proto client of the interface can call it without knowing weft
// exists: the bootstrap capability is a `quickstart::Math::Client`
// (capnp::EzRpcClient(...).getMain<quickstart::Math>()). Each incoming call
// becomes a call into the pool; its result is copied into the RPC results.
// A failed call's absl::Status becomes a kj::Exception: Unavailable is
// DISCONNECTED, ResourceExhausted OVERLOADED, Unimplemented UNIMPLEMENTED,
// every other code FAILED; the description is always "CODE: message"
// (absl::Status::ToString()), so a weft pool whose remote worker this is
// gets the same code back. Cancellation: a client that drops its promise
// abandons the pool call, and an abortable method sees call.aborted().
//
// A streamed method (`-> stream`) follows Cap'n Proto's rule for streams:
// once one of a client's streamed calls fails, the capability is broken for
// that client (the error comes back on that call or the next).
//
// The server runs one KJ event loop on a thread of its own; the pool sees
// it as one more host thread, with one lane per worker. When that lane has
// no free slot (more than slots_per_lane calls in flight from all clients)
// and the pool's queue_full is kWait, the thread waits for one, and every
// connection waits with it; kFail answers OVERLOADED instead. Calls get the
// method's own deadline and abortability ($Weft.timeoutMs, $Weft.abortable,
// the pool's default_timeout); a client's cancellation reaches aborted()
// only in an abortable method, as a dropped future does. Destroying the server stops accepting,
// drops every connection (their calls are abandoned), and joins the thread; the pool stays as it
// was.
//
// Thread safety: Serve and the destructor from any thread; address() is
// constant.
#ifndef WEFT_RUNTIME_RPC_SERVER_H_
#define WEFT_RUNTIME_RPC_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "capnp/any.h"
#include "capnp/capability.h"
#include "capnp/stream.capnp.h"
#include "kj/async.h"
#include "runtime/call_options.h"
#include "runtime/interface.h"
#include "runtime/kj/promise.h"
#include "runtime/pool.h"
#include "runtime/rpc_options.h"
#include "runtime/stub.h"

namespace weft {

// capnpc-weft generates, in x.weft-rpc.h, a specialization per interface:
// an `I::Server` whose every method forwards to a pool through an
// internal::RpcTarget.
template <typename I>
class RpcService;

namespace internal {

class RpcServerImpl;

// What a generated RpcService<I> calls: a pool, reached as its stubs reach
// it. Copyable; keeps the pool's core alive.
class RpcTarget {
 public:
  explicit RpcTarget(const StubBase& stub) : core_(stub.core_) {}

  // One RPC call into the pool: the params are copied into shared memory,
  // the results (when the pool's call resolves) into the RPC results; a
  // failure rejects with the status as a kj::Exception (ToPromise).
  template <typename Params, typename Results>
  kj::Promise<void> Serve(const MethodInfo& method, capnp::CallContext<Params, Results> context) {
    context.allowCancellation();
    return ToPromise(Future<Results>(Submit(method, capnp::AnyStruct::Reader(context.getParams()))))
        .then([context](Response<Results> results) mutable { context.setResults(results); });
  }
  // A streamed method (`-> stream`): resolves when the pool's call is served.
  template <typename Params>
  kj::Promise<void> ServeStream(const MethodInfo& method,
                                capnp::StreamingCallContext<Params> context) {
    context.allowCancellation();
    return ToPromise(Future<capnp::StreamResult>(
                         Submit(method, capnp::AnyStruct::Reader(context.getParams()))))
        .ignoreResult();
  }

 private:
  // Sends the call from the calling thread (the server's loop). A call that
  // could not be sent is a handle already resolved to why.
  CallHandle Submit(const MethodInfo& method, capnp::AnyStruct::Reader params);

  std::shared_ptr<PoolCore> core_;
};

}  // namespace internal

class RpcServer {
 public:
  // Serves `pool` (any worker kind) at options.address. Errors:
  // InvalidArgument (a bad address, a non-loopback plaintext listener
  // without insecure_plaintext, bad TLS material), AlreadyExists (a live
  // socket at the path), the listen error (PermissionDenied, ...).
  template <typename I>
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<RpcServer>> Serve(
      const Pool<I>& pool, const RpcServerOptions& options) {
    internal::RpcTarget target(pool.stub());
    return Start(
        [target]() -> capnp::Capability::Client { return kj::heap<RpcService<I>>(target); },
        options, pool.options().max_payload_bytes, nullptr);
  }
  // Serves skeletons made by `factory` on a thread pool of its own
  // (pool_options; thread workers), which the server owns.
  template <typename I>
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<RpcServer>> Serve(
      typename Pool<I>::Factory factory, const PoolOptions& pool_options,
      const RpcServerOptions& options) {
    absl::StatusOr<Pool<I>> pool = Pool<I>::Create(pool_options, std::move(factory));
    if (!pool.ok()) return pool.status();
    auto owned = std::make_shared<Pool<I>>(*std::move(pool));
    internal::RpcTarget target(owned->stub());
    return Start(
        [target]() -> capnp::Capability::Client { return kj::heap<RpcService<I>>(target); },
        options, pool_options.max_payload_bytes, owned);
  }

  ~RpcServer();
  RpcServer(const RpcServer&) = delete;
  RpcServer& operator=(const RpcServer&) = delete;

  // The address listened on, the port filled in: "tcp:127.0.0.1:40123".
  const std::string& address() const { return address_; }

 private:
  using Bootstrap = std::function<capnp::Capability::Client()>;
  static absl::StatusOr<std::unique_ptr<RpcServer>> Start(Bootstrap bootstrap,
                                                          const RpcServerOptions& options,
                                                          uint64_t pool_max_payload_bytes,
                                                          std::shared_ptr<void> owned_pool);
  RpcServer() = default;

  std::shared_ptr<void> owned_pool_;  // declared first: outlives impl_
  std::unique_ptr<internal::RpcServerImpl> impl_;
  std::string address_;
};

}  // namespace weft

#endif  // WEFT_RUNTIME_RPC_SERVER_H_
