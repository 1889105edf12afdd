// Fuzzes the worker's reading of a request (LaneWorker::Serve): what a
// worker does with a descriptor, segment table and request bytes a hostile
// host wrote into its region.
//
// One real region (memfd); for each input a fresh LaneWorker over lane 0
// (as a worker that just started) and a skeleton of tests/pool's
// TestService whose every method reads all of its params (WalkStruct, plus
// the typed getters). The input (formats.h, RequestInput) is the host: the
// descriptor pushed on the ring, the slot's abort word, its request segment
// table, and the bytes of the request inline area and heap. The worker
// takes the descriptor off the ring as WorkerLoop::PollOnce does
// (NoteStarted, Pop, Serve). Invariants:
//   - a descriptor naming no slot, or a call already done, publishes
//     nothing; any other is published done exactly once, with its seq,
//     started_seq set, and a status code and message length in range;
//   - an unknown method or a table OpenSegments refuses (the descriptor's
//     one-segment form when its flags say so) is InvalidArgument,
//     an aborted call Cancelled, a passed deadline DeadlineExceeded;
//   - an OK response is well formed: its table lies in the slot's response
//     areas, it reads back without throwing, and it holds what the method
//     computed from the request;
//   - a replacement worker (AdoptPredecessorResponses, run first when the
//     input asks) never overwrites the predecessor's response spans the host
//     may still read: they are filled with a pattern that must survive.
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "capnp/any.h"
#include "capnp/serialize.h"
#include "kj/exception.h"
#include "runtime/internal/lane_worker.h"
#include "runtime/internal/layout.h"
#include "runtime/internal/region.h"
#include "runtime/internal/region_message.h"
#include "runtime/internal/slot.h"
#include "tests/fuzz/formats.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/fuzz/service_region.h"
#include "tests/pool/test_service.weft.h"
#include "tests/testing/checksum.h"

namespace weft_fuzz {
namespace {

using namespace weft::internal;
using weft_test::TestService;

using u128 = unsigned __int128;

constexpr uint32_t kSlots = 2;
constexpr uint32_t kInlineBytes = 256;
constexpr uint64_t kHeapBytes = 64 * 1024;
constexpr uint64_t kMaxBlob = 1 << 20;
constexpr uint64_t kMaxSpin = 1000;

void ReadAll(capnp::AnyStruct::Reader params) {
  WalkStats stats;
  WalkStruct(params, stats);
}

// TestService with nothing that blocks or runs long: the gated methods
// return at once, spin and makeBlob are bounded.
class FuzzService final : public weft::Skeleton<TestService> {
 public:
  absl::Status square(SquareCall& call) override {
    ReadAll(call.params());
    const uint64_t v = static_cast<uint64_t>(call.params().getValue());
    call.results().setResult(static_cast<int64_t>(v * v));
    return absl::OkStatus();
  }
  absl::Status echo(EchoCall& call) override {
    ReadAll(call.params());
    capnp::Data::Reader data = call.params().getData();
    call.results().setChecksum(weft_test::Checksum(data));
    call.results().setData(data);
    return absl::OkStatus();
  }
  absl::Status fail(FailCall& call) override {
    ReadAll(call.params());
    return absl::Status(static_cast<absl::StatusCode>(call.params().getCode()),
                        call.params().getMessage().cStr());
  }
  absl::Status throwError(ThrowErrorCall& call) override {
    ReadAll(call.params());
    throw std::runtime_error(call.params().getMessage().cStr());
  }
  absl::Status makeBlob(MakeBlobCall& call) override {
    ReadAll(call.params());
    const uint64_t size = std::min(call.params().getSize(), kMaxBlob);
    capnp::Data::Builder blob = call.results().initBlob(static_cast<capnp::uint>(size));
    for (size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<kj::byte>(i % 251);
    return absl::OkStatus();
  }
  absl::Status gated(GatedCall& call) override {
    ReadAll(call.params());
    call.results().setWasAborted(call.aborted());
    return absl::OkStatus();
  }
  absl::Status whoAmI(WhoAmICall& call) override {
    ReadAll(call.params());
    call.results().setWorker(0);
    return absl::OkStatus();
  }
  absl::Status gatedDefault(GatedDefaultCall& call) override {
    ReadAll(call.params());
    call.results().setValue(7);
    return absl::OkStatus();
  }
  absl::Status gatedTimed(GatedTimedCall& call) override {
    ReadAll(call.params());
    call.results().setValue(8);
    return absl::OkStatus();
  }
  absl::Status spin(SpinCall& call) override {
    ReadAll(call.params());
    const uint64_t n = std::min(call.params().getIterations(), kMaxSpin);
    uint64_t i = 0;
    while (i < n && !call.aborted()) ++i;
    call.results().setReached(i);
    return absl::OkStatus();
  }
  absl::Status stuck(StuckCall& call) override {
    ReadAll(call.params());
    return absl::OkStatus();  // the real one blocks on a gate; a fuzzer must not
  }
  absl::Status manyTexts(ManyTextsCall& call) override {
    ReadAll(call.params());
    auto items = call.results().initItems(std::min<uint32_t>(call.params().getCount(), 64));
    for (uint32_t i = 0; i < items.size(); ++i) items.set(i, "item");
    return absl::OkStatus();
  }
};

struct Worker {
  Worker() : region(MakeRegion()) {}

