// A well-behaved process worker for ProcTest.
#include "tests/process/proc_impl.h"

WEFT_WORKER_MAIN(weft_test::ProcImpl);
