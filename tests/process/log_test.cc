// The lifecycle log (runtime/log.h) through PoolOptions::log_sink: which
// events a pool reports, in which order, with which fields, for a process
// worker killed with SIGKILL, one killed for hard_timeout, one given up after
// max_restarts, and a thread pool's start and stop; and that calls log
// nothing. Each failure-mode test ends with the pool serving calls.
//
// Synchronization is explicit: the test waits (bounded by kHangBound, which
// only a hang reaches) for the event that ends a sequence; the supervisor
// logs the events of one worker in order from its one thread, so the
// sequence before that event is complete when it arrives.
#include "runtime/log.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "runtime/pool.h"
#include "tests/process/proc_impl.h"
#include "tests/process/proc_test.weft.h"
#include "tests/process/process_test_util.h"

namespace weft_test {
namespace {

using weft::LogEvent;
using weft::LogEventKind;
using weft::LogLevel;

// Records every event a pool's sink gets. Shared with the sink, so it
// outlives the pool's last event (the pool logs while it is destroyed).
class Recorder {
 public:
  static weft::LogSink SinkFor(const std::shared_ptr<Recorder>& recorder) {
    return [recorder](const LogEvent& event) { recorder->Add(event); };
  }

  std::vector<LogEvent> Events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }

  // Waits until `count` events of `kind` were recorded; false on a hang.
  bool WaitForCount(LogEventKind kind, size_t count) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoSeconds(kHangBound),
                        [&] { return CountLocked(kind) >= count; });
  }

 private:
  void Add(const LogEvent& event) {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(event);
    cv_.notify_all();
  }
  size_t CountLocked(LogEventKind kind) {
    size_t n = 0;
    for (const LogEvent& e : events_) n += e.kind == kind ? 1 : 0;
    return n;
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<LogEvent> events_;
};

std::vector<LogEventKind> KindsOf(const std::vector<LogEvent>& events, size_t from = 0,
                                  int worker = -2) {
  std::vector<LogEventKind> kinds;
  for (size_t i = from; i < events.size(); ++i) {
    if (worker == -2 || events[i].worker == worker) kinds.push_back(events[i].kind);
  }
  return kinds;
}

std::string Describe(const std::vector<LogEvent>& events) {
  std::string out;
  for (const LogEvent& e : events) {
    absl::StrAppend(&out, "\n  ", weft::ToString(e.level), " ", weft::ToString(e.kind), " w",
                    e.worker, " pid ", e.pid, ": ", e.message);
  }
  return out;
}

// Events of worker `w` from index `from`.
std::vector<LogEvent> OfWorker(const std::vector<LogEvent>& events, int w, size_t from = 0) {
  std::vector<LogEvent> out;
  for (size_t i = from; i < events.size(); ++i) {
    if (events[i].worker == w) out.push_back(events[i]);
  }
  return out;
}

weft::PoolOptions Logged(weft::PoolOptions options, const std::shared_ptr<Recorder>& recorder) {
  options.log_level = LogLevel::kDebug;  // everything, whatever WEFT_LOG says
  options.log_sink = Recorder::SinkFor(recorder);
  return options;
}

