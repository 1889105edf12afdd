// The structs that live in a worker's shared-memory region.
//
// A region is one mapping per worker:
//
//   RegionHeader                       magic, version, geometry, wait words
//   lane 0 .. lanes-1, each:           (one per host thread bound to the worker)
//     RingControl                      submit ring head/tail, own cache lines
//     CallDescriptor[ring_capacity]    the submit ring's entries
//     SlotShared[slots_per_lane]       per-slot control: segment tables,
//                                      completion word, abort flag, status
//     response inline areas            slots_per_lane x response_inline_bytes
//     response heap                    heap_bytes, spill segments (worker owns)
//   requests block, lane 0 .. lanes-1: (another file, mapped over this place;
//                                      read-only to a process worker: region.h)
//     request inline areas             slots_per_lane x request_inline_bytes
//     request heap                     heap_bytes, spill segments (host owns)
//   WorkerMethodCells[stats_methods]   the worker's stats per method (stats_cells.h)
//
// Everything refers to everything else by offset from the region's start:
// each process maps the region at its own address. These are plain structs
// (standard layout, lock-free atomics only); processes act on them through
// local views (RingProducer/RingConsumer, LaneLayout).
//
// The host does not trust what a process worker writes: every offset, length
// and index read back from the region is checked against the geometry the
// host itself chose (see LaneLayout and the segment checks).
#ifndef WEFT_RUNTIME_INTERNAL_LAYOUT_H_
#define WEFT_RUNTIME_INTERNAL_LAYOUT_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace weft {
namespace internal {

inline constexpr std::size_t kCacheLine = 64;
inline constexpr uint64_t kRegionMagic = 0x5446'4557'5446'4557ull;  // "WEFTWEFT"
inline constexpr uint32_t kLayoutVersion = 5;
inline constexpr uint32_t kMaxSegments = 16;
inline constexpr uint32_t kMaxStatusMessage = 512;

static_assert(std::atomic<uint32_t>::is_always_lock_free);
static_assert(std::atomic<uint64_t>::is_always_lock_free);

// The sizes a region was laid out with. Chosen by the host; a worker checks
// them against the mapping it was given before using any of them.
struct Geometry {
  uint32_t lanes;
  uint32_t slots_per_lane;
  uint32_t ring_capacity;  // a power of two >= slots_per_lane
  uint32_t request_inline_bytes;
  uint32_t response_inline_bytes;
  // WorkerMethodCells after the lanes: the method count, or 0 with stats off.
  uint32_t stats_methods;
  uint64_t heap_bytes;  // each of the two heaps of a lane
};
static_assert(std::is_standard_layout_v<Geometry>);

struct RegionHeader {
  uint64_t magic;
  uint32_t layout_version;
  uint32_t header_bytes;
  uint64_t total_bytes;
  uint64_t interface_id;  // the Cap'n Proto type id of the served interface
  uint32_t method_count;
  uint32_t reserved;
  Geometry geometry;
  uint64_t lanes_offset;
  uint64_t lane_stride;
  // How the worker times calls for the stats (stats_clock.h): the host's
  // scale, so that both sides' ticks compare. Written by the host.
  uint32_t clock_kind;  // TickKind
  uint32_t clock_shift;
  uint64_t clock_mult;

  // The worker's wait words, on their own line: written by the host on every
  // submit that finds the worker asleep, and by the worker when it sleeps.
  alignas(kCacheLine) std::atomic<uint32_t> doorbell;  // futex word the worker sleeps on
  std::atomic<uint32_t> worker_sleeping;               // 1 while the worker is (about to be) asleep
  std::atomic<uint32_t> stop;                          // host asks the worker to exit
  std::atomic<uint32_t> active_lanes;                  // lanes [0, active_lanes) may hold calls
  // Set by the host when it enforces hard_timeout: the worker then stores
  // the monotonic time a call starts in busy_since_ns (0 when idle).
  uint32_t track_busy;
  std::atomic<int64_t> busy_since_ns;

  // The host's completion doorbell (see slot.h, RingHostDoorbell): bumped
  // by whoever publishes the outcome of a watched call (SlotShared::watched:
  // one with a Then callback, a completion queue or a coroutine waiting);
  // the host's continuation thread sleeps on it (continuations.h).
  alignas(kCacheLine) std::atomic<uint32_t> host_doorbell;
  std::atomic<uint32_t> host_sleepers;  // continuation threads (about to be) asleep on it

