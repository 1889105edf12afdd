// A ProcTest worker whose start the test controls through its environment:
//   WEFT_TEST_START_LOG=<file>     OnStart() appends "<pid>\n" to it first;
//   WEFT_TEST_CRASH_MARKER=<file>  OnStart() aborts if <file> exists
//                                  ("always": aborts every time);
//   WEFT_TEST_HANG_MARKER=<file>   OnStart() never returns if <file> exists.
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "tests/process/proc_impl.h"

namespace weft_test {

class CrashOnStartImpl final : public ProcImpl {
 public:
  absl::Status OnStart() override {
    LogStart();
    const char* crash = std::getenv("WEFT_TEST_CRASH_MARKER");
    if (crash != nullptr && (std::strcmp(crash, "always") == 0 || access(crash, F_OK) == 0)) {
      AbortWithoutCore();
    }
    const char* hang = std::getenv("WEFT_TEST_HANG_MARKER");
    if (hang != nullptr && access(hang, F_OK) == 0) {
      for (;;) pause();
    }
    return absl::OkStatus();
  }
};

}  // namespace weft_test

WEFT_WORKER_MAIN(weft_test::CrashOnStartImpl);