  static Region MakeRegion() { return MakeServiceRegion(kSlots, kInlineBytes, kHeapBytes); }

  Region region;
  FuzzService service;
  uint64_t calls_served = 0;
  uint64_t request_heap_dirty = 0;
};

Worker& TheWorker() {
  static Worker* worker = new Worker;
  return *worker;
}

uint64_t AreaStart(const LaneLayout& lane, uint32_t slot, uint8_t base) {
  switch (base % kReqAreaCount) {
    case kReqInline:
      return lane.request_inline + uint64_t{slot} * kInlineBytes;
    case kReqHeap:
      return lane.request_heap;
    case kReqResponseInline:
      return lane.response_inline + uint64_t{slot} * kInlineBytes;
    case kReqOtherInline:
      return lane.request_inline + uint64_t{(slot + 1) % kSlots} * kInlineBytes;
    default:
      return 0;
  }
}

// OpenSegments' rule (see segments_fuzz.cc) for a table that must lie in
// `inline_start`'s area or in `heap_start`'s heap.
bool TableValid(const SegmentTable& table, uint64_t region_bytes, uint64_t inline_start,
                uint64_t heap_start) {
  if (table.count == 0 || table.count > kMaxSegments) return false;
  for (uint32_t i = 0; i < table.count; ++i) {
    const u128 begin = table.segments[i].offset;
    const u128 end = begin + u128{table.segments[i].words} * 8;
    if (begin % 8 != 0 || end > region_bytes) return false;
    const bool in_inline = begin >= inline_start && end <= u128{inline_start} + kInlineBytes;
    const bool in_heap = begin >= heap_start && end <= u128{heap_start} + kHeapBytes;
    if (!in_inline && !in_heap) return false;
  }
  return true;
}

uint64_t PredecessorAreaStart(const LaneLayout& lane, uint32_t slot, uint8_t base) {
  switch (base % kPredAreaCount) {
    case kPredInline:
      return lane.response_inline + uint64_t{slot} * kInlineBytes;
    case kPredHeap:
      return lane.response_heap;
    case kPredCallInline:
      return lane.response_inline + uint64_t{(slot + 1) % kSlots} * kInlineBytes;
    case kPredRequestHeap:
      return lane.request_heap;
    default:
      return 0;
  }
}

// The response heap spans (in words from the heap's start) a replacement
// worker must keep: the predecessor's heap segments that are 8-aligned,
// inside the heap and not overlapping an earlier one (what the host may
// still read, as far as it can be reserved).
std::vector<std::pair<uint64_t, uint64_t>> HeldSpans(const SegmentTable& table,
                                                     const LaneLayout& lane) {
  std::vector<std::pair<uint64_t, uint64_t>> held;
  const uint64_t heap_words = kHeapBytes / 8;
  for (uint32_t k = 0; k < std::min(table.count, kMaxSegments); ++k) {
    const SegmentRef seg = table.segments[k];
    if (seg.offset < lane.response_heap || seg.offset % 8 != 0) continue;
    const uint64_t at = (seg.offset - lane.response_heap) / 8;
    if (seg.words == 0 || at > heap_words || seg.words > heap_words - at) continue;
    bool overlaps = false;
    for (const auto& [start, words] : held) {
      if (at < start + words && start < at + seg.words) overlaps = true;
    }
    if (!overlaps) held.emplace_back(at, seg.words);
  }
  return held;
}

// What memory the worker must not write is filled with.
constexpr char kUntouched = 0x5A;

bool Untouched(const char* p, uint64_t n) {
  static const std::string pattern(kHeapBytes, kUntouched);
  for (uint64_t at = 0; at < n; at += pattern.size()) {
    const uint64_t chunk = std::min<uint64_t>(n - at, pattern.size());
    if (std::memcmp(p + at, pattern.data(), chunk) != 0) return false;
  }
  return true;
}

void ResetSlot(SlotShared& s) {
  s.done_seq.store(0, std::memory_order_relaxed);
  s.host_waiting.store(0, std::memory_order_relaxed);
  s.wake_seq.store(0, std::memory_order_relaxed);
  s.abort.store(0, std::memory_order_relaxed);
  s.released_seq.store(0, std::memory_order_relaxed);
  s.started_seq.store(0, std::memory_order_relaxed);
  s.status_code = 0;
  s.message_length = 0;
  std::memset(&s.response, 0, sizeof(s.response));
  std::memset(&s.request, 0, sizeof(s.request));
}

// The request table the worker must go by: the descriptor's own one-segment
// form when it says so (kCallInlineRequest: the slot's inline area, of the
// word count in the flags), else what the host wrote into the slot.
SegmentTable RequestTableOf(const CallDescriptor& d, const SegmentTable& written,
                            const LaneLayout& lane) {
  if ((d.flags & kCallInlineRequest) == 0) return written;
  SegmentTable t;
  std::memset(&t, 0, sizeof(t));
  t.count = 1;
  t.segments[0].offset = lane.request_inline + uint64_t{d.slot} * kInlineBytes;
  t.segments[0].words = d.flags >> kInlineWordsShift;
  return t;
}

// Opens the segments of `request` (checked by OpenSegments against the
// slot's inline area and the heap) and of the response, and checks the
// method's results against its params.
void CheckResponse(const Region& region, const LaneLayout& lane, uint32_t slot,
                   uint32_t method_index, const SegmentTable& request_table) {
  SlotShared& s = reinterpret_cast<SlotShared*>(region.base() + lane.slots)[slot];
  std::array<kj::ArrayPtr<const capnp::word>, kMaxSegments> response_segments;
  const uint64_t response_inline = lane.response_inline + uint64_t{slot} * kInlineBytes;
  const absl::Status opened = OpenSegments(
      s.response, region.base(), region.size(),
      {ByteRange{response_inline, kInlineBytes}, ByteRange{lane.response_heap, kHeapBytes}},
      response_segments);
  FUZZ_CHECK(opened.ok(), "the worker wrote a response table it may not: ", opened.ToString());
  std::array<kj::ArrayPtr<const capnp::word>, kMaxSegments> request_segments;
  const absl::Status request_opened =
      OpenSegments(request_table, region.base(), region.size(),
                   {ByteRange{lane.request_inline + uint64_t{slot} * kInlineBytes, kInlineBytes},
                    ByteRange{lane.request_heap, kHeapBytes}},
                   request_segments);
  FUZZ_CHECK(request_opened.ok(), "served a request whose table is invalid");
  try {
    capnp::SegmentArrayMessageReader response(
        kj::arrayPtr(response_segments.data(), s.response.count));
    WalkStats stats;
    WalkPointer(response.getRoot<capnp::AnyPointer>(), stats);
    capnp::ReaderOptions options;
    options.traversalLimitInWords = uint64_t{1} << 40;  // the worker has read it already
    capnp::SegmentArrayMessageReader request(
        kj::arrayPtr(request_segments.data(), request_table.count), options);
    switch (method_index) {
      case 0: {
        const uint64_t v =
            static_cast<uint64_t>(request.getRoot<TestService::SquareParams>().getValue());
        FUZZ_CHECK(static_cast<uint64_t>(
                       response.getRoot<TestService::SquareResults>().getResult()) == v * v,
                   "square returned the wrong result");
        break;
      }
      case 1: {
        auto echoed = response.getRoot<TestService::EchoResults>();
        FUZZ_CHECK(echoed.getData() == request.getRoot<TestService::EchoParams>().getData() &&
                       echoed.getChecksum() == weft_test::Checksum(echoed.getData()),
                   "echo returned other bytes than it got");
        break;
      }
      case 4: {
        const uint64_t size =
            std::min(request.getRoot<TestService::MakeBlobParams>().getSize(), kMaxBlob);
        capnp::Data::Reader blob = response.getRoot<TestService::MakeBlobResults>().getBlob();
        FUZZ_CHECK(blob.size() == size, "makeBlob returned ", blob.size(), " bytes for ", size);
        for (size_t i = 0; i < blob.size(); ++i) {
          FUZZ_CHECK(blob[i] == i % 251, "makeBlob's byte ", i, " is wrong");
        }
        break;
      }
      default:
        break;
    }
  } catch (const kj::Exception& e) {
    FUZZ_CHECK(false,
               "an OK call's request or response does not read back: ", e.getDescription().cStr());
  }
}

}  // namespace
}  // namespace weft_fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace weft_fuzz;
  Worker& worker = TheWorker();
  Region& region = worker.region;
  const LaneLayout lane = region.lane(0);
  FuzzInput in(data, size);
  const RequestInput input = DecodeRequest(in);

