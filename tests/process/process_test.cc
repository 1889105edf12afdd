// Process workers end to end: real worker processes (the *_worker binaries
// in this package), killed mid-call, crashing at every start, scribbling over
// their own shared memory, never getting ready, outliving a killed host (they
// must not), and the named/anonymous shared-memory lifecycle.
//
// Synchronization is explicit: the test waits for a call to be running by
// polling Stats() (bounded), never by sleeping for a guessed time. The only
// time bounds are the requirements themselves (e.g. workers gone within 3 s
// of the host's death) and generous limits that turn a hang into a failure.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest-spi.h"
#include "gtest/gtest.h"
#include "runtime/pool.h"
#include "tests/process/proc_test.weft.h"
#include "tests/testing/checksum.h"

namespace weft_test {
namespace {

using Pool = weft::Pool<ProcTest>;

// ------------------------------------------------------------ helpers

// A file of this package's runfiles, as an absolute path.
std::string Runfile(const std::string& relative) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (srcdir != nullptr && workspace != nullptr) {
    return absl::StrCat(srcdir, "/", workspace, "/", relative);
  }
  char cwd[4096];
  if (getcwd(cwd, sizeof cwd) == nullptr) return relative;
  return absl::StrCat(cwd, "/", relative);
}

std::string WorkerBinary(const std::string& name) { return Runfile("tests/process/" + name); }

std::string TempDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

// The names under /dev/shm that weft could have made.
std::set<std::string> ShmNames() {
  std::set<std::string> names;
  DIR* dir = opendir("/dev/shm");
  if (dir == nullptr) return names;
  while (dirent* entry = readdir(dir)) {
    const std::string name = entry->d_name;
    if (name.find("weft") != std::string::npos) names.insert(name);
  }
  closedir(dir);
  return names;
}

std::string Describe(const std::set<std::string>& names) {
  return names.empty() ? "(none)" : absl::StrJoin(names, ", ");
}

std::set<std::string> NewNames(const std::set<std::string>& before) {
  std::set<std::string> added;
  for (const std::string& name : ShmNames()) {
    if (!before.count(name)) added.insert(name);
  }
  return added;
}

enum class ProcState { kGone, kZombie, kAlive };

const char* ToString(ProcState s) {
  switch (s) {
    case ProcState::kGone:
      return "gone";
    case ProcState::kZombie:
      return "zombie (dead, not reaped)";
    case ProcState::kAlive:
      return "alive";
  }
  return "?";
}

// Reads /proc/<pid>/stat: the state letter and the parent pid.
bool ReadStat(pid_t pid, char* state, pid_t* ppid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t paren = text.rfind(')');
  if (paren == std::string::npos) return false;
  std::istringstream rest(text.substr(paren + 1));
  long parent = 0;
  rest >> *state >> parent;
  *ppid = static_cast<pid_t>(parent);
  return !rest.fail();
}

ProcState StateOf(pid_t pid) {
  if (pid <= 0) return ProcState::kGone;
  if (kill(pid, 0) == -1 && errno == ESRCH) return ProcState::kGone;
  char state = '?';
  pid_t ppid = 0;
  if (!ReadStat(pid, &state, &ppid)) return ProcState::kGone;  // vanished meanwhile
  return (state == 'Z' || state == 'X') ? ProcState::kZombie : ProcState::kAlive;
}

// Every process whose parent is this process (alive or zombie), with its
// state and command line.
std::vector<std::string> Children() {
  std::vector<std::string> found;
  const pid_t self = getpid();
  DIR* dir = opendir("/proc");
  if (dir == nullptr) return found;
  while (dirent* entry = readdir(dir)) {
    char* end = nullptr;
    const long pid = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0') continue;
    char state = '?';
    pid_t ppid = 0;
    if (!ReadStat(static_cast<pid_t>(pid), &state, &ppid) || ppid != self) continue;
    std::ifstream cmd(absl::StrCat("/proc/", pid, "/cmdline"));
    std::string cmdline((std::istreambuf_iterator<char>(cmd)), std::istreambuf_iterator<char>());
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    found.push_back(absl::StrCat("pid ", pid, " state ", std::string(1, state), " [", cmdline, "]"));
  }
  closedir(dir);
  return found;
}

// The lines of a crash_on_start_worker start log (one pid per start).
std::vector<std::string> StartLog(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

template <typename Predicate>
bool PollUntil(Predicate done, absl::Duration bound) {
  const absl::Time deadline = absl::Now() + bound;
  for (;;) {
    if (done()) return true;
    if (absl::Now() >= deadline) return done();
    absl::SleepFor(absl::Milliseconds(1));
  }
}

// Routes every call to the worker the test names.
class Pinned final : public weft::Balancer {
 public:
  size_t Pick(absl::Span<const weft::WorkerLoad> loads) override {
    (void)loads;
    return target_.load(std::memory_order_relaxed);
  }
  void Set(size_t worker) { target_.store(worker, std::memory_order_relaxed); }

 private:
  std::atomic<size_t> target_{0};
};

// Turns a hang into a precise failure: aborts the test binary (with a message
// naming what hung) unless disarmed within `bound`.
class Watchdog {
 public:
  Watchdog(std::string what, absl::Duration bound)
      : what_(std::move(what)), thread_([this, bound] {
          std::unique_lock<std::mutex> lock(mu_);
          if (!cv_.wait_for(lock, absl::ToChronoMilliseconds(bound), [this] { return done_; })) {
            std::fprintf(stderr, "\nWATCHDOG: %s did not finish within %s; aborting\n",
                         what_.c_str(), absl::FormatDuration(bound).c_str());
            std::fflush(stderr);
            std::cout.flush();  // what the test printed so far (racy, but we are dying)
            std::abort();
          }
        }) {}
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::string what_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

weft::PoolOptions ProcOptions(int workers, const std::string& binary) {
  weft::PoolOptions options;
  options.workers = workers;
  options.runtime = weft::WorkerRuntime::kProcess;
  options.worker_command = {WorkerBinary(binary)};
  return options;
}

const char* ModeName(weft::SharedMemory mode) {
  return mode == weft::SharedMemory::kNamed ? "named" : "anonymous";
}

// What a call to a hostile worker may resolve to besides OK: the host's own
// verdicts (DataLoss / InvalidArgument on malformed data, Unavailable when it
// dies, DeadlineExceeded when it stalls, Internal for what its skeleton
// threw), plus any status the worker itself writes back: a worker may return
// any status from a skeleton method, so a hostile one can name any code
// (e.g. Cancelled, from its own "aborted before a worker picked it up" check
// on a scribbled abort flag). The code must still be a valid absl code and
// the message bounded.
bool IsHostileOutcome(const absl::Status& status) {
  const int code = static_cast<int>(status.code());
  return code >= 1 && code <= 16 && status.message().size() <= 4096;
}

// Every test starts and ends with no child process and no new /dev/shm name.
class ProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    shm_before_ = ShmNames();
    const std::vector<std::string> children = Children();
    ASSERT_TRUE(children.empty()) << "children before the test: " << absl::StrJoin(children, "; ");
  }
  void TearDown() override { ExpectCleanHost("at the end of the test"); }

  void ExpectCleanHost(const std::string& when) {
    const std::vector<std::string> children = Children();
    EXPECT_TRUE(children.empty()) << "child processes left " << when << ": "
                                  << absl::StrJoin(children, "; ");
    const std::set<std::string> added = NewNames(shm_before_);
    EXPECT_TRUE(added.empty()) << "new /dev/shm names " << when << ": " << Describe(added);
  }

  void ExpectAllGone(const std::set<pid_t>& pids, const std::string& when) {
    for (pid_t pid : pids) {
      const ProcState s = StateOf(pid);
      EXPECT_EQ(s, ProcState::kGone) << "worker pid " << pid << " is " << ToString(s) << " " << when;
    }
  }

  std::set<std::string> shm_before_;
};

int32_t PidOf(weft::Stub<ProcTest>& stub) {
  auto r = stub.pid().Get();
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? r->getPid() : -1;
}

// ------------------------------------------------------------ 1. end to end

TEST_F(ProcessTest, SquareAndEchoOnTwoProcessWorkers) {
  std::set<pid_t> seen;
  {
    auto pool = Pool::Create(ProcOptions(2, "proc_worker"));
    ASSERT_TRUE(pool.ok()) << pool.status();
    auto stub = pool->stub();

    weft::PoolStats stats = pool->Stats();
    ASSERT_EQ(stats.workers.size(), 2u);
    for (const auto& w : stats.workers) {
      EXPECT_TRUE(w.up);
      EXPECT_FALSE(w.failed);
      EXPECT_GT(w.pid, 0);
      EXPECT_NE(w.pid, getpid());
      EXPECT_EQ(w.restarts, 0u);
      seen.insert(w.pid);
    }
    EXPECT_EQ(seen.size(), 2u) << "the two workers should be two processes";

    // Flat and builder forms.
    auto flat = stub.square(7).Get();
    ASSERT_TRUE(flat.ok()) << flat.status();
    EXPECT_EQ(flat->getResult(), 49);
    auto built = stub.square([](auto p) { p.setValue(-12); }).Get();
    ASSERT_TRUE(built.ok()) << built.status();
    EXPECT_EQ(built->getResult(), 144);

    // Calls reach both processes, and the pids they report are the ones Stats() shows.
    std::set<pid_t> served;
    for (int i = 0; i < 8; ++i) served.insert(PidOf(stub));
    EXPECT_EQ(served, seen);

    // Small echo, flat.
    const std::string text = "hello, another process";
    auto small = stub.echo(capnp::Data::Reader(reinterpret_cast<const kj::byte*>(text.data()),
                                               text.size()))
                     .Get();
    ASSERT_TRUE(small.ok()) << small.status();
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(small->getData().begin()),
                          small->getData().size()),
              text);

