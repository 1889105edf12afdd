#include "runtime/internal/balancers.h"

#include <sys/random.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "absl/types/span.h"

namespace weft {
namespace internal {

WorkerPicker::WorkerPicker(const PoolOptions& options, std::vector<WorkerLoadSource> workers,
                           uint32_t lanes)
    : kind_(options.balancer),
      custom_(options.custom_balancer),
      workers_(std::move(workers)),
      track_load_(options.custom_balancer != nullptr ||
                  (options.balancer != BalancerKind::kRoundRobin &&
                   options.balancer != BalancerKind::kRandom)),
      lanes_(new LaneState[lanes]),
      submitted_(new Submitted[workers_.size()]) {
  // Every lane of every pool draws its own random sequence: seeded from the
  // kernel's generator, so two pools (or the first calls of many threads)
  // do not all pick the same workers.
  std::vector<uint32_t> seeds(lanes);
  const size_t want = seeds.size() * sizeof(uint32_t);
  size_t got = 0;
  while (got < want) {
    const ssize_t n = getrandom(reinterpret_cast<char*>(seeds.data()) + got, want - got, 0);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  // No kernel randomness (never on Linux >= 3.17): mix the clock and the address.
  uint64_t fallback =
      static_cast<uint64_t>(absl::GetCurrentTimeNanos()) ^ reinterpret_cast<uintptr_t>(this);
  for (uint32_t i = 0; i < lanes; ++i) {
    if (got < want) {
      fallback = fallback * 6364136223846793005ull + 1442695040888963407ull;
      seeds[i] = static_cast<uint32_t>(fallback >> 32);
    }
    lanes_[i].random = seeds[i] != 0 ? seeds[i] : 0x9e3779b9u;  // xorshift needs non-zero
  }
}

uint64_t WorkerPicker::InFlight(uint32_t w) const {
  // Relaxed: a load snapshot for balancing, not a synchronization point.
  const uint64_t sent = submitted_[w].count.load(std::memory_order_relaxed);
  // Relaxed: as above; the worker is the counter's only writer.
  const uint64_t served = workers_[w].header->calls_served.load(std::memory_order_relaxed);
  return sent > served ? sent - served : 0;
}

uint32_t WorkerPicker::PickLive(uint32_t lane) {
  const uint32_t n = static_cast<uint32_t>(workers_.size());
  const uint32_t pick = Pick(lane);
  // Relaxed: a worker given up stays given up; a stale false only sends a
  // call to a worker whose queue the supervisor fails.
  if (!workers_[pick].failed->load(std::memory_order_relaxed)) return pick;
  for (uint32_t i = 1; i < n; ++i) {
    const uint32_t w = (pick + i) % n;
    // Relaxed: as above.
    if (!workers_[w].failed->load(std::memory_order_relaxed)) return w;
  }
  return UINT32_MAX;
}

uint32_t WorkerPicker::Pick(uint32_t lane) {
  const uint32_t n = static_cast<uint32_t>(workers_.size());
  LaneState& state = lanes_[lane];
  auto next_random = [&state] {
    // xorshift32 on a per-lane (owner thread only) state.
    uint32_t x = state.random == 0 ? 0x9e3779b9u : state.random;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    state.random = x;
    return x;
  };
  if (custom_ != nullptr) {
    thread_local std::vector<WorkerLoad> loads;
    loads.resize(n);
    for (uint32_t w = 0; w < n; ++w) {
      // Relaxed: a load snapshot, not a synchronization point.
      const uint64_t sent = submitted_[w].count.load(std::memory_order_relaxed);
      // Relaxed: as above.
      const uint64_t started = workers_[w].header->calls_started.load(std::memory_order_relaxed);
      const uint64_t flight = InFlight(w);
      loads[w] = WorkerLoad{flight, sent > started ? sent - started : 0, flight == 0};
    }
    return static_cast<uint32_t>(custom_->Pick(absl::MakeConstSpan(loads)) % n);
  }
  switch (kind_) {
    case BalancerKind::kRoundRobin:
      return state.round_robin++ % n;
    case BalancerKind::kRandom:
      return next_random() % n;
    case BalancerKind::kFirstIdle:
    case BalancerKind::kFirstIdleOrRandom:
      for (uint32_t w = 0; w < n; ++w) {
        if (InFlight(w) == 0) return w;
      }
      return kind_ == BalancerKind::kFirstIdle ? state.round_robin++ % n : next_random() % n;
    case BalancerKind::kLeastBusy: {
      uint32_t best = 0;
      uint64_t best_load = UINT64_MAX;
      for (uint32_t w = 0; w < n; ++w) {
        const uint64_t load = InFlight(w);
        if (load < best_load) {
          best = w;
          best_load = load;
        }
      }
      return best;
    }
  }
  return 0;
}

}  // namespace internal
}  // namespace weft
