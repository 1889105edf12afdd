// A ProcTest worker whose OnStart() never returns.
#include <unistd.h>

#include "tests/process/proc_impl.h"

namespace weft_test {

class NeverReadyImpl final : public ProcImpl {
 public:
  absl::Status OnStart() override {
    for (;;) pause();
  }
};

}  // namespace weft_test

WEFT_WORKER_MAIN(weft_test::NeverReadyImpl);
