// Process workers under command_prefix wrappers that are not a plain exec:
// a wrapper that forks the worker as its child (Stats().up must still hold),
// one whose own failure must reach Create's status with what it printed, and
// a worker whose parent is pid 1 (a PID-namespace init, as under a container
// entrypoint or `bwrap --unshare-pid`).
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "runtime/pool.h"
#include "tests/process/proc_test.weft.h"
#include "tests/process/process_test_util.h"

namespace weft_test {
namespace {

using WrapperTest = ProcessTest;

// sh runs the command as its child and waits (the "; exit" keeps it from
// exec'ing the last command in place).
const std::vector<std::string> kForkingWrapper = {"/bin/sh", "-c", "\"$@\"; exit $?", "sh"};

TEST_F(WrapperTest, AWorkerForkedByItsWrapperIsUp) {
  weft::PoolOptions options = ProcOptions(1, "proc_worker");
  options.command_prefix = kForkingWrapper;
  Watchdog wd("a pool behind a forking wrapper", absl::Seconds(60));
  auto pool = Pool::Create(options);
  ASSERT_TRUE(pool.ok()) << pool.status();
  auto stub = pool->stub();
  const int32_t worker_pid = PidOf(stub);
  const weft::WorkerStats stats = pool->Stats().workers[0];
  // The host forked the wrapper; the worker is its child.
  EXPECT_NE(stats.pid, worker_pid);
  EXPECT_TRUE(stats.up) << "pid " << stats.pid << " (wrapper), worker pid " << worker_pid;
}

TEST_F(WrapperTest, AWrapperThatFailsBeforeTheWorkerStartsIsQuoted) {
  weft::PoolOptions options = ProcOptions(1, "proc_worker");
  options.command_prefix = {
      "/bin/sh", "-c", "echo 'cannot apply seccomp profile: permission denied' >&2; exit 7", "sh"};
  Watchdog wd("Create with a failing wrapper", absl::Seconds(60));
  auto pool = Pool::Create(options);
  ASSERT_FALSE(pool.ok());
  const std::string message(pool.status().message());
  EXPECT_EQ(pool.status().code(), absl::StatusCode::kFailedPrecondition) << message;
  EXPECT_TRUE(absl::StrContains(message, "exited with status 7")) << message;
  EXPECT_TRUE(absl::StrContains(message, "cannot apply seccomp profile: permission denied"))
      << message;
}

TEST_F(WrapperTest, AWorkerWhoseParentIsPidOneStarts) {
  // unshare(1) makes a new PID namespace whose init (pid 1) is the shell,
  // which runs the worker as its child: the worker's parent is pid 1.
  if (system("unshare --pid --fork --kill-child /bin/true >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "this sandbox cannot create PID namespaces (unshare --pid failed)";
  }
  weft::PoolOptions options = ProcOptions(1, "proc_worker");
  options.command_prefix = {"unshare", "--pid", "--fork", "--kill-child"};
  options.command_prefix.insert(options.command_prefix.end(), kForkingWrapper.begin(),
                                kForkingWrapper.end());
  Watchdog wd("a pool whose worker's parent is pid 1", absl::Seconds(60));
  auto pool = Pool::Create(options);
  ASSERT_TRUE(pool.ok()) << pool.status();
  auto stub = pool->stub();
  // In its namespace the worker is pid 2, the child of the shell (pid 1).
  EXPECT_EQ(PidOf(stub), 2);
  EXPECT_TRUE(pool->Stats().workers[0].up);
}

}  // namespace
}  // namespace weft_test
