// The comparison driver:
//
//   tools/bazel run -c opt //benchmarks:compare -- [--quick] [--out=DIR]
//       [--reps=N] [--host_cpu=0] [--worker_cpu=1] [--suites=floor,...]
//
// runs the suites interleaved (floor, weft, baselines, iceoryx, then again,
// --reps times: 5 by default, 3 with --quick), each as its own process with
// the same pinning flags, and writes to DIR (default bench-results/; a
// relative DIR is taken from the directory Bazel was started in):
//   raw/<suite>.rep<N>.json  Google Benchmark's JSON, as written
//   raw/<suite>.rep<N>.log   the suite's console output
//   summary.md               p50 / p99 round trip, calls/s and ratios
//   summary.json             the same numbers, and `ratios` (below)
//   payload.svg              p50 round trip against payload size, log-log,
//                            drawn by gnuplot (--gnuplot) from
//                            raw/payload.dat with raw/payload.gp (its
//                            output in raw/gnuplot.log); without gnuplot
//                            summary.md says the plot was skipped
//
// Each benchmark's p50, p99 and calls/s in the report are the medians over
// the repetitions of what the benchmark measured (per-call percentiles, see
// harness.h). A ratio is the ratio of two such medians. A ratio whose rows
// did not run (skipped or failed) is null, with the reason under `missing`.
// Whatever did not run says why in summary.md: its row, its ratio, the
// "Not run" section (per suite: a suite that failed or was left out by
// --suites, and its rows without results, with their skip or error
// message) and the plot's note on each series it lacks. Lines a suite
// writes starting with "NOTE: " (e.g. the iceoryx suite removing an earlier
// run's stale files) are listed under "Notes".
//
// --suites=floor,weft,... runs only those suites (all four by default).
//
// --smoke runs one repetition of every suite with --smoke (a handful of
// iterations each); the smoke test uses it. Exit status: 0 when every suite
// ran without a failed benchmark (skipped rows are not failures).
//
// The files: this one (flags, main), compare_run.{h,cc} (running the suites
// and reading their JSON), compare_table.{h,cc} (the rows, the ratios and
// the payload series it knows), compare_report.{h,cc} (the ratios'
// values, summary.md, summary.json), compare_plot.{h,cc} (payload.svg),
// compare_text.{h,cc} (text and number formatting).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "benchmarks/compare_report.h"
#include "benchmarks/compare_run.h"
#include "benchmarks/compare_table.h"
#include "tools/cpp/runfiles/runfiles.h"

ABSL_FLAG(bool, quick, false, "shorter runs: 3 repetitions, fewer payload sizes");
ABSL_FLAG(bool, smoke, false,
          "one repetition of every suite, a handful of iterations per benchmark; for "
          "benchmarks:smoke_test");
ABSL_FLAG(int, reps, 0,
          "interleaved repetitions of every suite; 0: 5, 3 with --quick, 1 with --smoke");
ABSL_FLAG(std::string, out, "bench-results",
          "the report's directory; a relative one is taken from the directory Bazel was started "
          "in");
ABSL_FLAG(int, host_cpu, 0, "the CPU of the host thread(s), passed to every suite; -1: not pinned");
ABSL_FLAG(std::string, gnuplot, "gnuplot",
          "the gnuplot that draws payload.svg (searched in PATH; Debian: gnuplot-nox)");
ABSL_FLAG(int, worker_cpu, 1,
          "the CPU of the worker thread or server process, passed to every suite; -1: not pinned");
ABSL_FLAG(std::vector<std::string>, suites,
          std::vector<std::string>({"floor", "weft", "baselines", "iceoryx"}),
          "the suites to run, comma-separated, of floor, weft, baselines, iceoryx");