    // 1 MiB both ways, byte-exact, in both forms.
    std::vector<kj::byte> big(1 << 20);
    std::mt19937_64 rng(42);
    for (auto& b : big) b = static_cast<kj::byte>(rng());
    const capnp::Data::Reader big_reader(big.data(), big.size());
    const uint64_t big_sum = Checksum(big_reader);
    for (int form = 0; form < 2; ++form) {
      for (int i = 0; i < 2; ++i) {  // once on each worker (round-robin)
        auto e = form == 0 ? stub.echo(big_reader).Get()
                           : stub.echo([&](auto p) {
                                   capnp::Data::Builder d = p.initData(big.size());
                                   std::memcpy(d.begin(), big.data(), big.size());
                                 }).Get();
        ASSERT_TRUE(e.ok()) << "form " << form << ": " << e.status();
        EXPECT_EQ(e->getChecksum(), big_sum) << "the worker read different bytes (form " << form << ")";
        ASSERT_EQ(e->getData().size(), big.size());
        EXPECT_EQ(std::memcmp(e->getData().begin(), big.data(), big.size()), 0)
            << "the response differs from the request (form " << form << ")";
      }
    }

    // A window of pipelined calls.
    std::vector<weft::Future<ProcTest::SquareResults>> window;
    for (int i = 0; i < 2000; ++i) window.push_back(stub.square(i));
    for (int i = 0; i < 2000; ++i) {
      auto r = window[i].Get();
      ASSERT_TRUE(r.ok()) << i << ": " << r.status();
      ASSERT_EQ(r->getResult(), int64_t{i} * i);
    }
  }
  ExpectAllGone(seen, "after the pool was destroyed");
}

// ------------------------------------------------------------ 2. kill -9 mid-call

