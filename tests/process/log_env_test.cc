// WEFT_LOG and the default log sink (spdlog, to stderr): runs log_host (a
// small program that makes a pool and sets no log option) under several
// WEFT_LOG values and reads its stderr. info prints the start line, off and
// the default (warning) print none, a process worker's SIGKILL prints its
// death at the default level, and a bad value prints one clear line naming
// the accepted values and falls back to warning. In every run log_host's
// pool served its calls and it exited 0.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "tests/process/process_test_util.h"

namespace weft_test {
namespace {

struct HostRun {
  int wait_status = -1;
  std::string err;
  // The lines of `err` the weft logger printed ("... [weft] ...").
  std::vector<std::string> weft_lines;
};

// Runs log_host with `args`, WEFT_LOG set to `weft_log` (unset if nullopt),
// and returns its exit and stderr.
HostRun RunHost(const std::optional<std::string>& weft_log, const std::vector<std::string>& args) {
  int pipe_fds[2];
  EXPECT_EQ(pipe2(pipe_fds, O_CLOEXEC), 0);
  // Built before the fork: the child only dups and execs.
  std::vector<std::string> argv_s = {WorkerBinary("log_host")};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<std::string> env_s;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!absl::StartsWith(*e, "WEFT_LOG=")) env_s.emplace_back(*e);
  }
  if (weft_log.has_value()) env_s.push_back("WEFT_LOG=" + *weft_log);
  std::vector<char*> argv, envp;
  for (std::string& a : argv_s) argv.push_back(a.data());
  for (std::string& e : env_s) envp.push_back(e.data());
  argv.push_back(nullptr);
  envp.push_back(nullptr);
  const int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(pipe_fds[1], 2);
    dup2(null, 1);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(null);
  close(pipe_fds[1]);
  HostRun run;
  char buffer[4096];
  for (;;) {
    const ssize_t n = read(pipe_fds[0], buffer, sizeof(buffer));
    if (n > 0) {
      run.err.append(buffer, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(pipe_fds[0]);
  while (waitpid(pid, &run.wait_status, 0) < 0 && errno == EINTR) {
  }
  for (absl::string_view line : absl::StrSplit(run.err, '\n', absl::SkipEmpty())) {
    if (line.find("] [weft] ") != absl::string_view::npos) run.weft_lines.emplace_back(line);
  }
  return run;
}

bool ExitedZero(const HostRun& run) {
  return WIFEXITED(run.wait_status) && WEXITSTATUS(run.wait_status) == 0;
}

bool Has(const std::vector<std::string>& lines, const std::string& text) {
  for (const std::string& line : lines) {
    if (line.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST_F(ProcessTest, WeftLogInfoPrintsTheStartAndStopLines) {
  for (const char* value : {"info", "INFO", "debug", "trace"}) {
    const HostRun run = RunHost(value, {});
    ASSERT_TRUE(ExitedZero(run)) << value << ": " << run.err;
    EXPECT_TRUE(Has(run.weft_lines, "[info] [weft] pool started: 1 thread worker"))
        << "WEFT_LOG=" << value << " stderr:\n"
        << run.err;
    EXPECT_TRUE(Has(run.weft_lines, "[info] [weft] pool stopped")) << run.err;
    // The pattern: a date and time before the level.
    ASSERT_FALSE(run.weft_lines.empty());
    EXPECT_EQ(run.weft_lines[0].find("20"), 0u) << run.weft_lines[0];
  }
}

TEST_F(ProcessTest, WeftLogOffAndTheDefaultPrintNothingForAHealthyPool) {
  for (const std::optional<std::string>& value :
       {std::optional<std::string>("off"), std::optional<std::string>(),
        std::optional<std::string>("warning"), std::optional<std::string>("warn"),
        std::optional<std::string>("")}) {
    const HostRun run = RunHost(value, {});
    ASSERT_TRUE(ExitedZero(run)) << run.err;
    EXPECT_EQ(run.err, "") << "WEFT_LOG=" << value.value_or("(unset)");
  }
}

TEST_F(ProcessTest, TheDefaultLevelPrintsAWorkersDeathButNotItsStart) {
  const HostRun run = RunHost(std::nullopt, {WorkerBinary("proc_worker")});
  ASSERT_TRUE(ExitedZero(run)) << run.err;
  EXPECT_TRUE(Has(run.weft_lines, "[warning] [weft] worker 0 (pid "));
  EXPECT_TRUE(Has(run.weft_lines, ") died: killed by signal 9")) << run.err;
  EXPECT_TRUE(Has(run.weft_lines, "[warning] [weft] worker 0 restarts in ")) << run.err;
  // Only those two: no info line, and the pool ending its worker at
  // shutdown is no warning.
  EXPECT_EQ(run.weft_lines.size(), 2u) << run.err;

  const HostRun off = RunHost("off", {WorkerBinary("proc_worker")});
  ASSERT_TRUE(ExitedZero(off)) << off.err;
  EXPECT_EQ(off.err, "");
}

TEST_F(ProcessTest, ABadWeftLogPrintsOneClearLineAndFallsBackToWarning) {
  const HostRun run = RunHost("verbose", {});
  ASSERT_TRUE(ExitedZero(run)) << run.err;
  EXPECT_EQ(run.err,
            "weft: WEFT_LOG=\"verbose\" is not a log level; use debug, info, warning, error or "
            "off (or trace, warn, err, critical); logging at warning\n");
  // At warning, the process pool's death shows after the same line.
  const HostRun process = RunHost("verbose", {WorkerBinary("proc_worker")});
  ASSERT_TRUE(ExitedZero(process)) << process.err;
  EXPECT_EQ(process.err.find("weft: WEFT_LOG=\"verbose\" is not a log level"), 0u) << process.err;
  EXPECT_TRUE(Has(process.weft_lines, ") died: killed by signal 9")) << process.err;
}

}  // namespace
}  // namespace weft_test
