#include "benchmarks/compare_run.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "benchmarks/compare_table.h"
#include "benchmarks/compare_text.h"

extern char** environ;

namespace weft_bench {
namespace {

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

}  // namespace

std::optional<double> Median(std::vector<double> v) {
  if (v.empty()) return std::nullopt;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int Run(const std::vector<std::string>& argv, const std::string& log, int* spawn_error) {
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

std::string Mode(const Flags& flags) {
  return flags.smoke ? "smoke" : flags.quick ? "quick" : "full";
}

std::optional<double> Row::MedianOf(const std::string& counter) const {
  const auto it = values.find(counter);
  return it == values.end() ? std::nullopt : Median(it->second);
}

bool Row::HasResults() const {
  return std::any_of(values.begin(), values.end(), [](const auto& v) { return !v.second.empty(); });
}

Results RunSuites(const Flags& flags, const std::vector<std::string>& suites,
                  const std::map<std::string, std::string>& binaries, const std::string& raw) {
  // Interleaved: every suite once per repetition, in the same order.
  const double start = NowSeconds();
  Results r;
  for (int rep = 1; rep <= flags.reps; ++rep) {
    for (const std::string& suite : suites) {
      const std::string stem = raw + "/" + suite + ".rep" + std::to_string(rep);
      const std::string log_name = "raw/" + suite + ".rep" + std::to_string(rep) + ".log";
      std::error_code ignored;
      std::filesystem::remove(stem + ".json", ignored);  // never read an old run's
      std::vector<std::string> args = {
          binaries.at(suite), "--host_cpu=" + std::to_string(flags.host_cpu),
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
      if (status != 0) r.failures.push_back(suite + " rep " + std::to_string(rep));
      for (const std::string& note : Notes(stem + ".log")) {
        auto& notes = r.suite_notes[suite];
        if (std::find(notes.begin(), notes.end(), note) == notes.end()) notes.push_back(note);
      }
      const Json doc = ReadJson(stem + ".json");
      std::string status_text = status == -1 ? "could not be started"
                                : status >= 128
                                    ? "was killed by signal " + std::to_string(status - 128)
                                    : "exited with status " + std::to_string(status);
      if (!doc.is_object()) {  // also when discarded: missing or malformed
        r.failures.push_back(suite + " rep " + std::to_string(rep) + ": no JSON output");
        const std::string last = LastLine(stem + ".log");
        r.suite_problems[suite].push_back("rep " + std::to_string(rep) + ": the " + suite +
                                          " suite " + status_text + " and wrote no results" +
                                          (last.empty()
                                               ? ", and nothing to " + log_name
                                               : "; the last line of " + log_name + ": " + last));
        continue;
      }
      if (status != 0) {
        r.suite_problems[suite].push_back("rep " + std::to_string(rep) + ": the " + suite +
                                          " suite " + status_text + " (see " + log_name + ")");
      }
      try {
        for (const Json& b : doc.value("benchmarks", Json::array())) {
          if (b.value("run_type", "") == "aggregate") continue;
          const std::string name = BaseName(b.value("name", ""));
          if (!r.rows.count(name)) r.order.push_back(name);
          Row& row = r.rows[name];
          ++row.runs;
          if (b.value("error_occurred", false)) {
            row.error = Plain(b.value("error_message", ""));
            if (row.error.empty()) row.error = "error (no message)";
            ++row.errors;
            continue;
          }
          for (const std::string& counter : kCounters) {
            if (auto v = Number(b, counter.c_str())) row.values[counter].push_back(*v);
          }
        }
      } catch (const Json::exception& e) {  // a field of an unexpected type
        r.failures.push_back(suite + " rep " + std::to_string(rep) +
                             ": unexpected JSON output: " + e.what());
      }
    }
  }
  r.elapsed_s = NowSeconds() - start;
  return r;
}

}  // namespace weft_bench
