// The Cap'n Proto-in-shared-memory baseline (capnp_shm_benchmark.cc): its
// rows, registered into the baselines suite.
#ifndef WEFT_BENCHMARKS_CAPNP_SHM_BENCHMARK_H_
#define WEFT_BENCHMARKS_CAPNP_SHM_BENCHMARK_H_

#include "benchmarks/harness.h"

namespace weft_bench {

// Registers BM_CapnpShmThreads, BM_CapnpShmProcesses and
// BM_CapnpShmPipelined/256 (called from the baselines' RegisterSuite).
void RegisterCapnpShm(const Options& options);

}  // namespace weft_bench

#endif  // WEFT_BENCHMARKS_CAPNP_SHM_BENCHMARK_H_
