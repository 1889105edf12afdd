// The process worker of the weft benchmarks: serves BenchImpl.
#include "benchmarks/bench_impl.h"

#if __has_include("runtime/worker_main.h")
#include "runtime/worker_main.h"

WEFT_WORKER_MAIN(weft_bench::BenchImpl);
#else
#include <cstdio>

// Process workers are not in the runtime yet; the benchmark skips the row.
int main() {
  std::fprintf(stderr, "bench_worker: this weft has no runtime/worker_main.h yet\n");
  return 1;
}
#endif
