// The process worker of the weft benchmarks: serves BenchImpl.
#include "benchmarks/bench_impl.h"
#include "runtime/worker_main.h"

WEFT_WORKER_MAIN(weft_bench::BenchImpl);
