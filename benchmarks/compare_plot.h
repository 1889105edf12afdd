// The report's plot (compare.cc): p50 round trip against payload size, one
// line per series of kPayloadSeries that ran, drawn by gnuplot.
//
// Thread safety: thread-compatible (it writes files and runs gnuplot).
#ifndef WEFT_BENCHMARKS_COMPARE_PLOT_H_
#define WEFT_BENCHMARKS_COMPARE_PLOT_H_

#include <map>
#include <string>

#include "benchmarks/compare_run.h"

namespace weft_bench {

struct PlotResult {
  bool written = false;
  std::string note;  // why not, for summary.md
};

// Draws `out`/payload.svg with gnuplot: p50 round trip against payload size,
// log-log, one line per series that ran. The data and the script stay in
// `raw` (payload.dat, payload.gp), gnuplot's output in raw/gnuplot.log.
PlotResult PlotPayload(const std::map<std::string, Row>& rows, const std::string& out,
                       const std::string& raw, const std::string& gnuplot,
                       const std::string& subtitle);

}  // namespace weft_bench

#endif  // WEFT_BENCHMARKS_COMPARE_PLOT_H_
