#include "runtime/internal/options_check.h"

#include <algorithm>
#include <bit>

#include "absl/strings/str_cat.h"
#include "runtime/internal/region.h"
#include "runtime/internal/status_macros.h"

namespace weft {
namespace internal {

absl::Status ValidatePoolOptions(const PoolOptions& options, bool has_factory) {
  const size_t remote = options.remote_workers.size();
  if (options.workers < 0 || options.workers > 1024 || (options.workers == 0 && remote == 0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "weft: PoolOptions.workers must be in [1, 1024] (or 0 with remote_workers), got ",
        options.workers));
  }
  if (options.workers + remote > 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("weft: at most 1024 workers in a pool, local and remote; got ",
                     options.workers, " + ", remote));
  }
  for (size_t i = 0; i < remote; ++i) {
    if (options.remote_workers[i].address.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("weft: PoolOptions.remote_workers[", i,
                       "].address is empty; give \"unix:/path\" or \"tcp:host:port\""));
    }
  }
  const bool process = options.runtime == WorkerRuntime::kProcess && options.workers > 0;
  if (process && options.worker_command.empty()) {
    return absl::InvalidArgumentError(
        "weft: process workers need PoolOptions.worker_command (the worker binary's argv)");
  }
  if (process && has_factory) {
    return absl::InvalidArgumentError(
        "weft: process workers run the skeleton of their binary; Create(options) takes no factory");
  }
  if (!process && options.hard_timeout.has_value()) {
    return absl::InvalidArgumentError(
        "weft: PoolOptions.hard_timeout needs process workers (a thread cannot be killed safely)");
  }
  if (options.hard_timeout.has_value() && *options.hard_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("weft: PoolOptions.hard_timeout must be positive");
  }
  if (options.stats_time_every == 0) {
    return absl::InvalidArgumentError(
        "weft: PoolOptions.stats_time_every must be at least 1 (1: time every call)");
  }
  if (options.startup_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("weft: PoolOptions.startup_timeout must be positive");
  }
  if (options.abort_slots > (1u << 24)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "weft: PoolOptions.abort_slots must be at most 2^24, got ", options.abort_slots));
  }
  if (!process && !has_factory && options.workers > 0) {
    return absl::InvalidArgumentError("weft: thread workers need a skeleton factory");
  }
  if (options.max_payload_bytes < options.initial_payload_bytes ||
      options.max_payload_bytes > (uint64_t{1} << 36)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "weft: PoolOptions.max_payload_bytes must be in [initial_payload_bytes, 64 GiB], got ",
        options.max_payload_bytes));
  }
  if (options.default_timeout.has_value() && *options.default_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("weft: PoolOptions.default_timeout must be positive");
  }
  return absl::OkStatus();
}

absl::StatusOr<Geometry> GeometryFor(const PoolOptions& options, uint32_t method_count) {
  Geometry geometry{};
  geometry.lanes = options.max_host_threads;
  geometry.slots_per_lane = options.slots_per_lane;
  geometry.ring_capacity = options.ring_capacity != 0
                               ? options.ring_capacity
                               : std::bit_ceil(2 * std::max<uint32_t>(1, options.slots_per_lane));
  geometry.request_inline_bytes = options.initial_payload_bytes;
  geometry.response_inline_bytes = options.initial_payload_bytes;
  geometry.heap_bytes = (options.max_payload_bytes + 4095) / 4096 * 4096;
  geometry.stats_methods = options.stats ? method_count : 0;
  WEFT_RETURN_IF_ERROR(CheckGeometry(geometry));
  return geometry;
}

}  // namespace internal
}  // namespace weft
