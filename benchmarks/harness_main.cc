// The main() of every benchmark suite: parses the harness flags (see
// harness.h), registers the suite, runs Google Benchmark.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "benchmarks/harness.h"

int main(int argc, char** argv) {
  weft_bench::Options options;
  options.argv0 = argv[0];
  std::vector<char*> rest;
  rest.push_back(argv[0]);
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a.rfind("--host_cpu=", 0) == 0) {
      options.host_cpu = std::atoi(argv[i] + 11);
    } else if (a.rfind("--worker_cpu=", 0) == 0) {
      options.worker_cpu = std::atoi(argv[i] + 13);
    } else if (a == "--quick") {
      options.quick = true;
    } else if (a == "--smoke") {
      options.smoke = true;
    } else {
      rest.push_back(argv[i]);
    }
  }
  weft_bench::NanosPerTick();
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (options.host_cpu >= cpus || options.worker_cpu >= cpus) {
    std::fprintf(stderr, "--host_cpu/--worker_cpu beyond the %ld online CPUs\n", cpus);
    return 2;
  }
  benchmark::AddCustomContext("host_cpu", std::to_string(options.host_cpu));
  benchmark::AddCustomContext("worker_cpu", std::to_string(options.worker_cpu));
  benchmark::AddCustomContext("mode", options.smoke ? "smoke" : options.quick ? "quick" : "full");
  weft_bench::RegisterSuite(options);
  int rest_argc = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_argc, rest.data());
  if (benchmark::ReportUnrecognizedArguments(rest_argc, rest.data())) return 2;
  // The main thread is the host thread of every benchmark.
  if (!weft_bench::PinThisThread(options.host_cpu)) {
    std::perror("pinning the host thread");
    return 2;
  }
  benchmark::RunSpecifiedBenchmarks();
  weft_bench::RunAtSuiteEnd();
  benchmark::Shutdown();
  return weft_bench::AnyFailed() ? 1 : 0;
}
