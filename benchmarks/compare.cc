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
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "nlohmann/json.hpp"
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

extern char** environ;

namespace {

using bazel::tools::cpp::runfiles::Runfiles;

// Ordered: summary.json keeps its keys in the order they are written.
using Json = nlohmann::ordered_json;

const std::vector<std::string> kSuites = {"floor", "weft", "baselines", "iceoryx"};

// The flags' values (reps and out as resolved in main).
struct Flags {
  bool quick = false;
  bool smoke = false;
  int reps = 0;
  std::string out;
  int host_cpu = 0;
  int worker_cpu = 1;
};

struct Row {
  std::vector<double> p50, p99, calls_per_s;
  std::string error;  // last error or skip message
  int runs = 0;
  int errors = 0;  // runs with an error or skip
};

std::string Join(const std::vector<std::string>& parts, const char* separator = ", ") {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : separator) + p;
  return out;
}

// The suite a benchmark belongs to, by its name.
std::string SuiteOf(const std::string& name) {
  if (name.rfind("BM_Floor", 0) == 0) return "floor";
  if (name.rfind("BM_Weft", 0) == 0) return "weft";
  if (name.rfind("BM_Iceoryx", 0) == 0) return "iceoryx";
  return "baselines";
}

// `text` as one line of plain text: escape sequences (colours) and other
// control characters dropped, newlines as " / ".
std::string Plain(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == 0x1b) {  // ESC [ ... final byte
      if (i + 1 < text.size() && text[i + 1] == '[') {
        for (i += 2; i < text.size() && !(text[i] >= 0x40 && text[i] <= 0x7e); ++i) {
        }
      }
      continue;
    }
    if (c == '\n') {
      while (!out.empty() && out.back() == ' ') out.pop_back();
      if (!out.empty() && i + 1 < text.size()) out += " / ";
      continue;
    }
    if (c < 0x20 || c == 0x7f) {
      out.push_back(' ');
      continue;
    }
    out.push_back(static_cast<char>(c));
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == '/')) out.pop_back();
  return out;
}

// `text` (see Plain) safe inside a Markdown table cell or list item: no
// '|' to split the cell, no '<...>' for a renderer to take for HTML, no
// backtick or '*' to start code or emphasis.
std::string Md(const std::string& text) {
  std::string out;
  for (const char c : Plain(text)) {
    switch (c) {
      case '|':
        out += "\\|";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '`':
      case '*':
      case '\\':
        out.push_back('\\');
        out.push_back(c);
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

// The last non-empty line of the file at `path` (see Plain), empty if none.
std::string LastLine(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!Plain(line).empty()) last = line;
  }
  return Plain(last);
}

// The lines of the file at `path` that start with "NOTE: ", without it.
std::vector<std::string> Notes(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> notes;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("NOTE: ", 0) == 0) notes.push_back(Plain(line.substr(6)));
  }
  return notes;
}

