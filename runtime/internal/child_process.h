// A process worker's process: fork/exec of PoolOptions.command_prefix +
// worker_command with the control socket and the region inherited, and the
// reaping of it. The conversation over the control socket is in
// control_channel.h; supervisor.h puts the two together.
//
//   absl::StatusOr<SpawnedWorker> w = LaunchProcess(options, 0, region_fd);
//
// In the child, before exec: PR_SET_PDEATHSIG(SIGKILL) (checked against the
// race with the parent's death), the control socket on fd 3, the region on
// fd 4 (anonymous mode), stdout and stderr on pipes the host reads.
// Every failure leaves no child behind and says what went wrong:
// NotFound / PermissionDenied (the binary), FailedPrecondition (exec failed
// otherwise).
//
// Thread safety: thread-safe (the caller serializes starts of one worker).
// PR_SET_PDEATHSIG is bound to the thread that forks: call it from a thread
// that lives as long as the pool (the supervisor).
#ifndef WEFT_RUNTIME_INTERNAL_CHILD_PROCESS_H_
#define WEFT_RUNTIME_INTERNAL_CHILD_PROCESS_H_

#include <sys/types.h>

#include <string>

#include "absl/status/statusor.h"
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

// Forks and execs the worker. `region_fd` >= 0 is inherited as fd 4 (else
// the worker opens a path it is told in its boot message).
absl::StatusOr<SpawnedWorker> LaunchProcess(const PoolOptions& options, uint32_t index,
                                            int region_fd);

// Closes the host's ends of a worker's fds (those >= 0) and sets them to -1.
void CloseFds(SpawnedWorker& worker);

// "exited with status 3", "killed by signal 9 (Killed)".
std::string DescribeExit(int wait_status);

// SIGKILLs and reaps `pid`; returns its description. With `wait_status`
// (not kept), stores waitpid's status there.
std::string KillAndReap(pid_t pid, int* wait_status = nullptr);

// Reaps a worker whose control socket closed: it normally exits right
// away; one still alive after ~200 ms is killed. With `wait_status` (not
// kept), stores waitpid's status there, or -1 if it was not ours to reap.
std::string ReapAfterEof(pid_t pid, int* wait_status = nullptr);

// The command line as one string, for messages.
std::string CommandString(const PoolOptions& options);

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_INTERNAL_CHILD_PROCESS_H_
