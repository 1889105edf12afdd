#include "tests/soak/census.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/process/process_test_util.h"

namespace weft_test {
namespace {

bool IsNumber(const char* s) {
  if (*s == '\0') return false;
  for (; *s != '\0'; ++s) {
    if (*s < '0' || *s > '9') return false;
  }
  return true;
}

// True if a process other than this one has /dev/shm/<name> open.
bool HeldByAnotherProcess(const std::string& name) {
  const std::string target = "/dev/shm/" + name;
  const std::string self = std::to_string(getpid());
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return false;
  bool held = false;
  while (dirent* p = readdir(proc)) {
    if (held) break;
    if (!IsNumber(p->d_name) || self == p->d_name) continue;
    const std::string fd_dir = absl::StrCat("/proc/", p->d_name, "/fd");
    DIR* fds = opendir(fd_dir.c_str());
    if (fds == nullptr) continue;  // gone, or not ours to look at
    while (dirent* f = readdir(fds)) {
      if (!IsNumber(f->d_name)) continue;
      char link[4096];
      const std::string path = fd_dir + "/" + f->d_name;
      const ssize_t n = readlink(path.c_str(), link, sizeof(link) - 1);
      if (n <= 0) continue;
      link[n] = '\0';
      if (target == link) {
        held = true;
        break;
      }
    }
    closedir(fds);
  }
  closedir(proc);
  return held;
}

}  // namespace

int OpenFdCount() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int n = 0;
  while (dirent* entry = readdir(dir)) {
    if (IsNumber(entry->d_name)) ++n;
  }
  closedir(dir);
  return n - 1;  // the directory stream's own descriptor
}

int64_t StatusKib(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string prefix = absl::StrCat(field, ":");
  while (std::getline(in, line)) {
    if (line.compare(0, prefix.size(), prefix) == 0) {
      return std::strtoll(line.c_str() + prefix.size(), nullptr, 10);
    }
  }
  return -1;
}

int ThreadCount() { return static_cast<int>(StatusKib("Threads")); }

Census TakeCensus() {
  Census c;
  c.fds = OpenFdCount();
  c.threads = ThreadCount();
  c.children = Children();
  c.shm = ShmNames();
  c.rss_kib = StatusKib("VmRSS");
  c.hwm_kib = StatusKib("VmHWM");
  return c;
}

namespace {

// "pid 123 state S [...]" -> 123.
long PidOfEntry(const std::string& entry) { return std::strtol(entry.c_str() + 4, nullptr, 10); }

}  // namespace

std::vector<std::string> NewChildren(const std::vector<std::string>& before,
                                     const std::vector<std::string>& now) {
  std::set<long> old;
  for (const std::string& e : before) old.insert(PidOfEntry(e));
  std::vector<std::string> added;
  for (const std::string& e : now) {
    if (!old.count(PidOfEntry(e))) added.push_back(e);
  }
  return added;
}

std::set<std::string> ShmNamesLeftBehind(const std::set<std::string>& before,
                                         std::string* ignored) {
  std::set<std::string> ours;
  std::set<std::string> others;
  // Bounded: another process's name lives from its shm_open until its worker
  // mapped it (milliseconds). Names we left stay, so the wait ends at the
  // bound only when something was left behind.
  PollUntil(
      [&] {
        ours.clear();
        others.clear();
        for (const std::string& name : NewNames(before)) {
          (HeldByAnotherProcess(name) ? others : ours).insert(name);
        }
        return ours.empty() && others.empty();
      },
      absl::Seconds(2));
  if (ignored != nullptr) {
    *ignored = others.empty()
                   ? std::string()
                   : absl::StrCat("held open by another process (not ours): ", Describe(others));
  }
  return ours;
}

std::string Mib(int64_t kib) { return absl::StrFormat("%.1f MiB", kib / 1024.0); }

}  // namespace weft_test
