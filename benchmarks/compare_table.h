// What compare knows about the rows: the suites and which rows are whose,
// the counters it reads from a benchmark's JSON, the ratios (the report's
// headline figures), the payload series of the plot, and each row's
// description.
//
// Thread safety: constants and plain functions.
#ifndef WEFT_BENCHMARKS_COMPARE_TABLE_H_
#define WEFT_BENCHMARKS_COMPARE_TABLE_H_

#include <string>
#include <vector>

namespace weft_bench {

// In the order compare runs them.
extern const std::vector<std::string> kSuites;

// The suite a benchmark belongs to, by its name.
std::string SuiteOf(const std::string& name);

// The counters compare takes from each benchmark (see harness.h): p50_ns,
// p99_ns, calls_per_s, and the figures of rows that measure no calls.
extern const std::vector<std::string> kCounters;

struct Ratio {
  std::string key;
  // Benchmark names. Denominator empty: the value is the numerator's
  // `counter` itself (a rate or a figure), not a ratio.
  std::string numerator, denominator;
  std::string meaning;
  std::string goal;
  std::string counter = "p50_ns";  // what of each row the ratio divides
};
extern const std::vector<Ratio> kRatios;

struct Series {
  std::string label;
  std::string prefix;  // benchmark name before "/<bytes>"
  std::string color;
};
extern const std::vector<Series> kPayloadSeries;

// What the row `name` is, for the table; empty if unknown.
std::string Describe(const std::string& name);

}  // namespace weft_bench

#endif  // WEFT_BENCHMARKS_COMPARE_TABLE_H_
