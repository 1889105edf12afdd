// weft through a remote worker (remote_benchmark.cc): its rows, registered
// into the weft suite.
#ifndef WEFT_BENCHMARKS_REMOTE_BENCHMARK_H_
#define WEFT_BENCHMARKS_REMOTE_BENCHMARK_H_

#include "benchmarks/harness.h"

namespace weft_bench {

// Registers BM_WeftRemoteEchoUnix and BM_WeftRemoteEchoTcp (called from
// the weft suite's RegisterSuite).
void RegisterRemote(const Options& options);

}  // namespace weft_bench

#endif  // WEFT_BENCHMARKS_REMOTE_BENCHMARK_H_