  // ---- The region as the worker finds it: no call done yet.
  SlotShared* slots = reinterpret_cast<SlotShared*>(region.base() + lane.slots);
  for (uint32_t i = 0; i < kSlots; ++i) ResetSlot(slots[i]);
  std::memset(region.base() + lane.request_inline, 0, kSlots * kInlineBytes);
  std::memset(region.base() + lane.response_inline, 0, kSlots * kInlineBytes);
  const uint32_t slot = input.slot < kSlots ? input.slot : 0;
  // The other slot's response is the host's to read: nobody may write it.
  std::memset(region.base() + lane.response_inline + uint64_t{(slot + 1) % kSlots} * kInlineBytes,
              kUntouched, kInlineBytes);
  std::memset(region.base() + lane.request_heap, 0, worker.request_heap_dirty);

  // ---- The hostile host writes its request.
  CallDescriptor d{};
  d.slot = input.slot;
  d.seq = input.seq;
  d.method_index = input.method_index;
  d.flags = input.flags;
  switch (input.deadline_mode % kDeadlineModeCount) {
    case kFarFuture:
      d.deadline_ns = INT64_MAX;
      break;
    case kPast:
      d.deadline_ns = 1;
      break;
    case kRawDeadline:
      d.deadline_ns = input.deadline;
      break;
    default:
      d.deadline_ns = 0;
  }
  SegmentTable table;
  std::memset(&table, 0xA5, sizeof(table));  // entries past `count` hold garbage
  table.count = input.table.count;
  for (size_t i = 0; i < input.table.segments.size(); ++i) {
    const SegmentSpec& s = input.table.segments[i];
    table.segments[i].offset = AreaStart(lane, slot, s.base) + s.offset;
    table.segments[i].words = s.words;
  }
  std::memcpy(&slots[slot].request, &table, sizeof(table));
  slots[slot].abort.store(input.abort, std::memory_order_relaxed);
  const std::string& inline_bytes = input.areas.inline_bytes;
  std::memcpy(region.base() + lane.request_inline + uint64_t{slot} * kInlineBytes,
              inline_bytes.data(), std::min<size_t>(inline_bytes.size(), kInlineBytes));
  worker.request_heap_dirty = std::min<uint64_t>(input.areas.heap_bytes.size(), kHeapBytes);
  std::memcpy(region.base() + lane.request_heap, input.areas.heap_bytes.data(),
              worker.request_heap_dirty);
  auto* ring = reinterpret_cast<RingControl*>(region.base() + lane.ring_control);
  auto* entries = reinterpret_cast<CallDescriptor*>(region.base() + lane.descriptors);
  const uint32_t tail = ring->tail.load(std::memory_order_relaxed);
  entries[tail & (kSlots - 1)] = d;
  ring->tail.store(tail + 1, std::memory_order_release);

