// A ProcTest worker for runtime_defects_test.cc: crash() first zeroes the
// magic number of its region's header (the first word of its shared weft
// mapping), then aborts, as a worker that corrupted its header and died.
// Every other method behaves as ProcImpl's.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "tests/process/proc_impl.h"

namespace weft_test {
namespace {

// The start of this process's first shared, writable mapping named like a
// weft region ("memfd:weft-region" or "/dev/shm/weft-..."), or null.
char* RegionStart() {
  FILE* maps = std::fopen("/proc/self/maps", "r");
  if (maps == nullptr) return nullptr;
  char line[4096];
  char* found = nullptr;
  while (found == nullptr && std::fgets(line, sizeof line, maps) != nullptr) {
    unsigned long long begin = 0;
    unsigned long long end = 0;
    char perms[8] = {};
    if (std::sscanf(line, "%llx-%llx %7s", &begin, &end, perms) != 3) continue;
    if (perms[1] != 'w' || perms[3] != 's') continue;
    const std::string text(line);
    if (text.find("weft") == std::string::npos) continue;
    found = reinterpret_cast<char*>(begin);
  }
  std::fclose(maps);
  return found;
}

class HeaderSmasher final : public ProcImpl {
 public:
  absl::Status crash(CrashCall& call) override {
    (void)call;
    if (char* region = RegionStart()) std::memset(region, 0, sizeof(uint64_t));  // the magic
    AbortWithoutCore();
  }
};

}  // namespace
}  // namespace weft_test

WEFT_WORKER_MAIN(weft_test::HeaderSmasher);
