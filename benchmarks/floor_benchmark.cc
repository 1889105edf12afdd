// The hardware floor: one cache line bounced between two cores.
//
// A round trip is: the host stores 2k+1 into a 64-byte-aligned word, the
// other side spins (with pause) until it sees it and stores 2k+2, the host
// spins until it sees that. No RPC runtime can beat this on the same pair
// of CPUs; weft's small call is compared against it (weft_over_floor).
//
//   BM_FloorThreads  -- two threads of this process
//   BM_FloorProcesses -- this process and a forked child, over a memfd mapping
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <thread>

#include "benchmarks/harness.h"
#include "kj/io.h"

namespace weft_bench {
namespace {

constexpr uint64_t kStop = ~uint64_t{0};

struct alignas(64) Line {
  std::atomic<uint64_t> value{0};
  char pad[64 - sizeof(std::atomic<uint64_t>)];
};
static_assert(sizeof(Line) == 64);
static_assert(std::atomic<uint64_t>::is_always_lock_free);

// The echoing side: answers 2k+1 with 2k+2 until kStop.
void Echo(Line* line) {
  uint64_t seen = 0;
  for (;;) {
    uint64_t v;
    // Acquire: pairs with the host's release store of the ping.
    while ((v = line->value.load(std::memory_order_acquire)) == seen) CpuRelax();
    if (v == kStop) return;
    seen = v + 1;
    // Release: the pong; pairs with the host's acquire load in PingPong.
    line->value.store(seen, std::memory_order_release);
  }
}

void PingPong(benchmark::State& state, Line* line) {
  LatencyRecorder rec;
  uint64_t v = 0;
  rec.Begin();
  for (auto _ : state) {
    const uint64_t t0 = Ticks();
    // Release: the ping; pairs with the acquire load in Echo.
    line->value.store(v + 1, std::memory_order_release);
    // Acquire: pairs with Echo's release store of the pong.
    while (line->value.load(std::memory_order_acquire) != v + 2) CpuRelax();
    rec.Add(Ticks() - t0);
    v += 2;
  }
  rec.End();
  line->value.store(kStop, std::memory_order_release);
  rec.Report(state);
}

void BM_FloorThreads(benchmark::State& state, Options options) {
  Line line;
  std::atomic<bool> pinned{true};
  std::thread echo([&] {
    if (!PinThisThread(options.worker_cpu)) pinned = false;
    Echo(&line);
  });
  PingPong(state, &line);
  echo.join();
  if (!pinned) Fail(state, "could not pin the echo thread");
}

void BM_FloorProcesses(benchmark::State& state, Options options) {
  kj::AutoCloseFd fd(memfd_create("weft-bench-floor", MFD_CLOEXEC));
  if (fd.get() < 0 || ftruncate(fd, 4096) != 0) return Fail(state, "memfd_create");
  void* map = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  fd = nullptr;  // the mapping keeps the memory
  if (map == MAP_FAILED) return Fail(state, "mmap");
  Line* line = new (map) Line;
  const pid_t child = fork();
  if (child == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (!PinThisThread(options.worker_cpu)) _exit(3);
    Echo(line);
    _exit(0);
  }
  PingPong(state, line);
  int status = 0;
  waitpid(child, &status, 0);
  munmap(map, 4096);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) Fail(state, "the echo process failed");
}

}  // namespace

void RegisterSuite(const Options& options) {
  RunLength(benchmark::RegisterBenchmark("BM_FloorThreads", BM_FloorThreads, options), options,
            1000);
  RunLength(benchmark::RegisterBenchmark("BM_FloorProcesses", BM_FloorProcesses, options), options,
            1000);
}

}  // namespace weft_bench
