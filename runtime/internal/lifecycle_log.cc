#include "runtime/internal/lifecycle_log.h"

#include <signal.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "runtime/internal/stderr_log.h"

namespace weft {
namespace internal {
namespace {

LogEvent Event(LogLevel level, LogEventKind kind, int worker, pid_t pid, std::string message) {
  LogEvent event;
  event.level = level;
  event.kind = kind;
  event.worker = worker;
  event.pid = pid;
  event.message = std::move(message);
  return event;
}

}  // namespace

std::optional<LogLevel> ParseLogLevel(absl::string_view text) {
  const std::string lower = absl::AsciiStrToLower(text);
  if (lower == "debug" || lower == "trace") return LogLevel::kDebug;
  if (lower == "info") return LogLevel::kInfo;
  if (lower == "warning" || lower == "warn") return LogLevel::kWarning;
  if (lower == "error" || lower == "err" || lower == "critical") return LogLevel::kError;
  if (lower == "off") return LogLevel::kOff;
  return std::nullopt;
}

LogLevel EnvironmentLogLevel() {
  // Read once: every pool of the process agrees, and a bad value is said once.
  static const LogLevel level = [] {
    const char* env = std::getenv("WEFT_LOG");
    if (env == nullptr || *env == '\0') return kDefaultLogLevel;
    if (std::optional<LogLevel> parsed = ParseLogLevel(env)) return *parsed;
    std::fprintf(stderr,
                 "weft: WEFT_LOG=\"%s\" is not a log level; use debug, info, warning, error or "
                 "off (or trace, warn, err, critical); logging at %s\n",
                 env, ToString(kDefaultLogLevel));
    return kDefaultLogLevel;
  }();
  return level;
}

Logger::Logger(const PoolOptions& options)
    : level_(options.log_level.has_value() ? *options.log_level : EnvironmentLogLevel()),
      sink_(options.log_sink) {}

void Logger::Log(const LogEvent& event) {
  if (!Enabled(event.level)) return;
  MutexLock lock(&mutex_);
  if (!sink_) {
    WriteToStderrLog(event);
    return;
  }
  try {
    sink_(event);
  } catch (const std::exception& e) {
    WriteToStderrLog(
        Event(LogLevel::kError, event.kind, event.worker, event.pid,
              absl::StrCat("PoolOptions.log_sink threw (", e.what(), ") on: ", event.message)));
  } catch (...) {
    WriteToStderrLog(Event(LogLevel::kError, event.kind, event.worker, event.pid,
                           absl::StrCat("PoolOptions.log_sink threw on: ", event.message)));
  }
}

LogEvent PoolStartEvent(const PoolOptions& options) {
  const bool process = options.runtime == WorkerRuntime::kProcess;
  return Event(LogLevel::kInfo, LogEventKind::kPoolStart, -1, 0,
               absl::StrCat("pool started: ", options.workers, process ? " process" : " thread",
                            options.workers == 1 ? " worker" : " workers",
                            process && !options.worker_command.empty()
                                ? absl::StrCat(" (", options.worker_command[0], ")")
                                : ""));
}

LogEvent PoolStopEvent(const absl::Status& result) {
  if (result.ok()) return Event(LogLevel::kInfo, LogEventKind::kPoolStop, -1, 0, "pool stopped");
  return Event(LogLevel::kWarning, LogEventKind::kPoolStop, -1, 0,
               absl::StrCat("pool stopped: ", result.message()));
}

LogEvent WorkerSpawnEvent(uint32_t w, pid_t pid, bool replacement) {
  return Event(
      LogLevel::kInfo, LogEventKind::kWorkerSpawn, static_cast<int>(w), pid,
      absl::StrCat("worker ", w, replacement ? " replacement" : "", " spawned (pid ", pid, ")"));
}

LogEvent WorkerReadyEvent(uint32_t w, pid_t pid) {
  return Event(LogLevel::kInfo, LogEventKind::kWorkerReady, static_cast<int>(w), pid,
               absl::StrCat("worker ", w, " (pid ", pid, ") is ready"));
}

LogEvent WorkerEndEvent(uint32_t w, pid_t pid, int wait_status, const std::string& how,
                        bool shutting_down) {
  const bool known = wait_status >= 0;
  // At shutdown the pool ends its workers itself: an exit with status 0, or
  // the SIGKILL/SIGTERM it sends (PR_SET_PDEATHSIG sends SIGKILL as the
  // supervisor thread ends), is expected; anything else is worth a warning.
  const bool expected = known && ((WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) ||
                                  (WIFSIGNALED(wait_status) && (WTERMSIG(wait_status) == SIGKILL ||
                                                                WTERMSIG(wait_status) == SIGTERM)));
  LogEvent event = shutting_down
                       ? Event(expected ? LogLevel::kInfo : LogLevel::kWarning,
                               LogEventKind::kWorkerExit, static_cast<int>(w), pid,
                               absl::StrCat("worker ", w, " (pid ", pid, ") stopped: ", how))
                       : Event(LogLevel::kWarning, LogEventKind::kWorkerDeath, static_cast<int>(w),
                               pid, absl::StrCat("worker ", w, " (pid ", pid, ") died: ", how));
  if (known && WIFEXITED(wait_status)) event.exit_status = WEXITSTATUS(wait_status);
  if (known && WIFSIGNALED(wait_status)) event.signal = WTERMSIG(wait_status);
  return event;
}

LogEvent WorkerRestartEvent(uint32_t w, absl::Duration backoff, uint32_t failed_starts) {
  LogEvent event = Event(
      LogLevel::kWarning, LogEventKind::kWorkerRestart, static_cast<int>(w), 0,
      absl::StrCat(
          "worker ", w, " restarts in ", absl::FormatDuration(backoff),
          failed_starts == 0 ? "" : absl::StrCat(" (", failed_starts, " failed starts in a row)")));
  event.backoff = backoff;
  event.failed_starts = failed_starts;
  return event;
}

LogEvent HardTimeoutKillEvent(uint32_t w, pid_t pid, absl::Duration hard_timeout) {
  return Event(LogLevel::kWarning, LogEventKind::kHardTimeoutKill, static_cast<int>(w), pid,
               absl::StrCat("worker ", w, " (pid ", pid, ") ran a call past hard_timeout (",
                            absl::FormatDuration(hard_timeout), "): killing it (SIGKILL)"));
}

LogEvent WorkerStartFailedEvent(uint32_t w, const absl::Status& why, uint32_t failed_starts) {
  LogEvent event = Event(LogLevel::kWarning, LogEventKind::kWorkerStartFailed, static_cast<int>(w),
                         0, absl::StrCat("worker ", w, " did not start: ", why.message()));
  event.failed_starts = failed_starts;
  return event;
}

LogEvent WorkerGivenUpEvent(uint32_t w, uint32_t failed_starts) {
  LogEvent event = Event(LogLevel::kError, LogEventKind::kWorkerGivenUp, static_cast<int>(w), 0,
                         absl::StrCat("worker ", w, " given up after ", failed_starts,
                                      " failed starts in a row (max_restarts); its calls fail "
                                      "Unavailable"));
  event.failed_starts = failed_starts;
  return event;
}

}  // namespace internal
}  // namespace weft
