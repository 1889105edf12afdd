// The names of runtime/log.h's enums.
#include "runtime/log.h"

namespace weft {

const char* ToString(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
    case LogLevel::kOff:
      return "off";
  }
  return "?";
}

const char* ToString(LogEventKind kind) {
  switch (kind) {
    case LogEventKind::kPoolStart:
      return "pool_start";
    case LogEventKind::kPoolStop:
      return "pool_stop";
    case LogEventKind::kWorkerSpawn:
      return "worker_spawn";
    case LogEventKind::kWorkerReady:
      return "worker_ready";
    case LogEventKind::kWorkerDeath:
      return "worker_death";
    case LogEventKind::kWorkerRestart:
      return "worker_restart";
    case LogEventKind::kHardTimeoutKill:
      return "hard_timeout_kill";
    case LogEventKind::kWorkerStartFailed:
      return "worker_start_failed";
    case LogEventKind::kWorkerGivenUp:
      return "worker_given_up";
    case LogEventKind::kWorkerExit:
      return "worker_exit";
    case LogEventKind::kRemoteConnection:
      return "remote_connection";
  }
  return "?";
}

}  // namespace weft
