// The clock the stats time calls with: the CPU's time-stamp counter where the
// kernel itself trusts it (clocksource "tsc": invariant, synchronized across
// cores), else CLOCK_MONOTONIC. A TSC read costs about half a vDSO
// clock_gettime here (12 vs 25 ns, measured on this project's 2-vCPU VM).
//
//   const TickScale scale = ProcessTickScale();     // calibrated once per process
//   uint64_t t0 = ReadTicks(scale);
//   ...
//   uint64_t ns = TicksToNanos(ReadTicks(scale) - t0, scale);
//
// The host chooses the scale and writes it in each region's header; a
// process worker times with the host's scale, so ticks of the two sides are
// comparable (queue wait = worker start - host submit).
//
// Thread safety: thread-safe.
#ifndef WEFT_RUNTIME_INTERNAL_STATS_CLOCK_H_
#define WEFT_RUNTIME_INTERNAL_STATS_CLOCK_H_

#include <time.h>

#include <cstdint>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace weft {
namespace internal {

enum class TickKind : uint32_t { kMonotonic = 0, kTsc = 1 };

struct TickScale {
  TickKind kind = TickKind::kMonotonic;
  uint32_t shift = 0;  // ns = ticks * mult >> shift
  uint64_t mult = 1;
};

// This process's scale: kTsc, calibrated against CLOCK_MONOTONIC over a few
// milliseconds on first use, when the kernel's clocksource is the TSC.
TickScale ProcessTickScale();

inline uint64_t ReadTicks(const TickScale& scale) {
#if defined(__x86_64__)
  if (scale.kind == TickKind::kTsc) return __rdtsc();
#endif
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

// A duration in ticks as nanoseconds. A negative duration (the two ends
// read on cores whose counters disagree, or garbage) wraps to a huge value;
// callers pass `later - earlier` only when later >= earlier.
inline uint64_t TicksToNanos(uint64_t ticks, const TickScale& scale) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(ticks) * scale.mult) >> scale.shift);
}

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_INTERNAL_STATS_CLOCK_H_
