// Fuzzes the host's validation and copy-out of a process worker's result
// (LaneHost::ResolveFromSlot with trusted_worker = false), the path every
// result of an untrusted worker takes before a caller reads it.
//
// One real region (memfd) and one LaneHost over it, as a pool makes them
// for a process worker. Each input is one call: the host sends a small
// request (NewCall, AcquireSlot, PrepareRequest, Submit), then the fuzz
// input plays the hostile worker (formats.h, ResponseInput): it may corrupt
// the ring's head before the submit, and writes the slot's status code,
// message, response segment table and the bytes of the response inline area
// and heap, then publishes done_seq (slot.h). The host resolves the call
// (Resolve(call, Outcome::FromWorker())) and the caller takes it
// (CallHandle::Take), as Future::Get does. Invariants:
//   - a status code above kUnauthenticated, a table OpenSegments refuses, or
//     a message Cap'n Proto cannot validate is DataLoss; a valid code is
//     returned as is, with the message cut at kMaxStatusMessage;
//   - an OK result is a copy: it equals the segments the worker wrote, and
//     stays readable after the worker scribbles over them;
//   - reading an OK result (every object, fuzz_util.h's WalkPointer, then
//     typed) never throws: the runtime promises a validated process result
//     is safe to read;
//   - the slot is released exactly once (no slot is in use after the call).
//
// The call is tests/pool's TestService.echo: its results are read in full
// untyped (every object), then typed as the caller would (EchoResults:
// data, checksum).
//
// Known failure (tests/fuzz/crashes/response_fuzz/, README.md there): a
// validated result can still throw when read (the check is weaker than the
// reading). With WEFT_FUZZ_TOLERATE_READ_THROW=1 in the environment such an
// exception is let through, so a long run can look for other failures
// meanwhile; every other invariant still holds it.
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "capnp/any.h"
#include "kj/exception.h"
#include "runtime/future.h"
#include "runtime/interface.h"
#include "runtime/internal/abort_budget.h"
#include "runtime/internal/call_state.h"
#include "runtime/internal/lane_host.h"
#include "runtime/internal/layout.h"
#include "runtime/internal/region.h"
#include "runtime/internal/region_message.h"
#include "runtime/internal/slot.h"
#include "tests/fuzz/formats.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/fuzz/service_region.h"
#include "tests/pool/test_service.weft.h"

namespace weft_fuzz {
namespace {

using namespace weft::internal;
using weft_test::TestService;

using u128 = unsigned __int128;

constexpr uint32_t kInlineBytes = 256;
constexpr uint64_t kHeapBytes = 64 * 1024;

struct Host {
  Host() : region(MakeRegion()), aborts(16) {
    LaneConfig config;
    config.max_payload_words = kHeapBytes / 8;
    config.trusted_worker = false;
    lane = std::make_unique<LaneHost>(&region, 0, 0, config, &shutting_down, &aborts);
  }

  static Region MakeRegion() { return MakeServiceRegion(2, kInlineBytes, kHeapBytes); }

