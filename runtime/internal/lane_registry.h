// LaneRegistry: which lane index each host thread uses for one pool.
//
//   absl::StatusOr<LaneRegistry::Binding> b = registry->Bind();  // this thread's lane
//   if (b->fresh) { ... make the lane's per-worker state ... }
//   std::atomic<uint32_t>& busy = registry->busy(b->lane);
//
// A host thread binds one lane index per pool on its first call (thread-
// local, no lock after that) and keeps it until the thread exits, when the
// index goes back to the free list. At most max_host_threads threads hold a
// lane at once; the next gets ResourceExhausted. Each lane has a `busy`
// flag its thread raises while it is inside a call's submission, which the
// pool's shutdown waits on (a Dekker pair with the shutdown flag).
//
// The registry is held by shared_ptr: a thread's binding keeps a weak_ptr,
// so a thread that outlives the pool gives its lane back to nobody.
//
// Thread safety: thread-safe; Bind's fast path (the same pool as the last
// call on this thread) takes no lock.
#ifndef WEFT_RUNTIME_INTERNAL_LANE_REGISTRY_H_
#define WEFT_RUNTIME_INTERNAL_LANE_REGISTRY_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "runtime/internal/layout.h"
#include "runtime/internal/mutex.h"

namespace weft {
namespace internal {

// The registry (by uid) and lane this thread bound last: Bind's fast path
// and the stats' shard lookup. Plain data with constant initialization, so
// reading it is one thread-pointer-relative load (no TLS wrapper call).
struct LastBinding {
  uint64_t uid = 0;
  uint32_t lane = 0;
};
inline thread_local LastBinding t_last_binding;

class LaneRegistry : public std::enable_shared_from_this<LaneRegistry> {
 public:
  static std::shared_ptr<LaneRegistry> Create(uint32_t lanes);

  struct Binding {
    uint32_t lane;
    bool fresh;  // this thread just took the index (slow path)
  };
  // The calling thread's lane, binding one on first use.
  absl::StatusOr<Binding> Bind();
  // Raised by the lane's thread while it submits a call.
  std::atomic<uint32_t>& busy(uint32_t lane) { return lanes_[lane].busy; }
  uint32_t lanes() const { return count_; }
  // The calling thread's lane if it has bound one, without binding (the
  // stats shard it may write: stats_cells.h).
  std::optional<uint32_t> LaneOfThisThread() const {
    if (t_last_binding.uid == uid_) return t_last_binding.lane;
    return LaneOfThisThreadSlow();
  }

 private:
  explicit LaneRegistry(uint32_t lanes);
  friend struct ThreadBindings;
  void Release(uint32_t lane);
  std::optional<uint32_t> LaneOfThisThreadSlow() const;

  struct alignas(kCacheLine) LaneFlags {
    std::atomic<uint32_t> busy{0};
  };
  const uint32_t count_;
  const uint64_t uid_;  // tells pools apart in the thread-local cache
  std::unique_ptr<LaneFlags[]> lanes_;
  Mutex mutex_;
  std::vector<uint32_t> free_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_INTERNAL_LANE_REGISTRY_H_