TEST_F(ProcessTest, KillNineMidCallFailsThatCallAndTheReplacementServes) {
  std::set<pid_t> seen;
  {
    auto balancer = std::make_shared<Pinned>();
    weft::PoolOptions options = ProcOptions(2, "proc_worker");
    options.custom_balancer = balancer;
    auto pool = Pool::Create(options);
    ASSERT_TRUE(pool.ok()) << pool.status();
    auto stub = pool->stub();
    constexpr size_t kVictim = 1;
    constexpr size_t kBystander = 0;
    const pid_t bystander = pool->Stats().workers[kBystander].pid;
    seen.insert(bystander);

    balancer->Set(kVictim);
    const uint64_t started_before = pool->Stats().workers[kVictim].calls_started;
    auto spin = stub.spin(~0ull);
    ASSERT_TRUE(PollUntil([&] { return pool->Stats().workers[kVictim].calls_started > started_before; },
                          absl::Seconds(10)))
        << "spin() never started on worker " << kVictim;
    const pid_t victim = pool->Stats().workers[kVictim].pid;
    ASSERT_GT(victim, 0);
    seen.insert(victim);
    EXPECT_FALSE(spin.Ready());

    ASSERT_EQ(kill(victim, SIGKILL), 0) << std::strerror(errno);
    const absl::Time killed_at = absl::Now();
    ASSERT_TRUE(spin.WaitFor(absl::Seconds(5)))
        << "the running call did not resolve within 5 s of its worker's SIGKILL";
    const absl::Duration to_resolve = absl::Now() - killed_at;
    auto s = spin.Get();
    ASSERT_FALSE(s.ok()) << "spin(~0) cannot have finished; got reached=" << s->getReached();
    EXPECT_EQ(s.status().code(), absl::StatusCode::kUnavailable) << s.status();
    std::cout << "spin resolved " << absl::FormatDuration(to_resolve) << " after the SIGKILL: "
              << s.status() << "\n";

    // 200 calls, all served by the replacement.
    std::set<pid_t> served;
    for (int i = 0; i < 200; ++i) {
      auto f = stub.pid();
      ASSERT_TRUE(f.WaitFor(absl::Seconds(30))) << "call " << i << " after the kill hung";
      auto r = f.Get();
      ASSERT_TRUE(r.ok()) << "call " << i << " after the kill: " << r.status();
      served.insert(r->getPid());
    }
    ASSERT_EQ(served.size(), 1u) << "calls to one worker slot served by several pids";
    const pid_t replacement = *served.begin();
    seen.insert(replacement);
    EXPECT_NE(replacement, victim);
    EXPECT_NE(replacement, bystander);
    {
      auto sq = stub.square(11).Get();
      ASSERT_TRUE(sq.ok()) << sq.status();
      EXPECT_EQ(sq->getResult(), 121);
    }  // its Response (and slot) goes here

    weft::PoolStats stats = pool->Stats();
    EXPECT_EQ(stats.workers[kVictim].pid, replacement);
    EXPECT_GE(stats.workers[kVictim].restarts, 1u);
    EXPECT_TRUE(stats.workers[kVictim].up);
    EXPECT_FALSE(stats.workers[kVictim].failed);
    // The other worker never noticed.
    EXPECT_EQ(stats.workers[kBystander].pid, bystander);
    EXPECT_EQ(stats.workers[kBystander].restarts, 0u);
    balancer->Set(kBystander);
    EXPECT_EQ(PidOf(stub), bystander);

    // Every Response is gone: no slot and no abort slot is still held.
    stats = pool->Stats();
    for (size_t w = 0; w < stats.workers.size(); ++w) {
      EXPECT_EQ(stats.workers[w].slots_in_use, 0u) << "worker " << w;
    }
    EXPECT_EQ(stats.abort_slots_in_use, 0u);

    // The killed process was reaped by the pool, not left a zombie.
    EXPECT_TRUE(PollUntil([&] { return StateOf(victim) == ProcState::kGone; }, absl::Seconds(5)))
        << "the SIGKILLed worker " << victim << " is " << ToString(StateOf(victim));
    Watchdog wd("destroying the pool", absl::Seconds(30));
    pool = absl::UnavailableError("destroyed");
  }
  ExpectAllGone(seen, "after the pool was destroyed");
}

// Calls sent to a worker after it was killed, before the host noticed, are
// queued (never started): they wait for the replacement and succeed.
TEST_F(ProcessTest, CallsQueuedBehindAKilledWorkerAreServedByItsReplacement) {
  std::set<pid_t> seen;
  {
    auto balancer = std::make_shared<Pinned>();
    weft::PoolOptions options = ProcOptions(1, "proc_worker");
    options.custom_balancer = balancer;
    auto pool = Pool::Create(options);
    ASSERT_TRUE(pool.ok()) << pool.status();
    auto stub = pool->stub();
    auto spin = stub.spin(~0ull);
    ASSERT_TRUE(PollUntil([&] { return pool->Stats().workers[0].calls_started > 0; },
                          absl::Seconds(10)));
    const pid_t victim = pool->Stats().workers[0].pid;
    seen.insert(victim);
    // Queue calls while the worker is busy, then kill it: none of them started.
    std::vector<weft::Future<ProcTest::SquareResults>> queued;
    for (int i = 0; i < 100; ++i) queued.push_back(stub.square(i));
    ASSERT_EQ(kill(victim, SIGKILL), 0);
    ASSERT_TRUE(spin.WaitFor(absl::Seconds(5)));
    EXPECT_EQ(spin.Get().status().code(), absl::StatusCode::kUnavailable);
    int ok = 0;
    std::map<std::string, int> failures;
    for (int i = 0; i < 100; ++i) {
      ASSERT_TRUE(queued[i].WaitFor(absl::Seconds(30))) << "queued call " << i << " hung";
      auto r = queued[i].Get();
      if (r.ok() && r->getResult() == int64_t{i} * i) {
        ++ok;
      } else if (!r.ok()) {
        ++failures[r.status().ToString()];
      }
    }
    std::string summary;
    for (const auto& [status, n] : failures) absl::StrAppend(&summary, n, " x ", status, "; ");
    EXPECT_EQ(ok, 100) << "queued calls that did not succeed on the replacement: " << summary;
    seen.insert(pool->Stats().workers[0].pid);
    Watchdog wd("destroying the pool", absl::Seconds(30));
    pool = absl::UnavailableError("destroyed");
  }
  ExpectAllGone(seen, "after the pool was destroyed");
}

// ------------------------------------------------------------ 3. crash at every start

