// The pool's lifecycle log: what happened to the pool and its workers (start
// and stop, worker spawn, Ready, death, restart, hard_timeout kill, give-up),
// one LogEvent each. Nothing is logged on the call path (Invoke, Submit, Get,
// Serve): only the pool's creation and shutdown and the supervisor's thread
// log, and only when something happens to a worker.
//
// By default events at or above the level go to stderr, through spdlog, as
//   2026-12-01 13:13:10.518 [warning] [weft] worker 0 (pid 4242) died: killed by signal 9 (Killed)
// The level is PoolOptions::log_level if set, else the WEFT_LOG environment
// variable (debug, info, warning, error, off; read once, when the first pool
// is created), else kWarning. A service routes the events into its own
// logger with PoolOptions::log_sink:
//
//   options.log_level = weft::LogLevel::kInfo;
//   options.log_sink = [](const weft::LogEvent& e) {
//     MyLogger(e.level) << "weft: " << e.message;
//   };
//
// Thread safety: a pool calls its sink from one thread at a time (its calls
// are serialized), but not always the same thread: the thread that creates
// or shuts down the pool, and the supervisor's thread for process workers.
// The sink must not call into the pool (the supervisor waits for it), and
// should return quickly (supervision waits for it). The event reference is
// not kept past the call.
#ifndef WEFT_RUNTIME_LOG_H_
#define WEFT_RUNTIME_LOG_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/time/time.h"

namespace weft {

// In increasing severity; kOff logs nothing.
enum class LogLevel { kDebug, kInfo, kWarning, kError, kOff };

// What happened. The values are stable: new kinds are added at the end.
enum class LogEventKind {
  kPoolStart,          // info: Create succeeded; every worker is up
  kPoolStop,           // info (warning if the shutdown failed): Shutdown finished
  kWorkerSpawn,        // info: a process worker was forked (first start or replacement)
  kWorkerReady,        // info: it answered Ready and serves calls
  kWorkerDeath,        // warning: a serving process worker died (exit_status or signal)
  kWorkerRestart,      // warning: a replacement is scheduled after `backoff`
  kHardTimeoutKill,    // warning: a call ran past hard_timeout; its worker is SIGKILLed
  kWorkerStartFailed,  // warning: a replacement did not come up (crashed, no Ready)
  kWorkerGivenUp,      // error: max_restarts failed starts in a row; its calls fail
  kWorkerExit,         // info: a process worker ended while the pool shut down
                       // (warning if not by status 0, SIGTERM or SIGKILL)
  kRemoteConnection,   // a remote worker's connection: lost (warning), made again
                       // (info), a failed attempt (debug)
};

struct LogEvent {
  LogLevel level = LogLevel::kInfo;
  LogEventKind kind = LogEventKind::kPoolStart;
  int worker = -1;  // the worker's index; -1 for pool-wide events
  pid_t pid = 0;    // the process worker's pid; 0 if none (pool-wide, thread workers)
  // kWorkerDeath, kWorkerExit: how the process ended, one of the two (neither
  // if it was reaped by someone else).
  std::optional<int> exit_status;
  std::optional<int> signal;
  // kWorkerRestart: how long until the replacement starts.
  absl::Duration backoff = absl::ZeroDuration();
  // kWorkerRestart, kWorkerStartFailed, kWorkerGivenUp: consecutive failed
  // starts so far.
  uint32_t failed_starts = 0;
  // One line for people, complete by itself: what the default sink prints.
  std::string message;
};

// Receives the events at or above the pool's level; see the top of the file.
using LogSink = std::function<void(const LogEvent&)>;

// "debug", "info", "warning", "error", "off".
const char* ToString(LogLevel level);
// "pool_start", "worker_death", ...: the enumerator's name in snake case.
const char* ToString(LogEventKind kind);

}  // namespace weft

#endif  // WEFT_RUNTIME_LOG_H_
