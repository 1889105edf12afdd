// CallState: the host's record of one call, from OutgoingCall::Begin until the last of
// its user handle (Future, then Response) and its slot lets go of it; and
// CallStatePool, the per-lane free list the records come from.
//
//   CallState* call = pool.New();        // lane owner thread only
//   ...                                  // submitted: refs == 2
//   Unref(call);                         // handle gone; and again when the
//                                        // slot is released: back in the pool
//
// Everything the host knows about a call lives here, in one place: what the
// caller asked for (method, deadline, on_timeout, abort slot), where it runs
// (lane, slot, seq), and its outcome. The outcome is decided exactly once by
// LaneHost::Resolve, the one resolution path (lane_host.h).
//
// Phases (CallState::phase):
//   kInFlight -> kResolving -> kReadyInSlot -> kTaken          OK, read in place
//                          \              \-> kEvacuating -> kReady  copied out
//                           \-> kReady                        status or copy
// The CAS out of kInFlight decides the outcome; kResolving and kEvacuating
// are transient (one thread is writing) and end with a release store.
//
// Thread safety: a CallState is shared between the lane's owner thread, the
// thread holding its handle, and threads resolving or reclaiming it; each
// field says who writes it. CallStatePool::New is owner-thread only;
// Free is thread-safe (a Treiber stack with a single popper: no ABA).
#ifndef WEFT_RUNTIME_INTERNAL_CALL_STATE_H_
#define WEFT_RUNTIME_INTERNAL_CALL_STATE_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "capnp/serialize.h"
#include "kj/array.h"
#include "runtime/call_options.h"
#include "runtime/interface.h"
#include "runtime/internal/layout.h"

namespace weft {
namespace internal {

class CallStatePool;
class LaneHost;

enum CallPhase : uint32_t {
  kInFlight = 0,     // sent (or being built); the worker may be running it
  kResolving = 1,    // one thread is writing the outcome (transient)
  kReadyInSlot = 2,  // OK; the results are in the slot, not yet claimed
  kEvacuating = 3,   // the results are being copied out of the slot (transient)
  kReady = 4,        // outcome final in the CallState (status or copied results)
  kTaken = 5,        // claimed by a ResponseHandle that reads the slot
};

struct CallState {
  std::atomic<uint32_t> phase{kInFlight};
  // One reference for the user's handle (Future, then Response) and one for
  // the slot; the state returns to its pool when both are gone.
  std::atomic<uint32_t> refs{0};

  // Written by the lane's owner thread before the call is submitted; read by
  // anyone holding a reference after that.
  CallStatePool* pool = nullptr;
  LaneHost* lane = nullptr;
  uint32_t slot = 0;
  uint32_t seq = 0;
  const MethodInfo* method = nullptr;
  absl::Time deadline = absl::InfiniteFuture();
  OnTimeout on_timeout;  // resolved: never kMethodDefault
  bool holds_abort_slot = false;
  uint64_t submit_ticks = 0;  // stats clock at submit; 0 with stats off

  // The outcome: written by the thread that won the CAS out of kInFlight (or
  // kReadyInSlot, to evacuate), published by its release store of `phase`.
  absl::Status status;
  std::array<kj::ArrayPtr<const capnp::word>, kMaxSegments> segments{};
  uint32_t segment_count = 0;
  // The results, when copied out of the slot, at the start of `copy`. Its
  // storage stays with the state across calls (CallStatePool::Free keeps
  // small ones), so copying out allocates only for results larger than any
  // this state copied before: take it with CopyArea.
  kj::Array<capnp::word> copy;
  std::optional<capnp::SegmentArrayMessageReader> reader;

  // `words` words at the start of `copy`, reusing its storage when it is
  // large enough. Called by the thread writing the outcome.
  capnp::word* CopyArea(uint64_t words);

  CallState* next_free = nullptr;  // free-list link
};

class CallStatePool {
 public:
  CallStatePool() = default;
  CallStatePool(const CallStatePool&) = delete;
  CallStatePool& operator=(const CallStatePool&) = delete;

  // Owner thread only. Never fails (allocates a block of states when empty).
  CallState* New();
  // Any thread: resets `call` and puts it back.
  void Free(CallState* call);

 private:
  std::atomic<CallState*> free_{nullptr};             // Treiber stack; the owner pops
  std::vector<std::unique_ptr<CallState[]>> blocks_;  // owner thread only
};

// Drops one reference; the last one returns the state to its pool.
inline void Unref(CallState* call) {
  // Acq_rel: the last owner must see every write the others made to the
  // state before it recycles it; pairs with the other owners' decrements.
  if (call->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) call->pool->Free(call);
}

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_INTERNAL_CALL_STATE_H_
