#include "benchmarks/compare_report.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

#include "benchmarks/compare_plot.h"
#include "benchmarks/compare_table.h"
#include "benchmarks/compare_text.h"

namespace weft_bench {
namespace {

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(colon + 2);
    }
  }
  return "unknown";
}

// A counter that is a figure of its own (a row that measures no calls),
// shown beside the row's description and in summary.json.
bool IsFigure(const std::string& counter) {
  return counter != "p50_ns" && counter != "p99_ns" && counter != "calls_per_s";
}

// The median of `counter` of the row `name`, if it ran and reported it.
std::optional<double> Value(const std::map<std::string, Row>& rows, const std::string& name,
                            const std::string& counter) {
  auto it = rows.find(name);
  return it == rows.end() ? std::nullopt : it->second.MedianOf(counter);
}

std::string RowWhy(const Row& row) {
  return row.error.empty() ? "no result (the suite reported no p50_ns)" : row.error;
}

// Why a suite gave no results for a benchmark it should have.
std::string SuiteWhy(const std::string& suite, const std::vector<std::string>& suites,
                     const Results& results) {
  if (std::find(suites.begin(), suites.end(), suite) == suites.end()) {
    return "the " + suite + " suite was not run (--suites)";
  }
  auto it = results.suite_problems.find(suite);
  if (it != results.suite_problems.end()) return Join(it->second, "; ");
  return "the " + suite + " suite ran but has no such benchmark";
}

// Why the row `name` has no `counter`.
std::string WhyMissing(const std::string& name, const std::string& counter,
                       const std::vector<std::string>& suites, const Results& results) {
  auto it = results.rows.find(name);
  if (it == results.rows.end())
    return name + " did not run: " + SuiteWhy(SuiteOf(name), suites, results);
  if (it->second.HasResults()) return name + " reported no " + counter;
  return name + ": " + RowWhy(it->second);
}

}  // namespace

void ComputeRatios(const Results& results, const std::vector<std::string>& suites,
                   std::map<std::string, std::optional<double>>* values,
                   std::map<std::string, std::string>* missing) {
  auto why = [&](const std::string& name, const std::string& counter) {
    return WhyMissing(name, counter, suites, results);
  };
  for (const Ratio& r : kRatios) {
    std::optional<double> v;
    const std::optional<double> n = Value(results.rows, r.numerator, r.counter);
    if (r.denominator.empty()) {
      v = n;
      if (!v) (*missing)[r.key] = why(r.numerator, r.counter);
    } else {
      const std::optional<double> d = Value(results.rows, r.denominator, r.counter);
      if (n && d && *d > 0) {
        v = *n / *d;
      } else if (n && d) {
        (*missing)[r.key] = r.denominator + " has a " +
                            (r.counter == "p50_ns" ? "p50" : r.counter) + " of " +
                            Format(d, r.counter == "p50_ns" ? "ns" : "");
      } else {
        std::string& m = (*missing)[r.key];
        m = !n ? why(r.numerator, r.counter) : why(r.denominator, r.counter);
        if (!n && !d) m += "; " + why(r.denominator, r.counter);
      }
    }
    (*values)[r.key] = v;
  }
}

