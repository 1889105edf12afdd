// weft-top against real processes: a live pool in a child process (the
// observability example, thread and process workers) seen with --once and
// --json, and the processes it must refuse with a clear message: one with
// no pool, one that is gone, and another user's.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/watchdog.h"

namespace {

std::string Runfile(const std::string& path) {
  return absl::StrCat(std::getenv("TEST_SRCDIR"), "/", std::getenv("TEST_WORKSPACE"), "/", path);
}

struct Outcome {
  int exit_code = -1;
  std::string out, err;
};

std::string ReadAll(int fd) {
  std::string text;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof(buffer))) > 0) text.append(buffer, static_cast<size_t>(n));
  return text;
}

// Runs `argv` to completion; `as_uid` >= 0 drops to that uid (and gid) first.
Outcome RunCommand(const std::vector<std::string>& argv, int as_uid = -1) {
  int out[2], err[2];
  if (pipe(out) != 0 || pipe(err) != 0) return {};
  const pid_t child = fork();
  if (child == 0) {
    dup2(out[1], 1);
    dup2(err[1], 2);
    close(out[0]);
    close(err[0]);
    if (as_uid >= 0 && (setgid(as_uid) != 0 || setuid(as_uid) != 0)) _exit(126);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  Outcome run;
  run.err = ReadAll(err[0]);  // weft-top writes little to stderr: no deadlock
  run.out = ReadAll(out[0]);
  close(out[0]);
  close(err[0]);
  int status = 0;
  waitpid(child, &status, 0);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return run;
}

// The observability example in a child process, until destroyed.
class LivePool {
 public:
  explicit LivePool(bool process) {
    int out[2];
    if (pipe(out) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      close(out[0]);
      const std::string binary = Runfile("examples/observability/observability");
      execl(binary.c_str(), binary.c_str(), "--seconds=300", process ? "--process" : "--noprocess",
            static_cast<char*>(nullptr));
      _exit(127);
    }
    close(out[1]);
    out_ = out[0];
    // Its first line says it runs (the pool started): "...: pid N (...)".
    std::string line;
    char c;
    while (read(out_, &c, 1) == 1 && c != '\n') line += c;
    started_ = absl::StrContains(line, absl::StrCat("pid ", pid_));
  }
  ~LivePool() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) close(out_);
  }
  pid_t pid() const { return pid_; }
  bool started() const { return started_; }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  bool started_ = false;
};

std::string WeftTop() { return Runfile("tools/weft-top"); }

// Polls weft-top --json until every worker shows calls (the example calls
// from its first moment; only a hang makes this spin).
nlohmann::json JsonWithCalls(pid_t pid) {
  weft_test::Watchdog dog("weft-top --json shows calls on every worker", weft_test::kHangBound);
  for (;;) {
    const Outcome run =
        RunCommand({WeftTop(), absl::StrCat("--pid=", pid), "--json", "--interval_ms=50"});
    EXPECT_EQ(run.exit_code, 0) << run.err;
    nlohmann::json j = nlohmann::json::parse(run.out, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
      ADD_FAILURE() << "not JSON: " << run.out;
      return j;
    }
    bool all = !j["workers"].empty();
    for (const auto& w : j["workers"]) all = all && w["calls"].get<uint64_t>() > 0;
    if (all) return j;
  }
}

TEST(WeftTop, OnceAndJsonShowAThreadPoolsWorkersAndCalls) {
  LivePool pool(/*process=*/false);
  ASSERT_TRUE(pool.started());
  const nlohmann::json j = JsonWithCalls(pool.pid());
  EXPECT_EQ(j["pid"], pool.pid());
  EXPECT_EQ(j["interface"], "observability::Load");
  EXPECT_EQ(j["workers"].size(), 2u);
  std::vector<std::string> methods;
  for (const auto& m : j["methods"]) methods.push_back(m["name"]);
  EXPECT_EQ(methods.size(), 3u);
  for (const auto& m : j["methods"]) {
    if (m["name"] == "fast") {
      EXPECT_GT(m["calls"].get<uint64_t>(), 0u);
    }
  }

  const Outcome once =
      RunCommand({WeftTop(), absl::StrCat("--pid=", pool.pid()), "--once", "--interval_ms=50"});
  ASSERT_EQ(once.exit_code, 0) << once.err;
  EXPECT_TRUE(absl::StrContains(once.out, "observability::Load")) << once.out;
  EXPECT_TRUE(absl::StrContains(once.out, "WORKER")) << once.out;
  EXPECT_TRUE(absl::StrContains(once.out, "fast")) << once.out;
  EXPECT_TRUE(absl::StrContains(once.out, "flaky")) << once.out;
}