std::optional<double> Median(std::vector<double> v) {
  if (v.empty()) return std::nullopt;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// The suite's binary in compare's runfiles; empty if it is not there.
std::string FindSuite(const Runfiles& runfiles, const std::string& suite) {
  const std::string path = runfiles.Rlocation("weft/benchmarks/" + suite + "_benchmark");
  return !path.empty() && access(path.c_str(), X_OK) == 0 ? path : "";
}

// The JSON in `path`; a discarded value when the file is missing or is not
// JSON.
Json ReadJson(const std::string& path) {
  std::ifstream in(path);
  return Json::parse(in, /*cb=*/nullptr, /*allow_exceptions=*/false);
}

// The number `object[key]`, if it is one.
std::optional<double> Number(const Json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

double NowSeconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

// Runs `argv` (argv[0] searched in PATH unless it has a '/') with stdout and
// stderr to `log`; returns the exit status (128 + signal when killed, -1
// when it could not start, with the reason in *spawn_error if given).
int Run(const std::vector<std::string>& argv, const std::string& log, int* spawn_error = nullptr) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  const int err = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawn_error != nullptr) *spawn_error = err;
  if (err != 0) return -1;
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

// "BM_X/64/iterations:3/manual_time" -> "BM_X/64".
std::string BaseName(const std::string& name) {
  std::stringstream ss(name);
  std::string part, out;
  while (std::getline(ss, part, '/')) {
    if (part.rfind("iterations:", 0) == 0 || part.rfind("min_time:", 0) == 0 ||
        part == "manual_time" || part == "real_time") {
      continue;
    }
    out += (out.empty() ? "" : "/") + part;
  }
  return out;
}

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

std::string Format(std::optional<double> v, const char* unit = "") {
  if (!v) return "—";
  char buf[64];
  const double x = *v;
  if (std::string(unit) == "ns") {
    if (x >= 1e6) {
      std::snprintf(buf, sizeof(buf), "%.2f ms", x / 1e6);
    } else if (x >= 1e3) {
      std::snprintf(buf, sizeof(buf), "%.2f µs", x / 1e3);
    } else {
      std::snprintf(buf, sizeof(buf), "%.0f ns", x);
    }
  } else if (std::string(unit) == "rate") {
    if (x >= 1e6) {
      std::snprintf(buf, sizeof(buf), "%.2f M", x / 1e6);
    } else if (x >= 1e3) {
      std::snprintf(buf, sizeof(buf), "%.1f k", x / 1e3);
    } else {
      std::snprintf(buf, sizeof(buf), "%.1f", x);
    }
  } else {
    std::snprintf(buf, sizeof(buf), x >= 100 ? "%.0f" : x >= 10 ? "%.1f" : "%.2f", x);
  }
  return buf;
}

// `v` rounded to 6 significant digits (what the report can claim), null when
// missing or not finite.
Json JsonNumber(std::optional<double> v) {
  if (!v || !std::isfinite(*v)) return nullptr;
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.6g", *v);
  return std::strtod(buf, nullptr);
}

struct Series {
  std::string label;
  std::string prefix;  // benchmark name before "/<bytes>"
  std::string color;
};

const std::vector<Series> kPayloadSeries = {
    {"weft (thread worker)", "BM_WeftPayloadThread", "#d62728"},
    {"weft (process worker)", "BM_WeftPayloadProcess", "#ff7f0e"},
    {"iceoryx request/response", "BM_IceoryxPayload", "#2ca02c"},
    {"mutex+condvar pool", "BM_CondvarPayload", "#1f77b4"},
    {"Cap'n Proto RPC (socketpair)", "BM_CapnpRpcPayload", "#9467bd"},
};

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

struct PlotResult {
  bool written = false;
  std::string note;  // why not, for summary.md
};

// Draws `out`/payload.svg with gnuplot: p50 round trip against payload size,
// log-log, one line per series that ran. The data and the script stay in
// `raw` (payload.dat, payload.gp), gnuplot's output in raw/gnuplot.log.
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
      const std::optional<double> p50 = Median(row.p50);
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

struct Ratio {
  std::string key;
  std::string numerator, denominator;  // benchmark names; denominator empty: a rate
  std::string meaning;
  std::string goal;
};

const std::vector<Ratio> kRatios = {
    {"weft_over_floor", "BM_WeftEchoThread", "BM_FloorThreads",
     "weft thread-worker small call p50 ÷ thread cache-line ping-pong p50", "≤ 3"},
    {"iceoryx_over_weft", "BM_IceoryxEcho", "BM_WeftEchoThread",
     "iceoryx request/response p50 ÷ weft p50", "≥ 8"},
    {"capnp_rpc_over_weft", "BM_CapnpRpcEcho", "BM_WeftEchoThread",
     "Cap'n Proto RPC p50 ÷ weft p50", "≥ 200"},
    {"condvar_over_weft", "BM_CondvarEcho", "BM_WeftEchoThread",
     "mutex+condvar pool p50 ÷ weft p50", "≥ 150"},
    {"stats_on_over_off", "BM_WeftEchoThread", "BM_WeftEchoStatsOff",
     "weft small call p50 with stats (the default) ÷ with PoolOptions::stats off", "≤ 1.03"},
    {"process_over_thread", "BM_WeftEchoProcess", "BM_WeftEchoThread",
     "weft process-worker p50 ÷ weft thread-worker p50", "≤ 1.15"},
    {"sleeping_over_futex", "BM_WeftEchoSleeping", "BM_FutexWake",
     "weft wake-from-sleep p50 ÷ raw futex hand-off p50", "≤ 1.15"},
    {"then_over_get", "BM_WeftEchoThen", "BM_WeftEchoThread",
     "echo delivered by a Then callback p50 ÷ the same echo by Get() p50", "µs, no ms steps"},
    {"queue_over_get", "BM_WeftEchoQueue", "BM_WeftEchoThread",
     "echo delivered by CompletionQueue::Next p50 ÷ by Get() p50", "µs, no ms steps"},
    {"stream_over_echo", "BM_WeftStreamThread", "BM_WeftEchoThread",
     "a streamed (-> stream) call, queued, p50 ÷ the small round trip p50", "< 0.5"},
    {"pipelined_calls_per_s", "BM_WeftPipelined/256", "",
     "weft calls/s, 256 in flight from one thread to one worker", "≥ 20 M"},
};

// What each benchmark row is, for the table.
std::string Describe(const std::string& name) {
  static const std::map<std::string, std::string> kWhat = {
      {"BM_FloorThreads", "floor: cache-line ping-pong, two threads"},
      {"BM_FloorProcesses", "floor: cache-line ping-pong, two processes (memfd)"},
      {"BM_WeftEchoThread", "weft echo, thread worker"},
      {"BM_WeftEchoStatsOff", "weft echo, thread worker, PoolOptions::stats off"},
      {"BM_WeftEchoProcess", "weft echo, process worker"},
      {"BM_WeftEchoSleeping", "weft echo, worker asleep before each call"},
      {"BM_WeftEchoThen", "weft echo, result by Then callback (caller sleeps)"},
      {"BM_WeftEchoQueue", "weft echo, result by CompletionQueue::Next"},
      {"BM_WeftStreamThread", "weft streamed call (-> stream), until queued"},
      {"BM_WeftPipelined/64", "weft echo, 64 in flight"},
      {"BM_WeftPipelined/256", "weft echo, 256 in flight"},
      {"BM_WeftHostThreads/2", "weft echo, 2 host threads (both on host CPU), 1 worker"},
      {"BM_WeftHostThreads/4", "weft echo, 4 host threads (all on host CPU), 1 worker"},
      {"BM_CondvarEcho", "mutex+condvar pool + std::promise"},
      {"BM_FutexWake", "raw futex: wake a sleeping worker, spin for the answer"},
      {"BM_FutexPingPong", "raw futex: both sides sleep"},
      {"BM_CapnpRpcEcho", "Cap'n Proto two-party RPC, socketpair, forked server"},
      {"BM_PipePingPong", "pipe ping-pong with a forked process"},
      {"BM_IceoryxEcho", "iceoryx 2.0 request/response, busy polling"},
  };
  auto it = kWhat.find(name);
  if (it != kWhat.end()) return it->second;
  for (const Series& s : kPayloadSeries) {
    if (name.rfind(s.prefix + "/", 0) == 0)
      return s.label + ", " + name.substr(s.prefix.size() + 1) + " B";
  }
  return "";
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
  Flags flags;
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
    if (std::find(kSuites.begin(), kSuites.end(), name) == kSuites.end()) {
      std::fprintf(stderr, "compare: --suites: no suite %s (floor, weft, baselines, iceoryx)\n",
                   name.c_str());
      return 2;
    }
  }
  for (const std::string& suite : kSuites) {
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
  const std::string mode = flags.smoke ? "smoke" : flags.quick ? "quick" : "full";
  std::printf("compare: %s run, %d repetition(s), host CPU %d, worker CPU %d, writing to %s\n",
              mode.c_str(), flags.reps, flags.host_cpu, flags.worker_cpu, flags.out.c_str());
  std::fflush(stdout);

  // Interleaved: every suite once per repetition, in the same order.
  const double start = NowSeconds();
  std::map<std::string, Row> rows;
  std::vector<std::string> order;  // first-seen order of benchmark names
  std::vector<std::string> failures;
  // Per suite: why a repetition gave no (or not all) results, and its notes.
  std::map<std::string, std::vector<std::string>> suite_problems, suite_notes;
  for (int rep = 1; rep <= flags.reps; ++rep) {
    for (const std::string& suite : suites) {
      const std::string stem = raw + "/" + suite + ".rep" + std::to_string(rep);
      const std::string log_name = "raw/" + suite + ".rep" + std::to_string(rep) + ".log";
      std::error_code ignored;
      std::filesystem::remove(stem + ".json", ignored);  // never read an old run's
      std::vector<std::string> args = {
          binaries[suite], "--host_cpu=" + std::to_string(flags.host_cpu),
          "--worker_cpu=" + std::to_string(flags.worker_cpu), "--benchmark_out=" + stem + ".json",
          "--benchmark_out_format=json"};
      if (flags.smoke) args.push_back("--smoke");
      if (flags.quick) args.push_back("--quick");
      const double t0 = NowSeconds();
      const int status = Run(args, stem + ".log");
      std::printf(
          "  rep %d/%d %-10s %s (%.1f s)\n", rep, flags.reps, suite.c_str(),
          status == 0
              ? "ok"
              : ("FAILED, exit " + std::to_string(status) + ", see " + stem + ".log").c_str(),
          NowSeconds() - t0);
      std::fflush(stdout);
      if (status != 0) failures.push_back(suite + " rep " + std::to_string(rep));
      for (const std::string& note : Notes(stem + ".log")) {
        auto& notes = suite_notes[suite];
        if (std::find(notes.begin(), notes.end(), note) == notes.end()) notes.push_back(note);
      }
      const Json doc = ReadJson(stem + ".json");
      std::string status_text = status == -1 ? "could not be started"
                                : status >= 128
                                    ? "was killed by signal " + std::to_string(status - 128)
                                    : "exited with status " + std::to_string(status);
      if (!doc.is_object()) {  // also when discarded: missing or malformed
        failures.push_back(suite + " rep " + std::to_string(rep) + ": no JSON output");
        const std::string last = LastLine(stem + ".log");
        suite_problems[suite].push_back("rep " + std::to_string(rep) + ": the " + suite +
                                        " suite " + status_text + " and wrote no results" +
                                        (last.empty()
                                             ? ", and nothing to " + log_name
                                             : "; the last line of " + log_name + ": " + last));
        continue;
      }
      if (status != 0) {
        suite_problems[suite].push_back("rep " + std::to_string(rep) + ": the " + suite +
                                        " suite " + status_text + " (see " + log_name + ")");
      }
      try {
        for (const Json& b : doc.value("benchmarks", Json::array())) {
          if (b.value("run_type", "") == "aggregate") continue;
          const std::string name = BaseName(b.value("name", ""));
          if (!rows.count(name)) order.push_back(name);
          Row& row = rows[name];
          ++row.runs;
          if (b.value("error_occurred", false)) {
            row.error = Plain(b.value("error_message", ""));
            if (row.error.empty()) row.error = "error (no message)";
            ++row.errors;
            continue;
          }
          if (auto v = Number(b, "p50_ns")) row.p50.push_back(*v);
          if (auto v = Number(b, "p99_ns")) row.p99.push_back(*v);
          if (auto v = Number(b, "calls_per_s")) row.calls_per_s.push_back(*v);
        }
      } catch (const Json::exception& e) {  // a field of an unexpected type
        failures.push_back(suite + " rep " + std::to_string(rep) +
                           ": unexpected JSON output: " + e.what());
      }
    }
  }
  const double elapsed = NowSeconds() - start;

  auto p50 = [&](const std::string& name) -> std::optional<double> {
    auto it = rows.find(name);
    return it == rows.end() ? std::nullopt : Median(it->second.p50);
  };
  // Why a suite gave no results for a benchmark it should have.
  auto suite_why = [&](const std::string& suite) -> std::string {
    if (std::find(suites.begin(), suites.end(), suite) == suites.end()) {
      return "the " + suite + " suite was not run (--suites)";
    }
    auto it = suite_problems.find(suite);
    if (it != suite_problems.end()) {
      std::string out;
      for (const std::string& p : it->second) out += (out.empty() ? "" : "; ") + p;
      return out;
    }
    return "the " + suite + " suite ran but has no such benchmark";
  };
  auto row_why = [&](const Row& row) -> std::string {
    return row.error.empty() ? "no result (the suite reported no p50_ns)" : row.error;
  };
  auto why_missing = [&](const std::string& name) -> std::string {
    auto it = rows.find(name);
    if (it == rows.end()) return name + " did not run: " + suite_why(SuiteOf(name));
    return name + ": " + row_why(it->second);
  };

  std::map<std::string, std::optional<double>> ratio_values;
  std::map<std::string, std::string> missing;
  for (const Ratio& r : kRatios) {
    std::optional<double> v;
    if (r.denominator.empty()) {
      auto it = rows.find(r.numerator);
      if (it != rows.end()) v = Median(it->second.calls_per_s);
      if (!v) missing[r.key] = why_missing(r.numerator);
    } else {
      const std::optional<double> n = p50(r.numerator), d = p50(r.denominator);
      if (n && d && *d > 0) {
        v = *n / *d;
      } else if (n && d) {
        missing[r.key] = r.denominator + " has a p50 of " + Format(d, "ns");
      } else {
        missing[r.key] = !n ? why_missing(r.numerator) : why_missing(r.denominator);
        if (!n && !d) missing[r.key] += "; " + why_missing(r.denominator);
      }
    }
    ratio_values[r.key] = v;
  }

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
     << Format(load[0]) << "\n"
     << "- pinning: " << pinning << "\n"
     << "- run: " << mode << ", " << flags.reps << " interleaved repetition(s) of " << suites.size()
     << (suites.size() == 1 ? " suite" : " suites")
     << (suites.size() == kSuites.size() ? "" : " (" + Join(suites) + "; --suites)") << ", "
     << Format(elapsed) << " s, " << date << "\n"
     << "- each number is the median over the repetitions of a per-call percentile or rate"
     << " the benchmark measured; ratios are ratios of those medians\n\n"
     << "## Ratios\n\n| key | value | goal | definition |\n|---|---:|---|---|\n";
  for (const Ratio& r : kRatios) {
    const std::optional<double>& v = ratio_values[r.key];
    md << "| `" << r.key << "` | "
       << (v ? (r.denominator.empty() ? Format(v, "rate") : Format(v)) : "null") << " | " << r.goal
       << " | " << r.meaning;
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
      if (!row.p50.empty()) {
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
    const std::optional<double> mine = Median(row.p50);
    std::optional<double> vs;
    if (mine && reference && *reference > 0) vs = *mine / *reference;
    md << "| " << name << " | " << Describe(name);
    if (row.p50.empty()) {
      md << " — " << Md(row_why(row)) << " | — | — | — | — |\n";
      continue;
    }
    if (row.errors > 0) {
      md << " — failed in " << row.errors << " of " << row.runs
         << " repetitions: " << Md(row.error);
    }
    md << " | " << Format(mine, "ns") << " | " << Format(Median(row.p99), "ns") << " | "
       << Format(Median(row.calls_per_s), "rate") << " | " << Format(vs) << " |\n";
  }
  const PlotResult plot =
      PlotPayload(rows, flags.out, raw, absl::GetFlag(FLAGS_gnuplot),
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
      const std::optional<double> v = Median(rows[name].p50);
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
                   {"load_average_at_start", JsonNumber(load[0])}};
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
    b["p50_ns"] = JsonNumber(Median(row.p50));
    b["p99_ns"] = JsonNumber(Median(row.p99));
    b["calls_per_s"] = JsonNumber(Median(row.calls_per_s));
    b["repetitions"] = row.p50.size();
    if (row.p50.empty() || row.errors > 0) b["error"] = row_why(row);
  }
  js["failures"] = failures;

  std::ofstream(flags.out + "/summary.md") << md.str();
  // Invalid UTF-8 (say, in the CPU model) becomes U+FFFD rather than an
  // exception.
  std::ofstream(flags.out + "/summary.json")
      << js.dump(2, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace) << "\n";

  std::printf("\n%s\nwrote %s/summary.md, summary.json, %sraw/ (%.0f s)\n", md.str().c_str(),
              flags.out.c_str(), plot.written ? "payload.svg, " : "", elapsed);
  return failures.empty() ? 0 : 1;
}
