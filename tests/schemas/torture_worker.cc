// A process worker serving the torture schema's Torture interface.
#include "runtime/worker_main.h"
#include "tests/schemas/torture_impl.h"

WEFT_WORKER_MAIN(weft_test::TortureImpl);
