// The lifecycle log's default sink: spdlog, to stderr. The only file that
// includes spdlog (stderr_log.cc), so neither the public headers nor the rest
// of the runtime see it.
//
//   WriteToStderrLog(event);
//   // 2026-12-01 13:13:10.518 [warning] [weft] worker 0 (pid 4242) died: ...
//
// The spdlog logger, named "weft", is made on first use, once per process,
// and never destroyed (a pool destroyed during static destruction still
// logs). It is not registered in spdlog's registry: an application that uses
// spdlog itself keeps its own "weft" name, levels and spdlog::drop_all to
// itself; to route weft's events into its loggers it sets
// PoolOptions::log_sink instead.
//
// Thread safety: thread-safe (spdlog's _mt stderr sink locks per line).
#ifndef WEFT_RUNTIME_INTERNAL_STDERR_LOG_H_
#define WEFT_RUNTIME_INTERNAL_STDERR_LOG_H_

#include "runtime/log.h"

namespace weft {
namespace internal {

// Prints event.message at event.level (the caller filtered by level
// already); flushed at once. `event` is not kept.
void WriteToStderrLog(const LogEvent& event);

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_INTERNAL_STDERR_LOG_H_
