// The completion protocol of one call slot, written once for both sides.
//
// A call slot (SlotShared, layout.h) carries one call at a time, named by
// its sequence number `seq`. The side that finishes the call (the worker,
// or the host's supervisor on behalf of a worker that died) writes the
// outcome and then publishes it:
//
//   WriteSlotStatus(slot, status);            // status code and message
//   PublishSlotDone(slot, header, seq, WakeHost::kIfWaiting);
//
// A host thread waits for it with WaitSlot(), which spins, then sleeps on the
// slot's futex word; a host thread that resolves the call itself (abort,
// deadline, shutdown) calls WakeSlotWaiters() so sleepers re-check.
//
// Memory ordering: PublishSlotDone's release store of done_seq publishes the
// status, the message and the response table written before it; it pairs
// with the acquire load in SlotDone(). The sleeper advertises itself in
// host_waiting (seq_cst), reads wake_seq, re-checks, then FUTEX_WAITs on the
// value it read; the publisher bumps wake_seq, issues a seq_cst fence, and
// wakes only if host_waiting is non-zero. In the single seq_cst order either
// the sleeper's re-check sees done_seq, or the publisher sees host_waiting:
// no wake-up is lost, and nobody asleep means no syscall. A watched call
// (one a continuation waits for, not its caller) also rings the region's
// host doorbell, under the same protocol (RingHostDoorbell).
//
// Thread safety: the slot lives in shared memory; these functions are the
// only code that writes its completion words.
#ifndef WEFT_RUNTIME_INTERNAL_SLOT_H_
#define WEFT_RUNTIME_INTERNAL_SLOT_H_

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdint>
#include <cstring>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "runtime/internal/layout.h"
#include "runtime/internal/wait.h"

namespace weft {
namespace internal {

// The status a worker publishes for a call whose deadline passed while it
// was queued (the worker never ran it). The host recognizes it and resolves
// the call as its on_timeout says, exactly as if the host had noticed first.
inline constexpr char kExpiredInQueue[] = "weft: the deadline passed before a worker picked it up";
// The same for an abortable call whose deadline passed while its method ran
// (the method saw call.aborted() turn true, or finished late).
inline constexpr char kExpiredWhileRunning[] = "weft: the deadline passed while the call ran";

// True if `message` (of a DeadlineExceeded status from a worker) is one of
// the two above: the host resolves such a call as its on_timeout says.
inline bool ExpiredByTheWorker(absl::string_view message) {
  return message == kExpiredInQueue || message == kExpiredWhileRunning;
}

// Writes `status` (code and a message cut at kMaxStatusMessage) into the
// slot. Only the completing side writes these fields, before PublishSlotDone.
inline void WriteSlotStatus(SlotShared& slot, const absl::Status& status) {
  slot.status_code = static_cast<uint32_t>(status.code());
  const size_t length = std::min<size_t>(status.message().size(), kMaxStatusMessage);
  if (length > 0) std::memcpy(slot.message, status.message().data(), length);
  slot.message_length = static_cast<uint32_t>(length);
}

enum class WakeHost {
  kIfWaiting,  // the worker: trust host_waiting (the protocol above)
  kAlways,     // the supervisor: a dead worker's host_waiting is not to be trusted
};

// Tells the host's continuation thread that a watched call resolved.
// Follows the protocol of wait.h: the sleeper advertises itself in
// host_sleepers, reads host_doorbell, re-checks its calls, then sleeps on
// the value it read; we bump the word, then wake only if a sleeper is
// advertised (both seq_cst, so one of the two sees the other).
inline void RingHostDoorbell(RegionHeader& header) {
  // Seq_cst: pairs with the sleeper's seq_cst advertise-then-read in
  // Continuations (continuations.cc, Sleep).
  header.host_doorbell.fetch_add(1, std::memory_order_seq_cst);
  // Seq_cst: as above.
  if (header.host_sleepers.load(std::memory_order_seq_cst) != 0) {
    FutexWake(&header.host_doorbell, INT_MAX);
  }
}

// Publishes the call `seq` as done and wakes host threads asleep on it, and
// the continuation thread if the call is watched.
inline void PublishSlotDone(SlotShared& slot, RegionHeader& header, uint32_t seq, WakeHost wake) {
  // Release: publishes status, message and response table written above.
  // Pairs with the host's acquire load in SlotDone().
  slot.done_seq.store(seq, std::memory_order_release);
  // Release: a new value of the futex word, so a host thread about to sleep
  // on the old one (WaitSlot) returns at once.
  slot.wake_seq.fetch_add(1, std::memory_order_release);
  if (wake == WakeHost::kAlways) {
    FutexWake(&slot.wake_seq, INT_MAX);
    RingHostDoorbell(header);
    return;
  }
  // Seq_cst fence: orders the stores above before the loads of host_waiting
  // and watched, against WaitSlot's seq_cst advertise-then-recheck and the
  // continuation thread's seq_cst store of watched (CallHandle::Watch).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  // Relaxed (both): ordered by the fence above.
  if (slot.host_waiting.load(std::memory_order_relaxed) != 0) {
    FutexWake(&slot.wake_seq, INT_MAX);
  }
  if (slot.watched.load(std::memory_order_relaxed) != 0) RingHostDoorbell(header);
}

// True once the call `seq` was published done; its outcome is then visible.
inline bool SlotDone(const SlotShared& slot, uint32_t seq) {
  // Acquire: pairs with the release store of done_seq in PublishSlotDone.
  return slot.done_seq.load(std::memory_order_acquire) == seq;
}

// For a host thread that resolved the call itself: makes every thread asleep
// in WaitSlot re-check its condition.
inline void WakeSlotWaiters(SlotShared& slot, RegionHeader& header) {
  // Seq_cst: ordered after the caller's seq_cst store of the call's phase;
  // a waiter that read the old wake_seq either sees the phase in its
  // re-check or has its FUTEX_WAIT fail on the changed word.
  slot.wake_seq.fetch_add(1, std::memory_order_seq_cst);
  FutexWake(&slot.wake_seq, INT_MAX);
  // Seq_cst: after the phase store, against the seq_cst store in Watch.
  if (slot.watched.load(std::memory_order_seq_cst) != 0) RingHostDoorbell(header);
}

// Waits until `done()` holds (it must include SlotDone for the awaited seq),
// spinning per `spin` first; false if `until` passed first.
template <typename Done>
bool WaitSlot(SlotShared& slot, const SpinPolicy& spin, absl::Time until, Done&& done) {
  if (SpinThenYield(spin, done)) return true;
  for (;;) {
    // Seq_cst: advertise the sleeper, then read the futex word, then
    // re-check (the protocol in the header comment). Pairs with the fence
    // in PublishSlotDone and with WakeSlotWaiters.
    slot.host_waiting.fetch_add(1, std::memory_order_seq_cst);
    const uint32_t seen = slot.wake_seq.load(std::memory_order_seq_cst);
    if (done()) {
      // Relaxed: only a hint for publishers.
      slot.host_waiting.fetch_sub(1, std::memory_order_relaxed);
      return true;
    }
    const bool in_time = FutexWait(&slot.wake_seq, seen, until);
    // Relaxed: only a hint for publishers.
    slot.host_waiting.fetch_sub(1, std::memory_order_relaxed);
    if (done()) return true;
    if (!in_time) return false;
  }
}

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_INTERNAL_SLOT_H_