namespace {

using bazel::tools::cpp::runfiles::Runfiles;

// The suite's binary in compare's runfiles; empty if it is not there.
std::string FindSuite(const Runfiles& runfiles, const std::string& suite) {
  const std::string path = runfiles.Rlocation("weft/benchmarks/" + suite + "_benchmark");
  return !path.empty() && access(path.c_str(), X_OK) == 0 ? path : "";
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "runs the benchmark suites interleaved and writes the report:\n\n"
      "  tools/bazel run -c opt //benchmarks:compare -- [--quick | --smoke] [--out=DIR]\n"
      "      [--reps=N] [--host_cpu=0] [--worker_cpu=1] [--suites=floor,weft,baselines,iceoryx]");
  const std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() > 1) {
    std::fprintf(stderr, "compare: unexpected argument %s (see --help)\n", positional[1]);
    return 2;
  }
  weft_bench::Flags flags;
  flags.quick = absl::GetFlag(FLAGS_quick);
  flags.smoke = absl::GetFlag(FLAGS_smoke);
  flags.reps = absl::GetFlag(FLAGS_reps);
  flags.out = absl::GetFlag(FLAGS_out);
  flags.host_cpu = absl::GetFlag(FLAGS_host_cpu);
  flags.worker_cpu = absl::GetFlag(FLAGS_worker_cpu);
  if (flags.reps <= 0) flags.reps = flags.smoke ? 1 : flags.quick ? 3 : 5;
  if (flags.out.empty() || flags.out[0] != '/') {
    const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY");
    if (cwd != nullptr) flags.out = std::string(cwd) + "/" + flags.out;
  }
  const std::string raw = flags.out + "/raw";
  std::error_code dir_error;
  std::filesystem::create_directories(raw, dir_error);
  if (dir_error) {
    std::fprintf(stderr, "compare: cannot create %s: %s\n", raw.c_str(),
                 dir_error.message().c_str());
    return 2;
  }

  std::string runfiles_error;
  const std::unique_ptr<Runfiles> runfiles(Runfiles::Create(argv[0], &runfiles_error));
  if (runfiles == nullptr) {
    std::fprintf(stderr, "compare: %s\n", runfiles_error.c_str());
    return 2;
  }
  std::vector<std::string> suites;  // the ones to run, in kSuites' order
  for (const std::string& name : absl::GetFlag(FLAGS_suites)) {
    if (std::find(weft_bench::kSuites.begin(), weft_bench::kSuites.end(), name) ==
        weft_bench::kSuites.end()) {
      std::fprintf(stderr, "compare: --suites: no suite %s (floor, weft, baselines, iceoryx)\n",
                   name.c_str());
      return 2;
    }
  }
  for (const std::string& suite : weft_bench::kSuites) {
    const std::vector<std::string> chosen = absl::GetFlag(FLAGS_suites);
    if (std::find(chosen.begin(), chosen.end(), suite) != chosen.end()) suites.push_back(suite);
  }
  if (suites.empty()) {
    std::fprintf(stderr, "compare: --suites is empty\n");
    return 2;
  }
  std::map<std::string, std::string> binaries;
  for (const std::string& suite : suites) {
    binaries[suite] = FindSuite(*runfiles, suite);
    if (binaries[suite].empty()) {
      std::fprintf(stderr, "compare: %s_benchmark not found in the runfiles of %s\n", suite.c_str(),
                   argv[0]);
      return 2;
    }
  }
  // The suites look up their own runfiles (bench_worker) in compare's: their
  // binaries are in it, their runfiles trees are not.
  for (const auto& [name, value] : runfiles->EnvVars()) setenv(name.c_str(), value.c_str(), 1);

  double load[3] = {0, 0, 0};
  getloadavg(load, 3);
  const std::string mode = weft_bench::Mode(flags);
  std::printf("compare: %s run, %d repetition(s), host CPU %d, worker CPU %d, writing to %s\n",
              mode.c_str(), flags.reps, flags.host_cpu, flags.worker_cpu, flags.out.c_str());
  std::fflush(stdout);

  const weft_bench::Results results = weft_bench::RunSuites(flags, suites, binaries, raw);
  weft_bench::RunInfo info;
  info.flags = flags;
  info.suites = suites;
  info.load_average = load[0];
  info.raw = raw;
  info.gnuplot = absl::GetFlag(FLAGS_gnuplot);
  const weft_bench::ReportText report = weft_bench::WriteReport(info, results);
  std::printf("\n%s\nwrote %s/summary.md, summary.json, %sraw/ (%.0f s)\n", report.md.c_str(),
              flags.out.c_str(), report.plot_written ? "payload.svg, " : "", results.elapsed_s);
  return results.failures.empty() ? 0 : 1;
}
