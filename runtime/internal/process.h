// Starting a process worker: fork/exec of PoolOptions.command_prefix +
// worker_command with the control socket and the region inherited, then the
// boot handshake (schema/control.capnp) bounded by startup_timeout.
//
//   absl::StatusOr<SpawnedWorker> w = SpawnWorker(options, 0, region_fd, "");
//
// In the child, before exec: PR_SET_PDEATHSIG(SIGKILL) (checked against the
// race with the parent's death), the control socket on fd 3, the region on
// fd 4 (anonymous mode), stdout and stderr on pipes the host reads.
// Every failure leaves no child behind and says what went wrong:
// NotFound / PermissionDenied (the binary), FailedPrecondition (it exited
// before Ready, with its exit status or signal), DeadlineExceeded (no Ready
// within startup_timeout), or the status the worker reported (a failed
// OnStart, a region it could not map).
//
// Thread safety: thread-safe (the caller serializes starts of one worker).
// PR_SET_PDEATHSIG is bound to the thread that forks: call it from a thread
// that lives as long as the pool (the supervisor).
#ifndef WEFT_RUNTIME_PROCESS_H_
#define WEFT_RUNTIME_PROCESS_H_

#include <sys/types.h>

#include <string>

#include "absl/status/statusor.h"
#include "capnp/common.h"
#include "kj/array.h"
#include "runtime/pool_options.h"

namespace weft {
namespace internal {

inline constexpr int kControlFd = 3;
inline constexpr int kRegionFd = 4;

struct SpawnedWorker {
  pid_t pid = -1;
  int control_fd = -1;  // host end of the control socket (owned)
  int stdout_fd = -1;   // read ends of the worker's stdout/stderr (owned)
  int stderr_fd = -1;
};

// `region_fd` >= 0 is inherited as fd 4; otherwise the worker opens
// `region_path` (a shm name or a /proc/<pid>/fd/<n> path). LaunchWorker +
// AwaitReady.
absl::StatusOr<SpawnedWorker> SpawnWorker(const PoolOptions& options, uint32_t index,
                                          int region_fd, const std::string& region_path);

// The two halves, for a caller that waits for Ready itself (the supervisor
// restarting a worker while it watches the others): fork/exec and send the
// boot message; then read the Ready message (bounded by startup_timeout).
absl::StatusOr<SpawnedWorker> LaunchWorker(const PoolOptions& options, uint32_t index,
                                           int region_fd, const std::string& region_path);
absl::Status AwaitReady(const PoolOptions& options, uint32_t index, SpawnedWorker& worker);

// Moves one whole Cap'n Proto message from the front of `bytes` into
// `message`; false if `bytes` does not hold a whole one yet.
bool TakeMessage(std::string& bytes, kj::Array<capnp::word>& message);
// The status a Ready message reports.
absl::Status ParseReady(const PoolOptions& options, uint32_t index,
                        kj::ArrayPtr<const capnp::word> message);

// "exited with status 3", "killed by signal 9 (Killed)".
std::string DescribeExit(int wait_status);

// SIGKILLs and reaps `pid`; returns its description.
std::string KillAndReap(pid_t pid);

// Reaps a worker whose control socket closed: it normally exits right
// away; one still alive after ~200 ms is killed.
std::string ReapAfterEof(pid_t pid);

// The command line as one string, for messages.
std::string CommandString(const PoolOptions& options);

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_PROCESS_H_