TEST_F(ProcessTest, WorkerCrashingAtEveryStartIsGivenUpAndCallsFailUnavailable) {
  const std::string marker = absl::StrCat(TempDir(), "/weft_crash_marker_", getpid());
  const std::string start_log = absl::StrCat(TempDir(), "/weft_start_log_", getpid());
  unlink(marker.c_str());
  unlink(start_log.c_str());
  std::set<pid_t> seen;
  {
    weft::PoolOptions options = ProcOptions(1, "crash_on_start_worker");
    options.command_prefix = {"env", "WEFT_TEST_CRASH_MARKER=" + marker,
                              "WEFT_TEST_START_LOG=" + start_log};
    options.max_restarts = 3;
    auto pool = Pool::Create(options);
    ASSERT_TRUE(pool.ok()) << pool.status();
    auto stub = pool->stub();
    const pid_t first = PidOf(stub);
    seen.insert(first);
    EXPECT_EQ(pool->Stats().workers[0].pid, first);

    // From now on every start crashes.
    { std::ofstream(marker) << "crash\n"; }
    auto c = stub.crash();
    ASSERT_TRUE(c.WaitFor(absl::Seconds(5))) << "crash() did not resolve within 5 s";
    auto cr = c.Get();
    EXPECT_EQ(cr.status().code(), absl::StatusCode::kUnavailable) << cr.status();

    // Sent while the worker is down: waits for a replacement that never comes.
    auto pending = stub.square(3);

    bool failed = false;
    weft::WorkerStats last;
    const absl::Time t0 = absl::Now();
    ASSERT_TRUE(PollUntil(
        [&] {
          last = pool->Stats().workers[0];
          if (last.pid > 0) seen.insert(last.pid);
          failed = last.failed;
          return failed;
        },
        absl::Seconds(60)))
        << "the worker was never given up; restarts=" << last.restarts << " up=" << last.up;
    // Every start, failed or not, wrote a line to the start log: the first
    // start, then the failed replacements.
    const int attempts = static_cast<int>(StartLog(start_log).size()) - 1;
    std::cout << "given up after " << absl::FormatDuration(absl::Now() - t0) << ": "
              << attempts << " failed start attempts, Stats().restarts " << last.restarts
              << ", last_exit \"" << last.last_exit << "\"\n";
    EXPECT_GE(attempts, 1) << "no replacement was even tried";
    EXPECT_LE(attempts, static_cast<int>(options.max_restarts))
        << "more start attempts than max_restarts";
    EXPECT_LE(last.restarts, static_cast<uint64_t>(options.max_restarts));
    EXPECT_FALSE(last.up);
    EXPECT_NE(absl::AsciiStrToLower(last.last_exit).find("signal"), std::string::npos)
        << "last_exit should say the replacement died of SIGABRT: " << last.last_exit;

    ASSERT_TRUE(pending.WaitFor(absl::Seconds(10)))
        << "a call queued for the given-up worker never resolved";
    auto p = pending.Get();
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.status().code(), absl::StatusCode::kUnavailable) << p.status();
    EXPECT_FALSE(p.status().message().empty());

    auto later = stub.square(4);
    ASSERT_TRUE(later.WaitFor(absl::Seconds(5))) << "a call to a given-up worker hung";
    auto l = later.Get();
    ASSERT_FALSE(l.ok());
    EXPECT_EQ(l.status().code(), absl::StatusCode::kUnavailable) << l.status();
    EXPECT_FALSE(l.status().message().empty());
    std::cout << "call to the given-up worker: " << l.status() << "\n";

    // The restart attempts stopped: no new start since it was given up
    // (a start attempt takes well under the time the calls above took).
    EXPECT_EQ(static_cast<int>(StartLog(start_log).size()) - 1, attempts)
        << "start attempts went on after the worker was given up";
    EXPECT_EQ(pool->Stats().workers[0].slots_in_use, 0u);
    Watchdog wd("destroying the pool", absl::Seconds(30));
    pool = absl::UnavailableError("destroyed");
  }
  for (const std::string& line : StartLog(start_log)) seen.insert(std::stoi(line));
  unlink(marker.c_str());
  unlink(start_log.c_str());
  ExpectAllGone(seen, "after the pool was destroyed");
}

// While one worker's replacement is slow to start (its OnStart blocks until
// startup_timeout), another worker's death must still be noticed promptly:
// its running call resolves Unavailable at once, not after the slow start.
TEST_F(ProcessTest, SlowReplacementDoesNotDelayAnotherWorkersDeath) {
  const std::string hang = absl::StrCat(TempDir(), "/weft_hang_marker_", getpid());
  const std::string start_log = absl::StrCat(TempDir(), "/weft_start_log_slow_", getpid());
  unlink(hang.c_str());
  unlink(start_log.c_str());
  std::set<pid_t> seen;
  {
    auto balancer = std::make_shared<Pinned>();
    weft::PoolOptions options = ProcOptions(2, "crash_on_start_worker");
    options.command_prefix = {"env", "WEFT_TEST_HANG_MARKER=" + hang,
                              "WEFT_TEST_START_LOG=" + start_log};
    options.custom_balancer = balancer;
    options.startup_timeout = absl::Seconds(8);
    auto pool = Pool::Create(options);
    ASSERT_TRUE(pool.ok()) << pool.status();
    auto stub = pool->stub();
    for (const auto& w : pool->Stats().workers) seen.insert(w.pid);
    ASSERT_EQ(StartLog(start_log).size(), 2u);

    // Worker 0 dies; its replacement hangs in OnStart.
    { std::ofstream(hang) << "hang\n"; }
    balancer->Set(0);
    auto c = stub.crash();
    ASSERT_TRUE(c.WaitFor(absl::Seconds(5)));
    EXPECT_EQ(c.Get().status().code(), absl::StatusCode::kUnavailable);
    ASSERT_TRUE(PollUntil([&] { return StartLog(start_log).size() >= 3; }, absl::Seconds(10)))
        << "no replacement was started for worker 0";

    // Worker 1 is killed mid-call while that start is pending.
    balancer->Set(1);
    const uint64_t started = pool->Stats().workers[1].calls_started;
    auto spin = stub.spin(~0ull);
    ASSERT_TRUE(PollUntil([&] { return pool->Stats().workers[1].calls_started > started; },
                          absl::Seconds(10)))
        << "spin() never started on worker 1";
    const pid_t victim = pool->Stats().workers[1].pid;
    ASSERT_GT(victim, 0);
    ASSERT_EQ(kill(victim, SIGKILL), 0);
    const absl::Time killed_at = absl::Now();
    const bool prompt = spin.WaitFor(absl::Seconds(1));
    const absl::Duration took = absl::Now() - killed_at;
    EXPECT_TRUE(prompt) << "worker 1's running call was not resolved within 1 s of its SIGKILL "
                           "while worker 0's replacement was starting";
    ASSERT_TRUE(spin.WaitFor(absl::Seconds(30)));
    const absl::Duration took_all = absl::Now() - killed_at;
    EXPECT_EQ(spin.Get().status().code(), absl::StatusCode::kUnavailable);
    std::cout << "worker 1's call resolved " << absl::FormatDuration(prompt ? took : took_all)
              << " after its SIGKILL\n";

    unlink(hang.c_str());
    Watchdog wd("destroying the pool", absl::Seconds(60));
    pool = absl::UnavailableError("destroyed");
  }
  for (const std::string& line : StartLog(start_log)) seen.insert(std::stoi(line));
  unlink(start_log.c_str());
  ExpectAllGone(seen, "after the pool was destroyed");
}

// The same traffic as below without any kill: spilled (multi-segment)
// requests and responses from four host threads.
TEST_F(ProcessTest, FourThreadsEchoSpilledPayloads) {
  std::set<pid_t> seen;
  {
    auto pool = Pool::Create(ProcOptions(2, "proc_worker"));
    ASSERT_TRUE(pool.ok()) << pool.status();
    for (const auto& w : pool->Stats().workers) seen.insert(w.pid);
    std::atomic<int> ok{0}, bad{0};
    std::mutex mu;
    std::string bad_status;
    std::vector<std::thread> callers;
    for (int t = 0; t < 4; ++t) {
      callers.emplace_back([&, t, stub = pool->stub()]() mutable {
        std::vector<kj::byte> payload(1000 + t * 3000);
        for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<kj::byte>(i + t);
        const capnp::Data::Reader reader(payload.data(), payload.size());
        const uint64_t sum = Checksum(reader);
        for (int i = 0; i < 2000; ++i) {
          auto r = stub.echo(reader).Get();
          if (r.ok() && r->getChecksum() == sum && r->getData().size() == payload.size()) {
            ++ok;
          } else {
            ++bad;
            std::lock_guard<std::mutex> lock(mu);
            bad_status = r.ok() ? "OK with wrong data" : r.status().ToString();
          }
        }
      });
    }
    for (auto& t : callers) t.join();
    EXPECT_EQ(bad.load(), 0) << "e.g. " << bad_status;
    EXPECT_EQ(ok.load(), 8000);
  }
  ExpectAllGone(seen, "after the pool was destroyed");
}

