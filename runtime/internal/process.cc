#include "runtime/internal/process.h"

#include <fcntl.h>
#include <poll.h>
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
#include "absl/time/clock.h"
#include "capnp/message.h"
#include "capnp/serialize.h"
#include "kj/exception.h"
#include "kj/vector.h"
#include "schema/control.capnp.h"

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

absl::Status Errno(const std::string& what) {
  return absl::InternalError(absl::StrCat("weft: ", what, ": ", std::strerror(errno)));
}

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

std::string KillAndReap(pid_t pid) {
  kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return DescribeExit(status);
}

std::string ReapAfterEof(pid_t pid) {
  int status = 0;
  for (int i = 0; i < 200; ++i) {
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return DescribeExit(status);
    if (r < 0 && errno != EINTR) return "gone";
    usleep(1000);
  }
  return KillAndReap(pid) + " (it had closed its control socket)";
}

namespace {

// Sends all of `bytes`; MSG_NOSIGNAL: a worker that already exited must
// not kill the host with SIGPIPE.
bool SendAll(int fd, kj::ArrayPtr<const kj::byte> bytes) {
  while (bytes.size() > 0) {
    const ssize_t n = send(fd, bytes.begin(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes = bytes.slice(static_cast<size_t>(n), bytes.size());
  }
  return true;
}

// Reads one Cap'n Proto message from `fd` before `until`; empty on EOF or
// timeout (`timed_out` says which).
kj::Array<capnp::word> ReadMessage(int fd, absl::Time until, bool& timed_out) {
  timed_out = false;
  std::string bytes;
  for (;;) {
    kj::Array<capnp::word> message;
    if (TakeMessage(bytes, message)) return message;
    const int64_t left_ms = absl::ToInt64Milliseconds(until - absl::Now());
    if (left_ms <= 0) {
      timed_out = true;
      return nullptr;
    }
    pollfd p{fd, POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(std::min<int64_t>(left_ms, 1 << 30)));
    if (ready <= 0) continue;
    char buffer[4096];
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return nullptr;  // EOF
    bytes.append(buffer, static_cast<size_t>(n));
  }
}

}  // namespace

absl::StatusOr<SpawnedWorker> LaunchWorker(const PoolOptions& options, uint32_t index,
                                           int region_fd, const std::string& region_path) {
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
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds.control) != 0) return Errno("socketpair");
  if (pipe2(fds.out, O_CLOEXEC) != 0 || pipe2(fds.err, O_CLOEXEC) != 0 ||
      pipe2(fds.exec_error, O_CLOEXEC) != 0) {
    return Errno("pipe2");
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
  if (pid < 0) return Errno("fork");
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
    const std::string msg =
        absl::StrCat("weft: cannot execute worker ", index, " (", command, "): ",
                     std::strerror(exec_errno));
    if (exec_errno == ENOENT) return absl::NotFoundError(msg);
    if (exec_errno == EACCES || exec_errno == EPERM) return absl::PermissionDeniedError(msg);
    return absl::FailedPreconditionError(msg);
  }

  // The supervisor drains these without blocking (a child of the worker
  // may keep them open after the worker died).
  fcntl(fds.out[0], F_SETFL, O_NONBLOCK);
  fcntl(fds.err[0], F_SETFL, O_NONBLOCK);
  SpawnedWorker worker{pid, fds.control[0], fds.out[0], fds.err[0]};
  auto fail = [&](absl::Status status) -> absl::Status {
    KillAndReap(pid);
    return status;
  };
  try {
    capnp::MallocMessageBuilder boot_message;
    control::Boot::Builder boot = boot_message.initRoot<control::Boot>();
    boot.setWorkerIndex(index);
    boot.setRegionFd(region_fd >= 0 ? kRegionFd : -1);
    boot.setRegionName(region_path);
    boot.setMaxPayloadBytes(options.max_payload_bytes);
    boot.setSpinPolls(options.spin.spin_polls);
    boot.setYieldPolls(options.spin.yield_polls);
    kj::Array<capnp::word> words = capnp::messageToFlatArray(boot_message);
    if (!SendAll(worker.control_fd, words.asBytes())) {
      // The worker closed its end: it has exited already.
      return absl::FailedPreconditionError(absl::StrCat(
          "weft: worker ", index, " (", command, ") exited before it was ready: ",
          ReapAfterEof(pid)));
    }
  } catch (const kj::Exception& e) {
    return fail(absl::InternalError(
        absl::StrCat("weft: building the boot message: ", e.getDescription().cStr())));
  }

