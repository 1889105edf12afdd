// The report of a compare run (compare.cc): the ratios, and summary.md,
// summary.json and the plot, with why whatever did not run did not.
//
// Thread safety: thread-compatible (it writes files).
#ifndef WEFT_BENCHMARKS_COMPARE_REPORT_H_
#define WEFT_BENCHMARKS_COMPARE_REPORT_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "benchmarks/compare_run.h"

namespace weft_bench {

struct RunInfo {
  Flags flags;
  std::vector<std::string> suites;  // the ones run, in kSuites' order
  double load_average = 0;          // the 1-minute load average at the start
  std::string raw;                  // flags.out + "/raw"
  std::string gnuplot;              // the gnuplot to draw the plot with
};

// Every ratio of kRatios by key: its value, or null with the reason in
// *missing.
void ComputeRatios(const Results& results, const std::vector<std::string>& suites,
                   std::map<std::string, std::optional<double>>* values,
                   std::map<std::string, std::string>* missing);

struct ReportText {
  std::string md;  // summary.md's text
  bool plot_written = false;
};

// Writes summary.md, summary.json and payload.svg to info.flags.out.
ReportText WriteReport(const RunInfo& info, Results results);

}  // namespace weft_bench

#endif  // WEFT_BENCHMARKS_COMPARE_REPORT_H_
