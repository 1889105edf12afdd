// A process worker of the observability example (observability --process).
#include "examples/observability/load_impl.h"

WEFT_WORKER_MAIN(observability::LoadImpl);
