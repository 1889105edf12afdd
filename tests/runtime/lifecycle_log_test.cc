// internal/lifecycle_log.h: WEFT_LOG's spellings, the Logger's level filter
// and sink, a throwing sink, and the fields the event builders fill in.
// (WEFT_LOG itself and the default stderr sink: tests/process/log_env_test.)
#include "runtime/internal/lifecycle_log.h"

#include <signal.h>
#include <sys/wait.h>

#include <stdexcept>
#include <vector>

#include "gtest/gtest.h"

namespace weft {
namespace internal {
namespace {

TEST(LifecycleLog, ParseLogLevelTakesOursAndSpdlogsSpellingsInAnyCase) {
  EXPECT_EQ(ParseLogLevel("debug"), LogLevel::kDebug);
  EXPECT_EQ(ParseLogLevel("trace"), LogLevel::kDebug);
  EXPECT_EQ(ParseLogLevel("Info"), LogLevel::kInfo);
  EXPECT_EQ(ParseLogLevel("warning"), LogLevel::kWarning);
  EXPECT_EQ(ParseLogLevel("WARN"), LogLevel::kWarning);
  EXPECT_EQ(ParseLogLevel("error"), LogLevel::kError);
  EXPECT_EQ(ParseLogLevel("err"), LogLevel::kError);
  EXPECT_EQ(ParseLogLevel("critical"), LogLevel::kError);
  EXPECT_EQ(ParseLogLevel("off"), LogLevel::kOff);
  EXPECT_EQ(ParseLogLevel("verbose"), std::nullopt);
  EXPECT_EQ(ParseLogLevel("1"), std::nullopt);
  EXPECT_EQ(ParseLogLevel(" info"), std::nullopt);
}

TEST(LifecycleLog, LoggerPassesEventsAtOrAboveItsLevelToTheSink) {
  std::vector<LogEvent> got;
  PoolOptions options;
  options.log_level = LogLevel::kWarning;
  options.log_sink = [&](const LogEvent& e) { got.push_back(e); };
  Logger logger(options);
  EXPECT_FALSE(logger.Enabled(LogLevel::kInfo));
  EXPECT_TRUE(logger.Enabled(LogLevel::kError));
  EXPECT_FALSE(logger.Enabled(LogLevel::kOff));
  logger.Log(WorkerReadyEvent(0, 42));                           // info: dropped
  logger.Log(WorkerRestartEvent(1, absl::Milliseconds(40), 1));  // warning
  logger.Log(WorkerGivenUpEvent(1, 5));                          // error
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].kind, LogEventKind::kWorkerRestart);
  EXPECT_EQ(got[0].worker, 1);
  EXPECT_EQ(got[0].backoff, absl::Milliseconds(40));
  EXPECT_EQ(got[0].message, "worker 1 restarts in 40ms (1 failed starts in a row)");
  EXPECT_EQ(got[1].kind, LogEventKind::kWorkerGivenUp);
  EXPECT_EQ(got[1].level, LogLevel::kError);
  EXPECT_EQ(got[1].failed_starts, 5u);
}

TEST(LifecycleLog, OffLogsNothing) {
  int calls = 0;
  PoolOptions options;
  options.log_level = LogLevel::kOff;
  options.log_sink = [&](const LogEvent&) { ++calls; };
  Logger logger(options);
  logger.Log(WorkerGivenUpEvent(0, 5));
  EXPECT_EQ(calls, 0);
}

TEST(LifecycleLog, AThrowingSinkDoesNotEscapeLog) {
  PoolOptions options;
  options.log_level = LogLevel::kDebug;
  options.log_sink = [](const LogEvent&) { throw std::runtime_error("sink is broken"); };
  Logger logger(options);
  logger.Log(PoolStopEvent(absl::OkStatus()));  // printed to stderr instead
}

TEST(LifecycleLog, WorkerEndEventTellsDeathFromExitAndFillsTheStatus) {
  // A wait status for "killed by SIGKILL" and one for "exited with 3".
  const int killed = SIGKILL;
  const int exited3 = 3 << 8;
  ASSERT_TRUE(WIFSIGNALED(killed));
  ASSERT_TRUE(WIFEXITED(exited3));

  LogEvent death = WorkerEndEvent(2, 77, killed, "killed by signal 9 (Killed)", false);
  EXPECT_EQ(death.kind, LogEventKind::kWorkerDeath);
  EXPECT_EQ(death.level, LogLevel::kWarning);
  EXPECT_EQ(death.signal, SIGKILL);
  EXPECT_FALSE(death.exit_status.has_value());
  EXPECT_EQ(death.message, "worker 2 (pid 77) died: killed by signal 9 (Killed)");

  LogEvent crash = WorkerEndEvent(2, 77, exited3, "exited with status 3", false);
  EXPECT_EQ(crash.exit_status, 3);
  EXPECT_FALSE(crash.signal.has_value());

  // At shutdown: the pool's own SIGKILL is info; a crash is still a warning.
  EXPECT_EQ(WorkerEndEvent(0, 7, killed, "", true).level, LogLevel::kInfo);
  EXPECT_EQ(WorkerEndEvent(0, 7, 0, "", true).level, LogLevel::kInfo);
  EXPECT_EQ(WorkerEndEvent(0, 7, exited3, "", true).level, LogLevel::kWarning);
  EXPECT_EQ(WorkerEndEvent(0, 7, exited3, "", true).kind, LogEventKind::kWorkerExit);
  // Unknown (reaped by someone else): neither field.
  LogEvent unknown = WorkerEndEvent(0, 7, -1, "gone", false);
  EXPECT_FALSE(unknown.signal.has_value() || unknown.exit_status.has_value());
}

}  // namespace
}  // namespace internal
}  // namespace weft
