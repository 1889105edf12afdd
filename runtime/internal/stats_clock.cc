#include "runtime/internal/stats_clock.h"

#include <cstdio>
#include <cstring>

#include "runtime/internal/wait.h"

namespace weft {
namespace internal {
namespace {

bool KernelUsesTsc() {
  std::FILE* f =
      std::fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
  if (f == nullptr) return false;
  char name[32] = {};
  const bool read = std::fgets(name, sizeof(name), f) != nullptr;
  std::fclose(f);
  return read && std::strncmp(name, "tsc", 3) == 0 && (name[3] == '\n' || name[3] == '\0');
}

TickScale Calibrate() {
  TickScale scale;
#if defined(__x86_64__)
  if (!KernelUsesTsc()) return scale;
  // Ticks per ns over ~4 ms; the reads at both ends are a few ns apart, so
  // the rate is good to ~1e-5.
  const uint64_t t0 = __rdtsc();
  const uint64_t n0 = static_cast<uint64_t>(MonotonicNanos());
  uint64_t n1 = n0;
  while (n1 - n0 < 4'000'000) n1 = static_cast<uint64_t>(MonotonicNanos());
  const uint64_t t1 = __rdtsc();
  if (t1 <= t0) return scale;
  scale.kind = TickKind::kTsc;
  scale.shift = 32;
  scale.mult = static_cast<uint64_t>((static_cast<unsigned __int128>(n1 - n0) << 32) / (t1 - t0));
  if (scale.mult == 0) return TickScale{};
#endif
  return scale;
}

}  // namespace

TickScale ProcessTickScale() {
  static const TickScale scale = Calibrate();
  return scale;
}

}  // namespace internal
}  // namespace weft
