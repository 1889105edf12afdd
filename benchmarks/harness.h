// The shared harness of the benchmark suites: flags, CPU pinning, per-call
// latency recording, and the checksum every payload benchmark computes.
//
// Each suite binary has the same main (harness.cc):
//
//   floor_benchmark [--host_cpu=0] [--worker_cpu=1] [--quick | --smoke]
//                   [any Google Benchmark flag]
//
// and registers its benchmarks at run time (RegisterSuite, defined once per
// suite), so --quick and --smoke can choose iteration counts and payload
// sizes. --smoke runs every benchmark for a handful of fixed iterations and
// exists for benchmarks:smoke_test: it checks that each benchmark runs and
// computes the right answers, never how fast.
//
// Percentiles: every benchmark times each call itself with the TSC
// (LatencyRecorder) and reports, as counters,
//   p50_ns, p99_ns  -- percentiles of the per-call round trips it measured,
//   calls_per_s     -- calls completed / wall time of the timed loop.
// Google Benchmark's own real_time stays the mean per iteration.
//
// Thread safety: Options is read-only once main has parsed the flags;
// LatencyRecorder is thread-compatible (one per thread).
#ifndef WEFT_BENCHMARKS_HARNESS_H_
#define WEFT_BENCHMARKS_HARNESS_H_

#include <x86intrin.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"

namespace weft_bench {

struct Options {
  int host_cpu = 0;    // the calling thread(s); -1: not pinned
  int worker_cpu = 1;  // the serving thread or process; -1: not pinned
  bool quick = false;  // shorter runs, fewer payload sizes
  bool smoke = false;  // a handful of iterations per benchmark (smoke_test)
  std::string argv0;   // this binary, for finding runfiles
};

// Called by main after parsing flags; the suite registers its benchmarks.
void RegisterSuite(const Options& options);

// Runs `fn` after every benchmark has run (e.g. stops a daemon the suite
// started). Not thread-safe: call from RegisterSuite or a benchmark.
void AtSuiteEnd(std::function<void()> fn);
// Runs them, last registered first (harness_main.cc).
void RunAtSuiteEnd();

// Pins the calling thread to `cpu` (no-op for cpu < 0). False on failure
// (the caller reports it; a benchmark never silently runs unpinned).
bool PinThisThread(int cpu);
// Lets the calling thread (and the threads it starts) run on every online
// CPU: for the RPC rows, whose machinery has more threads than this machine
// has cores (see remote_benchmark.cc). False on failure.
bool UnpinThisThread();

// Marks the benchmark as failed (a wrong result): SkipWithError, and main
// returns non-zero. For a row that cannot run here (no RouDi for iceoryx)
// use Skip instead, which does not fail the binary.
void Fail(benchmark::State& state, const std::string& why);
void Skip(benchmark::State& state, const std::string& why);
bool AnyFailed();

// Applies the run length the options ask for: fixed iterations for
// --smoke, a short or normal min_time otherwise. `smoke_iterations` lets a
// slow benchmark (16 MiB over a socket) ask for fewer.
benchmark::internal::Benchmark* RunLength(benchmark::internal::Benchmark* b, const Options& options,
                                          int smoke_iterations = 5);

// Payload sizes of the sweep: 64 B to 16 MiB, powers of 4 (powers of 16 with
// --quick, three sizes with --smoke).
std::vector<int64_t> PayloadSizes(const Options& options);

// Reads every byte of [data, data + size) and folds it into a 64-bit sum
// (8-byte words, then the tail bytes). The same function on every side of
// every payload benchmark, so the work per byte is the same.
uint64_t Checksum(const void* data, size_t size);

// A buffer of `size` deterministic pseudo-random bytes.
std::vector<unsigned char> MakePayload(size_t size);

inline uint64_t Ticks() {
  unsigned aux;
  return __rdtscp(&aux);
}
// Nanoseconds per TSC tick, measured once against CLOCK_MONOTONIC.
double NanosPerTick();

// Per-call round-trip times, in TSC ticks, and the wall time of the loop.
class LatencyRecorder {
 public:
  explicit LatencyRecorder(size_t reserve = 1 << 16);
  // Marks the start and end of the timed loop (for calls_per_s).
  void Begin();
  void End();
  void Add(uint64_t ticks) { samples_.push_back(ticks); }
  void Merge(const LatencyRecorder& other);
  size_t size() const { return samples_.size(); }
  // Sets p50_ns, p99_ns and calls_per_s (calls = `calls`, or the number of
  // samples when 0).
  void Report(benchmark::State& state, uint64_t calls = 0);

 private:
  std::vector<uint64_t> samples_;
  uint64_t begin_ns_ = 0;
  uint64_t end_ns_ = 0;
};

uint64_t MonotonicNanos();

// Spins (with pause) for about `ns` nanoseconds.
void SpinFor(uint64_t ns);

inline void CpuRelax() { __builtin_ia32_pause(); }

// Raw futex calls on a shared (not private) 32-bit word.
void FutexWait(std::atomic<uint32_t>* word, uint32_t expected);
void FutexWake(std::atomic<uint32_t>* word);

// The absolute path of the executable runfile `path` (a runfiles path such
// as "weft/benchmarks/bench_worker"), found with Bazel's runfiles library
// from options.argv0 or RUNFILES_DIR / RUNFILES_MANIFEST_FILE; empty if it
// is not there.
std::string FindRunfile(const Options& options, const std::string& path);

// A fresh directory /tmp/weft-bench-XXXXXX (mkdtemp, mode 0700), removed
// with everything in it when the object goes; path() is empty when it could
// not be made. Always under /tmp, not $TMPDIR: a Unix socket's path must
// fit in 108 bytes, and a test's TMPDIR may not. Thread-compatible.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace weft_bench

#endif  // WEFT_BENCHMARKS_HARNESS_H_
