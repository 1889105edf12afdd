#include "benchmarks/iceoryx_roudi.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "benchmarks/harness.h"
#include "kj/io.h"

namespace weft_bench {

const std::vector<std::string> kAppNames = {kServerName, kClientName};

namespace {

// RouDi's files besides its shared memory (see the top of the file).
constexpr char kRoudiLock[] = "/tmp/iox-unique-roudi.lock";
const std::vector<std::string> kRoudiFiles = {"/tmp/roudi", "/tmp/roudi.lock"};
constexpr char kManagementSegment[] = "/dev/shm/iceoryx_mgmt";

constexpr char kRoudiConfig[] = R"([general]
version = 1

[[segment]]

[[segment.mempool]]
size = 128
count = 1000

[[segment.mempool]]
size = 4096
count = 64

[[segment.mempool]]
size = 65536
count = 16

[[segment.mempool]]
size = 1048576
count = 8

[[segment.mempool]]
size = 4194304
count = 4

[[segment.mempool]]
size = 17825792
count = 4
)";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// RouDi's log as one line: colours, timestamps and the "Log level set to"
// line dropped, at most 1000 characters.
std::string OneLine(const std::string& log) {
  std::string out;
  std::istringstream lines(log);
  std::string line;
  while (std::getline(lines, line)) {
    std::string clean;
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '\x1b') {  // CSI ... m
        while (i < line.size() && line[i] != 'm') ++i;
        continue;
      }
      if (static_cast<unsigned char>(line[i]) >= 0x20) clean.push_back(line[i]);
    }
    // "2026-12-01 07:41:04.032 " (23 characters and a space).
    if (clean.size() > 24 && clean[4] == '-' && clean[10] == ' ' && clean[19] == '.') {
      clean.erase(0, 24);
    }
    while (!clean.empty() && clean.back() == ' ') clean.pop_back();
    if (clean.empty() || clean.rfind("Log level set to", 0) == 0) continue;
    out += (out.empty() ? "" : " / ") + clean;
  }
  if (out.size() > 1000) out = out.substr(0, 1000) + " ...";
  return out;
}

// "uid 0 (root)".
std::string Owner(uid_t uid) {
  const passwd* pw = getpwuid(uid);
  return "uid " + std::to_string(uid) +
         (pw != nullptr ? " (" + std::string(pw->pw_name) + ")" : "");
}

// The /dev/shm segment our RouDi config's [[segment]] gets: named after the
// group of the user running RouDi.
std::string OwnGroupSegment() {
  const group* gr = getgrgid(getegid());
  return "/dev/shm/" + (gr != nullptr ? std::string(gr->gr_name) : std::to_string(getegid()));
}

// The pids that /proc/locks shows holding a lock (flock, POSIX or OFD) on
// `path`; empty when it is not there or nobody holds it. A lock stays while
// some process has the file open, so an entry means a live holder.
std::vector<std::string> LockHolders(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return {};
  char id[64];
  std::snprintf(id, sizeof(id), "%02x:%02x:%lu", major(st.st_dev), minor(st.st_dev),
                static_cast<unsigned long>(st.st_ino));
  std::ifstream in("/proc/locks");
  std::vector<std::string> pids;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string word, previous;
    while (words >> word) {
      if (word == id) {
        pids.push_back(previous);
        break;
      }
      previous = word;
    }
  }
  return pids;
}

