// Finding and reading the weft pools of another process, read-only.
//
//   absl::StatusOr<std::vector<ForeignPool>> pools = OpenPools(pid);
//   weft::PoolStats stats = (*pools)[0].Read();
//
// A pool is found by its "weft-stats" memfd among /proc/PID/fd, and its
// workers' regions by the (device, inode) pairs the stats block lists; all
// are mapped PROT_READ, so the reader cannot disturb the pool. Nothing the
// host must write (no registry, no file) is needed.
//
// Errors say what to do: NotFound (no such process, or it has no pool),
// PermissionDenied (another user's process: run as that user or root).
//
// Thread safety: thread-compatible.
#ifndef WEFT_TOOLS_WEFT_TOP_POOL_READER_H_
#define WEFT_TOOLS_WEFT_TOP_POOL_READER_H_

#include <sys/types.h>

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/internal/stats_block.h"
#include "runtime/stats.h"

namespace weft {
namespace top {

// A read-only mapping of one worker region of another process.
class ForeignRegion {
 public:
  ForeignRegion() = default;
  ForeignRegion(const char* base, uint64_t bytes) : base_(base), bytes_(bytes) {}
  ForeignRegion(ForeignRegion&& other) noexcept;
  ForeignRegion& operator=(ForeignRegion&& other) noexcept;
  ~ForeignRegion();
  internal::RegionView view() const { return {base_, bytes_}; }

 private:
  const char* base_ = nullptr;
  uint64_t bytes_ = 0;
};

struct ForeignPool {
  pid_t pid = 0;
  int stats_fd_number = 0;  // the fd in the host process (/proc/PID/fd/N)
  internal::StatsBlock block;
  std::vector<ForeignRegion> regions;  // by worker; unmapped ones are empty

  // A snapshot. `up` is the region's pid being set (the host clears it
  // when a worker dies); thread workers are always up.
  PoolStats Read() const;
};

absl::StatusOr<std::vector<ForeignPool>> OpenPools(pid_t pid);

}  // namespace top
}  // namespace weft

#endif  // WEFT_TOOLS_WEFT_TOP_POOL_READER_H_
