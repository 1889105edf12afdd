// Logger: a pool's lifecycle log (runtime/log.h) — the level, where events
// go (the pool's log_sink, else stderr through spdlog), and the wording of
// each event, so that the call sites (pool_core.cc, supervisor.cc) are one
// line each.
//
//   Logger logger(options);                         // level: options, WEFT_LOG, kWarning
//   logger.Log(WorkerDeathEvent(0, pid, wait_status, how));
//
// Only lifecycle code logs: nothing on the call path.
//
// Thread safety: thread-safe. Log calls the sink under a mutex, so a pool's
// sink runs on one thread at a time.
#ifndef WEFT_RUNTIME_INTERNAL_LIFECYCLE_LOG_H_
#define WEFT_RUNTIME_INTERNAL_LIFECYCLE_LOG_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "runtime/internal/mutex.h"
#include "runtime/log.h"
#include "runtime/pool_options.h"

namespace weft {
namespace internal {

// The level when neither PoolOptions::log_level nor WEFT_LOG says one:
// deaths, restarts, kills and give-ups show; starts, spawns and Readys don't.
inline constexpr LogLevel kDefaultLogLevel = LogLevel::kWarning;

// WEFT_LOG's spellings, case-insensitive: debug, info, warning, error, off,
// and spdlog's trace (= debug), warn, err, critical (= error). nullopt for
// anything else.
std::optional<LogLevel> ParseLogLevel(absl::string_view text);

// WEFT_LOG's level, read once per process; unset or empty: kDefaultLogLevel.
// A value ParseLogLevel rejects prints one line to stderr naming the
// accepted values, then counts as unset.
LogLevel EnvironmentLogLevel();

class Logger {
 public:
  // Copies the options' log_sink; the level is options.log_level, else
  // EnvironmentLogLevel().
  explicit Logger(const PoolOptions& options);
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  LogLevel level() const { return level_; }
  bool Enabled(LogLevel level) const { return level != LogLevel::kOff && level >= level_; }
  // Hands `event` to the sink (or stderr) if its level is enabled. An
  // exception from the sink is caught and the event printed to stderr.
  void Log(const LogEvent& event);

 private:
  const LogLevel level_;
  Mutex mutex_;
  const LogSink sink_ ABSL_GUARDED_BY(mutex_);
};

// The events, worded once. `w` is the worker's index.
LogEvent PoolStartEvent(const PoolOptions& options);
LogEvent PoolStopEvent(const absl::Status& result);
LogEvent WorkerSpawnEvent(uint32_t w, pid_t pid, bool replacement);
LogEvent WorkerReadyEvent(uint32_t w, pid_t pid);
// A serving worker ended: kWorkerDeath, or kWorkerExit while the pool shuts
// down (info for status 0, SIGKILL or SIGTERM, which the pool itself causes). `wait_status` is
// waitpid's, or -1 if unknown; `how` is child_process.h's description of it.
LogEvent WorkerEndEvent(uint32_t w, pid_t pid, int wait_status, const std::string& how,
                        bool shutting_down);
LogEvent WorkerRestartEvent(uint32_t w, absl::Duration backoff, uint32_t failed_starts);
LogEvent HardTimeoutKillEvent(uint32_t w, pid_t pid, absl::Duration hard_timeout);
LogEvent WorkerStartFailedEvent(uint32_t w, const absl::Status& why, uint32_t failed_starts);
LogEvent WorkerGivenUpEvent(uint32_t w, uint32_t failed_starts);

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_INTERNAL_LIFECYCLE_LOG_H_