// Four host threads keep calling two workers while the test SIGKILLs them
// again and again: every call resolves (OK, or Unavailable when its worker
// died under it), the right answers come back, and no slot leaks.
TEST_F(ProcessTest, CallersOnManyThreadsSurviveRepeatedKills) {
  std::set<pid_t> seen;
  {
    auto pool = Pool::Create(ProcOptions(2, "proc_worker"));
    ASSERT_TRUE(pool.ok()) << pool.status();
    std::atomic<bool> stop{false};
    std::atomic<int> ok{0}, unavailable{0}, wrong{0}, other{0}, hung{0};
    std::mutex other_mu;
    std::string other_status;
    std::vector<std::thread> callers;
    for (int t = 0; t < 4; ++t) {
      callers.emplace_back([&, t, stub = pool->stub()]() mutable {
        std::vector<kj::byte> payload(1000 + t * 3000);
        for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<kj::byte>(i + t);
        const capnp::Data::Reader reader(payload.data(), payload.size());
        const uint64_t sum = Checksum(reader);
        for (int64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
          std::vector<weft::Future<ProcTest::SquareResults>> window;
          for (int k = 0; k < 8; ++k) window.push_back(stub.square(i * 8 + k));
          auto e = stub.echo(reader);
          for (int k = 0; k < 8; ++k) {
            if (!window[k].WaitFor(absl::Seconds(30))) {
              ++hung;
              continue;
            }
            auto r = window[k].Get();
            if (r.ok()) {
              (r->getResult() == (i * 8 + k) * (i * 8 + k) ? ok : wrong)++;
            } else if (r.status().code() == absl::StatusCode::kUnavailable) {
              ++unavailable;
            } else {
              ++other;
              std::lock_guard<std::mutex> lock(other_mu);
              other_status = r.status().ToString();
            }
          }
          if (!e.WaitFor(absl::Seconds(30))) {
            ++hung;
            continue;
          }
          auto r = e.Get();
          if (r.ok()) {
            (r->getChecksum() == sum && r->getData().size() == payload.size() ? ok : wrong)++;
          } else if (r.status().code() == absl::StatusCode::kUnavailable) {
            ++unavailable;
          } else {
            ++other;
            std::lock_guard<std::mutex> lock(other_mu);
            other_status = r.status().ToString();
          }
        }
      });
    }
    for (int round = 0; round < 10; ++round) {
      const size_t w = static_cast<size_t>(round % 2);
      const uint64_t restarts = pool->Stats().workers[w].restarts;
      // Let some calls through first.
      const int ok_before = ok.load();
      ASSERT_TRUE(PollUntil([&] { return ok.load() > ok_before + 50; }, absl::Seconds(30)))
          << "round " << round << ": calls stopped succeeding";
      const pid_t victim = pool->Stats().workers[w].pid;
      ASSERT_GT(victim, 0) << "round " << round;
      seen.insert(victim);
      ASSERT_EQ(kill(victim, SIGKILL), 0);
      ASSERT_TRUE(PollUntil(
          [&] {
            weft::WorkerStats s = pool->Stats().workers[w];
            return s.up && s.restarts > restarts && s.pid > 0 && s.pid != victim;
          },
          absl::Seconds(30)))
          << "round " << round << ": worker " << w << " was not replaced";
    }
    stop = true;
    for (auto& t : callers) t.join();
    for (const auto& w : pool->Stats().workers) seen.insert(w.pid);
    std::cout << "ok " << ok << ", unavailable " << unavailable << ", wrong " << wrong
              << ", other " << other << " (" << other_status << "), hung " << hung << "\n";
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_EQ(other.load(), 0) << other_status;
    EXPECT_EQ(hung.load(), 0);
    EXPECT_GT(ok.load(), 500);
    weft::PoolStats stats = pool->Stats();
    for (size_t w = 0; w < stats.workers.size(); ++w) {
      EXPECT_EQ(stats.workers[w].slots_in_use, 0u) << "worker " << w;
      EXPECT_GE(stats.workers[w].restarts, 5u) << "worker " << w;
    }
    auto stub = pool->stub();
    for (int i = 0; i < 20; ++i) {
      auto r = stub.square(i).Get();
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(r->getResult(), i * i);
    }
    Watchdog wd("destroying the pool", absl::Seconds(30));
    pool = absl::UnavailableError("destroyed");
  }
  ExpectAllGone(seen, "after the pool was destroyed");
}

// ------------------------------------------------------------ 4. hostile worker