// Removes the files of a RouDi that no longer runs: the shared memory
// `segments` (/dev/shm paths), kRoudiFiles and kRoudiLock. Holds the lock
// (flock) meanwhile, as RouDi does, so that a RouDi starting meanwhile fails
// as if the old one still ran instead of losing its new files to us.
// Touches nothing while a live process holds the lock: a RouDi runs, maybe
// another user's, and these are its files.
Cleanup RemoveRoudiState(const std::vector<std::string>& segments) {
  Cleanup c;
  std::vector<std::string> paths = segments;
  paths.insert(paths.end(), kRoudiFiles.begin(), kRoudiFiles.end());
  const bool had_lock = Exists(kRoudiLock);
  bool any = had_lock;
  for (const std::string& p : paths) any = any || Exists(p);
  if (!any) return c;
  kj::AutoCloseFd lock(open(kRoudiLock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (lock.get() >= 0 ? flock(lock.get(), LOCK_EX | LOCK_NB) != 0
                      : !LockHolders(kRoudiLock).empty()) {
    const std::vector<std::string> pids = LockHolders(kRoudiLock);
    c.busy = "a RouDi is running (" +
             (pids.empty() ? std::string("a process") : "pid " + Join(pids)) + " holds " +
             kRoudiLock + ")";
    return c;
  }
  for (const std::string& p : paths) c.Remove(p);
  if (had_lock) {
    c.Remove(kRoudiLock);
  } else {
    unlink(kRoudiLock);  // we made it just now
  }
  return c;
}

// RouDi runs under a keeper process: RouDi, when stopped, sends SIGTERM to
// every process still registered with it, and this process stays registered
// until its PoshRuntime is destroyed at exit. So the keeper starts RouDi,
// waits until this process closes its end of a pipe (at exit, after the
// runtime is gone: see StopRoudi; or when it dies), and only then stops
// RouDi, removes what RouDi and the apps left, and the temporary directory.
kj::AutoCloseFd keeper_pipe;  // write end; closing it stops RouDi
pid_t keeper = -1;
// Written to keeper_pipe before the server and client start: from then on
// their files are this run's to remove.
constexpr char kAppsStarting = 'a';

void StopRoudi() {
  keeper_pipe = nullptr;
  if (keeper > 0) waitpid(keeper, nullptr, 0);
  keeper = -1;
}

// The /dev/shm paths RouDi's log says it reserved.
std::vector<std::string> ReservedSegments(const std::string& log) {
  std::vector<std::string> out;
  const std::string marker = "in the shared memory [";
  for (size_t at = log.find(marker); at != std::string::npos; at = log.find(marker, at)) {
    at += marker.size();
    const size_t end = log.find(']', at);
    if (end == std::string::npos) break;
    const std::string name = log.substr(at, end - at);
    if (!name.empty() && name.find('/') == std::string::npos) out.push_back("/dev/shm/" + name);
  }
  return out;
}

[[noreturn]] void KeepRoudi(int pipe_read, const std::string& dir, const std::string& roudi_bin) {
  const std::string config = dir + "/roudi.toml";
  const std::string log = dir + "/roudi.log";
  const pid_t roudi = fork();
  if (roudi == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) signal(sig, SIG_DFL);
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    dup2(fd, 1);
    dup2(fd, 2);
    execlp(roudi_bin.c_str(), roudi_bin.c_str(), "-c", config.c_str(), "-l", "info", nullptr);
    std::fprintf(stderr, "cannot run %s: %s\n", roudi_bin.c_str(), std::strerror(errno));
    _exit(127);
  }
  // A Ctrl-C (SIGINT to the whole process group) or a SIGTERM stops the
  // benchmark; the keeper stays to clean up after it, which its pipe's EOF
  // tells it to.
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) signal(sig, SIG_IGN);
  bool roudi_alive = roudi > 0;
  bool apps_started = false;
  int status = 0;
  for (;;) {
    pollfd p{pipe_read, POLLIN, 0};
    const int n = poll(&p, 1, 100);
    if (n > 0) {
      char c;
      if (read(pipe_read, &c, 1) <= 0) break;  // EOF: the benchmark is done
      if (c == kAppsStarting) apps_started = true;
    }
    if (roudi_alive && waitpid(roudi, &status, WNOHANG) == roudi) {
      roudi_alive = false;
      std::ofstream(log, std::ios::app) << "\n(iox-roudi exited)\n";
    }
  }
  const std::string text = ReadFile(log);
  // Reserving shared memory comes after RouDi took kRoudiLock: from then on
  // RouDi's files, and the apps' (which start only once it is ready), are
  // this run's.
  const bool ours = text.find("RouDi is ready for clients") != std::string::npos ||
                    text.find("Reserving shared memory successful") != std::string::npos;
  std::vector<std::string> removed, left;
  if (ours && apps_started) {
    // While our RouDi still holds kRoudiLock, no other run's apps can have
    // these names. (The server is gone or dying: it was killed with us.)
    for (const std::string& app : kAppNames) {
      Cleanup c = RemoveAppFiles(app, 2'000'000'000ull);
      removed.insert(removed.end(), c.removed.begin(), c.removed.end());
      left.insert(left.end(), c.left.begin(), c.left.end());
      if (!c.busy.empty()) left.push_back(c.busy);
    }
  }
  std::string how = "stopped cleanly";
  if (roudi_alive) {
    kill(roudi, SIGTERM);
    const uint64_t give_up = MonotonicNanos() + 10'000'000'000ull;
    while (waitpid(roudi, &status, WNOHANG) == 0) {
      if (MonotonicNanos() > give_up) {
        kill(roudi, SIGKILL);
        waitpid(roudi, &status, 0);
        how = "did not stop within 10 s of SIGTERM and was killed";
        break;
      }
      SpinFor(10'000'000);
    }
  }
  if (how == "stopped cleanly" && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
    how = DescribeStatus(status);
  }
  if (ours) {
    std::vector<std::string> segments = ReservedSegments(text);
    if (segments.empty()) segments = {kManagementSegment, OwnGroupSegment()};
    Cleanup c = RemoveRoudiState(segments);
    removed.insert(removed.end(), c.removed.begin(), c.removed.end());
    left.insert(left.end(), c.left.begin(), c.left.end());
    if (!c.busy.empty()) left.push_back("RouDi's files not removed: " + c.busy);
  }
  if (!removed.empty()) {
    Note("iox-roudi " + how + "; removed what this run's RouDi and apps left: " + Join(removed));
  }
  if (!left.empty()) Note("could not remove: " + Join(left, "; "));
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);  // the config and the log
  _exit(0);
}

