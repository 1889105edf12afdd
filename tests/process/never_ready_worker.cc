// A ProcTest worker whose OnStart() never returns: it logs its start
// (WEFT_TEST_START_LOG=<file>: appends "<pid>\n", see LogStart) and then
// waits for a signal that ends it.
#include <unistd.h>

#include "tests/process/proc_impl.h"

namespace weft_test {

class NeverReadyImpl final : public ProcImpl {
 public:
  absl::Status OnStart() override {
    LogStart();
    for (;;) pause();
  }
};

}  // namespace weft_test

WEFT_WORKER_MAIN(weft_test::NeverReadyImpl);