// The body of the test below, run in a death-test child: a host crash or a
// hang (the watchdogs abort) is then reported as such and the rest of the
// suite still runs. Everything it prints goes to stderr, which the death
// test shows.
void HostileScribblerBody() {
  const std::set<std::string> shm_before = ShmNames();
  std::set<pid_t> seen;
  {
    auto balancer = std::make_shared<Pinned>();
    weft::PoolOptions options = ProcOptions(2, "hostile_worker");
    options.custom_balancer = balancer;
    auto pool = Pool::Create(options);
    ASSERT_TRUE(pool.ok()) << pool.status();
    auto stub = pool->stub();
    constexpr size_t kHostile = 0;
    constexpr size_t kHealthy = 1;
    balancer->Set(kHealthy);
    const pid_t healthy = PidOf(stub);
    balancer->Set(kHostile);
    const pid_t hostile = PidOf(stub);
    ASSERT_NE(healthy, hostile);
    seen.insert(healthy);
    seen.insert(hostile);

    auto sc = stub.scribble(weft::CallOptions{.timeout = absl::Seconds(5)});
    ASSERT_TRUE(sc.WaitFor(absl::Seconds(15))) << "scribble() hung";
    auto scr = sc.Get();
    ASSERT_TRUE(scr.ok() || IsHostileOutcome(scr.status())) << scr.status();
    ASSERT_FALSE(!scr.ok() && scr.status().message().find("no weft mapping") != std::string::npos)
        << "the hostile worker found nothing to scribble on: " << scr.status();

    std::map<std::string, int> hostile_outcomes;
    int healthy_ok = 0;
    std::vector<kj::byte> payload(4096);
    for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<kj::byte>(i * 7);
    const capnp::Data::Reader payload_reader(payload.data(), payload.size());
    const uint64_t payload_sum = Checksum(payload_reader);
    const weft::CallOptions bounded{.timeout = absl::Milliseconds(300)};
    // At least 100 rounds and 3 s, so the scribbler gets time to do damage.
    const absl::Time run_until = absl::Now() + absl::Seconds(3);
    int rounds = 0;
    for (int i = 0; i < 5000 && (i < 100 || absl::Now() < run_until); ++i, ++rounds) {
      // The hostile worker: a square and an echo, each bounded.
      balancer->Set(kHostile);
      auto h1 = stub.square(i, bounded);
      auto h2 = stub.echo(payload_reader, bounded);
      // The healthy worker, interleaved.
      balancer->Set(kHealthy);
      auto g1 = stub.square(i, weft::CallOptions{.timeout = absl::Seconds(10)});
      auto g2 = stub.echo(payload_reader, weft::CallOptions{.timeout = absl::Seconds(10)});

      ASSERT_TRUE(h1.WaitFor(absl::Seconds(10))) << "iteration " << i << ": a hostile square() hung";
      ASSERT_TRUE(h2.WaitFor(absl::Seconds(10))) << "iteration " << i << ": a hostile echo() hung";
      auto r1 = h1.Get();
      auto r2 = h2.Get();
      for (const absl::Status& st : {r1.status(), r2.status()}) {
        EXPECT_TRUE(st.ok() || IsHostileOutcome(st)) << "iteration " << i << ": " << st;
        ++hostile_outcomes[st.ok() ? std::string("OK") : absl::StatusCodeToString(st.code())];
      }
      if (r2.ok()) {
        // Whatever it returned, reading an OK response must be safe: no
        // exception, no access outside the region.
        try {
          volatile uint64_t sink = Checksum(r2->getData()) + r2->getChecksum();
          (void)sink;
        } catch (const kj::Exception& e) {
          ++hostile_outcomes["OK, but reading it threw"];
          ADD_FAILURE() << "iteration " << i
                        << ": an OK echo response from the hostile worker threw when read: "
                        << e.getDescription().cStr();
        }
      }
      if (r1.ok()) {
        try {
          volatile int64_t sink = r1->getResult();
          (void)sink;
        } catch (const kj::Exception& e) {
          ADD_FAILURE() << "iteration " << i
                        << ": an OK square response from the hostile worker threw when read: "
                        << e.getDescription().cStr();
        }
      }

      ASSERT_TRUE(g1.WaitFor(absl::Seconds(15))) << "iteration " << i << ": a healthy call hung";
      auto q1 = g1.Get();
      auto q2 = g2.Get();
      ASSERT_TRUE(q1.ok()) << "iteration " << i << ": the healthy worker failed: " << q1.status();
      ASSERT_TRUE(q2.ok()) << "iteration " << i << ": the healthy worker failed: " << q2.status();
      EXPECT_EQ(q1->getResult(), int64_t{i} * i);
      EXPECT_EQ(q2->getChecksum(), payload_sum);
      ++healthy_ok;
      if (i % 10 == 0) {
        EXPECT_EQ(PidOf(stub), healthy) << "the healthy worker was replaced";
      }
      const pid_t now = pool->Stats().workers[kHostile].pid;
      if (now > 0) seen.insert(now);
    }
    std::string summary;
    for (const auto& [code, n] : hostile_outcomes) absl::StrAppend(&summary, code, ": ", n, "  ");
    std::cout << "hostile worker outcomes: " << summary << "\n"
              << "hostile worker restarts: " << pool->Stats().workers[kHostile].restarts
              << std::endl;
    EXPECT_EQ(healthy_ok, rounds);
    std::cout << rounds << " rounds, all " << healthy_ok << " healthy ones OK" << std::endl;
    weft::PoolStats stats = pool->Stats();
    EXPECT_EQ(stats.workers[kHealthy].pid, healthy);
    EXPECT_EQ(stats.workers[kHealthy].restarts, 0u);
    EXPECT_EQ(stats.workers[kHealthy].slots_in_use, 0u);
    Watchdog wd("destroying the pool with a hostile worker", absl::Seconds(30));
    pool = absl::UnavailableError("destroyed");
  }
  for (pid_t pid : seen) {
    EXPECT_EQ(StateOf(pid), ProcState::kGone) << "worker pid " << pid << " after the pool was destroyed";
  }
  const std::vector<std::string> children = Children();
  EXPECT_TRUE(children.empty()) << "children left: " << absl::StrJoin(children, "; ");
  const std::set<std::string> added = NewNames(shm_before);
  EXPECT_TRUE(added.empty()) << "new /dev/shm names: " << Describe(added);
}

// In a death-test child gtest records failures without printing them: the
// child collects them and prints them on stderr, which the parent shows.
[[noreturn]] void HostileScribblerChild() {
  dup2(STDERR_FILENO, STDOUT_FILENO);
  ::testing::TestPartResultArray results;
  {
    ::testing::ScopedFakeTestPartResultReporter reporter(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ALL_THREADS, &results);
    HostileScribblerBody();
  }
  std::cout.flush();
  bool failed = false;
  for (int i = 0; i < results.size(); ++i) {
    const ::testing::TestPartResult& r = results.GetTestPartResult(i);
    if (!r.failed()) continue;
    failed = true;
    std::fprintf(stderr, "%s:%d: Failure\n%s\n", r.file_name() ? r.file_name() : "?",
                 r.line_number(), r.message());
  }
  if (!failed) std::fprintf(stderr, "hostile scribbler: passed\n");
  std::fflush(nullptr);
  std::_Exit(failed ? 1 : 0);
}

TEST_F(ProcessTest, HostileWorkerScribblingOverItsRegionOnlyFailsItsOwnCalls) {
  // WEFT_TEST_HOSTILE_INLINE=1 runs it in this process (for gdb).
  if (std::getenv("WEFT_TEST_HOSTILE_INLINE") != nullptr) {
    HostileScribblerBody();
    return;
  }
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(HostileScribblerChild(), ::testing::ExitedWithCode(0), "hostile scribbler: passed");
}