  // Counters the worker keeps (relaxed; for stats only).
  alignas(kCacheLine) std::atomic<uint64_t> calls_started;
  std::atomic<uint64_t> calls_served;
  std::atomic<uint64_t> sleeps;
  // Workers that started on this region (OnStart succeeded); a replacement
  // counts itself before it serves anything, so a call it served is never
  // seen before its boot.
  std::atomic<uint64_t> boots;
  // A process worker's pid, stored by the worker once it started (before it
  // serves), cleared by the host's supervisor when the worker died.
  std::atomic<int32_t> worker_pid;
  // The token the host gave this start in its Boot message, stored by the
  // worker once it started (before it serves); cleared by the supervisor
  // when the worker died. Stats() calls a worker up while it matches the
  // token of the host's latest start: unlike a pid, it holds when a
  // command_prefix wrapper forks the worker as its child.
  std::atomic<uint64_t> boot_token;
};
static_assert(std::is_standard_layout_v<RegionHeader>);
static_assert(alignof(RegionHeader) == kCacheLine);

// The submit ring's indices. head is written by the consumer (worker) only,
// tail by the producer (host thread) only; each on its own cache line so the
// two sides do not false-share. Indices run freely and wrap at 2^32; with a
// power-of-two capacity (<= 2^31) `tail - head` is the fill level at all times.
struct RingControl {
  alignas(kCacheLine) std::atomic<uint32_t> head;
  alignas(kCacheLine) std::atomic<uint32_t> tail;
};
static_assert(std::is_standard_layout_v<RingControl>);
static_assert(sizeof(RingControl) == 2 * kCacheLine);

// One call on the submit ring: the host writes it, the worker reads it.
struct CallDescriptor {
  uint32_t slot;          // which slot of this lane holds the request
  uint32_t seq;           // the call's sequence number on that slot
  uint32_t method_index;  // dense method index (see MethodInfo::index)
  uint32_t flags;         // kCallAbortable, kCallInlineRequest and its words
  int64_t deadline_ns;    // CLOCK_MONOTONIC; 0 when the call has no deadline
  uint64_t submit_ticks;  // stats clock (stats_clock.h) at submit; 0 with stats off
};
static_assert(std::is_trivially_copyable_v<CallDescriptor>);
// CallDescriptor::flags: the call holds an abort slot, so the worker may
// tell its method (call.aborted()) that the deadline passed.
inline constexpr uint32_t kCallAbortable = 1;
// CallDescriptor::flags: the request is one segment, at the start of the
// slot's request inline area, of (flags >> kInlineWordsShift) words; the
// slot's request table is not written (the worker reads no other line).
inline constexpr uint32_t kCallInlineRequest = 2;
inline constexpr uint32_t kInlineWordsShift = 8;
static_assert(sizeof(CallDescriptor) == 32);

struct SegmentRef {
  uint64_t offset;  // from the region's start, in bytes, 8-aligned
  uint64_t words;
};

struct SegmentTable {
  uint32_t count;
  uint32_t reserved;
  SegmentRef segments[kMaxSegments];
};
static_assert(std::is_trivially_copyable_v<SegmentTable>);

// Per-slot control in shared memory.
// Its cache lines are grouped by who writes them how often, so that a call
// moves as few lines between the cores as it can: the completion line is
// written by the worker only and read by the host; the host's flags line is
// read by the worker every call but written only when a flag changes; the
// release word, written by the host every call, is read by the worker only
// when it needs response heap space.
struct SlotShared {
  // ---- The completion line (the worker's; the host spins on it).
  // The completion word: the worker stores the call's seq here (release)
  // once status and response are written; the host waits on it (futex).
  alignas(kCacheLine) std::atomic<uint32_t> done_seq;
  // Host threads asleep (or about to be) on wake_seq (the host writes it
  // only on its way to sleep).
  std::atomic<uint32_t> host_waiting;
  // The futex word host threads sleep on: bumped by every completion (the
  // worker, or the host's supervisor for a dead worker) and by the host when
  // it resolves the call itself (abort, deadline, shutdown).
  std::atomic<uint32_t> wake_seq;

  // Written by the worker before done_seq.
  uint32_t status_code;  // absl::StatusCode
  uint32_t message_length;
  SegmentTable response;
  char message[kMaxStatusMessage];

  // ---- The host's flags: stored only when they change (LaneHost::Submit
  // clears them only if set), so the worker's reads of them hit its cache.
  // Raised by the host when the call is aborted or times out.
  alignas(kCacheLine) std::atomic<uint32_t> abort;
  // Set by the host when something other than the caller's own wait is
  // waiting for this call (a continuation); cleared when the slot is
  // reused. A watched call's completion rings the region's host_doorbell.
  std::atomic<uint32_t> watched;

  // ---- Written by the host before the descriptor is published (spilled
  // requests only: a one-segment request is described by its descriptor).
  alignas(kCacheLine) SegmentTable request;

  // ---- The seq of the call whose response the host has released: the
  // worker may reuse that response's heap spans (see
  // LaneWorker::AllocateSpill in lane_worker.cc). Stored per call by the
  // host, read by the worker only when it spills.
  alignas(kCacheLine) std::atomic<uint32_t> released_seq;

  // ---- The seq of the call the worker took off the ring, stored before it
  // advances the ring's head: started_seq != done_seq means the call was
  // running (or about to run) when a worker died. On a line of its own: the
  // host spins on done_seq's line while the call runs, and a store there
  // would pull that line away from it mid-call. Read by the host's
  // supervisor only.
  alignas(kCacheLine) std::atomic<uint32_t> started_seq;
};
static_assert(std::is_standard_layout_v<SlotShared>);
static_assert(sizeof(SlotShared) % kCacheLine == 0);

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_INTERNAL_LAYOUT_H_
