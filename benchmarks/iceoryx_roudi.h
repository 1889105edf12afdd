// RouDi for the iceoryx suite, and what iceoryx leaves behind.
//
// The suite starts its own RouDi (`iox-roudi -c <config>` with mempools up
// to 17 MiB) before the first benchmark and stops it afterwards
// (StartRoudiWithRetry). If RouDi cannot start here (not installed, or
// another RouDi already runs), every row is skipped with the reason.
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
// server deregisters before it exits (ServerRuntime, iceoryx_apps.cc), the keeper stops
// RouDi with SIGTERM (SIGKILL after 10 s) and then removes whatever this
// run's RouDi and apps left (RemoveRoudiState, RemoveAppFiles), and a start
// that fails on the stale files of an earlier run removes those that no
// live process holds and tries once more. Each removal is reported on
// stderr as a "NOTE: " line, which compare copies into summary.md.
//
// WEFT_BENCH_IOX_ROUDI, if set, is the RouDi to run instead of iox-roudi
// (benchmarks:report_test uses one that cannot start).
//
// Thread safety: thread-compatible; the suite calls these from its main
// thread, and the app processes it forks call ForgetKeeper only.
#ifndef WEFT_BENCHMARKS_ICEORYX_ROUDI_H_
#define WEFT_BENCHMARKS_ICEORYX_ROUDI_H_

#include <cstdint>
#include <string>
#include <vector>

namespace weft_bench {

// The iceoryx apps of the suite, by their runtime names (/tmp/<name> and
// /tmp/<name>.lock are theirs): the server process (iceoryx_apps.h) and the
// suite's own process.
inline constexpr char kServerName[] = "weft-bench-iox-server";
inline constexpr char kClientName[] = "weft-bench-iox-client";
extern const std::vector<std::string> kAppNames;

// How long RouDi may take to be ready, and the apps to connect: ~0.3 s
// alone, but RouDi fills ~160 MB of shared memory, and on this project's
// 2-vCPU machines shared by several builds that took over 10 s.
inline constexpr uint64_t kStartTimeoutNs = 30'000'000'000ull;

// Says `what` on stderr as a "NOTE: " line, which compare copies into
// summary.md.
void Note(const std::string& what);
std::string Join(const std::vector<std::string>& parts, const char* separator = ", ");
bool Exists(const std::string& path);
// "exited with status 3", "was killed by signal 9 (Killed)".
std::string DescribeStatus(int status);

// What a cleanup removed and what it could not.
struct Cleanup {
  std::vector<std::string> removed;
  std::vector<std::string> left;  // "path (uid N (name)): why"
  std::vector<std::string> left_paths;
  std::string busy;  // non-empty: someone holds the lock, nothing touched

  // Removes `path` if it is there, noting in removed or left what became of
  // it.
  void Remove(const std::string& path);
};

// Removes the lock file and socket of the iceoryx app `name` unless a live
// process holds the lock (waits up to `wait_ns` for it to go).
Cleanup RemoveAppFiles(const std::string& name, uint64_t wait_ns);

// Starts RouDi under a keeper process (which stops it and removes what it
// and the apps left when this process exits); when it cannot start and
// stale RouDi files of an earlier run, which no live process holds, are in
// its way, removes them and tries once more. Empty when RouDi is up, else
// why not.
std::string StartRoudiWithRetry();

// Removes an earlier run's files of the apps of kAppNames that no live
// process holds. Empty when none are in the way, else why the rows cannot
// run (a live process has the name, or the files are another user's).
std::string RemoveStaleAppFiles();

// Tells the keeper that the apps start now: from then on their files are
// this run's to remove. False (with errno) when it cannot.
bool TellKeeperAppsStarting();

// In a forked app process: closes its copy of the keeper's pipe, so that
// only the suite's own exit stops RouDi.
void ForgetKeeper();

}  // namespace weft_bench

#endif  // WEFT_BENCHMARKS_ICEORYX_ROUDI_H_
