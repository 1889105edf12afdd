// Instructions per call, for callgrind (which counts instructions, not
// time, so its figures repeat whatever else the machine does):
//
//   valgrind --tool=callgrind bazel-bin/benchmarks/call_cost --calls=1000 --stats=true
//   valgrind --tool=callgrind bazel-bin/benchmarks/call_cost --calls=3000 --stats=true
//
// The difference of the two totals over 2000 is the cost of one echo call,
// host and worker together, without the pool's start and stop. Both sides
// sleep at once instead of spinning (spin_polls = 0), so no spin loop adds
// a time-dependent count; the futex syscalls count as a few instructions.
#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "benchmarks/bench_impl.h"

ABSL_FLAG(int, calls, 1000, "echo calls to make");
ABSL_FLAG(bool, stats, true, "PoolOptions::stats");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  weft::PoolOptions options;
  options.workers = 1;
  options.stats = absl::GetFlag(FLAGS_stats);
  options.spin.spin_polls = 0;
  auto pool = weft::Pool<weftbench::Bench>::Create(
      options, [] { return std::make_unique<weft_bench::BenchImpl>(); });
  if (!pool.ok()) {
    std::fprintf(stderr, "%s\n", pool.status().ToString().c_str());
    return 1;
  }
  auto stub = pool->stub();
  const int calls = absl::GetFlag(FLAGS_calls);
  for (int i = 0; i < calls; ++i) {
    auto r = stub.echo(i).Get();
    if (!r.ok() || r->getValue() != i) {
      std::fprintf(stderr, "call %d failed\n", i);
      return 1;
    }
  }
  std::printf("%d calls\n", calls);
  return 0;
}
