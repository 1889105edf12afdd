// PoolStats: live statistics of a pool, read from the workers' regions.
//
//   weft::PoolStats stats = pool->Stats();
//   for (const weft::WorkerStats& w : stats.workers) {
//     std::cout << w.pid << " " << w.calls_served << (w.up ? " up" : " down") << "\n";
//   }
//
// A snapshot: each counter is read once, relaxed, so counters of different
// workers (or of one worker) are not from one instant.
//
// Thread safety: plain values (thread-compatible); Pool::Stats() itself may
// be called from any thread at any time.
#ifndef WEFT_RUNTIME_STATS_H_
#define WEFT_RUNTIME_STATS_H_

#include <cstdint>
#include <string>
#include <vector>

namespace weft {

struct WorkerStats {
  uint64_t calls_served = 0;   // calls the worker finished (any outcome)
  uint64_t sleeps = 0;         // times the worker went to sleep on its futex
  bool sleeping = false;       // asleep now (after its spin window ran out)
  uint32_t slots_in_use = 0;   // call slots taken, over all lanes to this worker
  uint64_t calls_started = 0;  // calls the worker took off its rings
  // Process workers.
  int pid = 0;            // 0 while down
  uint64_t restarts = 0;  // replacements that started (OnStart succeeded) after a
                          // death, counted by the workers themselves before they
                          // serve; failed starts show in `failed` and `last_exit`
  bool up = false;        // serving (threads: always, until shutdown)
  bool failed = false;    // given up after max_restarts failed starts
  std::string last_exit;  // how the last process ended, e.g. "killed by signal 9"
};

struct PoolStats {
  std::vector<WorkerStats> workers;
  uint32_t abort_slots_in_use = 0;
};

}  // namespace weft

#endif  // WEFT_RUNTIME_STATS_H_
