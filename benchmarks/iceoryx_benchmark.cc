// iceoryx 2.0 request/response (Debian's 2.0.3), busy polling on both sides.
//
//   BM_IceoryxEcho         an 8-byte request (the int64), an 8-byte response
//   BM_IceoryxPayload/B    a B-byte request the host fills with memcpy (as the
//                          weft stub copies the Data param into shared
//                          memory); the server reads every byte and answers
//                          with the 8-byte checksum
//
// The suite starts its own RouDi (`iox-roudi -c <config>` with mempools up
// to 17 MiB) before the first benchmark and stops it afterwards. If RouDi
// cannot start here (not installed, or another RouDi already runs), every row
// is skipped with the reason. The server is a forked process pinned to
// --worker_cpu that polls UntypedServer::take() in a loop; the host polls
// UntypedClient::take() for the response.
//
// What iceoryx 2.0.3 makes (seen with strace, and by listing /dev/shm and
// /tmp before and after a run):
//   RouDi     /tmp/iox-unique-roudi.lock  flock'd while a RouDi runs: one
//                                         RouDi per machine, of any user
//             /tmp/roudi.lock, /tmp/roudi (its unix socket)
//             /dev/shm/iceoryx_mgmt, and one /dev/shm/<group> per
//             [[segment]] (ours: the group of the user running RouDi); its
//             log names each: "Reserving N bytes in the shared memory [NAME]"
//   each app  /tmp/<name>.lock (flock'd while it runs), /tmp/<name> (socket)
// About 160 MB of shared memory and root-owned (mode 0600) lock files that
// a later RouDi of another user cannot open. RouDi removes its own when it
// stops cleanly, an app's runtime its own when destroyed; but RouDi 2.0.3,
// stopped while an app that has exited is still registered, aborts
// (kill(pid, SIGTERM) fails with ESRCH) and leaves everything. So the
// server deregisters before it exits (ServerRuntime), the keeper stops
// RouDi with SIGTERM (SIGKILL after 10 s) and then removes whatever this
// run's RouDi and apps left (RemoveRoudiState, RemoveAppFiles), and a start
// that fails on the stale files of an earlier run removes those that no
// live process holds and tries once more. Each removal is reported on
// stderr as a "NOTE: " line, which compare copies into summary.md.
//
// WEFT_BENCH_IOX_ROUDI, if set, is the RouDi to run instead of iox-roudi
// (benchmarks:report_test uses one that cannot start).
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "benchmarks/harness.h"
#include "iceoryx_posh/internal/runtime/posh_runtime_impl.hpp"
#include "iceoryx_posh/mepoo/chunk_header.hpp"
#include "iceoryx_posh/popo/rpc_header.hpp"
#include "iceoryx_posh/popo/untyped_client.hpp"
#include "iceoryx_posh/popo/untyped_server.hpp"
#include "iceoryx_posh/runtime/posh_runtime.hpp"
#include "kj/io.h"

namespace weft_bench {
namespace {

const iox::capro::ServiceDescription kService{"WeftBench", "Bench", "Call"};
constexpr char kServerName[] = "weft-bench-iox-server";
constexpr char kClientName[] = "weft-bench-iox-client";

// RouDi's files besides its shared memory (see the top of the file).
constexpr char kRoudiLock[] = "/tmp/iox-unique-roudi.lock";
const std::vector<std::string> kRoudiFiles = {"/tmp/roudi", "/tmp/roudi.lock"};
constexpr char kManagementSegment[] = "/dev/shm/iceoryx_mgmt";
// How long RouDi may take to be ready, and the client to connect: ~0.3 s
// alone, but RouDi fills ~160 MB of shared memory, and on this project's
// 2-vCPU machines shared by several builds that took over 10 s.
constexpr uint64_t kStartTimeoutNs = 30'000'000'000ull;

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

void Note(const std::string& what) { std::fprintf(stderr, "NOTE: iceoryx: %s\n", what.c_str()); }

std::string Join(const std::vector<std::string>& parts, const char* separator = ", ") {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : separator) + p;
  return out;
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

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

// What a cleanup removed and what it could not.
struct Cleanup {
  std::vector<std::string> removed;
  std::vector<std::string> left;  // "path (uid N (name)): why"
  std::vector<std::string> left_paths;
  std::string busy;  // non-empty: someone holds the lock, nothing touched

