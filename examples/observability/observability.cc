// A pool of thread workers under a mixed load (fast, slow and sometimes
// failing calls from two host threads), printing Pool::Stats().ToString()
// every second. Watch it from another terminal with weft-top:
//
//   tools/bazel run //examples/observability                  # prints its pid first
//   tools/bazel run //tools:weft-top -- --pid <that pid>
//
// --process runs the workers as processes (load_worker).
// --seconds=N stops after N seconds (0: run until killed); --prometheus
// prints the Prometheus text instead of the table.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/clock.h"
#include "examples/observability/load_impl.h"
#include "runtime/weft.h"

ABSL_FLAG(int, seconds, 0, "stop after this many seconds (0: run until killed)");
ABSL_FLAG(int, workers, 2, "thread workers");
ABSL_FLAG(bool, prometheus, false, "print the Prometheus text format instead of the table");
ABSL_FLAG(bool, process, false, "process workers (load_worker) instead of threads");

namespace {

// load_worker sits next to this binary (bazel-bin/examples/observability/).
std::string WorkerBinary() {
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) return "examples/observability/load_worker";
  std::string path(self, static_cast<size_t>(n));
  return path.substr(0, path.rfind('/') + 1) + "load_worker";
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  weft::PoolOptions options;
  options.workers = absl::GetFlag(FLAGS_workers);
  if (absl::GetFlag(FLAGS_process)) {
    options.runtime = weft::WorkerRuntime::kProcess;
    options.worker_command = {WorkerBinary()};
  }
  auto pool = absl::GetFlag(FLAGS_process) ? weft::Pool<observability::Load>::Create(options)
                                           : weft::Pool<observability::Load>::Create(options, [] {
                                               return std::make_unique<observability::LoadImpl>();
                                             });
  if (!pool.ok()) {
    std::cerr << pool.status() << "\n";
    return 1;
  }
  std::cout << "observability example: pid " << getpid()
            << " (tools/bazel run //tools:weft-top -- --pid " << getpid() << ")" << std::endl;
  std::atomic<bool> stop{false};
  std::vector<std::thread> callers;
  for (int t = 0; t < 2; ++t) {
    callers.emplace_back([&, t] {
      auto stub = pool->stub();
      for (uint64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        (void)stub.fast(i).Get();
        if (i % 4 == 0) (void)stub.flaky(i / 4).Get();
        if (i % 50 == t) (void)stub.slow(200).Get();
        // Leave the machine some room: this is a demo, not a benchmark.
        if (i % 64 == 0) std::this_thread::sleep_for(std::chrono::microseconds(500));
      }
    });
  }
  const int seconds = absl::GetFlag(FLAGS_seconds);
  for (int s = 0; seconds == 0 || s < seconds; ++s) {
    absl::SleepFor(absl::Seconds(1));
    const weft::PoolStats stats = pool->Stats();
    std::cout << (absl::GetFlag(FLAGS_prometheus) ? stats.ToPrometheus() : stats.ToString())
              << std::endl;
  }
  stop.store(true);
  for (std::thread& t : callers) t.join();
  return 0;
}
