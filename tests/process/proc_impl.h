// The process-worker tests' skeleton. Each *_worker.cc binary serves it (or
// a subclass) with WEFT_WORKER_MAIN.
#ifndef WEFT_TESTS_PROCESS_PROC_IMPL_H_
#define WEFT_TESTS_PROCESS_PROC_IMPL_H_

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/process/proc_test.weft.h"
#include "tests/testing/checksum.h"

namespace weft_test {

// Dies of SIGABRT without leaving a core file behind (the test's cwd is the
// runfiles tree).
[[noreturn]] inline void AbortWithoutCore() {
  struct rlimit none = {0, 0};
  setrlimit(RLIMIT_CORE, &none);
  std::abort();
}

// When $WEFT_TEST_START_LOG names a file, appends "<pid>\n" to it: the
// marker by which a test knows that this process got as far as OnStart (it
// was spawned, exec'd and booted, and is alive there).
inline void LogStart() {
  const char* log = std::getenv("WEFT_TEST_START_LOG");
  if (log == nullptr) return;
  const int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return;
  const std::string line = std::to_string(getpid()) + "\n";
  (void)!write(fd, line.data(), line.size());
  close(fd);
}

// One line of /proc/self/maps: the range, permissions ("rw-s") and path
// (without the leading blanks; "" for an anonymous mapping).
struct MapsLine {
  uintptr_t begin;
  uintptr_t end;
  std::string perms;
  std::string path;
};

inline std::vector<MapsLine> ReadMaps() {
  std::vector<MapsLine> lines;
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    std::istringstream in(line);
    std::string range, offset, dev, inode, path;
    MapsLine m;
    in >> range >> m.perms >> offset >> dev >> inode;
    std::getline(in, path);
    const size_t dash = range.find('-');
    m.begin = std::stoull(range.substr(0, dash), nullptr, 16);
    m.end = std::stoull(range.substr(dash + 1), nullptr, 16);
    const size_t first = path.find_first_not_of(' ');
    m.path = first == std::string::npos ? "" : path.substr(first);
    lines.push_back(std::move(m));
  }
  return lines;
}

// The permissions and path of the mapping of this process that holds `p`
// (e.g. "rw-s /memfd:weft-region (deleted)"), or "".
inline std::string MappingOf(const void* p) {
  const uintptr_t at = reinterpret_cast<uintptr_t>(p);
  for (const MapsLine& m : ReadMaps()) {
    if (at >= m.begin && at < m.end) return m.perms + " " + m.path;
  }
  return "";
}

class ProcImpl : public weft::Skeleton<ProcTest> {
 public:
  absl::Status square(SquareCall& call) override {
    const int64_t v = call.params().getValue();
    call.results().setResult(v * v);
    return absl::OkStatus();
  }
  absl::Status echo(EchoCall& call) override {
    capnp::Data::Reader data = call.params().getData();
    call.results().setChecksum(Checksum(data));
    call.results().setData(data);
    return absl::OkStatus();
  }
  absl::Status spin(SpinCall& call) override {
    uint64_t i = 0;
    const uint64_t n = call.params().getIterations();
    while (i < n && !call.aborted()) ++i;
    call.results().setReached(i);
    return absl::OkStatus();
  }
  absl::Status pid(PidCall& call) override {
    call.results().setPid(static_cast<int32_t>(getpid()));
    return absl::OkStatus();
  }
  absl::Status getEnv(GetEnvCall& call) override {
    const char* value = std::getenv(call.params().getName().cStr());
    call.results().setValue(value == nullptr ? "" : value);
    return absl::OkStatus();
  }
  absl::Status crash(CrashCall& call) override {
    (void)call;
    AbortWithoutCore();
  }
  absl::Status print(PrintCall& call) override {
    std::fprintf(stdout, "%s\n", call.params().getLine().cStr());
    std::fflush(stdout);
    return absl::OkStatus();
  }
  absl::Status scribble(ScribbleCall& call) override {
    (void)call;
    return absl::OkStatus();
  }
  absl::Status poison(PoisonCall& call) override {
    (void)call;
    return absl::OkStatus();
  }
  absl::Status placement(PlacementCall& call) override {
    const capnp::Data::Reader data = call.params().getData();
    call.results().setData(data);
    call.results().setMapping(data.size() == 0 ? "" : MappingOf(data.begin()));
    return absl::OkStatus();
  }
  absl::Status rewrite(RewriteCall& call) override {
    call.results().setData(call.params().getData());
    return absl::OkStatus();
  }
};

}  // namespace weft_test

#endif  // WEFT_TESTS_PROCESS_PROC_IMPL_H_
