// weft-top: a live view of the weft pools in a running process.
//
//   tools/bazel run //tools:weft-top -- --pid 1234        # refreshes every second; q quits
//   weft-top --pid 1234 --once                            # one snapshot, as text
//   weft-top --pid 1234 --json                            # one snapshot, as JSON
//
// It maps the pool's stats block and its workers' regions read-only from
// /proc/PID/fd (pool_reader.h), so it cannot disturb the pool it watches.
// --once and --json take two snapshots --interval_ms apart for the rates.
// Exit status: 0, or 1 with one line on stderr saying what is wrong.
#include <curses.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tools/weft_top/pool_reader.h"
#include "tools/weft_top/render.h"

ABSL_FLAG(int, pid, 0, "the process whose weft pools to show");
ABSL_FLAG(bool, once, false, "print one snapshot as text and exit");
ABSL_FLAG(bool, json, false, "print one snapshot as JSON and exit");
ABSL_FLAG(int, interval_ms, 1000,
          "between refreshes, and between the two snapshots of --once/--json");
ABSL_FLAG(int, pool, -1, "which pool of the process (default: all; the n-th found)");

namespace weft {
namespace top {
namespace {

std::vector<const ForeignPool*> Chosen(const std::vector<ForeignPool>& pools, int which) {
  std::vector<const ForeignPool*> chosen;
  for (size_t i = 0; i < pools.size(); ++i) {
    if (which < 0 || static_cast<size_t>(which) == i) chosen.push_back(&pools[i]);
  }
  return chosen;
}

int Snapshot(const std::vector<const ForeignPool*>& pools, pid_t pid, absl::Duration interval,
             bool json) {
  std::vector<PoolStats> before;
  for (const ForeignPool* p : pools) before.push_back(p->Read());
  absl::SleepFor(interval);
  std::vector<std::string> parts;
  for (size_t i = 0; i < pools.size(); ++i) {
    const View view = MakeView(pid, pools[i]->Read(), before[i], absl::ToDoubleSeconds(interval));
    if (json) {
      parts.push_back(RenderJson(view));
    } else {
      for (const std::string& line : RenderLines(view, 120, 10000)) std::cout << line << "\n";
      std::cout << "\n";
    }
  }
  if (json) {
    // One pool: one object; several: an array of them.
    if (parts.size() == 1) {
      std::cout << parts[0] << "\n";
    } else {
      std::cout << "[\n";
      for (size_t i = 0; i < parts.size(); ++i)
        std::cout << parts[i] << (i + 1 < parts.size() ? ",\n" : "\n");
      std::cout << "]\n";
    }
  }
  return 0;
}

int Live(const std::vector<const ForeignPool*>& pools, pid_t pid, absl::Duration interval) {
  initscr();
  cbreak();
  noecho();
  curs_set(0);
  timeout(static_cast<int>(absl::ToInt64Milliseconds(interval)));
  std::vector<std::optional<PoolStats>> before(pools.size());
  absl::Time last = absl::Now();
  int status = 0;
  for (;;) {
    const absl::Time now = absl::Now();
    const double seconds = absl::ToDoubleSeconds(now - last);
    last = now;
    erase();
    int height, width;
    getmaxyx(stdscr, height, width);
    int row = 0;
    for (size_t i = 0; i < pools.size() && row < height; ++i) {
      const PoolStats stats = pools[i]->Read();
      const View view = MakeView(pid, stats, before[i], seconds);
      before[i] = stats;
      const int room = height - row - (i + 1 < pools.size() ? 1 : 0);
      for (const std::string& line :
           RenderLines(view, width, pools.size() == 1 ? room - 1 : room / 2)) {
        if (row >= height - 1) break;
        mvaddnstr(row++, 0, line.c_str(), width);
      }
      ++row;
    }
    if (kill(pid, 0) != 0) {
      mvaddnstr(height - 1, 0, "the process exited; q quits", width);
    } else {
      mvaddnstr(height - 1, 0, "q quits", width);
    }
    refresh();
    const int key = getch();  // waits up to the interval
    if (key == 'q' || key == 'Q') break;
  }
  endwin();
  return status;
}

}  // namespace
}  // namespace top
}  // namespace weft

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "weft-top --pid PID [--once | --json]: the weft pools of a running process");
  absl::ParseCommandLine(argc, argv);
  const int pid = absl::GetFlag(FLAGS_pid);
  if (pid <= 0) {
    std::fprintf(stderr, "weft-top: give the process to watch with --pid PID\n");
    return 1;
  }
  absl::StatusOr<std::vector<weft::top::ForeignPool>> pools = weft::top::OpenPools(pid);
  if (!pools.ok()) {
    std::fprintf(stderr, "%s\n", std::string(pools.status().message()).c_str());
    return 1;
  }
  const std::vector<const weft::top::ForeignPool*> chosen =
      weft::top::Chosen(*pools, absl::GetFlag(FLAGS_pool));
  if (chosen.empty()) {
    std::fprintf(stderr, "weft-top: process %d has %zu pools; --pool must be below that\n", pid,
                 pools->size());
    return 1;
  }
  const absl::Duration interval =
      absl::Milliseconds(std::max(10, absl::GetFlag(FLAGS_interval_ms)));
  if (absl::GetFlag(FLAGS_once) || absl::GetFlag(FLAGS_json)) {
    return weft::top::Snapshot(chosen, pid, interval, absl::GetFlag(FLAGS_json));
  }
  if (!isatty(STDOUT_FILENO)) {
    std::fprintf(stderr, "weft-top: stdout is not a terminal; use --once or --json\n");
    return 1;
  }
  return weft::top::Live(chosen, pid, interval);
}