ReportText WriteReport(const RunInfo& info, Results res) {
  const Flags& flags = info.flags;
  const std::vector<std::string>& suites = info.suites;
  std::map<std::string, Row>& rows = res.rows;
  const std::vector<std::string>& order = res.order;
  const std::vector<std::string>& failures = res.failures;
  std::map<std::string, std::vector<std::string>>& suite_problems = res.suite_problems;
  const std::map<std::string, std::vector<std::string>>& suite_notes = res.suite_notes;
  const std::string mode = Mode(flags);

  auto p50 = [&](const std::string& name) { return Value(rows, name, "p50_ns"); };
  auto row_why = [&](const Row& row) { return RowWhy(row); };
  auto suite_why = [&](const std::string& suite) { return SuiteWhy(suite, suites, res); };
  std::map<std::string, std::optional<double>> ratio_values;
  std::map<std::string, std::string> missing;
  ComputeRatios(res, suites, &ratio_values, &missing);

  char date[64];
  const time_t now = time(nullptr);
  strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  char pinning[256];
  std::snprintf(pinning, sizeof(pinning),
                "host thread(s) on CPU %d, worker thread / server process on CPU %d "
                "(sched_setaffinity)",
                flags.host_cpu, flags.worker_cpu);

  // summary.md
  std::ostringstream md;
  md << "# weft benchmark summary\n\n"
     << "- machine: " << CpuModel() << ", " << cpus << " online CPUs; load average at start "
     << Format(info.load_average) << "\n"
     << "- pinning: " << pinning << "\n"
     << "- run: " << mode << ", " << flags.reps << " interleaved repetition(s) of " << suites.size()
     << (suites.size() == 1 ? " suite" : " suites")
     << (suites.size() == kSuites.size() ? "" : " (" + Join(suites) + "; --suites)") << ", "
     << Format(res.elapsed_s) << " s, " << date << "\n"
     << "- each number is the median over the repetitions of a per-call percentile or rate"
     << " the benchmark measured; ratios are ratios of those medians\n\n"
     << "## Ratios\n\n| key | value | goal | definition |\n|---|---:|---|---|\n";
  for (const Ratio& r : kRatios) {
    const std::optional<double>& v = ratio_values[r.key];
    md << "| `" << r.key << "` | "
       << (v ? Format(v, r.denominator.empty() && r.counter == "calls_per_s" ? "rate" : "")
             : "null")
       << " | " << r.goal << " | " << r.meaning;
    if (missing.count(r.key)) md << " — **missing**: " << Md(missing[r.key]);
    md << " |\n";
  }

  // Everything that did not run, per suite, and why (also in summary.json).
  Json not_run_json = Json::object();
  std::vector<std::string> not_run_md;
  for (const std::string& suite : kSuites) {
    std::vector<std::pair<std::string, std::string>> items;  // (rows, why)
    if (std::find(suites.begin(), suites.end(), suite) == suites.end()) {
      items.push_back({"", "not run (--suites)"});
    }
    for (const std::string& p : suite_problems[suite]) items.push_back({"", p});
    // Rows without results, grouped by their reason, in the table's order.
    std::vector<std::pair<std::vector<std::string>, std::string>> groups;
    for (const std::string& name : order) {
      const Row& row = rows[name];
      if (SuiteOf(name) != suite) continue;
      std::string why = row_why(row);
      if (row.HasResults()) {
        if (row.errors == 0) continue;
        why = "failed in " + std::to_string(row.errors) + " of " + std::to_string(row.runs) +
              " repetitions: " + row.error;
      }
      auto it = std::find_if(groups.begin(), groups.end(),
                             [&](const auto& g) { return g.second == why; });
      if (it == groups.end()) {
        groups.push_back({{name}, why});
      } else {
        it->first.push_back(name);
      }
    }
    for (const auto& [names, why] : groups) items.push_back({Join(names), why});
    for (const auto& [names, why] : items) {
      not_run_md.push_back("- **" + suite + "**" + (names.empty() ? "" : " (" + names + ")") +
                           ": " + Md(why));
      not_run_json[suite].push_back(names.empty() ? why : names + ": " + why);
    }
  }
  if (!not_run_md.empty()) {
    md << "\n## Not run\n\nRows and suites without results, and why.\n\n";
    for (const std::string& line : not_run_md) md << line << "\n";
  }

  md << "\n## Round trips\n\n"
     << "`vs weft` is this row's p50 ÷ the weft thread-worker p50 of the same kind "
        "(echo rows: BM_WeftEchoThread; payload rows: BM_WeftPayloadThread of the same size)."
     << "\n\n| benchmark | what | p50 | p99 | calls/s | vs weft |\n|---|---|---:|---:|---:|---:|\n";
  for (const std::string& name : order) {
    const Row& row = rows[name];
    std::optional<double> reference = p50("BM_WeftEchoThread");
    const size_t slash = name.find('/');
    for (const Series& s : kPayloadSeries) {
      if (name.rfind(s.prefix + "/", 0) == 0) {
        reference = p50("BM_WeftPayloadThread" + name.substr(slash));
      }
    }
    const std::optional<double> mine = row.MedianOf("p50_ns");
    std::optional<double> vs;
    if (mine && reference && *reference > 0) vs = *mine / *reference;
    md << "| " << name << " | " << Describe(name);
    for (const auto& [counter, values] : row.values) {
      if (IsFigure(counter) && !values.empty()) {
        md << " — " << counter << ": " << Format(Median(values));
      }
    }
    if (!row.HasResults()) {
      md << " — " << Md(row_why(row)) << " | — | — | — | — |\n";
      continue;
    }
    if (row.errors > 0) {
      md << " — failed in " << row.errors << " of " << row.runs
         << " repetitions: " << Md(row.error);
    }
    md << " | " << Format(mine, "ns") << " | " << Format(row.MedianOf("p99_ns"), "ns") << " | "
       << Format(row.MedianOf("calls_per_s"), "rate") << " | " << Format(vs) << " |\n";
  }
  const PlotResult plot =
      PlotPayload(rows, flags.out, info.raw, info.gnuplot,
                  mode + " run, " + std::to_string(flags.reps) +
                      (flags.reps == 1 ? " repetition, " : " repetitions, ") + date);
  if (plot.written) {
    md << "\n![p50 round trip against payload size](payload.svg)\n";
  } else {
    md << "\n" << plot.note << "\n";
    std::fprintf(stderr, "compare: %s\n", plot.note.c_str());
  }
  // The series the plot lacks, and why.
  std::vector<std::string> unplotted;
  for (const Series& series : kPayloadSeries) {
    std::string why;
    for (const std::string& name : order) {
      if (name.rfind(series.prefix + "/", 0) != 0) continue;
      const std::optional<double> v = rows[name].MedianOf("p50_ns");
      if (v && *v > 0) {
        why.clear();
        break;
      }
      if (why.empty()) why = name + ": " + row_why(rows[name]);
    }
    const bool any_row = std::any_of(order.begin(), order.end(), [&](const std::string& name) {
      return name.rfind(series.prefix + "/", 0) == 0;
    });
    if (!any_row) why = suite_why(SuiteOf(series.prefix));
    if (!why.empty()) unplotted.push_back("- " + series.label + ": " + Md(why));
  }
  if (!unplotted.empty()) {
    md << "\nNot in the plot:\n\n";
    for (const std::string& line : unplotted) md << line << "\n";
  }
  Json notes_json = Json::object();
  if (!suite_notes.empty()) {
    md << "\n## Notes\n\n";
    for (const auto& [suite, notes] : suite_notes) {
      for (const std::string& note : notes) {
        md << "- **" << suite << "**: " << Md(note) << "\n";
        notes_json[suite].push_back(note);
      }
    }
  }
  if (!failures.empty()) {
    md << "\n## Failures\n\n";
    for (const std::string& f : failures) md << "- " << f << "\n";
  }

  // summary.json
  Json js;
  js["mode"] = mode;
  js["repetitions"] = flags.reps;
  js["machine"] = {{"cpu_model", CpuModel()},
                   {"online_cpus", cpus},
                   {"load_average_at_start", JsonNumber(info.load_average)}};
  js["pinning"] = {
      {"host_cpu", flags.host_cpu}, {"worker_cpu", flags.worker_cpu}, {"how", pinning}};
  js["date"] = date;
  Json& ratios = js["ratios"] = Json::object();
  for (const Ratio& r : kRatios) ratios[r.key] = JsonNumber(ratio_values[r.key]);
  Json& missing_json = js["missing"] = Json::object();
  for (const auto& [key, why] : missing) missing_json[key] = why;
  js["suites"] = suites;
  js["not_run"] = not_run_json;
  js["notes"] = notes_json;
  Json& benchmarks = js["benchmarks"] = Json::object();
  for (const std::string& name : order) {
    const Row& row = rows[name];
    Json& b = benchmarks[name];
    b["p50_ns"] = JsonNumber(row.MedianOf("p50_ns"));
    b["p99_ns"] = JsonNumber(row.MedianOf("p99_ns"));
    b["calls_per_s"] = JsonNumber(row.MedianOf("calls_per_s"));
    for (const auto& [counter, values] : row.values) {
      if (IsFigure(counter)) b[counter] = JsonNumber(Median(values));
    }
    b["repetitions"] = row.runs - row.errors;
    if (!row.HasResults() || row.errors > 0) b["error"] = row_why(row);
  }
  js["failures"] = failures;

  std::ofstream(flags.out + "/summary.md") << md.str();
  // Invalid UTF-8 (say, in the CPU model) becomes U+FFFD rather than an
  // exception.
  std::ofstream(flags.out + "/summary.json")
      << js.dump(2, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace) << "\n";

  return {md.str(), plot.written};
}

}  // namespace weft_bench
