#include "runtime/rpc_server.h"

#include <future>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "capnp/rpc-twoparty.h"
#include "kj/async-io.h"
#include "kj/timer.h"
#include "runtime/internal/lifecycle_log.h"
#include "runtime/internal/rpc_status.h"
#include "runtime/internal/rpc_transport.h"
#include "runtime/outgoing_call.h"

namespace weft {
namespace internal {
namespace {

constexpr kj::Duration kHandshakeTimeout = 10 * kj::SECONDS;

}  // namespace

CallHandle RpcTarget::Submit(const MethodInfo& method, capnp::AnyStruct::Reader params) {
  OutgoingCall call;
  absl::Status begun = call.Begin(core_.get(), method, CallOptions());
  if (!begun.ok()) return CallHandle(std::move(begun));
  try {
    call.message().getRoot<capnp::AnyPointer>().setAs<capnp::AnyStruct>(params);
  } catch (const kj::Exception& e) {
    return CallHandle(call.BuildFailure(e));
  }
  return call.Submit(core_);
}

// The server's thread: a KJ event loop accepting connections and serving
// each with Cap'n Proto's RPC system over the bootstrap capability.
class RpcServerImpl {
 public:
  ~RpcServerImpl() {
    if (stop_.get() != nullptr) stop_->fulfill();
    if (thread_.joinable()) thread_.join();
  }

  absl::Status Start(std::function<capnp::Capability::Client()> bootstrap,
                     const RpcServerOptions& options, uint64_t max_message_bytes,
                     std::string* address) {
    std::promise<absl::Status> listening;
    std::future<absl::Status> listened = listening.get_future();
    thread_ = std::thread([this, bootstrap = std::move(bootstrap), options, max_message_bytes,
                           address, listening = std::move(listening)]() mutable {
      Run(std::move(bootstrap), options, max_message_bytes, address, listening);
    });
    absl::Status status = listened.get();
    if (!status.ok()) thread_.join();
    return status;
  }

 private:
  class ErrorHandler final : public kj::TaskSet::ErrorHandler {
   public:
    // A connection that fails (a TLS handshake refused, a peer gone) ends
    // alone; the listener goes on.
    void taskFailed(kj::Exception&&) override {}
  };

  struct Connection {
    kj::Own<kj::AsyncIoStream> stream;
    kj::Own<capnp::TwoPartyVatNetwork> network;
    kj::Own<capnp::RpcSystem<capnp::rpc::twoparty::VatId>> rpc;
  };

  void Run(std::function<capnp::Capability::Client()> bootstrap, const RpcServerOptions& options,
           uint64_t max_message_bytes, std::string* address,
           std::promise<absl::Status>& listening) {
    kj::AsyncIoContext io = kj::setupAsyncIo();
    absl::StatusOr<Endpoint> at = ParseEndpoint(options.address);
    if (!at.ok()) {
      listening.set_value(at.status());
      return;
    }
    std::string warning;
    absl::StatusOr<std::unique_ptr<Listener>> listener =
        Listener::Listen(io, *at, options.tls, options.insecure_plaintext, &warning);
    if (!listener.ok()) {
      listening.set_value(listener.status());
      return;
    }
    if (!warning.empty()) {
      Logger logger{PoolOptions()};
      LogEvent event;
      event.level = LogLevel::kWarning;
      event.kind = LogEventKind::kRemoteConnection;
      event.message = warning;
      logger.Log(event);
    }
    capnp::Capability::Client main = bootstrap();
    auto stop = kj::newPromiseAndCrossThreadFulfiller<void>();
    stop_ = kj::mv(stop.fulfiller);
    *address = (*listener)->address();
    capnp::ReaderOptions reader;
    // The largest request plus room for the RPC's own framing.
    reader.traversalLimitInWords = max_message_bytes / sizeof(capnp::word) + (1u << 16);
    ErrorHandler errors;
    kj::TaskSet connections(errors);
    Listener& l = **listener;
    kj::Promise<void> accepting = AcceptLoop(l, io.provider->getTimer(), main, reader, connections);
    listening.set_value(absl::OkStatus());
    stop.promise.exclusiveJoin(kj::mv(accepting)).wait(io.waitScope);
    // Destroyed in reverse: the accept loop and every connection (their calls
    // are abandoned) before the listener.
  }

  kj::Promise<void> AcceptLoop(Listener& listener, kj::Timer& timer, capnp::Capability::Client main,
                               capnp::ReaderOptions reader, kj::TaskSet& connections) {
    return listener.Accept().then([this, &listener, &timer, main, reader,
                                   &connections](kj::Own<kj::AsyncIoStream> raw) mutable {
      // A client that never finishes its TLS handshake is dropped, not kept.
      connections.add(timer.timeoutAfter(kHandshakeTimeout, listener.Secure(kj::mv(raw)))
                          .then([main, reader](kj::Own<kj::AsyncIoStream> stream) mutable {
                            return Serve(kj::mv(stream), kj::mv(main), reader);
                          }));
      return AcceptLoop(listener, timer, kj::mv(main), reader, connections);
    });
  }

  static kj::Promise<void> Serve(kj::Own<kj::AsyncIoStream> stream, capnp::Capability::Client main,
                                 capnp::ReaderOptions reader) {
    auto conn = kj::heap<Connection>();
    conn->stream = kj::mv(stream);
    conn->network = kj::heap<capnp::TwoPartyVatNetwork>(*conn->stream,
                                                        capnp::rpc::twoparty::Side::SERVER, reader);
    conn->rpc = kj::heap(capnp::makeRpcServer(*conn->network, kj::mv(main)));
    kj::Promise<void> done = conn->network->onDisconnect();
    return done.attach(kj::mv(conn));
  }

  std::thread thread_;
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> stop_;
};

}  // namespace internal

absl::StatusOr<std::unique_ptr<RpcServer>> RpcServer::Start(Bootstrap bootstrap,
                                                            const RpcServerOptions& options,
                                                            uint64_t pool_max_payload_bytes,
                                                            std::shared_ptr<void> owned_pool) {
  std::unique_ptr<RpcServer> server(new RpcServer());
  server->owned_pool_ = std::move(owned_pool);
  server->impl_ = std::make_unique<internal::RpcServerImpl>();
  const uint64_t limit =
      options.max_message_bytes != 0 ? options.max_message_bytes : pool_max_payload_bytes;
  absl::Status started =
      server->impl_->Start(std::move(bootstrap), options, limit, &server->address_);
  if (!started.ok()) return started;
  return server;
}

RpcServer::~RpcServer() = default;

}  // namespace weft
