// The main() of every benchmark suite: parses the harness flags (see
// harness.h), registers the suite, runs Google Benchmark.
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "benchmarks/harness.h"

ABSL_FLAG(int, host_cpu, 0, "the CPU of the host thread(s); -1: not pinned");
ABSL_FLAG(int, worker_cpu, 1, "the CPU of the worker thread or server process; -1: not pinned");
ABSL_FLAG(bool, quick, false, "shorter runs, fewer payload sizes");
ABSL_FLAG(bool, smoke, false,
          "a handful of fixed iterations per benchmark; for benchmarks:smoke_test");

namespace {

const char* g_argv0 = "";

// Google Benchmark's --help: its flags, then ours (absl's --help, which
// exits).
void PrintHelp() {
  benchmark::PrintDefaultHelp();
  std::printf("\n");
  std::fflush(stdout);
  std::string program = g_argv0, help = "--help";
  char* args[] = {program.data(), help.data(), nullptr};
  absl::ParseCommandLine(2, args);
}

}  // namespace

int main(int argc, char** argv) {
  g_argv0 = argv[0];
  absl::SetProgramUsageMessage(
      "a weft benchmark suite:\n\n"
      "  " +
      std::string(argv[0]) +
      " [--host_cpu=0] [--worker_cpu=1] [--quick | --smoke] [Google Benchmark flags]");
  // The harness's flags are in benchmarks/harness_main.cc, not in a file
  // named after the binary: show them with --help.
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::StrContains(file, "benchmarks/");
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  // Google Benchmark takes its own flags (--benchmark_*, --v) out of argv;
  // absl parses the rest.
  benchmark::Initialize(&argc, argv, PrintHelp);
  const std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() > 1) {
    std::fprintf(stderr, "%s: unexpected argument %s (see --help)\n", argv[0], positional[1]);
    return 2;
  }
  weft_bench::Options options;
  options.argv0 = argv[0];
  options.host_cpu = absl::GetFlag(FLAGS_host_cpu);
  options.worker_cpu = absl::GetFlag(FLAGS_worker_cpu);
  options.quick = absl::GetFlag(FLAGS_quick);
  options.smoke = absl::GetFlag(FLAGS_smoke);

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