TEST(WeftTop, JsonShowsEachProcessWorkersPid) {
  LivePool pool(/*process=*/true);
  ASSERT_TRUE(pool.started());
  const nlohmann::json j = JsonWithCalls(pool.pid());
  ASSERT_EQ(j["workers"].size(), 2u);
  for (const auto& w : j["workers"]) {
    const int pid = w["pid"];
    ASSERT_GT(pid, 0);
    // The worker is a child of the pool's process.
    std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const size_t paren = text.rfind(')');
    ASSERT_NE(paren, std::string::npos) << "worker pid " << pid << " is not a process";
    int ppid = 0;
    char state;
    ASSERT_EQ(std::sscanf(text.c_str() + paren + 1, " %c %d", &state, &ppid), 2);
    EXPECT_EQ(ppid, pool.pid());
    EXPECT_EQ(w["state"].get<std::string>().substr(0, 2) == "up" || w["state"] == "sleep", true)
        << w.dump();
  }
}

TEST(WeftTop, AProcessWithoutAPoolIsRefusedClearly) {
  const Outcome run = RunCommand({WeftTop(), absl::StrCat("--pid=", getpid()), "--once"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(run.err, "has no weft pool")) << run.err;
}

TEST(WeftTop, AProcessThatIsGoneIsRefusedClearly) {
  const pid_t child = fork();
  if (child == 0) _exit(0);
  waitpid(child, nullptr, 0);  // reaped: the pid names nothing now
  const Outcome run = RunCommand({WeftTop(), absl::StrCat("--pid=", child), "--json"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(run.err, absl::StrCat("no process ", child))) << run.err;
  const Outcome none = RunCommand({WeftTop(), "--once"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(none.err, "--pid")) << none.err;
}

TEST(WeftTop, AnotherUsersProcessIsRefusedClearly) {
  if (geteuid() != 0) {
    GTEST_SKIP() << "needs root to run weft-top as another user (CI runs as root)";
  }
  // Root inside a user namespace (a sandbox) may have no uid 65534 to become.
  const pid_t probe = fork();
  if (probe == 0) _exit(setgid(65534) == 0 && setuid(65534) == 0 ? 0 : 1);
  int probe_status = 0;
  waitpid(probe, &probe_status, 0);
  if (!WIFEXITED(probe_status) || WEXITSTATUS(probe_status) != 0) {
    GTEST_SKIP() << "this root cannot become uid 65534 (a user namespace); the test's BUILD "
                    "rule runs it outside the sandbox for that";
  }
  LivePool pool(/*process=*/false);
  ASSERT_TRUE(pool.started());
  // As nobody (65534), from a copy it may execute (the runfiles are under
  // root's home).
  char dir[] = "/tmp/weft_top_test.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string copy = absl::StrCat(dir, "/weft-top");
  {
    std::ifstream in(WeftTop(), std::ios::binary);
    std::ofstream out(copy, std::ios::binary);
    out << in.rdbuf();
  }
  ASSERT_EQ(chmod(dir, 0755), 0);
  ASSERT_EQ(chmod(copy.c_str(), 0755), 0);
  const Outcome run = RunCommand({copy, absl::StrCat("--pid=", pool.pid()), "--once"}, 65534);
  unlink(copy.c_str());
  rmdir(dir);
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_TRUE(absl::StrContains(run.err, "may not read the open files of process")) << run.err;
  EXPECT_TRUE(absl::StrContains(run.err, "run weft-top as the same user")) << run.err;
}

}  // namespace
