// The small-call round trip every weft echo row times: echo(v) through the
// pool's stub and Get(), checked, one call per benchmark iteration. Shared
// by BM_WeftEchoThread and the rows that differ from it only in the pool
// behind the stub (weft_benchmark.cc, remote_benchmark.cc), so they time
// exactly the same calls.
//
// Thread safety: runs on the calling (host) thread; `pool` is not kept.
#ifndef WEFT_BENCHMARKS_ECHO_LOOP_H_
#define WEFT_BENCHMARKS_ECHO_LOOP_H_

#include "benchmark/benchmark.h"
#include "benchmarks/bench.weft.h"

namespace weft_bench {

// Times each call (LatencyRecorder) and reports p50_ns, p99_ns and
// calls_per_s; a wrong echo or a failed call fails the row.
void EchoLoop(benchmark::State& state, weft::Pool<weftbench::Bench>& pool);

}  // namespace weft_bench

#endif  // WEFT_BENCHMARKS_ECHO_LOOP_H_