TEST_F(ProcessTest, LogSinkSeesKillNineThenRestartThenReadyAndNothingFromCalls) {
  auto recorder = std::make_shared<Recorder>();
  pid_t replacement = -1;
  {
    auto pool = Pool::Create(Logged(ProcOptions(1, "proc_worker"), recorder));
    ASSERT_TRUE(pool.ok()) << pool.status();
    auto stub = pool->stub();
    const pid_t first = PidOf(stub);

    std::vector<LogEvent> events = recorder->Events();
    ASSERT_EQ(KindsOf(events),
              (std::vector<LogEventKind>{LogEventKind::kWorkerSpawn, LogEventKind::kWorkerReady,
                                         LogEventKind::kPoolStart}))
        << Describe(events);
    EXPECT_EQ(events[0].pid, first);
    EXPECT_EQ(events[1].pid, first);
    EXPECT_EQ(events[1].worker, 0);
    EXPECT_EQ(events[2].worker, -1);
    EXPECT_EQ(events[2].level, LogLevel::kInfo);
    EXPECT_NE(events[2].message.find("pool started: 1 process worker"), std::string::npos)
        << events[2].message;

    // The call path logs nothing.
    for (int i = 0; i < 200; ++i) {
      auto r = stub.square(i).Get();
      ASSERT_TRUE(r.ok()) << r.status();
    }
    EXPECT_EQ(recorder->Events().size(), 3u) << Describe(recorder->Events());

    ASSERT_EQ(kill(first, SIGKILL), 0) << std::strerror(errno);
    ASSERT_TRUE(recorder->WaitForCount(LogEventKind::kWorkerReady, 2))
        << "no Ready from a replacement (hang)" << Describe(recorder->Events());
    events = recorder->Events();
    ASSERT_EQ(KindsOf(events, 3),
              (std::vector<LogEventKind>{LogEventKind::kWorkerDeath, LogEventKind::kWorkerRestart,
                                         LogEventKind::kWorkerSpawn, LogEventKind::kWorkerReady}))
        << Describe(events);
    const LogEvent& death = events[3];
    EXPECT_EQ(death.level, LogLevel::kWarning);
    EXPECT_EQ(death.worker, 0);
    EXPECT_EQ(death.pid, first);
    EXPECT_EQ(death.signal, SIGKILL);
    EXPECT_FALSE(death.exit_status.has_value());
    EXPECT_NE(death.message.find("killed by signal 9"), std::string::npos) << death.message;
    const LogEvent& restart = events[4];
    EXPECT_EQ(restart.level, LogLevel::kWarning);
    EXPECT_GT(restart.backoff, absl::ZeroDuration());
    EXPECT_EQ(restart.failed_starts, 0u);
    EXPECT_NE(restart.message.find(absl::FormatDuration(restart.backoff)), std::string::npos)
        << restart.message;
    replacement = events[5].pid;
    EXPECT_NE(replacement, first);
    EXPECT_EQ(events[6].pid, replacement);

    // The pool keeps working, on the replacement.
    EXPECT_EQ(PidOf(stub), replacement);
  }
  // Shutdown: the worker's exit, then the pool's stop, last.
  const std::vector<LogEvent> events = recorder->Events();
  ASSERT_EQ(KindsOf(events, 7),
            (std::vector<LogEventKind>{LogEventKind::kWorkerExit, LogEventKind::kPoolStop}))
      << Describe(events);
  EXPECT_EQ(events[7].pid, replacement);
  // Ended by the pool (status 0, or the SIGKILL that follows the supervisor
  // thread's end): not a warning.
  EXPECT_EQ(events[7].level, LogLevel::kInfo) << events[7].message;
  EXPECT_TRUE(events[7].exit_status == 0 || events[7].signal == SIGKILL) << events[7].message;
  EXPECT_EQ(events[8].level, LogLevel::kInfo);
  EXPECT_EQ(events[8].message, "pool stopped");
}

TEST_F(ProcessTest, LogSinkSeesTheHardTimeoutKill) {
  auto recorder = std::make_shared<Recorder>();
  {
    weft::PoolOptions options = Logged(ProcOptions(1, "proc_worker"), recorder);
    options.hard_timeout = absl::Seconds(1);  // see hard_timeout_test.cc for why not less
    auto pool = Pool::Create(options);
    ASSERT_TRUE(pool.ok()) << pool.status();
    auto stub = pool->stub();
    const pid_t stuck = PidOf(stub);
    const size_t before = recorder->Events().size();

    auto spin = stub.spin(~0ull);  // never ends by itself: only the kill ends it
    ASSERT_TRUE(spin.WaitFor(kHangBound)) << "hard_timeout never fired (hang)";
    EXPECT_EQ(spin.Get().status().code(), absl::StatusCode::kDeadlineExceeded);
    ASSERT_TRUE(recorder->WaitForCount(LogEventKind::kWorkerReady, 2))
        << "no Ready from a replacement (hang)" << Describe(recorder->Events());
    const std::vector<LogEvent> events = recorder->Events();
    ASSERT_EQ(KindsOf(events, before),
              (std::vector<LogEventKind>{LogEventKind::kHardTimeoutKill, LogEventKind::kWorkerDeath,
                                         LogEventKind::kWorkerRestart, LogEventKind::kWorkerSpawn,
                                         LogEventKind::kWorkerReady}))
        << Describe(events);
    const LogEvent& kill_event = events[before];
    EXPECT_EQ(kill_event.level, LogLevel::kWarning);
    EXPECT_EQ(kill_event.worker, 0);
    EXPECT_EQ(kill_event.pid, stuck);
    EXPECT_NE(kill_event.message.find("past hard_timeout (1s)"), std::string::npos)
        << kill_event.message;
    EXPECT_EQ(events[before + 1].pid, stuck);
    EXPECT_EQ(events[before + 1].signal, SIGKILL);

    // The pool keeps working, on the replacement.
    const pid_t replacement = events[before + 4].pid;
    EXPECT_NE(replacement, stuck);
    EXPECT_EQ(PidOf(stub), replacement);
  }
}

