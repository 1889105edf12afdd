// Starting process workers: Pool::Create's failures (a worker never ready
// within startup_timeout, a missing or non-executable binary, a worker that
// crashes or exits before Ready), in both shared-memory modes; and
// command_prefix wrapping the worker's command.
#include <iostream>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/time/clock.h"
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
    Watchdog wd("Pool::Create", absl::Seconds(60));
    auto pool = Pool::Create(options);
    if (pool.ok()) return absl::OkStatus();
    return pool.status();
  }
};

TEST_P(CreateFails, NeverReadyWorkerHitsTheStartupTimeout) {
  weft::PoolOptions options = ProcOptions(2, "never_ready_worker");
  options.startup_timeout = absl::Milliseconds(300);
  const absl::Time t0 = absl::Now();
  const absl::Status s = Create(options);
  const absl::Duration took = absl::Now() - t0;
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  EXPECT_GE(took, absl::Milliseconds(290)) << "gave up before startup_timeout";
  EXPECT_LT(took, absl::Seconds(5)) << "took far longer than startup_timeout";
  std::cout << "never ready: " << s << " after " << absl::FormatDuration(took) << "\n";
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
