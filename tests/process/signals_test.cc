// ShutdownOnSignal (runtime/signals.h) over process workers: a worker
// forked while the guard is installed does not keep its handler (exec()
// resets caught signals), and the signal drains the pool and reaps every
// worker. tests/pool/signals_test.cc covers the guard itself.
#include "runtime/signals.h"

#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <optional>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "runtime/pool.h"
#include "tests/process/proc_test.weft.h"
#include "tests/process/process_test_util.h"

namespace weft_test {
namespace {

// Whether process `pid` has a handler for `sig` (the SigCgt mask of
// /proc/<pid>/status); nullopt, and a failure, if it cannot be read.
std::optional<bool> Catches(pid_t pid, int sig) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    absl::string_view rest = line;
    if (!absl::ConsumePrefix(&rest, "SigCgt:")) continue;
    uint64_t mask = 0;
    if (!absl::SimpleHexAtoi(absl::StripAsciiWhitespace(rest), &mask)) break;
    return (mask >> (sig - 1)) & 1;
  }
  ADD_FAILURE() << "no SigCgt line for pid " << pid;
  return std::nullopt;
}

TEST_F(ProcessTest, ShutdownOnSignalDrainsProcessWorkersThatDoNotCatchItsSignals) {
  auto pool = Pool::Create(ProcOptions(1, "proc_worker"));
  ASSERT_TRUE(pool.ok()) << pool.status();
  auto guard = weft::ShutdownOnSignal(*pool);  // SIGTERM and SIGINT
  ASSERT_TRUE(guard.ok()) << guard.status();
  auto stub = pool->stub();
  const pid_t first = PidOf(stub);

  // The replacement is forked by a host that catches SIGTERM and SIGINT.
  auto crashed = stub.crash();
  ASSERT_TRUE(crashed.WaitFor(kHangBound)) << "crash() never resolved (hang)";
  EXPECT_EQ(crashed.Get().status().code(), absl::StatusCode::kUnavailable);
  const pid_t replacement = PidOf(stub);  // queued until the replacement serves
  ASSERT_GT(replacement, 0);
  ASSERT_NE(replacement, first);
  for (int sig : {SIGTERM, SIGINT}) {
    EXPECT_EQ(Catches(getpid(), sig), std::optional<bool>(true)) << sig;
    EXPECT_EQ(Catches(replacement, sig), std::optional<bool>(false))
        << "the worker kept the host's handler for signal " << sig;
  }

  ASSERT_EQ(raise(SIGTERM), 0);
  const std::optional<weft::SignalShutdown::Outcome> outcome = guard->WaitFor(kHangBound);
  ASSERT_TRUE(outcome.has_value()) << "the shutdown never ended (hang)";
  EXPECT_EQ(outcome->signal, SIGTERM);
  EXPECT_TRUE(outcome->status.ok()) << outcome->status;
  EXPECT_EQ(stub.square(2).Get().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(StateOf(replacement), ProcState::kGone) << "the shutdown left the worker unreaped";
}

}  // namespace
}  // namespace weft_test
