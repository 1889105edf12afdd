// The iceoryx apps of the suite: one server process that answers both
// kinds of row, and this process's ports.
//
//   request/response  UntypedServer on kRequestService: an 8-byte request
//                     is echoed, any other answered with its checksum
//   publish/subscribe the server subscribes to kPingService and publishes
//                     each int64 it takes back on kPongService
//
// One process serves both, polling only the ports of the pattern the host
// chose (Environment::Use), because two busy-polling processes pinned to
// the one --worker_cpu would take turns by the scheduler's time slice. The
// server is forked before this process registers with RouDi (a child must
// not inherit a registered runtime), pinned to --worker_cpu, and
// deregisters before it exits (see iceoryx_roudi.h for why that matters).
//
// Thread safety: thread-compatible; the suite's benchmarks run on its main
// thread.
#ifndef WEFT_BENCHMARKS_ICEORYX_APPS_H_
#define WEFT_BENCHMARKS_ICEORYX_APPS_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "benchmarks/harness.h"
#include "iceoryx_posh/popo/untyped_client.hpp"
#include "iceoryx_posh/popo/untyped_publisher.hpp"
#include "iceoryx_posh/popo/untyped_subscriber.hpp"

namespace weft_bench {

inline const iox::capro::ServiceDescription kRequestService{"WeftBench", "Bench", "Call"};
inline const iox::capro::ServiceDescription kPingService{"WeftBench", "Bench", "Ping"};
inline const iox::capro::ServiceDescription kPongService{"WeftBench", "Bench", "Pong"};

enum class Pattern : uint32_t { kRequestResponse = 0, kPublishSubscribe = 1 };

// Lives in shared memory (an anonymous shared mapping both processes have):
// what the host tells the server.
struct alignas(64) ServerControl {
  std::atomic<uint32_t> stop{0};
  std::atomic<uint32_t> pattern{static_cast<uint32_t>(Pattern::kRequestResponse)};
};
static_assert(std::atomic<uint32_t>::is_always_lock_free);

// RouDi, the server process and this process's ports.
class Environment {
 public:
  // Starts RouDi, the server, then this process's runtime and ports, and
  // waits until every port is connected; unavailable() says why not.
  explicit Environment(const Options& options);
  // Stops the server; RouDi stops at exit (iceoryx_roudi.cc).
  ~Environment();
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;

  // Why the rows are skipped, empty when up.
  const std::string& unavailable() const { return unavailable_; }
  // Has the server poll the ports of `pattern` from now on. Call with
  // nothing in flight.
  void Use(Pattern pattern);

  iox::popo::UntypedClient& client() { return *client_; }
  iox::popo::UntypedPublisher& ping() { return *ping_; }
  iox::popo::UntypedSubscriber& pong() { return *pong_; }

 private:
  // Forks the server and makes this process's ports; false (with
  // unavailable_ set) when they do not connect.
  bool StartApps(const Options& options);

  std::string unavailable_;
  pid_t server_ = -1;
  ServerControl* control_ = nullptr;  // in a shared mapping; never unmapped
  std::optional<iox::popo::UntypedClient> client_;
  std::optional<iox::popo::UntypedPublisher> ping_;
  std::optional<iox::popo::UntypedSubscriber> pong_;
};

// Busy-polls `take` (a port's take(), with pause between tries) until it
// yields a chunk; nullptr after 10 s.
template <typename Take>
const void* PollTake(Take take) {
  const uint64_t give_up = MonotonicNanos() + 10'000'000'000ull;
  for (uint64_t polls = 1;; ++polls) {
    if (polls % 65536 == 0 && MonotonicNanos() > give_up) return nullptr;
    auto chunk = take();
    if (!chunk.has_error()) return chunk.value();
    CpuRelax();
  }
}

}  // namespace weft_bench

#endif  // WEFT_BENCHMARKS_ICEORYX_APPS_H_
