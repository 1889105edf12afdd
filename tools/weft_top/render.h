// What weft-top shows: a snapshot and the rates since the previous one, as
// rows of text (for the terminal and --once) or as JSON (--json).
//
//   View view = MakeView(stats, previous, seconds_between);
//   for (const std::string& line : RenderLines(view, width)) ...
//
// Thread safety: plain functions over values.
#ifndef WEFT_TOOLS_WEFT_TOP_RENDER_H_
#define WEFT_TOOLS_WEFT_TOP_RENDER_H_

#include <optional>
#include <string>
#include <vector>

#include "runtime/stats.h"

namespace weft {
namespace top {

struct WorkerRow {
  uint32_t index = 0;
  int pid = 0;
  std::string state;       // up, sleep, down, FAIL
  double utilization = 0;  // over the interval (lifetime when there is none)
  double calls_per_s = 0;
  uint64_t calls = 0;
  uint64_t p50_ns = 0, p99_ns = 0;  // service time
  uint64_t restarts = 0;
  uint64_t in_flight = 0;
};

struct MethodRow {
  std::string name;
  double calls_per_s = 0;
  uint64_t calls = 0;
  uint64_t errors = 0;
  uint64_t p50_ns = 0, p99_ns = 0, p999_ns = 0;  // round trip
};

struct View {
  int pid = 0;
  std::string interface_name;
  uint64_t uptime_ns = 0;
  bool enabled = true;
  double interval_s = 0;           // 0: no previous snapshot, rates are lifetime averages
  std::vector<WorkerRow> workers;  // sorted: busiest first
  std::vector<MethodRow> methods;  // sorted: most calls/s first
};

View MakeView(int pid, const PoolStats& now, const std::optional<PoolStats>& before,
              double interval_s);
// At most `height` lines of at most `width` columns (wider columns when
// there is room).
std::vector<std::string> RenderLines(const View& view, int width, int height);
std::string RenderJson(const View& view);

}  // namespace top
}  // namespace weft

#endif  // WEFT_TOOLS_WEFT_TOP_RENDER_H_