// The death-test child of the test below: exits 0 after printing "host
// survived", or with a code naming what went wrong, or dies of a signal.
[[noreturn]] void PoisonedRequestAreasChild(int workers) {
  auto balancer = std::make_shared<Pinned>();
  weft::PoolOptions options = ProcOptions(workers, "hostile_worker");
  options.custom_balancer = balancer;
  auto pool = Pool::Create(options);
  if (!pool.ok()) {
    std::fprintf(stderr, "Create: %s\n", pool.status().ToString().c_str());
    std::_Exit(3);
  }
  auto stub = pool->stub();
  balancer->Set(0);
  auto p = stub.poison(weft::CallOptions{.timeout = absl::Seconds(5)}).Get();
  std::fprintf(stderr, "poison: %s\n", p.status().ToString().c_str());
  std::map<std::string, int> outcomes;
  std::map<std::string, std::string> examples;
  std::vector<kj::byte> payload(600, 0x5a);
  for (int round = 0; round < 4; ++round) {
    // Many at once, so that never-used slots are taken too.
    balancer->Set(0);
    std::vector<weft::Future<ProcTest::EchoResults>> window;
    for (int i = 0; i < 64; ++i) {
      window.push_back(stub.echo(capnp::Data::Reader(payload.data(), 8 + (i * 37) % 592),
                                 weft::CallOptions{.timeout = absl::Seconds(2)}));
    }
    std::vector<weft::Future<ProcTest::GetEnvResults>> texts;
    for (int i = 0; i < 16; ++i) {
      texts.push_back(stub.getEnv("HOME", weft::CallOptions{.timeout = absl::Seconds(2)}));
    }
    for (auto& f : window) {
      if (!f.WaitFor(absl::Seconds(10))) std::_Exit(4);
      auto r = f.Get();
      const std::string code = r.ok() ? "OK" : absl::StatusCodeToString(r.status().code());
      ++outcomes[code];
      examples.emplace(code, r.status().ToString());
    }
    for (auto& f : texts) {
      if (!f.WaitFor(absl::Seconds(10))) std::_Exit(4);
      auto r = f.Get();
      const std::string code = r.ok() ? "OK" : absl::StatusCodeToString(r.status().code());
      ++outcomes[code];
      examples.emplace(code, r.status().ToString());
    }
    if (workers > 1) {
      balancer->Set(1);
      auto h = stub.square(round).Get();
      if (!h.ok() || h->getResult() != round * round) std::_Exit(5);
    }
  }
  {
    std::ofstream report(TempDir() + "/poison_report.txt");
    report << "poison: " << p.status() << "\n";
    for (const auto& [code, n] : outcomes) {
      report << "outcome " << code << ": " << n << " (e.g. " << examples[code] << ")\n";
    }
  }
  std::fprintf(stderr, "host survived\n");
  std::fflush(stderr);
  std::_Exit(0);  // no pool destruction here: only the calls are under test
}

// A hostile worker fills the request areas of its region (where the host
// builds requests in place) with pointer-like words aimed gigabytes outside
// the segment. The host must not follow them: later calls to that worker
// fail or succeed, but the host neither crashes nor writes outside the
// region, and the other worker keeps serving. Run in a death-test child so
// that a host crash is reported as such instead of ending the suite.
class Poisoned : public ProcessTest, public ::testing::WithParamInterface<int> {};

TEST_P(Poisoned, HostileWorkerPoisoningRequestAreasCannotCrashTheHost) {
  // For debugging the host under gdb: WEFT_TEST_POISON_INLINE=1 runs the
  // child's body in this process.
  if (std::getenv("WEFT_TEST_POISON_INLINE") != nullptr) PoisonedRequestAreasChild(GetParam());
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  unlink((TempDir() + "/poison_report.txt").c_str());
  EXPECT_EXIT(PoisonedRequestAreasChild(GetParam()), ::testing::ExitedWithCode(0), "host survived");
  std::ifstream report(TempDir() + "/poison_report.txt");
  std::cout << "child's report:\n" << report.rdbuf() << std::endl;
}

INSTANTIATE_TEST_SUITE_P(Workers, Poisoned, ::testing::Values(1, 2));

// ------------------------------------------------------------ 5. host SIGKILLed

class HostKilled : public ProcessTest, public ::testing::WithParamInterface<weft::SharedMemory> {};

TEST_P(HostKilled, WorkersExitWithinThreeSeconds) {
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
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
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
  const absl::Time killed_at = absl::Now();
  int status = 0;
  ASSERT_EQ(waitpid(host, &status, 0), host);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

  for (pid_t w : workers) {
    const bool dead = PollUntil(
        [&] {
          return StateOf(w) != ProcState::kAlive &&
                 absl::Now() - killed_at <= absl::Seconds(3);
        },
        killed_at + absl::Seconds(3) - absl::Now());
    EXPECT_TRUE(dead) << "worker " << w << " of the SIGKILLed host is still "
                      << ToString(StateOf(w)) << " 3 s later";
    if (!dead) kill(w, SIGKILL);
  }
  std::cout << "both workers dead " << absl::FormatDuration(absl::Now() - killed_at)
            << " after the host's SIGKILL\n";
  // Reap them (they are ours now), bounded.
  for (pid_t w : workers) {
    PollUntil([&] { return waitpid(w, nullptr, WNOHANG) != 0; }, absl::Seconds(5));
  }
  const std::set<std::string> added = NewNames(shm_before_);
  EXPECT_TRUE(added.empty()) << "the dead host left /dev/shm names: " << Describe(added);
}

INSTANTIATE_TEST_SUITE_P(Modes, HostKilled,
                         ::testing::Values(weft::SharedMemory::kAnonymous, weft::SharedMemory::kNamed),
                         [](const auto& info) { return std::string(ModeName(info.param)); });

// ------------------------------------------------------------ 6, 7. Create failures

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
  EXPECT_NE(s.message().find('3'), std::string::npos) << "the status should name exit status 3: " << s;
  std::cout << "exit before ready: " << s << "\n";
}

INSTANTIATE_TEST_SUITE_P(Modes, CreateFails,
                         ::testing::Values(weft::SharedMemory::kAnonymous, weft::SharedMemory::kNamed),
                         [](const auto& info) { return std::string(ModeName(info.param)); });

// ------------------------------------------------------------ 8. named shared memory

bool MapsContain(pid_t pid, const std::string& needle) {
  std::ifstream maps(absl::StrCat("/proc/", pid, "/maps"));
  std::string line;
  while (std::getline(maps, line)) {
    if (line.find(needle) != std::string::npos) return true;
  }
  return false;
}

