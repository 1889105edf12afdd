// AbortBudget: the pool-wide count of outstanding abortable calls.
//
//   if (!budget.TryReserve()) return ResourceExhausted(...);
//   ...                        // the call is outstanding
//   budget.Release();          // once, when it resolves
//
// An abortable call ($Weft.abortable, or CallOptions.abortable) holds one of
// PoolOptions.abort_slots from submission until it resolves; the abort flag
// itself is the call slot's abort word in shared memory.
//
// Thread safety: thread-safe, lock-free.
#ifndef WEFT_RUNTIME_INTERNAL_ABORT_BUDGET_H_
#define WEFT_RUNTIME_INTERNAL_ABORT_BUDGET_H_

#include <atomic>
#include <cstdint>

#include "runtime/internal/layout.h"

namespace weft {
namespace internal {

class AbortBudget {
 public:
  explicit AbortBudget(uint32_t limit) : limit_(limit) {}

  [[nodiscard]] bool TryReserve() {
    // Relaxed: a counter; no data is published through it.
    if (in_use_.fetch_add(1, std::memory_order_relaxed) >= limit_) {
      // Relaxed: as above.
      in_use_.fetch_sub(1, std::memory_order_relaxed);
      return false;
    }
    return true;
  }
  // Relaxed: a counter; no data is published through it.
  void Release() { in_use_.fetch_sub(1, std::memory_order_relaxed); }
  // Relaxed: a snapshot for Stats().
  uint32_t in_use() const { return in_use_.load(std::memory_order_relaxed); }
  uint32_t limit() const { return limit_; }

 private:
  const uint32_t limit_;
  // On its own line: every abortable call writes it, from any host thread.
  alignas(kCacheLine) std::atomic<uint32_t> in_use_{0};
};

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_INTERNAL_ABORT_BUDGET_H_
