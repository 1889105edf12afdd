// A process worker's output: what it writes to its stdout reaches the
// host's stdout, each line prefixed with the worker's index.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "runtime/pool.h"
#include "tests/process/proc_test.weft.h"
#include "tests/process/process_test_util.h"

namespace weft_test {
namespace {

TEST_F(ProcessTest, WorkerStdoutReachesHostStdoutWithAPrefix) {
  std::set<pid_t> seen;
  std::fflush(stdout);
  std::cout.flush();
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
  const int saved = dup(STDOUT_FILENO);
  ASSERT_GE(saved, 0);
  ASSERT_EQ(dup2(fds[1], STDOUT_FILENO), STDOUT_FILENO);
  close(fds[1]);
  const std::string want = "[weft worker 0] hello from worker\n";
  std::string captured;
  absl::Status call_status;
  bool found = false;
  {
    weft::PoolOptions options = ProcOptions(1, "proc_worker");
    auto pool = Pool::Create(options);
    if (pool.ok()) {
      seen.insert(pool->Stats().workers[0].pid);
      auto stub = pool->stub();
      auto r = stub.print("hello from worker").Get();
      call_status = r.status();
      // The line comes through the supervisor's pump some time after print()
      // returned: read until it shows, bounded only against a hang.
      const absl::Time deadline = absl::Now() + kHangBound;
      while (!found && absl::Now() < deadline) {
        std::fflush(stdout);
        std::cout.flush();
        pollfd p{fds[0], POLLIN, 0};
        if (poll(&p, 1, 20) > 0) {
          char buf[4096];
          const ssize_t n = read(fds[0], buf, sizeof buf);
          if (n > 0) captured.append(buf, static_cast<size_t>(n));
        }
        found = captured.find(want) != std::string::npos;
      }
    } else {
      call_status = pool.status();
    }
    // Restore stdout before the pool goes (it may still write).
    std::fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
  }
  close(fds[0]);
  EXPECT_TRUE(call_status.ok()) << call_status;
  EXPECT_TRUE(found) << "host stdout never showed \"" << want << "\" (waited "
                     << absl::FormatDuration(kHangBound) << "); captured:\n"
                     << captured;
  std::cout << "captured host stdout:\n" << captured;
  ExpectAllGone(seen, "after the pool was destroyed");
}

}  // namespace
}  // namespace weft_test
