// The host's own death: a forked host with a pool of two process workers is
// SIGKILLed; its workers must end with it, by one of the two ways a worker
// follows its host (PR_SET_PDEATHSIG's SIGKILL, or exit status 0 once its
// control socket reads EOF), and its /dev/shm names must go too, in both
// shared-memory modes.
//
// How soon they end is not asserted (that is a speed, for benchmarks/):
// this test adopts the orphans (PR_SET_CHILD_SUBREAPER), waits for each to
// end, bounded by kHangBound only, and checks how it ended. Nothing else
// signals them, so either ending shows the host's death caused it; a worker
// that outlived its host would run until the bound.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "runtime/pool.h"
#include "tests/process/proc_test.weft.h"
#include "tests/process/process_test_util.h"

namespace weft_test {
namespace {

class HostKilled : public ProcessTest, public ::testing::WithParamInterface<weft::SharedMemory> {};

TEST_P(HostKilled, WorkersEndWithTheHost) {
  // Orphaned workers are reparented to this process, so they can be reaped
  // here and seen as dead (not as zombies of an init that may not reap).
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  // Only for this test: later tests' orphans (e.g. the workers of a death
  // test's child) must not become this process's zombies.
  struct SubreaperOff {
    ~SubreaperOff() { prctl(PR_SET_CHILD_SUBREAPER, 0); }
  } subreaper_off;
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  std::fflush(nullptr);
  const pid_t host = fork();
  ASSERT_GE(host, 0);
  if (host == 0) {
    // The doomed host: make a pool, report its workers, wait to be killed.
    close(fds[0]);
    int32_t message[3] = {-1, -1, -1};
    weft::PoolOptions options = ProcOptions(2, "proc_worker");
    options.shared_memory = GetParam();
    auto pool = Pool::Create(options);
    if (pool.ok()) {
      auto stub = pool->stub();
      auto r = stub.square(5).Get();
      weft::PoolStats stats = pool->Stats();
      if (r.ok() && r->getResult() == 25 && stats.workers.size() == 2) {
        message[0] = 2;
        message[1] = stats.workers[0].pid;
        message[2] = stats.workers[1].pid;
      }
    }
    if (write(fds[1], message, sizeof message) != sizeof message) _exit(2);
    if (message[0] != 2) _exit(1);
    for (;;) pause();
  }
  close(fds[1]);
  int32_t message[3] = {0, 0, 0};
  size_t got = 0;
  const absl::Time deadline = absl::Now() + kHangBound;
  while (got < sizeof message && absl::Now() < deadline) {
    pollfd p{fds[0], POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = read(fds[0], reinterpret_cast<char*>(message) + got, sizeof message - got);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  close(fds[0]);
  if (got != sizeof message || message[0] != 2) {
    kill(host, SIGKILL);
    waitpid(host, nullptr, 0);
    FAIL() << "the forked host did not report a working pool (" << got << " bytes, first "
           << message[0] << ")";
  }
  const std::vector<pid_t> workers = {message[1], message[2]};
  for (pid_t w : workers) ASSERT_EQ(StateOf(w), ProcState::kAlive) << w;

  ASSERT_EQ(kill(host, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(host, &status, 0), host);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

  // The host's exit made us the workers' parent: wait for each to end (and
  // reap it), bounded only against a worker that outlives its host.
  for (pid_t w : workers) {
    int wstatus = 0;
    pid_t reaped = 0;
    const bool ended = PollUntil(
        [&] {
          reaped = waitpid(w, &wstatus, WNOHANG);
          return reaped != 0 && !(reaped < 0 && errno == EINTR);
        },
        kHangBound);
    if (!ended) {
      ADD_FAILURE() << "worker " << w << " of the SIGKILLed host is still " << ToString(StateOf(w))
                    << " after " << absl::FormatDuration(kHangBound)
                    << ": it did not follow its host";
      kill(w, SIGKILL);
      waitpid(w, nullptr, 0);
      continue;
    }
    if (reaped != w) {
      ADD_FAILURE() << "waitpid(" << w << "): " << std::strerror(errno)
                    << " (the orphan was not reparented to this subreaper)";
      continue;
    }
    const bool pdeathsig = WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL;
    const bool control_eof = WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0;
    EXPECT_TRUE(pdeathsig || control_eof)
        << "worker " << w << " ended otherwise than by following its host (wait status 0x"
        << std::hex << wstatus << std::dec << ")";
    std::cout << "worker " << w << " ended with the host: "
              << (pdeathsig ? "SIGKILL (PR_SET_PDEATHSIG)" : "exit 0 (control-socket EOF)") << "\n";
  }
  const std::set<std::string> added = NewNames(shm_before_);
  EXPECT_TRUE(added.empty()) << "the dead host left /dev/shm names: " << Describe(added);
}

INSTANTIATE_TEST_SUITE_P(Modes, HostKilled,
                         ::testing::Values(weft::SharedMemory::kAnonymous,
                                           weft::SharedMemory::kNamed),
                         [](const auto& info) { return std::string(ModeName(info.param)); });

}  // namespace
}  // namespace weft_test