  fds.control[0] = fds.out[0] = fds.err[0] = -1;  // handed to `worker`
  return worker;
}

absl::Status ParseReady(const PoolOptions& options, uint32_t index,
                        kj::ArrayPtr<const capnp::word> message) {
  const std::string command = CommandString(options);
  try {
    capnp::FlatArrayMessageReader reader(message);
    control::Ready::Reader ready = reader.getRoot<control::Ready>();
    if (ready.getCode() == 0) return absl::OkStatus();
    const uint32_t code = ready.getCode();
    const absl::StatusCode status_code =
        code <= static_cast<uint32_t>(absl::StatusCode::kUnauthenticated)
            ? static_cast<absl::StatusCode>(code)
            : absl::StatusCode::kUnknown;
    return absl::Status(status_code, absl::StrCat("weft: worker ", index, " (", command,
                                                  ") failed to start: ",
                                                  ready.getMessage().cStr()));
  } catch (const kj::Exception& e) {
    return absl::FailedPreconditionError(
        absl::StrCat("weft: worker ", index, " (", command, ") sent a malformed Ready: ",
                     e.getDescription().cStr()));
  }
}

bool TakeMessage(std::string& bytes, kj::Array<capnp::word>& message) {
  if (bytes.size() < sizeof(capnp::word)) return false;
  const size_t whole = bytes.size() / sizeof(capnp::word);
  kj::Array<capnp::word> prefix = kj::heapArray<capnp::word>(whole);
  std::memcpy(prefix.begin(), bytes.data(), whole * sizeof(capnp::word));
  const size_t needed = capnp::expectedSizeInWordsFromPrefix(prefix);
  if (whole < needed) return false;
  message = kj::heapArray<capnp::word>(needed);
  std::memcpy(message.begin(), bytes.data(), needed * sizeof(capnp::word));
  bytes.erase(0, needed * sizeof(capnp::word));
  return true;
}

absl::Status AwaitReady(const PoolOptions& options, uint32_t index, SpawnedWorker& worker) {
  const std::string command = CommandString(options);
  const pid_t pid = worker.pid;
  auto fail = [&](absl::Status status) -> absl::Status {
    KillAndReap(pid);
    return status;
  };
  bool timed_out = false;
  kj::Array<capnp::word> message =
      ReadMessage(worker.control_fd, absl::Now() + options.startup_timeout, timed_out);
  if (timed_out) {
    return fail(absl::DeadlineExceededError(absl::StrCat(
        "weft: worker ", index, " (", command, ") did not answer Ready within startup_timeout (",
        absl::FormatDuration(options.startup_timeout), ")")));
  }
  if (message.size() == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "weft: worker ", index, " (", command, ") exited before it was ready: ",
        ReapAfterEof(pid)));
  }
  absl::Status ready = ParseReady(options, index, message);
  if (!ready.ok()) return fail(ready);
  return absl::OkStatus();
}

absl::StatusOr<SpawnedWorker> SpawnWorker(const PoolOptions& options, uint32_t index,
                                          int region_fd, const std::string& region_path) {
  absl::StatusOr<SpawnedWorker> worker = LaunchWorker(options, index, region_fd, region_path);
  if (!worker.ok()) return worker;
  absl::Status ready = AwaitReady(options, index, *worker);
  if (!ready.ok()) {
    close(worker->control_fd);
    close(worker->stdout_fd);
    close(worker->stderr_fd);
    return ready;
  }
  return worker;
}

}  // namespace internal
}  // namespace weft
