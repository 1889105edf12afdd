#include "tests/process/process_test_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace weft_test {
namespace {

// The whole of a small /proc file, or false if it cannot be read. A process
// that exits between open and read makes read fail with ESRCH; libstdc++'s
// filebuf throws on that whatever the stream's exception mask says, so the
// scans of other processes' files read with plain read(2).
bool ReadProcFile(const std::string& path, std::string* text) {
  text->clear();
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd == -1) return false;
  char buffer[4096];
  bool ok = true;
  for (;;) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n > 0) {
      text->append(buffer, static_cast<size_t>(n));
      continue;
    }
    if (n == -1 && errno == EINTR) continue;
    ok = n == 0;
    break;
  }
  close(fd);
  return ok;
}

// Reads /proc/<pid>/stat: the state letter and the parent pid.
bool ReadStat(pid_t pid, char* state, pid_t* ppid) {
  std::string text;
  if (!ReadProcFile(absl::StrCat("/proc/", pid, "/stat"), &text)) return false;
  const size_t paren = text.rfind(')');
  if (paren == std::string::npos) return false;
  std::istringstream rest(text.substr(paren + 1));
  long parent = 0;
  rest >> *state >> parent;
  *ppid = static_cast<pid_t>(parent);
  return !rest.fail();
}

}  // namespace

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

std::vector<pid_t> StartedPids(const std::string& start_log) {
  std::vector<pid_t> pids;
  std::ifstream in(start_log);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) pids.push_back(static_cast<pid_t>(std::stol(line)));
  }
  return pids;
}

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

ProcState StateOf(pid_t pid) {
  if (pid <= 0) return ProcState::kGone;
  if (kill(pid, 0) == -1 && errno == ESRCH) return ProcState::kGone;
  char state = '?';
  pid_t ppid = 0;
  if (!ReadStat(pid, &state, &ppid)) return ProcState::kGone;  // vanished meanwhile
  return (state == 'Z' || state == 'X') ? ProcState::kZombie : ProcState::kAlive;
}

std::vector<std::string> Children() {
  std::vector<std::string> found;
  const pid_t self = getpid();
  std::unique_ptr<DIR, int (*)(DIR*)> dir(opendir("/proc"), &closedir);
  if (dir == nullptr) return found;
  while (dirent* entry = readdir(dir.get())) {
    char* end = nullptr;
    const long pid = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0') continue;
    char state = '?';
    pid_t ppid = 0;
    if (!ReadStat(static_cast<pid_t>(pid), &state, &ppid) || ppid != self) continue;
    std::string cmdline;
    // A child that exits meanwhile is still reported, without its command.
    if (!ReadProcFile(absl::StrCat("/proc/", pid, "/cmdline"), &cmdline)) cmdline = "?";
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    found.push_back(
        absl::StrCat("pid ", pid, " state ", std::string(1, state), " [", cmdline, "]"));
  }
  return found;
}

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

void ProcessTest::SetUp() {
  shm_before_ = ShmNames();
  const std::vector<std::string> children = Children();
  ASSERT_TRUE(children.empty()) << "children before the test: " << absl::StrJoin(children, "; ");
}

void ProcessTest::TearDown() { ExpectCleanHost("at the end of the test"); }

void ProcessTest::ExpectCleanHost(const std::string& when) {
  const std::vector<std::string> children = Children();
  EXPECT_TRUE(children.empty()) << "child processes left " << when << ": "
                                << absl::StrJoin(children, "; ");
  const std::set<std::string> added = NewNames(shm_before_);
  EXPECT_TRUE(added.empty()) << "new /dev/shm names " << when << ": " << Describe(added);
}

void ProcessTest::ExpectAllGone(const std::set<pid_t>& pids, const std::string& when) {
  for (pid_t pid : pids) {
    const ProcState s = StateOf(pid);
    EXPECT_EQ(s, ProcState::kGone) << "worker pid " << pid << " is " << ToString(s) << " " << when;
  }
}

int32_t PidOf(weft::Stub<ProcTest>& stub) {
  auto r = stub.pid().Get();
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? r->getPid() : -1;
}

}  // namespace weft_test