// Starts RouDi under a keeper and waits until it is ready. Empty when it is,
// else why not.
std::string StartRoudi() {
  char dir_template[] = "/tmp/weft-bench-iox-XXXXXX";
  if (mkdtemp(dir_template) == nullptr) return std::string("mkdtemp: ") + std::strerror(errno);
  const std::string dir = dir_template;
  const std::string log = dir + "/roudi.log";
  std::ofstream(dir + "/roudi.toml") << kRoudiConfig;
  const char* roudi_bin = std::getenv("WEFT_BENCH_IOX_ROUDI");
  const std::string bin = roudi_bin != nullptr && *roudi_bin != '\0' ? roudi_bin : "iox-roudi";
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
    return std::string("pipe: ") + std::strerror(errno);
  }
  kj::AutoCloseFd read_end(fds[0]);
  keeper_pipe = kj::AutoCloseFd(fds[1]);
  // Registered before the PoshRuntime exists, so it runs after the
  // runtime's destructor has deregistered this process.
  static const bool registered = std::atexit(StopRoudi) == 0;
  (void)registered;
  std::fflush(nullptr);  // nothing buffered twice
  keeper = fork();
  if (keeper == 0) {
    keeper_pipe = nullptr;
    KeepRoudi(read_end, dir, bin);
  }
  read_end = nullptr;
  const uint64_t give_up = MonotonicNanos() + kStartTimeoutNs;
  for (;;) {
    const std::string text = ReadFile(log);
    if (text.find("RouDi is ready for clients") != std::string::npos) return "";
    if (text.find("(iox-roudi exited)") != std::string::npos) {
      StopRoudi();
      const std::string said = OneLine(text.substr(0, text.find("(iox-roudi exited)")));
      return said.empty() ? bin + " exited without a word" : said;
    }
    if (MonotonicNanos() > give_up) {
      StopRoudi();
      return bin + " did not become ready within 30 s: " + OneLine(text);
    }
    SpinFor(5'000'000);
  }
}

}  // namespace

void Note(const std::string& what) { std::fprintf(stderr, "NOTE: iceoryx: %s\n", what.c_str()); }

std::string Join(const std::vector<std::string>& parts, const char* separator) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : separator) + p;
  return out;
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

std::string DescribeStatus(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  }
  return "stopped";
}

void Cleanup::Remove(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return;
  if (unlink(path.c_str()) == 0) {
    removed.push_back(path);
  } else {
    left.push_back(path + " (" + Owner(st.st_uid) + "): " + std::strerror(errno));
    left_paths.push_back(path);
  }
}

