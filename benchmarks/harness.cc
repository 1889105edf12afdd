#include "benchmarks/harness.h"

#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <system_error>

#include "tools/cpp/runfiles/runfiles.h"

namespace weft_bench {
namespace {

using bazel::tools::cpp::runfiles::Runfiles;

std::atomic<bool> g_failed{false};
std::vector<std::function<void()>> g_at_end;

}  // namespace

uint64_t MonotonicNanos() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000ull + uint64_t(ts.tv_nsec);
}

double NanosPerTick() {
  // Calibrated once, over 20 ms, on first use (main calls it before any
  // benchmark runs).
  static const double kNanosPerTick = [] {
    const uint64_t n0 = MonotonicNanos();
    const uint64_t t0 = Ticks();
    timespec ts{0, 20'000'000};
    nanosleep(&ts, nullptr);
    const uint64_t n1 = MonotonicNanos();
    const uint64_t t1 = Ticks();
    return double(n1 - n0) / double(t1 - t0);
  }();
  return kNanosPerTick;
}

void SpinFor(uint64_t ns) {
  const uint64_t until = MonotonicNanos() + ns;
  while (MonotonicNanos() < until) CpuRelax();
}

bool PinThisThread(int cpu) {
  if (cpu < 0) return true;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof(set), &set) == 0;
}

bool UnpinThisThread() {
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (cpus <= 0) return false;
  cpu_set_t set;
  CPU_ZERO(&set);
  for (long cpu = 0; cpu < cpus && cpu < CPU_SETSIZE; ++cpu) CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof(set), &set) == 0;
}

void Fail(benchmark::State& state, const std::string& why) {
  g_failed.store(true);
  std::fprintf(stderr, "FAILED: %s\n", why.c_str());
  state.SkipWithError(why.c_str());
}

void Skip(benchmark::State& state, const std::string& why) {
  std::fprintf(stderr, "SKIPPED: %s\n", why.c_str());
  state.SkipWithError(("skipped: " + why).c_str());
}

void AtSuiteEnd(std::function<void()> fn) { g_at_end.push_back(std::move(fn)); }

void RunAtSuiteEnd() {
  for (auto it = g_at_end.rbegin(); it != g_at_end.rend(); ++it) (*it)();
  g_at_end.clear();
}

bool AnyFailed() { return g_failed.load(); }

benchmark::internal::Benchmark* RunLength(benchmark::internal::Benchmark* b, const Options& options,
                                          int smoke_iterations) {
  if (options.smoke) return b->Iterations(smoke_iterations);
  return b->MinTime(options.quick ? 0.15 : 0.5);
}

std::vector<int64_t> PayloadSizes(const Options& options) {
  if (options.smoke) return {64, 64 << 10, 16 << 20};
  std::vector<int64_t> sizes;
  const int step = options.quick ? 16 : 4;
  for (int64_t s = 64; s < (16 << 20); s *= step) sizes.push_back(s);
  sizes.push_back(16 << 20);
  return sizes;
}

uint64_t Checksum(const void* data, size_t size) {
  const unsigned char* p = static_cast<const unsigned char*>(data);
  uint64_t sum = 0;
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    sum += w;
  }
  for (; i < size; ++i) sum += p[i];
  return sum;
}

std::vector<unsigned char> MakePayload(size_t size) {
  std::vector<unsigned char> v(size);
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    v[i] = static_cast<unsigned char>(x);
  }
  return v;
}

LatencyRecorder::LatencyRecorder(size_t reserve) { samples_.reserve(reserve); }

void LatencyRecorder::Begin() { begin_ns_ = MonotonicNanos(); }
void LatencyRecorder::End() { end_ns_ = MonotonicNanos(); }

void LatencyRecorder::Merge(const LatencyRecorder& other) {
  samples_.insert(samples_.end(), other.samples_.begin(), other.samples_.end());
}

void LatencyRecorder::Report(benchmark::State& state, uint64_t calls) {
  if (samples_.empty()) return;
  std::sort(samples_.begin(), samples_.end());
  const double npt = NanosPerTick();
  auto at = [&](double q) {
    size_t i = static_cast<size_t>(q * double(samples_.size() - 1) + 0.5);
    return double(samples_[std::min(i, samples_.size() - 1)]) * npt;
  };
  state.counters["p50_ns"] = at(0.50);
  state.counters["p99_ns"] = at(0.99);
  state.counters["samples"] = double(samples_.size());
  if (calls == 0) calls = samples_.size();
  if (end_ns_ > begin_ns_) {
    state.counters["calls_per_s"] = double(calls) * 1e9 / double(end_ns_ - begin_ns_);
  }
}

void FutexWait(std::atomic<uint32_t>* word, uint32_t expected) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT, expected, nullptr, nullptr, 0);
}

void FutexWake(std::atomic<uint32_t>* word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
}

std::string FindRunfile(const Options& options, const std::string& path) {
  const std::unique_ptr<Runfiles> runfiles(Runfiles::Create(options.argv0));
  if (runfiles == nullptr) return "";
  std::error_code error;
  const std::filesystem::path found = std::filesystem::canonical(runfiles->Rlocation(path), error);
  if (error || access(found.c_str(), X_OK) != 0) return "";
  return found;
}

TempDir::TempDir() {
  char dir[] = "/tmp/weft-bench-XXXXXX";
  if (mkdtemp(dir) != nullptr) path_ = dir;
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code error;  // a leftover directory in /tmp is not worth failing for
  std::filesystem::remove_all(path_, error);
}

}  // namespace weft_bench
