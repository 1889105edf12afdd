// Instructions per call, for callgrind (which counts instructions, not
// time, so its figures repeat whatever else the machine does):
//
//   valgrind --tool=callgrind bazel-bin/benchmarks/call_cost --calls=1000 --stats=true
//   valgrind --tool=callgrind bazel-bin/benchmarks/call_cost --calls=3000 --stats=true
//
// The difference of the two totals over 2000 is the cost of one echo call,
// (--window=256: with 256 in flight, as BM_WeftPipelined/256)
// host and worker together, without the pool's start and stop. Both sides
// sleep at once instead of spinning (spin_polls = 0), so no spin loop adds
// a time-dependent count; the futex syscalls count as a few instructions.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "benchmarks/bench_impl.h"

ABSL_FLAG(int, calls, 1000, "echo calls to make");
ABSL_FLAG(bool, stats, true, "PoolOptions::stats");
ABSL_FLAG(int, window, 1, "calls in flight: 1 is a ping-pong; more, pipelined as BM_WeftPipelined");

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
  const int window = std::max(1, absl::GetFlag(FLAGS_window));
  std::vector<weft::Future<weftbench::Bench::EchoResults>> futures(window);
  int sent = 0, done = 0;
  auto take_oldest = [&] {
    auto r = futures[done % window].Get();
    if (!r.ok() || r->getValue() != done) {
      std::fprintf(stderr, "call %d failed\n", done);
      std::exit(1);
    }
    ++done;
  };
  while (sent < calls) {
    if (sent - done == window) take_oldest();
    futures[sent % window] = stub.echo(sent);
    ++sent;
  }
  while (done < sent) take_oldest();
  std::printf("%d calls\n", calls);
  return 0;
}