  void Remove(const std::string& path) {
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) return;
    if (unlink(path.c_str()) == 0) {
      removed.push_back(path);
    } else {
      left.push_back(path + " (" + Owner(st.st_uid) + "): " + std::strerror(errno));
      left_paths.push_back(path);
    }
  }
};

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

// Removes the lock file and socket of the iceoryx app `name` unless a live
// process holds the lock (waits up to `wait_ns` for it to go).
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

// The server process's PoshRuntime. iceoryx's default one is a
// function-local static, destroyed only by exit(), which in a forked child
// would also run the parent's atexit handlers and flush its stdio buffers;
// this one the server deletes before _exit, so that it deregisters from
// RouDi (and removes /tmp/weft-bench-iox-server and its .lock). An exited
// server left registered makes RouDi abort when it stops (see the top).
class ServerRuntime : public iox::runtime::PoshRuntimeImpl {
 public:
  explicit ServerRuntime(iox::cxx::optional<const iox::RuntimeName_t*> name)
      : PoshRuntimeImpl(name) {}

  // initRuntime and getInstance return this one from now on.
  static void Install() { setRuntimeFactory(Factory); }
  static void Destroy() {
    delete instance_;
    instance_ = nullptr;
  }

 private:
  static iox::runtime::PoshRuntime& Factory(iox::cxx::optional<const iox::RuntimeName_t*> name) {
    if (instance_ == nullptr) instance_ = new ServerRuntime(name);
    return *instance_;
  }
  static inline ServerRuntime* instance_ = nullptr;
};

// The server: answers an 8-byte request with itself (echo), any other with
// the checksum of its bytes. Returns the exit status.
int Serve(const std::atomic<uint32_t>* stop) {
  iox::popo::UntypedServer server(kService);
  // Relaxed: the stop flag needs no ordering; the loop only exits.
  while (stop->load(std::memory_order_relaxed) == 0) {
    auto request = server.take();
    if (request.has_error()) {
      CpuRelax();
      continue;
    }
    const void* payload = request.value();
    const uint32_t size = iox::mepoo::ChunkHeader::fromUserPayload(payload)->userPayloadSize();
    uint64_t answer;
    if (size == sizeof(int64_t)) {
      std::memcpy(&answer, payload, sizeof(answer));
    } else {
      answer = Checksum(payload, size);
    }
    auto response = server.loan(iox::popo::RequestHeader::fromPayload(payload), sizeof(answer),
                                alignof(uint64_t));
    if (response.has_error()) return 4;
    std::memcpy(response.value(), &answer, sizeof(answer));
    if (server.send(response.value()).has_error()) return 5;
    server.releaseRequest(payload);
  }
  return 0;
}

[[noreturn]] void ServeForever(const std::atomic<uint32_t>* stop, int cpu) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (!PinThisThread(cpu)) _exit(3);
  ServerRuntime::Install();
  iox::runtime::PoshRuntime::initRuntime(kServerName);
  const int status = Serve(stop);
  ServerRuntime::Destroy();  // deregisters
  _exit(status);
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

std::string DescribeStatus(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  }
  return "stopped";
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
    for (const char* app : {kServerName, kClientName}) {
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

// RouDi, the server process and this process's client, started on first use.
class Environment {
 public:
  // Why the rows are skipped, empty when up.
  const std::string& unavailable() const { return unavailable_; }
  iox::popo::UntypedClient& client() { return *client_; }

  explicit Environment(const Options& options) {
    if (!StartWithRetry()) return;
    // An earlier run's app files, if no live process holds them, are in the
    // way only when another user's (then not ours to remove: say so).
    for (const char* app : {kServerName, kClientName}) {
      if (!Exists("/tmp/" + std::string(app) + ".lock") && !Exists("/tmp/" + std::string(app))) {
        continue;
      }
      const Cleanup c = RemoveAppFiles(app, 0);
      if (!c.busy.empty()) {
        unavailable_ = "the iceoryx app name " + std::string(app) + " is in use: " + c.busy;
        return;
      }
      if (!c.removed.empty()) {
        Note("removed the files of an earlier run's " + std::string(app) +
             " (no live process held them): " + Join(c.removed));
      }
      if (!c.left.empty()) {
        unavailable_ =
            "an earlier run's " + std::string(app) +
            " files, which no live process holds, are not ours to remove: " + Join(c.left, "; ") +
            "; as root: rm -f " + Join(c.left_paths, " ");
        return;
      }
    }
    stop_ = static_cast<std::atomic<uint32_t>*>(
        mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    new (stop_) std::atomic<uint32_t>(0);
    if (write(keeper_pipe.get(), &kAppsStarting, 1) != 1) {
      unavailable_ = std::string("cannot tell the RouDi keeper: ") + std::strerror(errno);
      return;
    }
    std::fflush(nullptr);
    server_ = fork();
    if (server_ == 0) {
      keeper_pipe = nullptr;
      ServeForever(stop_, options.worker_cpu);
    }
    iox::runtime::PoshRuntime::initRuntime(kClientName);
    client_.emplace(kService);
    const uint64_t give_up = MonotonicNanos() + kStartTimeoutNs;
    while (client_->getConnectionState() != iox::ConnectionState::CONNECTED) {
      int status = 0;
      if (waitpid(server_, &status, WNOHANG) == server_) {
        server_ = -1;
        unavailable_ = "the iceoryx server process " + DescribeStatus(status) +
                       " before it connected (its output is in this suite's log)";
        return;
      }
      if (MonotonicNanos() > give_up) {
        unavailable_ = "the iceoryx client did not connect to the server within 30 s";
        return;
      }
      SpinFor(1'000'000);
    }
  }

  // Stops the server; RouDi stops at exit (StopRoudi).
  ~Environment() {
    client_.reset();
    if (server_ > 0) {
      stop_->store(1, std::memory_order_relaxed);
      const uint64_t give_up = MonotonicNanos() + 10'000'000'000ull;
      while (waitpid(server_, nullptr, WNOHANG) == 0) {
        if (MonotonicNanos() > give_up) {
          kill(server_, SIGKILL);
          waitpid(server_, nullptr, 0);
          break;
        }
        SpinFor(1'000'000);
      }
    }
  }

 private:
  // Starts RouDi; when it cannot start and stale RouDi files of an earlier
  // run, which no live process holds, are there, removes them and tries once
  // more. False (with unavailable_ set) when RouDi is not up.
  bool StartWithRetry() {
    const std::string first = StartRoudi();
    if (first.empty()) return true;
    // RouDi 2.0.3: "Could not acquire lock, is RouDi still running?"
    const std::vector<std::string> pids = LockHolders(kRoudiLock);
    if (!pids.empty() && first.find("Could not acquire lock") != std::string::npos) {
      unavailable_ = "iox-roudi could not start: another RouDi is running (pid " + Join(pids) +
                     " holds " + kRoudiLock + "): " + first;
      return false;
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
      unavailable_ = "iox-roudi could not start: " + first;
      return false;
    }
    // No live process holds kRoudiLock: every RouDi file is stale.
    const Cleanup c = RemoveRoudiState(segments);
    if (!c.busy.empty()) {
      unavailable_ = "iox-roudi could not start: " + c.busy + ": " + first;
      return false;
    }
    if (!c.left.empty()) {
      unavailable_ =
          "iox-roudi could not start: the stale RouDi files of an earlier run (no "
          "live process holds them) are in the way and not ours (" +
          Owner(geteuid()) + ") to remove: " + Join(c.left, "; ") + "; as root: rm -f " +
          Join(c.left_paths, " ") + "; iox-roudi said: " + first;
      return false;
    }
    Note("iox-roudi could not start (" + first +
         "); removed the stale RouDi files of an earlier run, which no live process held: " +
         Join(c.removed) + "; starting it once more");
    const std::string second = StartRoudi();
    if (second.empty()) {
      Note("iox-roudi started on the second try");
      return true;
    }
    unavailable_ =
        "iox-roudi could not start, also not after removing the stale RouDi files of "
        "an earlier run (" +
        Join(c.removed) + "): " + second;
    return false;
  }

  std::string unavailable_;
  pid_t server_ = -1;
  std::atomic<uint32_t>* stop_ = nullptr;
  std::optional<iox::popo::UntypedClient> client_;
};

Environment* env = nullptr;  // owned by the AtSuiteEnd hook

Environment* GetEnvironment(const Options& options) {
  if (env == nullptr) {
    env = new Environment(options);
    AtSuiteEnd([] {
      delete env;
      env = nullptr;
    });
  }
  return env;
}

// One request/response; false on an iceoryx error.
bool Call(iox::popo::UntypedClient& client, const void* data, uint32_t size, uint64_t* answer) {
  auto request = client.loan(size, alignof(uint64_t));
  if (request.has_error()) return false;
  std::memcpy(request.value(), data, size);
  if (client.send(request.value()).has_error()) return false;
  const uint64_t give_up = MonotonicNanos() + 10'000'000'000ull;
  for (uint64_t polls = 1;; ++polls) {
    if (polls % 65536 == 0 && MonotonicNanos() > give_up) return false;
    auto response = client.take();
    if (!response.has_error()) {
      std::memcpy(answer, response.value(), sizeof(*answer));
      client.releaseResponse(response.value());
      return true;
    }
    CpuRelax();
  }
}

void BM_IceoryxEcho(benchmark::State& state, Options options) {
  Environment* e = GetEnvironment(options);
  if (!e->unavailable().empty()) return Skip(state, e->unavailable());
  LatencyRecorder rec;
  int64_t v = 0;
  rec.Begin();
  for (auto _ : state) {
    const uint64_t t0 = Ticks();
    uint64_t back = 0;
    if (!Call(e->client(), &v, sizeof(v), &back)) return Fail(state, "iceoryx call failed");
    if (static_cast<int64_t>(back) != v) return Fail(state, "wrong echo");
    rec.Add(Ticks() - t0);
    ++v;
  }
  rec.End();
  rec.Report(state);
}

void BM_IceoryxPayload(benchmark::State& state, Options options) {
  Environment* e = GetEnvironment(options);
  if (!e->unavailable().empty()) return Skip(state, e->unavailable());
  const size_t size = static_cast<size_t>(state.range(0));
  const std::vector<unsigned char> payload = MakePayload(size);
  const uint64_t expected = Checksum(payload.data(), payload.size());
  LatencyRecorder rec;
  rec.Begin();
  for (auto _ : state) {
    const uint64_t t0 = Ticks();
    uint64_t sum = 0;
    if (!Call(e->client(), payload.data(), static_cast<uint32_t>(size), &sum)) {
      return Fail(state, "iceoryx call failed");
    }
    if (sum != expected) return Fail(state, "wrong checksum");
    rec.Add(Ticks() - t0);
  }
  rec.End();
  rec.Report(state);
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(size));
}

}  // namespace

void RegisterSuite(const Options& options) {
  RunLength(benchmark::RegisterBenchmark("BM_IceoryxEcho", BM_IceoryxEcho, options), options, 100);
  for (int64_t size : PayloadSizes(options)) {
    RunLength(
        benchmark::RegisterBenchmark("BM_IceoryxPayload", BM_IceoryxPayload, options)->Arg(size),
        options, 3);
  }
}

}  // namespace weft_bench