TEST_F(ProcessTest, NamedSharedMemoryIsUnlinkedOnceMapped) {
  std::set<pid_t> seen;
  {
    weft::PoolOptions options = ProcOptions(2, "proc_worker");
    options.shared_memory = weft::SharedMemory::kNamed;
    auto pool = Pool::Create(options);
    ASSERT_TRUE(pool.ok()) << pool.status();
    auto stub = pool->stub();
    for (const auto& w : pool->Stats().workers) {
      seen.insert(w.pid);
      EXPECT_TRUE(MapsContain(w.pid, "/dev/shm/weft")) << "worker " << w.pid
                                                        << " does not map a /dev/shm/weft-* region";
    }
    std::set<std::string> added = NewNames(shm_before_);
    EXPECT_TRUE(added.empty()) << "names still linked after Create returned: " << Describe(added);

    std::vector<kj::byte> payload(64 * 1024);
    for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<kj::byte>(i % 253);
    for (int i = 0; i < 100; ++i) {
      auto r = stub.square(i).Get();
      ASSERT_TRUE(r.ok()) << r.status();
      ASSERT_EQ(r->getResult(), int64_t{i} * i);
    }
    auto e = stub.echo(capnp::Data::Reader(payload.data(), payload.size())).Get();
    ASSERT_TRUE(e.ok()) << e.status();
    ASSERT_EQ(e->getData().size(), payload.size());
    EXPECT_EQ(std::memcmp(e->getData().begin(), payload.data(), payload.size()), 0);

    added = NewNames(shm_before_);
    EXPECT_TRUE(added.empty()) << "names linked while running: " << Describe(added);
    Watchdog wd("destroying the pool", absl::Seconds(30));
    pool = absl::UnavailableError("destroyed");
  }
  ExpectAllGone(seen, "after the pool was destroyed");
}

TEST_F(ProcessTest, NamedModeReplacementAlsoUnlinks) {
  std::set<pid_t> seen;
  {
    weft::PoolOptions options = ProcOptions(1, "proc_worker");
    options.shared_memory = weft::SharedMemory::kNamed;
    auto pool = Pool::Create(options);
    ASSERT_TRUE(pool.ok()) << pool.status();
    auto stub = pool->stub();
    const pid_t first = PidOf(stub);
    seen.insert(first);
    auto c = stub.crash();
    ASSERT_TRUE(c.WaitFor(absl::Seconds(5)));
    EXPECT_EQ(c.Get().status().code(), absl::StatusCode::kUnavailable);
    auto f = stub.pid();
    ASSERT_TRUE(f.WaitFor(absl::Seconds(30))) << "no replacement served within 30 s";
    auto r = f.Get();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_NE(r->getPid(), first);
    seen.insert(r->getPid());
    EXPECT_TRUE(MapsContain(r->getPid(), "/dev/shm/weft"));
    const std::set<std::string> added = NewNames(shm_before_);
    EXPECT_TRUE(added.empty()) << "names linked after a restart: " << Describe(added);
  }
  ExpectAllGone(seen, "after the pool was destroyed");
}

// ------------------------------------------------------------ 9. command_prefix

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

// ------------------------------------------------------------ 10. hard_timeout

TEST_F(ProcessTest, HardTimeoutKillsAStuckWorkerAndTheReplacementServes) {
  std::set<pid_t> seen;
  {
    weft::PoolOptions options = ProcOptions(1, "proc_worker");
    options.hard_timeout = absl::Milliseconds(200);
    auto pool = Pool::Create(options);
    ASSERT_TRUE(pool.ok()) << pool.status();
    auto stub = pool->stub();
    const pid_t stuck = PidOf(stub);
    seen.insert(stuck);

    const absl::Time t0 = absl::Now();
    auto spin = stub.spin(~0ull);  // no deadline of its own
    ASSERT_TRUE(spin.WaitFor(absl::Seconds(10))) << "hard_timeout never fired";
    const absl::Duration took = absl::Now() - t0;
    auto s = spin.Get();
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), absl::StatusCode::kDeadlineExceeded) << s.status();
    EXPECT_GE(took, absl::Milliseconds(190)) << "killed before hard_timeout";
    std::cout << "hard_timeout resolved the call after " << absl::FormatDuration(took) << ": "
              << s.status() << "\n";
    EXPECT_TRUE(PollUntil([&] { return StateOf(stuck) == ProcState::kGone; }, absl::Seconds(5)))
        << "the stuck worker " << stuck << " is " << ToString(StateOf(stuck));

    for (int i = 0; i < 50; ++i) {
      auto f = stub.pid();
      ASSERT_TRUE(f.WaitFor(absl::Seconds(30))) << "call " << i << " after the hard timeout hung";
      auto r = f.Get();
      ASSERT_TRUE(r.ok()) << "call " << i << ": " << r.status();
      EXPECT_NE(r->getPid(), stuck);
      seen.insert(r->getPid());
    }
    EXPECT_GE(pool->Stats().workers[0].restarts, 1u);
    EXPECT_EQ(pool->Stats().workers[0].slots_in_use, 0u);
    EXPECT_EQ(pool->Stats().abort_slots_in_use, 0u);
  }
  ExpectAllGone(seen, "after the pool was destroyed");
}

// A call queued behind the one that hits hard_timeout resolves either way
// (served by the replacement, or Unavailable) and never hangs.
TEST_F(ProcessTest, HardTimeoutCallQueuedBehindTheStuckCallResolves) {
  std::set<pid_t> seen;
  {
    weft::PoolOptions options = ProcOptions(1, "proc_worker");
    options.hard_timeout = absl::Milliseconds(200);
    auto pool = Pool::Create(options);
    ASSERT_TRUE(pool.ok()) << pool.status();
    auto stub = pool->stub();
    seen.insert(pool->Stats().workers[0].pid);
    auto spin = stub.spin(~0ull);
    auto behind = stub.square(5);
    ASSERT_TRUE(spin.WaitFor(absl::Seconds(10)));
    EXPECT_EQ(spin.Get().status().code(), absl::StatusCode::kDeadlineExceeded);
    ASSERT_TRUE(behind.WaitFor(absl::Seconds(30))) << "the queued call hung";
    auto r = behind.Get();
    EXPECT_TRUE((r.ok() && r->getResult() == 25) || r.status().code() == absl::StatusCode::kUnavailable)
        << r.status();
    std::cout << "call queued behind the stuck one: "
              << (r.ok() ? std::string("OK") : r.status().ToString()) << "\n";
    seen.insert(pool->Stats().workers[0].pid);
  }
  ExpectAllGone(seen, "after the pool was destroyed");
}

// ------------------------------------------------------------ 11. worker stdout

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
      const absl::Time deadline = absl::Now() + absl::Seconds(10);
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
  EXPECT_TRUE(found) << "host stdout did not show \"" << want << "\" within 10 s; captured:\n"
                     << captured;
  std::cout << "captured host stdout:\n" << captured;
  ExpectAllGone(seen, "after the pool was destroyed");
}

}  // namespace
}  // namespace weft_test
