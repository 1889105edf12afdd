// Live statistics of a pool, read from the workers' regions.
#ifndef WEFT_RUNTIME_STATS_H_
#define WEFT_RUNTIME_STATS_H_

#include <cstdint>
#include <vector>

namespace weft {

struct WorkerStats {
  uint64_t calls_served = 0;  // calls the worker finished (any outcome)
  uint64_t sleeps = 0;        // times the worker went to sleep on its futex
  bool sleeping = false;      // asleep now (after its spin window ran out)
  bool running = false;       // the worker is up
  uint32_t slots_in_use = 0;  // call slots taken, over all lanes to this worker
};

struct PoolStats {
  std::vector<WorkerStats> workers;
  uint32_t abort_slots_in_use = 0;
};

}  // namespace weft

#endif  // WEFT_RUNTIME_STATS_H_
