// StatsBlock: the pool's own shared-memory stats: a header naming the pool
// (interface, methods, workers), and the host shards the host threads
// record in (stats_cells.h). It is a memfd named "weft-stats", mapped
// read-write by the pool and read-only by anyone who may open the host's
// /proc/PID/fd (weft-top); the workers' figures are in their regions
// (RegionHeader and the WorkerMethodCells after the lanes).
//
//   absl::StatusOr<StatsBlock> block = StatsBlock::Create(spec);
//   HostMethodCells& c = block->method(shard, method_index);  // write (shard's owner)
//   ReadPoolStats(block->view(), regions, &stats);              // any reader
//
// A reader in another process trusts nothing it maps: every count and
// offset is checked against the mapping's size before it is used, and a
// block that fails the checks is reported, never read.
//
// Thread safety: the mapping is written as stats_cells.h says; the class
// itself is thread-compatible (created once, then only its cells change).
#ifndef WEFT_RUNTIME_INTERNAL_STATS_BLOCK_H_
#define WEFT_RUNTIME_INTERNAL_STATS_BLOCK_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "runtime/internal/layout.h"
#include "runtime/internal/stats_cells.h"
#include "runtime/stats.h"

namespace weft {
namespace internal {

inline constexpr uint64_t kStatsMagic = 0x5441'5453'5446'4557ull;  // "WEFTSTAT"
inline constexpr uint32_t kStatsVersion = 1;
inline constexpr uint32_t kStatsNameBytes = 64;
inline constexpr uint32_t kStatsInterfaceBytes = 128;

struct StatsBlockHeader {
  uint64_t magic;
  uint32_t version;
  uint32_t header_bytes;
  uint64_t total_bytes;
  uint64_t interface_id;
  uint32_t workers;
  uint32_t methods;
  uint32_t shards;   // lanes + 1; the last is shared by threads with no lane
  uint32_t enabled;  // PoolOptions::stats
  int32_t host_pid;
  uint32_t process_workers;  // 1: the workers are processes
  int64_t created_ns;        // CLOCK_MONOTONIC when the pool was created
  uint64_t names_offset;     // methods x kStatsNameBytes, NUL-padded schema names
  uint64_t workers_offset;   // workers x StatsWorkerInfo
  uint64_t shards_offset;
  uint64_t shard_stride;  // methods x HostMethodCells, then workers x uint64 submitted
  char interface_name[kStatsInterfaceBytes];
};
static_assert(std::is_standard_layout_v<StatsBlockHeader>);

// What the host knows of a worker that a reader elsewhere cannot see.
struct alignas(kCacheLine) StatsWorkerInfo {
  // The worker region's file (fstat of its fd), so that a reader can tell
  // which of the host's open files is this worker's region.
  uint64_t region_dev;
  uint64_t region_inode;
};

// The figures a reader needs of one worker's region.
struct RegionView {
  const char* base = nullptr;
  uint64_t bytes = 0;
  // The pool's own copy of the region's geometry (in-process readers): the
  // shared header is then not read at all, since the supervisor rewrites it
  // before each worker start (Region::RestoreHeader). Null for readers in
  // another process, which check the header and a copy of its geometry.
  const Geometry* geometry = nullptr;
};

class StatsBlock {
 public:
  struct Spec {
    std::string interface_name;
    uint64_t interface_id = 0;
    std::vector<std::string> method_names;
    uint32_t workers = 0;
    uint32_t lanes = 0;
    bool enabled = true;
    bool process_workers = false;
  };
  static absl::StatusOr<StatsBlock> Create(const Spec& spec);
  // Maps the block behind `fd` read-only (the caller keeps `fd`) and checks it.
  static absl::StatusOr<StatsBlock> MapReadOnly(int fd);
  // Checks a block's header against the mapping's size.
  static absl::Status Validate(const char* base, uint64_t bytes);

  StatsBlock() = default;
  StatsBlock(StatsBlock&& other) noexcept;
  StatsBlock& operator=(StatsBlock&& other) noexcept;
  StatsBlock(const StatsBlock&) = delete;
  StatsBlock& operator=(const StatsBlock&) = delete;
  ~StatsBlock();

  const StatsBlockHeader& header() const { return *reinterpret_cast<StatsBlockHeader*>(base_); }
  const char* base() const { return base_; }
  uint64_t size() const { return size_; }
  int fd() const { return fd_; }
  uint32_t shared_shard() const { return shared_shard_; }
  bool enabled() const { return header().enabled != 0; }

  // Writers (the pool). Inline: they are on every call's path.
  HostMethodCells& method(uint32_t shard, uint32_t m) const {
    return *reinterpret_cast<HostMethodCells*>(shards_ + shard * shard_stride_ +
                                               uint64_t{m} * sizeof(HostMethodCells));
  }
  std::atomic<uint64_t>& worker_submitted(uint32_t shard, uint32_t w) const {
    return *reinterpret_cast<std::atomic<uint64_t>*>(
        shards_ + shard * shard_stride_ + submitted_offset_ + uint64_t{w} * sizeof(uint64_t));
  }
  StatsWorkerInfo& worker(uint32_t w) const;

 private:
  // Private copies of the header's layout (validated or written by us).
  void CacheLayout();

  char* base_ = nullptr;
  uint64_t size_ = 0;
  int fd_ = -1;  // owned when >= 0
  char* shards_ = nullptr;
  uint64_t shard_stride_ = 0;
  uint64_t submitted_offset_ = 0;  // within a shard
  uint32_t shared_shard_ = 0;
};

// Fills `out` from a stats block and the workers' regions (regions[w] is
// worker w's, or {} when unknown): interface and method names, per method
// and per worker counts, outcomes and histograms, each worker's pid (from
// its region), restarts, in flight and queued. What only the pool itself
// knows (up, failed, last_exit, slots in use) is left for the caller.
// `now_ns` is CLOCK_MONOTONIC, for the uptime and utilization.
void ReadPoolStats(const StatsBlock& block, absl::Span<const RegionView> regions, int64_t now_ns,
                   PoolStats* out);

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_INTERNAL_STATS_BLOCK_H_
