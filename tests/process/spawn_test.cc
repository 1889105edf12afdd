// Starting process workers: Pool::Create's failures (a worker never ready
// within startup_timeout, a missing or non-executable binary, a worker that
// crashes or exits before Ready), in both shared-memory modes; and
// command_prefix wrapping the worker's command.
#include <unistd.h>

#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "runtime/pool.h"
#include "tests/process/proc_test.weft.h"
#include "tests/process/process_test_util.h"

namespace weft_test {
namespace {

// ------------------------------------------------------------ Create failures

class CreateFails : public ProcessTest, public ::testing::WithParamInterface<weft::SharedMemory> {
 protected:
  absl::Status Create(weft::PoolOptions options) {
    options.shared_memory = GetParam();
    // Create returning at all, not how soon, is what is bounded.
    Watchdog wd("Pool::Create", kHangBound);
    auto pool = Pool::Create(options);
    if (pool.ok()) return absl::OkStatus();
    return pool.status();
  }
};

// Create gives up on a worker that never answers Ready, once startup_timeout
// has passed. Not timed with a stopwatch: the status is DeadlineExceeded
// naming startup_timeout and the configured 300ms, which the supervisor
// returns only when that wait ran out while the worker was alive (a worker
// that exits or crashes first closes its control socket, and Create fails
// FailedPrecondition instead: the two tests below); never_ready_worker
// blocks in OnStart until killed, and it was killed and reaped (its logged
// pid is gone, and TearDown finds no child). Create gives up at the first
// worker that fails, so worker 1 is never started. Create returning at all
// is bounded by its watchdog.
TEST_P(CreateFails, NeverReadyWorkerHitsTheStartupTimeout) {
  const std::string start_log =
      absl::StrCat(TempDir(), "/weft_never_ready_log_", ModeName(GetParam()), "_", getpid());
  unlink(start_log.c_str());
  weft::PoolOptions options = ProcOptions(2, "never_ready_worker");
  options.command_prefix = {"env", "WEFT_TEST_START_LOG=" + start_log};
  options.startup_timeout = absl::Milliseconds(300);
  const absl::Status s = Create(options);
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  EXPECT_NE(s.message().find("worker 0 ("), std::string::npos) << s;
  EXPECT_NE(s.message().find("never_ready_worker"), std::string::npos)
      << "the status should name the command: " << s;
  EXPECT_NE(s.message().find("did not answer Ready within startup_timeout (300ms)"),
            std::string::npos)
      << "not the startup timeout, or not the configured one: " << s;
  // The worker may not have got as far as OnStart before the timeout (a
  // loaded machine can take longer than that to exec it): what it did log
  // is one start at most, of a process that is gone now.
  const std::vector<pid_t> started = StartedPids(start_log);
  EXPECT_LE(started.size(), 1u) << "Create went on starting workers after worker 0 failed";
  for (pid_t pid : started) {
    EXPECT_EQ(StateOf(pid), ProcState::kGone)
        << "the never-ready worker " << pid << " is " << ToString(StateOf(pid));
  }
  std::cout << "never ready: " << s << " (" << started.size() << " start logged)\n";
  unlink(start_log.c_str());
}

TEST_P(CreateFails, MissingBinaryIsNotFound) {
  weft::PoolOptions options = ProcOptions(2, "no_such_worker");
  const absl::Status s = Create(options);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  std::cout << "missing binary: " << s << "\n";
  options.worker_command = {"/nonexistent/weft/worker"};
  const absl::Status abs = Create(options);
  EXPECT_EQ(abs.code(), absl::StatusCode::kNotFound) << abs;
}

TEST_P(CreateFails, NonExecutableFileIsRefused) {
  weft::PoolOptions options = ProcOptions(2, "proc_worker");
  options.worker_command = {Runfile("tests/process/proc_test.capnp")};
  const absl::Status s = Create(options);
  EXPECT_TRUE(s.code() == absl::StatusCode::kPermissionDenied ||
              s.code() == absl::StatusCode::kFailedPrecondition)
      << s;
  std::cout << "not executable: " << s << "\n";
}

TEST_P(CreateFails, WorkerCrashingBeforeReadyNamesTheCommandAndSignal) {
  weft::PoolOptions options = ProcOptions(2, "crash_on_start_worker");
  options.command_prefix = {"env", "WEFT_TEST_CRASH_MARKER=always"};
  const absl::Status s = Create(options);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_NE(s.message().find("crash_on_start_worker"), std::string::npos)
      << "the status should name the command: " << s;
  const std::string lower = absl::AsciiStrToLower(s.message());
  EXPECT_TRUE(lower.find("sig") != std::string::npos || lower.find("abort") != std::string::npos)
      << "the status should name the signal: " << s;
  std::cout << "crash before ready: " << s << "\n";
}

TEST_P(CreateFails, WorkerExitingBeforeReadyNamesTheCommandAndExitStatus) {
  weft::PoolOptions options = ProcOptions(1, "proc_worker");
  options.worker_command = {"/bin/sh", "-c", "exit 3"};
  const absl::Status s = Create(options);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_NE(s.message().find("/bin/sh"), std::string::npos) << s;
  EXPECT_NE(s.message().find('3'), std::string::npos)
      << "the status should name exit status 3: " << s;
  std::cout << "exit before ready: " << s << "\n";
}

TEST_P(CreateFails, OversizedReadyIsRefusedBeforeItIsRead) {
  weft::PoolOptions options = ProcOptions(1, "proc_worker");
  // A Ready whose segment table claims 2^28 words (2 GiB): the host must
  // not wait for (or allocate) that much. The worker then hangs, so only
  // the claim can end the start before startup_timeout.
  options.worker_command = {
      "/bin/bash", "-c",
      "printf '\\000\\000\\000\\000\\000\\000\\000\\020' >&$WEFT_CONTROL_FD; exec sleep 600"};
  options.startup_timeout = absl::Hours(1);
  const absl::Status s = Create(options);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_NE(s.message().find("malformed Ready"), std::string::npos) << s;
  EXPECT_NE(s.message().find("65536 bytes"), std::string::npos)
      << "the status should name the limit: " << s;
  std::cout << "oversized ready: " << s << "\n";
}

INSTANTIATE_TEST_SUITE_P(Modes, CreateFails,
                         ::testing::Values(weft::SharedMemory::kAnonymous,
                                           weft::SharedMemory::kNamed),
                         [](const auto& info) { return std::string(ModeName(info.param)); });

// ------------------------------------------------------------ command_prefix

TEST_F(ProcessTest, CommandPrefixWrapsTheWorker) {
  std::set<pid_t> seen;
  {
    weft::PoolOptions options = ProcOptions(1, "proc_worker");
    options.command_prefix = {"env", "WEFT_TEST_FOO=bar"};
    auto pool = Pool::Create(options);
    ASSERT_TRUE(pool.ok()) << pool.status();
    auto stub = pool->stub();
    seen.insert(pool->Stats().workers[0].pid);
    auto r = stub.getEnv("WEFT_TEST_FOO").Get();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(std::string(r->getValue().cStr()), "bar");
    auto unset = stub.getEnv("WEFT_TEST_NOT_SET_ANYWHERE").Get();
    ASSERT_TRUE(unset.ok()) << unset.status();
    EXPECT_EQ(std::string(unset->getValue().cStr()), "");
  }
  ExpectAllGone(seen, "after the pool was destroyed");
}

}  // namespace
}  // namespace weft_test
