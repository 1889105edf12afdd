// The quickstart's process worker: the same skeleton as the thread workers,
// served from its own process.
#include "examples/quickstart/math_impl.h"

WEFT_WORKER_MAIN(quickstart::MathImpl);