  // ---- The worker serves it, as WorkerLoop::PollOnce does; a replacement
  // first takes over what its predecessor left (WorkerLoop::Start).
  LaneWorker lane_worker(region.base(), region.size(), region.geometry(), 0, kHeapBytes / 8);
  std::vector<std::pair<uint64_t, uint64_t>> held;
  char* response_heap = region.base() + lane.response_heap;
  if (input.replacement & 1) {
    SlotShared& before = slots[(slot + 1) % kSlots];
    SegmentTable left;
    std::memset(&left, 0xA5, sizeof(left));
    left.count = input.predecessor.count;
    for (size_t i = 0; i < input.predecessor.segments.size(); ++i) {
      const SegmentSpec& s = input.predecessor.segments[i];
      left.segments[i].offset = PredecessorAreaStart(lane, (slot + 1) % kSlots, s.base) + s.offset;
      left.segments[i].words = s.words;
    }
    std::memcpy(&before.response, &left, sizeof(left));
    before.done_seq.store(input.predecessor_done, std::memory_order_relaxed);
    before.released_seq.store(input.predecessor_released, std::memory_order_relaxed);
    if (input.predecessor_done != 0 && input.predecessor_released != input.predecessor_done) {
      held = HeldSpans(left, lane);
    }
    for (const auto& [at, words] : held) std::memset(response_heap + at * 8, kUntouched, words * 8);
    lane_worker.AdoptPredecessorResponses();
  }
  const CallDescriptor* front = lane_worker.ring().Peek();
  FUZZ_CHECK(front != nullptr && std::memcmp(front, &d, sizeof(d)) == 0,
             "the worker does not see the descriptor pushed");
  const CallDescriptor copy = *front;
  struct Words {
    uint32_t done, started, wake;
  };
  Words before[kSlots];
  for (uint32_t i = 0; i < kSlots; ++i) {
    before[i] = {slots[i].done_seq.load(), slots[i].started_seq.load(), slots[i].wake_seq.load()};
  }
  lane_worker.NoteStarted(copy);
  lane_worker.ring().Pop();
  const uint64_t served_before = worker.calls_served;
  lane_worker.Serve(copy, &worker.service, region.header(), worker.calls_served);

