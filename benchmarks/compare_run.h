// Running the suites for compare (compare.cc): each suite binary as its own
// process, interleaved over the repetitions, and what their JSON says,
// collected per row.
//
// Thread safety: thread-compatible; compare runs it on its main thread.
#ifndef WEFT_BENCHMARKS_COMPARE_RUN_H_
#define WEFT_BENCHMARKS_COMPARE_RUN_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace weft_bench {

// compare's flags (reps and out as resolved in main).
struct Flags {
  bool quick = false;
  bool smoke = false;
  int reps = 0;
  std::string out;
  int host_cpu = 0;
  int worker_cpu = 1;
};

// "smoke", "quick" or "full".
std::string Mode(const Flags& flags);

std::optional<double> Median(std::vector<double> v);

// One benchmark over the repetitions.
struct Row {
  // Per counter of kCounters (compare_table.h): one value per repetition
  // that reported it.
  std::map<std::string, std::vector<double>> values;
  std::string error;  // last error or skip message
  int runs = 0;
  int errors = 0;  // runs with an error or skip

  std::optional<double> MedianOf(const std::string& counter) const;
  // Some repetition reported a counter.
  bool HasResults() const;
};

struct Results {
  std::map<std::string, Row> rows;
  std::vector<std::string> order;  // first-seen order of benchmark names
  std::vector<std::string> failures;
  // Per suite: why a repetition gave no (or not all) results, and its notes
  // (its "NOTE: " lines, each once).
  std::map<std::string, std::vector<std::string>> suite_problems, suite_notes;
  double elapsed_s = 0;
};

// Runs `argv` (argv[0] searched in PATH unless it has a '/') with stdout and
// stderr to `log`; returns the exit status (128 + signal when killed, -1
// when it could not start, with the reason in *spawn_error if given).
int Run(const std::vector<std::string>& argv, const std::string& log, int* spawn_error = nullptr);

// Runs every suite of `suites` (its binary in `binaries`) once per
// repetition, in the same order each time, with the pinning and length
// flags, writing raw/<suite>.rep<N>.{json,log} under `raw`, and prints a
// line per run.
Results RunSuites(const Flags& flags, const std::vector<std::string>& suites,
                  const std::map<std::string, std::string>& binaries, const std::string& raw);

}  // namespace weft_bench

#endif  // WEFT_BENCHMARKS_COMPARE_RUN_H_
