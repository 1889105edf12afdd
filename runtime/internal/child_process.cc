#include "runtime/internal/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/internal/sys_status.h"

extern char** environ;

namespace weft {
namespace internal {
namespace {

void CloseFd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

// Owns the fds of a start in progress; closes whatever was not handed on.
struct Fds {
  int control[2] = {-1, -1};
  int out[2] = {-1, -1};
  int err[2] = {-1, -1};
  int exec_error[2] = {-1, -1};
  int region_high = -1;
  int control_high = -1;
  ~Fds() {
    for (int* p : {&control[0], &control[1], &out[0], &out[1], &err[0], &err[1], &exec_error[0],
                   &exec_error[1], &region_high, &control_high}) {
      CloseFd(*p);
    }
  }
};

}  // namespace

std::string CommandString(const PoolOptions& options) {
  std::vector<std::string> argv = options.command_prefix;
  argv.insert(argv.end(), options.worker_command.begin(), options.worker_command.end());
  return absl::StrJoin(argv, " ");
}

std::string DescribeExit(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exited with status ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* name = strsignal(sig);
    return absl::StrCat("killed by signal ", sig, " (", name != nullptr ? name : "?", ")");
  }
  return absl::StrCat("ended with wait status ", status);
}

std::string KillAndReap(pid_t pid, int* wait_status) {
  kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (wait_status != nullptr) *wait_status = status;
  return DescribeExit(status);
}

std::string ReapAfterEof(pid_t pid, int* wait_status) {
  int status = 0;
  for (int i = 0; i < 200; ++i) {
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (wait_status != nullptr) *wait_status = status;
      return DescribeExit(status);
    }
    if (r < 0 && errno != EINTR) {
      if (wait_status != nullptr) *wait_status = -1;
      return "gone";
    }
    usleep(1000);
  }
  return KillAndReap(pid, wait_status) + " (it had closed its control socket)";
}

absl::StatusOr<SpawnedWorker> LaunchProcess(const PoolOptions& options, uint32_t index,
                                            int region_fd) {
  const std::string command = CommandString(options);
  std::vector<std::string> args = options.command_prefix;
  args.insert(args.end(), options.worker_command.begin(), options.worker_command.end());
  if (args.empty()) {
    return absl::InvalidArgumentError("weft: PoolOptions.worker_command is empty");
  }
  if (args[0].find('/') != std::string::npos && access(args[0].c_str(), X_OK) != 0) {
    if (errno == ENOENT) {
      return absl::NotFoundError(absl::StrCat("weft: worker command not found: ", args[0]));
    }
    return absl::PermissionDeniedError(
        absl::StrCat("weft: cannot execute worker command ", args[0], ": ", std::strerror(errno)));
  }

  Fds fds;
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds.control) != 0)
    return ErrnoStatus("socketpair");
  if (pipe2(fds.out, O_CLOEXEC) != 0 || pipe2(fds.err, O_CLOEXEC) != 0 ||
      pipe2(fds.exec_error, O_CLOEXEC) != 0) {
    return ErrnoStatus("pipe2");
  }
  // Above the fds the child will use, so the dup2s below cannot clobber them.
  fds.control_high = fcntl(fds.control[1], F_DUPFD_CLOEXEC, 10);
  if (region_fd >= 0) fds.region_high = fcntl(region_fd, F_DUPFD_CLOEXEC, 10);

  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls.
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "WEFT_CONTROL_FD=", 16) != 0) env_strings.emplace_back(*e);
  }
  env_strings.push_back(absl::StrCat("WEFT_CONTROL_FD=", kControlFd));
  std::vector<char*> envp;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  const pid_t parent = getpid();

  const pid_t pid = fork();
  if (pid < 0) return ErrnoStatus("fork");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(125);  // the host died before the prctl
    if (dup2(fds.control_high, kControlFd) < 0) _exit(126);
    if (fds.region_high >= 0 && dup2(fds.region_high, kRegionFd) < 0) _exit(126);
    if (dup2(fds.out[1], STDOUT_FILENO) < 0 || dup2(fds.err[1], STDERR_FILENO) < 0) _exit(126);
    execvpe(argv[0], argv.data(), envp.data());
    const int e = errno;
    (void)!write(fds.exec_error[1], &e, sizeof(e));
    _exit(127);
  }

  CloseFd(fds.control[1]);
  CloseFd(fds.control_high);
  CloseFd(fds.region_high);
  CloseFd(fds.out[1]);
  CloseFd(fds.err[1]);
  CloseFd(fds.exec_error[1]);
  int exec_errno = 0;
  ssize_t n;
  while ((n = read(fds.exec_error[0], &exec_errno, sizeof(exec_errno))) < 0 && errno == EINTR) {
  }
  if (n == sizeof(exec_errno)) {
    KillAndReap(pid);
    const std::string msg = absl::StrCat("weft: cannot execute worker ", index, " (", command,
                                         "): ", std::strerror(exec_errno));
    if (exec_errno == ENOENT) return absl::NotFoundError(msg);
    if (exec_errno == EACCES || exec_errno == EPERM) return absl::PermissionDeniedError(msg);
    return absl::FailedPreconditionError(msg);
  }

  // The supervisor drains these without blocking (a child of the worker
  // may keep them open after the worker died).
  fcntl(fds.out[0], F_SETFL, O_NONBLOCK);
  fcntl(fds.err[0], F_SETFL, O_NONBLOCK);
  SpawnedWorker worker{pid, fds.control[0], fds.out[0], fds.err[0]};
  fds.control[0] = fds.out[0] = fds.err[0] = -1;  // handed to `worker`
  return worker;
}

void CloseFds(SpawnedWorker& worker) {
  CloseFd(worker.control_fd);
  CloseFd(worker.stdout_fd);
  CloseFd(worker.stderr_fd);
}

}  // namespace internal
}  // namespace weft
