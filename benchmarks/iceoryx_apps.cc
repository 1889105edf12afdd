#include "benchmarks/iceoryx_apps.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>

#include "benchmarks/iceoryx_roudi.h"
#include "iceoryx_posh/internal/runtime/posh_runtime_impl.hpp"
#include "iceoryx_posh/mepoo/chunk_header.hpp"
#include "iceoryx_posh/popo/rpc_header.hpp"
#include "iceoryx_posh/popo/untyped_server.hpp"
#include "iceoryx_posh/runtime/posh_runtime.hpp"

namespace weft_bench {
namespace {

// The server process's PoshRuntime. iceoryx's default one is a
// function-local static, destroyed only by exit(), which in a forked child
// would also run the parent's atexit handlers and flush its stdio buffers;
// this one the server deletes before _exit, so that it deregisters from
// RouDi (and removes /tmp/weft-bench-iox-server and its .lock). An exited
// server left registered makes RouDi abort when it stops (see the top).
class ServerRuntime : public iox::runtime::PoshRuntimeImpl {
 public:
  explicit ServerRuntime(iox::cxx::optional<const iox::RuntimeName_t*> name)
      : PoshRuntimeImpl(name) {}

  // initRuntime and getInstance return this one from now on.
  static void Install() { setRuntimeFactory(Factory); }
  static void Destroy() {
    delete instance_;
    instance_ = nullptr;
  }

 private:
  static iox::runtime::PoshRuntime& Factory(iox::cxx::optional<const iox::RuntimeName_t*> name) {
    if (instance_ == nullptr) instance_ = new ServerRuntime(name);
    return *instance_;
  }
  static inline ServerRuntime* instance_ = nullptr;
};

// What one poll of a pattern's ports did.
constexpr int kNothing = -1;  // nothing to answer
constexpr int kAnswered = 0;  // else: the server's exit status

// Request/response: answers an 8-byte request with itself (echo), any other
// with the checksum of its bytes.
int AnswerRequest(iox::popo::UntypedServer& server) {
  auto request = server.take();
  if (request.has_error()) return kNothing;
  const void* payload = request.value();
  const uint32_t size = iox::mepoo::ChunkHeader::fromUserPayload(payload)->userPayloadSize();
  uint64_t answer;
  if (size == sizeof(int64_t)) {
    std::memcpy(&answer, payload, sizeof(answer));
  } else {
    answer = Checksum(payload, size);
  }
  auto response = server.loan(iox::popo::RequestHeader::fromPayload(payload), sizeof(answer),
                              alignof(uint64_t));
  if (response.has_error()) return 4;
  std::memcpy(response.value(), &answer, sizeof(answer));
  if (server.send(response.value()).has_error()) return 5;
  server.releaseRequest(payload);
  return kAnswered;
}

// Publish/subscribe: publishes each int64 taken from `ping` on `pong`.
int EchoSample(iox::popo::UntypedSubscriber& ping, iox::popo::UntypedPublisher& pong) {
  auto sample = ping.take();
  if (sample.has_error()) return kNothing;
  auto echo = pong.loan(sizeof(int64_t), alignof(int64_t));
  if (echo.has_error()) return 6;
  std::memcpy(echo.value(), sample.value(), sizeof(int64_t));
  pong.publish(echo.value());
  ping.release(sample.value());
  return kAnswered;
}

// The server's loop; returns its exit status.
int Serve(const ServerControl* control) {
  iox::popo::UntypedServer server(kRequestService);
  iox::popo::UntypedSubscriber ping(kPingService);
  iox::popo::UntypedPublisher pong(kPongService);
  // Relaxed: the stop flag needs no ordering; the loop only exits.
  while (control->stop.load(std::memory_order_relaxed) == 0) {
    // Relaxed: the pattern only chooses which ports to poll; what a call
    // carries is ordered by iceoryx's own queues, and a call sent before the
    // change is seen waits in its port's queue until it is.
    const int status = control->pattern.load(std::memory_order_relaxed) ==
                               static_cast<uint32_t>(Pattern::kPublishSubscribe)
                           ? EchoSample(ping, pong)
                           : AnswerRequest(server);
    if (status == kNothing) CpuRelax();
    if (status > 0) return status;
  }
  return 0;
}

[[noreturn]] void ServeForever(const ServerControl* control, int cpu) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (!PinThisThread(cpu)) _exit(3);
  ServerRuntime::Install();
  iox::runtime::PoshRuntime::initRuntime(kServerName);
  const int status = Serve(control);
  ServerRuntime::Destroy();  // deregisters
  _exit(status);
}

}  // namespace

Environment::Environment(const Options& options) {
  unavailable_ = StartRoudiWithRetry();
  if (unavailable_.empty()) unavailable_ = RemoveStaleAppFiles();
  if (unavailable_.empty()) StartApps(options);
}

bool Environment::StartApps(const Options& options) {
  void* map = mmap(nullptr, sizeof(ServerControl), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (map == MAP_FAILED) {
    unavailable_ = std::string("mmap: ") + std::strerror(errno);
    return false;
  }
  control_ = new (map) ServerControl;
  if (!TellKeeperAppsStarting()) {
    unavailable_ = std::string("cannot tell the RouDi keeper: ") + std::strerror(errno);
    return false;
  }
  std::fflush(nullptr);
  server_ = fork();
  if (server_ == 0) {
    ForgetKeeper();
    ServeForever(control_, options.worker_cpu);
  }
  iox::runtime::PoshRuntime::initRuntime(kClientName);
  client_.emplace(kRequestService);
  ping_.emplace(kPingService);
  pong_.emplace(kPongService);
  const uint64_t give_up = MonotonicNanos() + kStartTimeoutNs;
  // The server's ports offer, and this process's connect, in any order.
  while (client_->getConnectionState() != iox::ConnectionState::CONNECTED ||
         !ping_->hasSubscribers() ||
         pong_->getSubscriptionState() != iox::SubscribeState::SUBSCRIBED) {
    int status = 0;
    if (waitpid(server_, &status, WNOHANG) == server_) {
      server_ = -1;
      unavailable_ = "the iceoryx server process " + DescribeStatus(status) +
                     " before it connected (its output is in this suite's log)";
      return false;
    }
    if (MonotonicNanos() > give_up) {
      unavailable_ =
          "the iceoryx client, publisher and subscriber did not connect to the server "
          "within 30 s";
      return false;
    }
    SpinFor(1'000'000);
  }
  return true;
}

void Environment::Use(Pattern pattern) {
  // Relaxed: see Serve.
  control_->pattern.store(static_cast<uint32_t>(pattern), std::memory_order_relaxed);
}

Environment::~Environment() {
  client_.reset();
  ping_.reset();
  pong_.reset();
  if (server_ > 0) {
    // Relaxed: see Serve.
    control_->stop.store(1, std::memory_order_relaxed);
    const uint64_t give_up = MonotonicNanos() + 10'000'000'000ull;
    while (waitpid(server_, nullptr, WNOHANG) == 0) {
      if (MonotonicNanos() > give_up) {
        kill(server_, SIGKILL);
        waitpid(server_, nullptr, 0);
        break;
      }
      SpinFor(1'000'000);
    }
  }
}

}  // namespace weft_bench