Cleanup RemoveAppFiles(const std::string& name, uint64_t wait_ns) {
  Cleanup c;
  const std::string lock = "/tmp/" + name + ".lock";
  const uint64_t give_up = MonotonicNanos() + wait_ns;
  std::vector<std::string> pids;
  while (!(pids = LockHolders(lock)).empty() && MonotonicNanos() < give_up) SpinFor(10'000'000);
  if (!pids.empty()) {
    c.busy = "pid " + Join(pids) + " holds " + lock;
    return c;
  }
  c.Remove("/tmp/" + name);
  c.Remove(lock);
  return c;
}

// Starts RouDi; when it cannot start and stale RouDi files of an earlier
// run, which no live process holds, are there, removes them and tries once
// more. Empty when RouDi is up, else why not.
std::string StartRoudiWithRetry() {
  const std::string first = StartRoudi();
  if (first.empty()) return "";
  // RouDi 2.0.3: "Could not acquire lock, is RouDi still running?"
  const std::vector<std::string> pids = LockHolders(kRoudiLock);
  if (!pids.empty() && first.find("Could not acquire lock") != std::string::npos) {
    return "iox-roudi could not start: another RouDi is running (pid " + Join(pids) + " holds " +
           kRoudiLock + "): " + first;
  }
  // The stale files RouDi's complaint names.
  const std::vector<std::string> segments = {kManagementSegment, OwnGroupSegment()};
  std::vector<std::string> in_the_way;
  for (const std::string& p : segments) {
    const std::string name = p.substr(p.rfind('/') + 1);
    if (Exists(p) && (first.find("name = " + name + ",") != std::string::npos ||
                      first.find("[" + name + "]") != std::string::npos)) {
      in_the_way.push_back(p);
    }
  }
  for (const std::string& p : kRoudiFiles) {
    if (Exists(p) && first.find(p) != std::string::npos) in_the_way.push_back(p);
  }
  if (Exists(kRoudiLock) && (first.find(kRoudiLock) != std::string::npos ||
                             first.find("lock named iox-unique-roudi") != std::string::npos)) {
    in_the_way.push_back(kRoudiLock);
  }
  if (in_the_way.empty()) {
    return "iox-roudi could not start: " + first;
  }
  // No live process holds kRoudiLock: every RouDi file is stale.
  const Cleanup c = RemoveRoudiState(segments);
  if (!c.busy.empty()) {
    return "iox-roudi could not start: " + c.busy + ": " + first;
  }
  if (!c.left.empty()) {
    return "iox-roudi could not start: the stale RouDi files of an earlier run (no "
           "live process holds them) are in the way and not ours (" +
           Owner(geteuid()) + ") to remove: " + Join(c.left, "; ") + "; as root: rm -f " +
           Join(c.left_paths, " ") + "; iox-roudi said: " + first;
  }
  Note("iox-roudi could not start (" + first +
       "); removed the stale RouDi files of an earlier run, which no live process held: " +
       Join(c.removed) + "; starting it once more");
  const std::string second = StartRoudi();
  if (second.empty()) {
    Note("iox-roudi started on the second try");
    return "";
  }
  return "iox-roudi could not start, also not after removing the stale RouDi files of "
         "an earlier run (" +
         Join(c.removed) + "): " + second;
}

std::string RemoveStaleAppFiles() {
  for (const std::string& app : kAppNames) {
    if (!Exists("/tmp/" + app + ".lock") && !Exists("/tmp/" + app)) {
      continue;
    }
    const Cleanup c = RemoveAppFiles(app, 0);
    if (!c.busy.empty()) {
      return "the iceoryx app name " + app + " is in use: " + c.busy;
    }
    if (!c.removed.empty()) {
      Note("removed the files of an earlier run's " + app +
           " (no live process held them): " + Join(c.removed));
    }
    if (!c.left.empty()) {
      return "an earlier run's " + app +
             " files, which no live process holds, are not ours to remove: " + Join(c.left, "; ") +
             "; as root: rm -f " + Join(c.left_paths, " ");
    }
  }
  return "";
}

bool TellKeeperAppsStarting() { return write(keeper_pipe.get(), &kAppsStarting, 1) == 1; }

void ForgetKeeper() { keeper_pipe = nullptr; }

}  // namespace weft_bench
