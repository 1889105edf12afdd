// A census of what this process holds — open file descriptors, threads,
// child processes, /dev/shm names weft could have made, resident memory —
// taken before and after a test to show that it left nothing behind.
//
//   const Census before = TakeCensus();
//   ... create and destroy pools ...
//   const Census after = TakeCensus();
//   EXPECT_EQ(after.fds, before.fds);
//   EXPECT_TRUE(ShmNamesLeftBehind(before.shm).empty());
//
// Every figure is read from /proc/self (and /dev/shm, /proc/*/fd for names).
//
// Thread safety: the functions are thread-safe (they only read /proc); a
// Census is a plain value.
#ifndef WEFT_TESTS_SOAK_CENSUS_H_
#define WEFT_TESTS_SOAK_CENSUS_H_

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace weft_test {

struct Census {
  int fds = 0;      // entries of /proc/self/fd
  int threads = 0;  // "Threads:" of /proc/self/status
  // Processes whose parent is this one, as "pid N state S [cmdline]". Not
  // always none at the start: under `bazel run` the test wrapper's tee
  // processes are children of the test binary (it execs into it).
  std::vector<std::string> children;
  std::set<std::string> shm;  // /dev/shm names containing "weft"
  int64_t rss_kib = 0;        // "VmRSS:"
  int64_t hwm_kib = 0;        // "VmHWM:" (peak RSS so far)
};

Census TakeCensus();

// The entries of `now` whose pid is not among those of `before` (entries of
// Census::children): the child processes that appeared in between.
std::vector<std::string> NewChildren(const std::vector<std::string>& before,
                                     const std::vector<std::string>& now);

// Open file descriptors of this process (not counting the one used to count).
int OpenFdCount();

// The "Threads:" line of /proc/self/status.
int ThreadCount();

// A "<field>: <n> kB" line of /proc/self/status, in KiB (-1 if absent).
int64_t StatusKib(const char* field);

// The names under /dev/shm containing "weft" that are not in `before` and
// that this process left behind. /dev/shm is shared by every process on the
// machine (other tests, other checkouts' test runs), and a weft host holds
// its named region open from shm_open until the name is unlinked, so a new
// name that another live process holds open is someone else's region on its
// way to being unlinked, not ours; such names are waited out (bounded) and
// then ignored. What is left is new and held by no other process: ours.
// `ignored`, when given, receives the names that were skipped and why.
std::set<std::string> ShmNamesLeftBehind(const std::set<std::string>& before,
                                         std::string* ignored = nullptr);

// "123.4 MiB".
std::string Mib(int64_t kib);

}  // namespace weft_test

#endif  // WEFT_TESTS_SOAK_CENSUS_H_