  Region region;
  std::atomic<uint32_t> shutting_down{0};
  AbortBudget aborts;
  std::unique_ptr<LaneHost> lane;
  const weft::MethodInfo& method = weft::InterfaceTraits<TestService>::kMethods[1];  // echo
  uint64_t heap_dirty = 0;  // bytes at the response heap's start written by earlier inputs
};

Host& TheHost() {
  static Host* host = new Host;
  return *host;
}

uint64_t AreaStart(const Region& region, uint32_t slot, uint8_t base) {
  const LaneLayout lane = region.lane(0);
  const uint32_t slots = region.geometry().slots_per_lane;
  switch (base % kRespAreaCount) {
    case kRespInline:
      return lane.response_inline + uint64_t{slot} * kInlineBytes;
    case kRespHeap:
      return lane.response_heap;
    case kRespRequestInline:
      return lane.request_inline + uint64_t{slot} * kInlineBytes;
    case kRespOtherInline:
      return lane.response_inline + uint64_t{(slot + 1) % slots} * kInlineBytes;
    default:
      return 0;
  }
}

// OpenSegments' rule, in arithmetic that cannot wrap (see segments_fuzz.cc).
bool TableValid(const SegmentTable& table, const Region& region, uint32_t slot) {
  if (table.count == 0 || table.count > kMaxSegments) return false;
  const LaneLayout lane = region.lane(0);
  const uint64_t inline_start = lane.response_inline + uint64_t{slot} * kInlineBytes;
  for (uint32_t i = 0; i < table.count; ++i) {
    const u128 begin = table.segments[i].offset;
    const u128 end = begin + u128{table.segments[i].words} * 8;
    if (begin % 8 != 0 || end > region.size()) return false;
    const bool in_inline = begin >= inline_start && end <= u128{inline_start} + kInlineBytes;
    const bool in_heap =
        begin >= lane.response_heap && end <= u128{lane.response_heap} + kHeapBytes;
    if (!in_inline && !in_heap) return false;
  }
  return true;
}

}  // namespace
}  // namespace weft_fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace weft_fuzz;
  Host& host = TheHost();
  LaneHost& lane = *host.lane;
  Region& region = host.region;
  const LaneLayout layout = region.lane(0);
  FuzzInput in(data, size);
  const ResponseInput input = DecodeResponse(in);

  // ---- The host sends a call.
  FUZZ_CHECK(lane.SlotsInUse() == 0, "a slot of an earlier call was never released");
  absl::StatusOr<uint32_t> slot = lane.AcquireSlot(absl::InfiniteFuture());
  FUZZ_CHECK(slot.ok(), slot.status().ToString());
  CallState* call = lane.NewCall();
  call->slot = *slot;
  call->method = &host.method;
  call->deadline = absl::InfiniteFuture();
  call->on_timeout = weft::OnTimeout::DeadlineExceeded();
  call->holds_abort_slot = false;
  alignas(RegionMessageBuilder) unsigned char storage[sizeof(RegionMessageBuilder)];
  RegionMessageBuilder& builder = lane.PrepareRequest(*slot, storage, absl::InfiniteFuture());
  const kj::StringPtr request = "echo me";
  builder.initRoot<TestService::EchoParams>().setData(request.asBytes());

  auto* ring = reinterpret_cast<RingControl*>(region.base() + layout.ring_control);
  if (input.flags & 1) ring->head.store(input.head, std::memory_order_release);
  region.header()->worker_sleeping.store((input.flags >> 1) & 1, std::memory_order_seq_cst);
  lane.Submit(call, builder);
  builder.~RegionMessageBuilder();
  const uint32_t tail = ring->tail.load(std::memory_order_acquire);
  // The worker took whatever is on the ring (and undoes its corruption).
  ring->head.store(tail, std::memory_order_release);

  if (call->phase.load(std::memory_order_acquire) != kInFlight) {
    // The submit found the ring full: only a corrupted head can do that.
    FUZZ_CHECK(input.flags & 1, "a submit failed with an intact ring");
    weft::internal::CallHandle handle(nullptr, call);
    absl::StatusOr<ResponseHandle> taken = handle.Take();
    FUZZ_CHECK(!taken.ok() && taken.status().code() == absl::StatusCode::kDataLoss,
               "a corrupted ring must be DataLoss, got ", taken.status().ToString());
    FUZZ_LOG("response: submit refused: ", taken.status().ToString());
    FUZZ_CHECK(lane.SlotsInUse() == 0, "an unsent call kept its slot");
    return 0;
  }
  const auto* descriptors =
      reinterpret_cast<const CallDescriptor*>(region.base() + layout.descriptors);
  const CallDescriptor d = descriptors[(tail - 1) & (region.geometry().ring_capacity - 1)];
  FUZZ_CHECK(d.slot == *slot && d.seq == call->seq && d.method_index == host.method.index,
             "the descriptor on the ring is not the call's");

  // ---- The hostile worker answers.
  SlotShared& shared = reinterpret_cast<SlotShared*>(region.base() + layout.slots)[*slot];
  char* inline_area = region.base() + layout.response_inline + uint64_t{*slot} * kInlineBytes;
  char* heap = region.base() + layout.response_heap;
  std::memset(inline_area, 0, kInlineBytes);
  std::memset(heap, 0, host.heap_dirty);
  const std::string& inline_bytes = input.areas.inline_bytes;
  std::memcpy(inline_area, inline_bytes.data(),
              std::min<size_t>(inline_bytes.size(), kInlineBytes));
  host.heap_dirty = std::min<uint64_t>(input.areas.heap_bytes.size(), kHeapBytes);
  std::memcpy(heap, input.areas.heap_bytes.data(), host.heap_dirty);

  shared.status_code = input.status_code;
  shared.message_length = input.message_length;
  std::memset(shared.message, 0, kMaxStatusMessage);
  std::memcpy(shared.message, input.message.data(),
              std::min<size_t>(input.message.size(), kMaxStatusMessage));
  SegmentTable table;
  std::memset(&table, 0xA5, sizeof(table));  // entries past `count` hold garbage
  table.count = input.table.count;
  for (size_t i = 0; i < input.table.segments.size(); ++i) {
    const SegmentSpec& s = input.table.segments[i];
    table.segments[i].offset = AreaStart(region, *slot, s.base) + s.offset;
    table.segments[i].words = s.words;
  }
  std::memcpy(&shared.response, &table, sizeof(table));
  const bool table_valid = TableValid(table, region, *slot);
  std::vector<std::string> written;  // the segments as the worker wrote them
  if (table_valid) {
    for (uint32_t i = 0; i < table.count; ++i) {
      written.emplace_back(region.base() + table.segments[i].offset, table.segments[i].words * 8);
    }
  }
  PublishSlotDone(shared, *region.header(), d.seq, WakeHost::kIfWaiting);

  // ---- The host resolves it; the worker scribbles over what it wrote.
  FUZZ_CHECK(lane.WorkerDone(call), "the published call is not done");
  FUZZ_CHECK(lane.Resolve(call, Outcome::FromWorker()), "nobody else could have resolved it");
  FUZZ_CHECK(call->phase.load(std::memory_order_acquire) == kReady,
             "an untrusted worker's result must be copied out (kReady), phase ",
             call->phase.load());
  FUZZ_CHECK(lane.SlotsInUse() == 0, "a resolved process result must release its slot");
  if (table_valid) {
    for (uint32_t i = 0; i < table.count; ++i) {
      const uint64_t offset = table.segments[i].offset;
      std::memset(region.base() + offset, 0xEE, table.segments[i].words * 8);
      if (offset >= layout.response_heap) {
        host.heap_dirty = std::max<uint64_t>(
            host.heap_dirty, offset - layout.response_heap + table.segments[i].words * 8);
      }
    }
  }

  // ---- The caller takes it and reads all of it.
  weft::internal::CallHandle handle(nullptr, call);
  absl::StatusOr<ResponseHandle> taken = handle.Take();
  const uint32_t code = input.status_code;
  FUZZ_LOG("response: worker code ", code, ", table ", table_valid ? "valid" : "invalid",
           ", caller gets ", taken.status().ToString());
  if (code > static_cast<uint32_t>(absl::StatusCode::kUnauthenticated)) {
    FUZZ_CHECK(!taken.ok() && taken.status().code() == absl::StatusCode::kDataLoss,
               "an invalid status code must be DataLoss, got ", taken.status().ToString());
  } else if (code != 0) {
    const size_t length = std::min<size_t>(input.message_length, kMaxStatusMessage);
    FUZZ_CHECK(!taken.ok() && static_cast<uint32_t>(taken.status().code()) == code &&
                   taken.status().message() == absl::string_view(shared.message, length),
               "status code ", code, " came back as ", taken.status().ToString());
  } else if (!taken.ok()) {
    FUZZ_CHECK(taken.status().code() == absl::StatusCode::kDataLoss &&
                   absl::StrContains(taken.status().message(), "malformed response"),
               "a bad result must be DataLoss, got ", taken.status().ToString());
  } else {
    FUZZ_CHECK(table_valid, "a table OpenSegments must refuse was accepted");
    capnp::MessageReader& reader = taken->reader();
    for (uint32_t i = 0; i < written.size(); ++i) {
      const kj::ArrayPtr<const capnp::word> segment = reader.getSegment(i);
      FUZZ_CHECK(segment.size() * 8 == written[i].size() &&
                     std::memcmp(segment.begin(), written[i].data(), written[i].size()) == 0,
                 "segment ", i, " of the result is not what the worker wrote");
    }
    // Future<R>::Get checks an untrusted result against R before the caller
    // reads it; a result of the wrong shape is DataLoss there.
    const absl::Status typed =
        weft::internal::CheckTypedResults(capnp::Schema::from<TestService::EchoResults>(), reader);
    if (!typed.ok()) {
      FUZZ_CHECK(typed.code() == absl::StatusCode::kDataLoss,
                 "a result of the wrong type must be DataLoss, got ", typed.ToString());
      return 0;
    }
    WalkStats stats;
    try {
      WalkPointer(reader.getRoot<capnp::AnyPointer>(), stats);
      TestService::EchoResults::Reader echo = reader.getRoot<TestService::EchoResults>();
      stats.checksum += echo.getChecksum();
      stats.Mix(echo.getData());
      FUZZ_LOG("response: read ", stats.structs, " structs, ", stats.lists, " lists, ", stats.bytes,
               " bytes, ", stats.capabilities, " capabilities");
    } catch (const kj::Exception& e) {
      static const bool tolerate = std::getenv("WEFT_FUZZ_TOLERATE_READ_THROW") != nullptr;
      FUZZ_CHECK(tolerate, "reading a validated process result threw: ", e.getDescription().cStr());
      FUZZ_LOG("response: known failure tolerated: ", e.getDescription().cStr());
    }
  }
  return 0;
}
