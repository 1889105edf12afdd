#include "benchmarks/compare_plot.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>
#include <vector>

#include "benchmarks/compare_table.h"

namespace weft_bench {
namespace {

// `s` as a gnuplot double-quoted string.
std::string GnuplotQuote(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

// 64 -> "64 B", 4096 -> "4 KiB", 16777216 -> "16 MiB".
std::string BytesLabel(int64_t bytes) {
  if (bytes >= (1 << 20) && bytes % (1 << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  if (bytes >= (1 << 10) && bytes % (1 << 10) == 0) return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " B";
}

}  // namespace

PlotResult PlotPayload(const std::map<std::string, Row>& rows, const std::string& out,
                       const std::string& raw, const std::string& gnuplot,
                       const std::string& subtitle) {
  const std::string svg = out + "/payload.svg";
  std::error_code ignored;
  std::filesystem::remove(svg, ignored);  // never leave an old run's plot

  struct Point {
    int64_t bytes;
    double us;
  };
  std::ostringstream data;
  std::vector<std::string> plots;  // one gnuplot plot element per series
  std::set<int64_t> sizes;
  for (const Series& series : kPayloadSeries) {
    std::vector<Point> points;
    const std::string prefix = series.prefix + "/";
    for (const auto& [name, row] : rows) {
      if (name.rfind(prefix, 0) != 0) continue;
      const std::optional<double> p50 = row.MedianOf("p50_ns");
      if (!p50 || *p50 <= 0) continue;
      points.push_back({std::atoll(name.c_str() + prefix.size()), *p50 / 1e3});
    }
    if (points.empty()) continue;
    std::sort(points.begin(), points.end(),
              [](const Point& a, const Point& b) { return a.bytes < b.bytes; });
    // Blocks two blank lines apart: gnuplot's `index`.
    data << (plots.empty() ? "" : "\n\n") << "# " << series.label << "\n# bytes p50_us\n";
    for (const Point& p : points) {
      char line[64];
      std::snprintf(line, sizeof(line), "%lld %.6g\n", static_cast<long long>(p.bytes), p.us);
      data << line;
      sizes.insert(p.bytes);
    }
    plots.push_back("index " + std::to_string(plots.size()) +
                    " using 1:2 with linespoints lw 2 pt 7 ps 0.7 lc rgb " +
                    GnuplotQuote(series.color) + " title " + GnuplotQuote(series.label));
  }
  if (plots.empty()) return {false, "plot skipped: no payload rows ran"};

  const std::string dat = raw + "/payload.dat", script = raw + "/payload.gp";
  std::ofstream(dat) << data.str();
  std::ostringstream gp;
  gp << "# Written by benchmarks/compare: p50 round trip against payload size.\n"
     << "set encoding utf8\n"
     << "set terminal svg size 900,560 noenhanced font \"sans-serif,13\" background rgb "
        "\"white\"\n"
     << "set output " << GnuplotQuote(svg) << "\n"
     << "set title " << GnuplotQuote("p50 round trip against payload size\n" + subtitle) << "\n"
     << "set xlabel \"payload: bytes of the Data param per call (log scale)\"\n"
     << "set ylabel \"p50 round trip (µs, log scale)\"\n"
     << "set logscale xy\n"
     << "set format y \"%.10g\"\n"
     << "set xtics (";
  for (auto it = sizes.begin(); it != sizes.end(); ++it) {
    gp << (it == sizes.begin() ? "" : ", ") << GnuplotQuote(BytesLabel(*it)) << " " << *it;
  }
  gp << ")\n"
     << "set xrange [" << *sizes.begin() / 1.5 << ":" << *sizes.rbegin() * 1.5 << "]\n"
     << "set grid xtics ytics mytics lc rgb \"#dddddd\" lw 1, lc rgb \"#f0f0f0\" lw 1\n"
     << "set key top left box opaque spacing 1.2\n"
     << "plot ";
  for (size_t i = 0; i < plots.size(); ++i) {
    gp << (i ? ", \\\n     " : "") << GnuplotQuote(dat) << " " << plots[i];
  }
  gp << "\n";
  std::ofstream(script) << gp.str();

  int spawn_error = 0;
  const int status = Run({gnuplot, script}, raw + "/gnuplot.log", &spawn_error);
  if (status == -1 && spawn_error == ENOENT) {
    return {false, "plot skipped: gnuplot not found; install gnuplot-nox"};
  }
  if (status == -1) {
    return {false, "plot skipped: cannot run " + gnuplot + ": " + std::strerror(spawn_error)};
  }
  std::error_code size_error;
  if (status != 0 || std::filesystem::file_size(svg, size_error) == 0 || size_error) {
    std::filesystem::remove(svg, ignored);
    return {false, "plot failed: gnuplot exited with status " + std::to_string(status) +
                       ", see raw/gnuplot.log"};
  }
  return {true, ""};
}

}  // namespace weft_bench