  // ---- What it published.
  const char* other_inline =
      region.base() + lane.response_inline + uint64_t{(slot + 1) % kSlots} * kInlineBytes;
  FUZZ_CHECK(Untouched(other_inline, kInlineBytes), "serving slot ", slot,
             " wrote into the other slot's response area");
  for (const auto& [at, words] : held) {
    FUZZ_CHECK(Untouched(response_heap + at * 8, words * 8), "the response heap span at word ", at,
               " (", words, " words) the host may still read was overwritten");
  }
  if (d.slot < kSlots) {
    const SlotShared& p = slots[d.slot];
    FUZZ_LOG("request: method ", d.method_index, " slot ", d.slot, " seq ", d.seq, ": done_seq ",
             p.done_seq.load(), ", code ", p.status_code, " ",
             std::string(p.message, std::min(p.message_length, kMaxStatusMessage)));
  } else {
    FUZZ_LOG("request: slot ", d.slot, " out of range");
  }
  if (d.slot >= kSlots) {
    for (uint32_t i = 0; i < kSlots; ++i) {
      FUZZ_CHECK(slots[i].done_seq.load() == before[i].done &&
                     slots[i].started_seq.load() == before[i].started &&
                     slots[i].wake_seq.load() == before[i].wake,
                 "a descriptor for slot ", d.slot, " touched slot ", i);
    }
    FUZZ_CHECK(worker.calls_served == served_before, "a call without a slot was counted");
    return 0;
  }
  SlotShared& s = slots[d.slot];
  FUZZ_CHECK(worker.calls_served == served_before + 1, "the call was not counted");
  FUZZ_CHECK(s.started_seq.load() == d.seq, "started_seq is not the call's");
  if (d.seq == 0) {
    // done_seq already reads 0: a stale descriptor of a call already done.
    FUZZ_CHECK(s.wake_seq.load() == 0 && s.status_code == 0,
               "a call already done was published again");
    return 0;
  }
  FUZZ_CHECK(s.done_seq.load() == d.seq && s.wake_seq.load() == 1,
             "the call was not published done exactly once");
  FUZZ_CHECK(s.status_code <= static_cast<uint32_t>(absl::StatusCode::kUnauthenticated) &&
                 s.message_length <= kMaxStatusMessage,
             "status code ", s.status_code, " / message length ", s.message_length);
  const auto code = static_cast<absl::StatusCode>(s.status_code);
  const uint32_t method_count =
      static_cast<uint32_t>(weft::InterfaceTraits<TestService>::kMethodCount);
  if (d.method_index >= method_count) {
    FUZZ_CHECK(code == absl::StatusCode::kInvalidArgument, "unknown method: code ", s.status_code);
    return 0;
  }
  if (input.abort != 0) {
    FUZZ_CHECK(code == absl::StatusCode::kCancelled, "aborted call: code ", s.status_code);
    return 0;
  }
  if (d.deadline_ns == 1) {
    FUZZ_CHECK(code == absl::StatusCode::kDeadlineExceeded, "late call: code ", s.status_code);
    return 0;
  }
  if (d.deadline_ns != 0 && d.deadline_ns != INT64_MAX) return 0;  // depends on the clock
  const uint64_t request_inline = lane.request_inline + uint64_t{d.slot} * kInlineBytes;
  const SegmentTable used = RequestTableOf(d, table, lane);
  if (!TableValid(used, region.size(), request_inline, lane.request_heap)) {
    FUZZ_CHECK(code == absl::StatusCode::kInvalidArgument,
               "a request table OpenSegments must refuse was served: code ", s.status_code);
    return 0;
  }
  if (code == absl::StatusCode::kOk) CheckResponse(region, lane, d.slot, d.method_index, used);
  return 0;
}