TEST_F(ProcessTest, LogSinkSeesFailedStartsThenGivenUpWhileTheOtherWorkerServes) {
  const std::string marker = absl::StrCat(TempDir(), "/weft_log_crash_marker_", getpid());
  unlink(marker.c_str());
  auto recorder = std::make_shared<Recorder>();
  {
    weft::PoolOptions options = Logged(ProcOptions(2, "crash_on_start_worker"), recorder);
    options.command_prefix = {"env", "WEFT_TEST_CRASH_MARKER=" + marker};
    options.max_restarts = 3;
    auto pool = Pool::Create(options);
    ASSERT_TRUE(pool.ok()) << pool.status();
    const pid_t victim = pool->Stats().workers[0].pid;
    ASSERT_GT(victim, 0);
    const size_t before = recorder->Events().size();

    { std::ofstream(marker) << "crash\n"; }  // from now on every start crashes
    ASSERT_EQ(kill(victim, SIGKILL), 0) << std::strerror(errno);
    ASSERT_TRUE(recorder->WaitForCount(LogEventKind::kWorkerGivenUp, 1))
        << "worker 0 was never given up (hang)" << Describe(recorder->Events());
    const std::vector<LogEvent> all = recorder->Events();
    const std::vector<LogEvent> events = OfWorker(all, 0, before);
    using K = LogEventKind;
    ASSERT_EQ(KindsOf(events),
              (std::vector<LogEventKind>{K::kWorkerDeath, K::kWorkerRestart, K::kWorkerSpawn,
                                         K::kWorkerStartFailed, K::kWorkerRestart, K::kWorkerSpawn,
                                         K::kWorkerStartFailed, K::kWorkerRestart, K::kWorkerSpawn,
                                         K::kWorkerStartFailed, K::kWorkerGivenUp}))
        << Describe(all);
    EXPECT_EQ(events[0].signal, SIGKILL);
    for (size_t i : {3u, 6u, 9u}) {
      EXPECT_EQ(events[i].level, LogLevel::kWarning);
      EXPECT_EQ(events[i].failed_starts, i / 3);
      EXPECT_NE(events[i].message.find("exited before it was ready"), std::string::npos)
          << events[i].message;
    }
    // The backoff grows with the failed starts in a row.
    EXPECT_LT(events[1].backoff, events[4].backoff);
    EXPECT_LT(events[4].backoff, events[7].backoff);
    const LogEvent& given_up = events.back();
    EXPECT_EQ(given_up.level, LogLevel::kError);
    EXPECT_EQ(given_up.failed_starts, 3u);
    EXPECT_NE(given_up.message.find("given up after 3 failed starts"), std::string::npos)
        << given_up.message;
    EXPECT_TRUE(OfWorker(all, 1, before).empty()) << "worker 1 was not touched" << Describe(all);

    // The pool keeps working: the balancer skips the given-up worker.
    auto stub = pool->stub();
    for (int i = 0; i < 20; ++i) {
      auto r = stub.square(i).Get();
      ASSERT_TRUE(r.ok()) << "call " << i << ": " << r.status();
      EXPECT_EQ(r->getResult(), i * i);
    }
  }
  unlink(marker.c_str());
}

TEST(Log, ThreadPoolLogsStartAndStopOnlyAndTheLevelFilters) {
  for (const LogLevel level : {LogLevel::kInfo, LogLevel::kWarning}) {
    auto recorder = std::make_shared<Recorder>();
    {
      weft::PoolOptions options;
      options.workers = 2;
      options.log_level = level;
      options.log_sink = Recorder::SinkFor(recorder);
      auto pool = Pool::Create(options, [] { return std::make_unique<ProcImpl>(); });
      ASSERT_TRUE(pool.ok()) << pool.status();
      auto r = pool->stub().square(7).Get();
      ASSERT_TRUE(r.ok()) << r.status();
    }
    const std::vector<LogEvent> events = recorder->Events();
    if (level == LogLevel::kWarning) {
      EXPECT_TRUE(events.empty()) << "start and stop are info" << Describe(events);
      continue;
    }
    ASSERT_EQ(KindsOf(events),
              (std::vector<LogEventKind>{LogEventKind::kPoolStart, LogEventKind::kPoolStop}))
        << Describe(events);
    EXPECT_EQ(events[0].message, "pool started: 2 thread workers");
    EXPECT_EQ(events[0].pid, 0);
    EXPECT_EQ(events[1].message, "pool stopped");
  }
}

}  // namespace
}  // namespace weft_test
