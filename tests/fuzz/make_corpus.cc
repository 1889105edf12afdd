// Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/):
// valid inputs made with the real code (Cap'n Proto messages, SendBoot and
// SendReady output, Region::Create headers) and a few malformed ones, each
// in the target's input format (formats.h).
//
//   tools/bazel run //tests/fuzz:make_corpus -- "$PWD/tests/fuzz/corpus"
//
// Files are named for what they hold; rerunning rewrites them the same way
// (except the pid inside SendReady's messages).
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "capnp/message.h"
#include "capnp/serialize.h"
#include "runtime/internal/control_channel.h"
#include "runtime/internal/layout.h"
#include "runtime/internal/region.h"
#include "runtime/pool_options.h"
#include "tests/fuzz/formats.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/pool/test_service.capnp.h"
#include "tests/testing/checksum.h"

namespace weft_fuzz {
namespace {

using weft::internal::kMaxSegments;
using weft_test::TestService;

std::filesystem::path out_dir;
int written = 0;

void Write(const std::string& target, const std::string& name, const std::string& bytes) {
  const std::filesystem::path dir = out_dir / target;
  std::filesystem::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "make_corpus: cannot write %s\n", (dir / name).c_str());
    std::exit(1);
  }
  ++written;
}

std::string Bytes(kj::ArrayPtr<const capnp::word> words) {
  return std::string(reinterpret_cast<const char*>(words.begin()), words.size() * 8);
}

std::string Words(std::initializer_list<uint64_t> words) {
  std::string s;
  for (uint64_t w : words) s.append(reinterpret_cast<const char*>(&w), 8);
  return s;
}

// A message's segments laid out as a worker (or host) would: the first in
// the inline area when it fits, the rest one after the other in the heap.
struct Placed {
  TableSpec table;
  AreaBytes areas;
};

Placed Place(capnp::MessageBuilder& message, uint8_t inline_base, uint8_t heap_base,
             size_t inline_bytes = 256) {
  Placed p;
  kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>> segments = message.getSegmentsForOutput();
  p.table.count = static_cast<uint32_t>(segments.size());
  for (size_t i = 0; i < segments.size(); ++i) {
    const std::string bytes = Bytes(segments[i]);
    SegmentSpec s;
    s.words = segments[i].size();
    if (i == 0 && bytes.size() <= inline_bytes) {
      s.base = inline_base;
      p.areas.inline_bytes = bytes;
    } else {
      s.base = heap_base;
      s.offset = p.areas.heap_bytes.size();
      p.areas.heap_bytes += bytes;
    }
    p.table.segments.push_back(s);
  }
  return p;
}

// Raw words as a one-segment message in the inline area.
Placed PlaceWords(const std::string& words, uint8_t inline_base) {
  Placed p;
  p.table.count = 1;
  p.table.segments.push_back(SegmentSpec{inline_base, 0, words.size() / 8});
  p.areas.inline_bytes = words;
  return p;
}

// ------------------------------------------------------------- segments

void Segments() {
  const std::string t = "segments_fuzz";
  const RangeSpec request_inline{kSegRequestInline0, 0, 256};
  const RangeSpec request_heap{kSegRequestHeap, 0, 16 * 1024};
  auto table = [](std::vector<SegmentSpec> segments, uint32_t count = 0) {
    TableSpec table;
    table.count = count != 0 ? count : static_cast<uint32_t>(segments.size());
    table.segments = std::move(segments);
    return table;
  };
  SegmentsInput s;
  s.ranges = {request_inline, request_heap};
  s.table = table({{kSegRequestInline0, 0, 4}});
  Write(t, "valid_inline", EncodeSegments(s));
  s.table =
      table({{kSegRequestInline0, 0, 32}, {kSegRequestHeap, 0, 100}, {kSegRequestHeap, 800, 50}});
  Write(t, "valid_three_segments", EncodeSegments(s));
  s.table = table({{kSegRequestInline0, 256, 0}});
  Write(t, "valid_empty_segment_at_range_end", EncodeSegments(s));
  s.table = table({});
  Write(t, "count_zero", EncodeSegments(s));
  std::vector<SegmentSpec> sixteen(kMaxSegments, SegmentSpec{kSegRequestHeap, 0, 1});
  s.table = table(sixteen, kMaxSegments + 1);
  Write(t, "count_seventeen", EncodeSegments(s));
  s.table = table({{kSegRequestInline0, 4, 2}});
  Write(t, "misaligned", EncodeSegments(s));
  s.table = table({{kSegRequestInline0, 128, 17}});
  Write(t, "past_range_end", EncodeSegments(s));
  s.table = table({{kSegResponseInline1, 0, 4}});
  Write(t, "outside_every_range", EncodeSegments(s));
  s.table = table({{kSegAbsolute, ~uint64_t{7}, 2}});
  Write(t, "offset_wraps", EncodeSegments(s));
  s.table = table({{kSegRequestHeap, 0, uint64_t{1} << 61}});
  Write(t, "words_overflow", EncodeSegments(s));
  s.ranges = {{kSegLane1, 0, ~uint64_t{0}}};
  s.table = table({{kSegLane1, 0, 8}, {kSegEnd, 0, 0}, {kSegEnd, 8, 1}}, 3);
  Write(t, "range_past_region_end", EncodeSegments(s));
  s.cut_mode = 1;
  s.cut = 40000;
  s.table = table({{kSegLane1, 0, 8}});
  Write(t, "region_cut_short", EncodeSegments(s));
  s = SegmentsInput{};
  s.table = table({{kSegRequestInline0, 0, 4}});
  Write(t, "no_ranges", EncodeSegments(s));
}

// ------------------------------------------------------------- response

void Response() {
  const std::string t = "response_fuzz";
  auto ok = [](Placed p) {
    ResponseInput r;
    r.table = std::move(p.table);
    r.areas = std::move(p.areas);
    return r;
  };
  {
    capnp::MallocMessageBuilder m;
    auto echo = m.initRoot<TestService::EchoResults>();
    const kj::StringPtr hello = "hello, host";
    echo.setData(hello.asBytes());
    echo.setChecksum(weft_test::Checksum(hello.asBytes()));
    Write(t, "ok_inline", EncodeResponse(ok(Place(m, kRespInline, kRespHeap))));
  }
  {
    capnp::MallocMessageBuilder m;
    capnp::Data::Builder blob = m.initRoot<TestService::MakeBlobResults>().initBlob(1000);
    for (size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<kj::byte>(i % 251);
    Write(t, "ok_in_heap", EncodeResponse(ok(Place(m, kRespInline, kRespHeap))));
  }
  {
    // Small fixed-size segments: far pointers between four segments.
    capnp::MallocMessageBuilder m(4, capnp::AllocationStrategy::FIXED_SIZE);
    auto echo = m.initRoot<TestService::EchoResults>();
    capnp::Data::Builder data = echo.initData(40);
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<kj::byte>(i);
    echo.setChecksum(weft_test::Checksum(data));
    Write(t, "ok_multi_segment", EncodeResponse(ok(Place(m, kRespInline, kRespHeap))));
  }
  // A null root: the default (empty) results.
  Write(t, "ok_null_root", EncodeResponse(ok(PlaceWords(Words({0}), kRespInline))));
  {
    ResponseInput r;
    r.status_code = static_cast<uint32_t>(absl::StatusCode::kNotFound);
    r.message = "no such thing";
    r.message_length = static_cast<uint32_t>(r.message.size());
    Write(t, "status_not_found", EncodeResponse(r));
    r.status_code = static_cast<uint32_t>(absl::StatusCode::kInternal);
    r.message = std::string(600, 'x');
    r.message_length = 100000;
    Write(t, "status_message_too_long", EncodeResponse(r));
    r.status_code = 99;
    r.message = "?";
    r.message_length = 1;
    Write(t, "status_code_invalid", EncodeResponse(r));
  }
  {
    capnp::MallocMessageBuilder m;
    m.initRoot<TestService::SquareResults>().setResult(49);
    ResponseInput r = ok(Place(m, kRespInline, kRespHeap));
    r.table.count = 0;
    Write(t, "table_count_zero", EncodeResponse(r));
    r = ok(Place(m, kRespInline, kRespHeap));
    r.table.segments[0].base = kRespRequestInline;
    Write(t, "table_in_request_area", EncodeResponse(r));
    r = ok(Place(m, kRespInline, kRespHeap));
    r.table.segments[0].base = kRespOtherInline;
    Write(t, "table_in_other_slot", EncodeResponse(r));
    r = ok(Place(m, kRespInline, kRespHeap));
    r.flags = 1;
    r.head = 0x80000000u;
    Write(t, "ring_head_corrupted", EncodeResponse(r));
    r.flags = 2;
    Write(t, "worker_asleep", EncodeResponse(r));
  }
  // A struct pointer whose struct lies past the segment's end.
  Write(t, "pointer_out_of_bounds",
        EncodeResponse(ok(PlaceWords(Words({0x0002000000000100ull}), kRespInline))));
  // An "other" pointer that is not a capability.
  Write(t, "pointer_unknown_kind",
        EncodeResponse(ok(PlaceWords(Words({0x0000000000000007ull}), kRespInline))));
  {
    // 70 structs, each pointing to the next: deeper than the nesting limit.
    std::string words;
    for (int i = 0; i < 70; ++i) words += Words({0x0001000000000000ull});
    words += Words({0});
    Placed p;
    p.table.count = 1;
    p.table.segments.push_back(SegmentSpec{kRespHeap, 0, words.size() / 8});
    p.areas.heap_bytes = words;
    Write(t, "nested_too_deep", EncodeResponse(ok(std::move(p))));
  }
}

// -------------------------------------------------------------- request

void Request() {
  const std::string t = "request_fuzz";
  auto call = [](uint32_t method, Placed p) {
    RequestInput r;
    r.method_index = method;
    r.table = std::move(p.table);
    r.areas = std::move(p.areas);
    return r;
  };
  auto place = [](capnp::MessageBuilder& m) { return Place(m, kReqInline, kReqHeap); };
  {
    capnp::MallocMessageBuilder m;
    m.initRoot<TestService::SquareParams>().setValue(7);
    RequestInput r = call(0, place(m));
    Write(t, "square", EncodeRequest(r));
    r.slot = 1;
    r.seq = 41;
    Write(t, "square_slot1", EncodeRequest(r));
    r.slot = 7;
    Write(t, "slot_out_of_range", EncodeRequest(r));
    r.slot = 0;
    r.seq = 0;
    Write(t, "seq_already_done", EncodeRequest(r));
    r.seq = 1;
    r.abort = 1;
    Write(t, "aborted", EncodeRequest(r));
    r.abort = 0;
    r.deadline_mode = kPast;
    Write(t, "deadline_passed", EncodeRequest(r));
    r.deadline_mode = kFarFuture;
    Write(t, "deadline_far", EncodeRequest(r));
    r.deadline_mode = kNoDeadline;
    r.method_index = 42;
    Write(t, "method_unknown", EncodeRequest(r));
    r = call(0, place(m));
    r.table.count = 0;
    Write(t, "table_count_zero", EncodeRequest(r));
    r = call(0, place(m));
    r.table.segments[0].base = kReqResponseInline;
    Write(t, "table_in_response_area", EncodeRequest(r));
    r = call(0, place(m));
    r.table.segments[0].base = kReqOtherInline;
    Write(t, "table_in_other_slot", EncodeRequest(r));
  }
  {
    capnp::MallocMessageBuilder m;
    const kj::StringPtr text = "echo this back";
    m.initRoot<TestService::EchoParams>().setData(text.asBytes());
    Write(t, "echo", EncodeRequest(call(1, place(m))));
  }
  {
    capnp::MallocMessageBuilder m(4, capnp::AllocationStrategy::FIXED_SIZE);
    capnp::Data::Builder data = m.initRoot<TestService::EchoParams>().initData(300);
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<kj::byte>(i * 7);
    Write(t, "echo_multi_segment", EncodeRequest(call(1, place(m))));
  }
  {
    capnp::MallocMessageBuilder m;
    auto fail = m.initRoot<TestService::FailParams>();
    fail.setCode(static_cast<uint32_t>(absl::StatusCode::kNotFound));
    fail.setMessage("not here");
    Write(t, "fail", EncodeRequest(call(2, place(m))));
  }
  {
    capnp::MallocMessageBuilder m;
    m.initRoot<TestService::ThrowErrorParams>().setMessage("boom");
    Write(t, "throw_error", EncodeRequest(call(3, place(m))));
  }
  {
    capnp::MallocMessageBuilder m;
    m.initRoot<TestService::MakeBlobParams>().setSize(1000);
    Write(t, "make_blob", EncodeRequest(call(4, place(m))));
    m.initRoot<TestService::MakeBlobParams>().setSize(uint64_t{1} << 40);
    Write(t, "make_blob_too_big", EncodeRequest(call(4, place(m))));
  }
  for (uint32_t method : {5u, 6u, 7u, 8u}) {
    capnp::MallocMessageBuilder m;
    m.initRoot<capnp::AnyPointer>().initAsAnyStruct(0, 0);
    Write(t, "no_params_method_" + std::to_string(method), EncodeRequest(call(method, place(m))));
  }
  {
    capnp::MallocMessageBuilder m;
    m.initRoot<TestService::SpinParams>().setIterations(50);
    Write(t, "spin", EncodeRequest(call(9, place(m))));
  }
  {
    // A replacement worker: the predecessor's response in the next slot
    // holds two heap spans; the new response must go around them.
    capnp::MallocMessageBuilder m;
    m.initRoot<TestService::MakeBlobParams>().setSize(1000);
    RequestInput r = call(4, place(m));
    r.replacement = 1;
    r.predecessor_done = 5;
    r.predecessor_released = 4;
    r.predecessor.count = 3;
    r.predecessor.segments = {{kPredInline, 0, 8}, {kPredHeap, 0, 100}, {kPredHeap, 1600, 50}};
    Write(t, "replacement_worker", EncodeRequest(r));
    r.predecessor_released = 5;  // the host released it: nothing to keep
    Write(t, "replacement_worker_released", EncodeRequest(r));
    r.predecessor_released = 4;
    r.predecessor.segments = {
        {kPredHeap, 4, 8}, {kPredHeap, 0, 1u << 20}, {kPredRequestHeap, 0, 9}};
    Write(t, "replacement_worker_bad_table", EncodeRequest(r));
  }
  // Params whose text pointer points past the segment.
  Write(t, "params_out_of_bounds",
        EncodeRequest(call(
            2, PlaceWords(Words({0x0001000100000000ull, 0, 0x0000006200000101ull}), kReqInline))));
  // A text that is not NUL-terminated.
  Write(t, "text_not_terminated",
        EncodeRequest(call(3, PlaceWords(Words({0x0001000000000000ull, 0x0000002200000001ull,
                                                0x6161616161616161ull}),
                                         kReqInline))));
}

// -------------------------------------------------------------- control

// What `send` writes to a socket (SendBoot uses send(), which needs one).
std::string Captured(const std::function<void(int)>& send) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) std::exit(1);
  send(fds[1]);
  close(fds[1]);
  std::string bytes;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fds[0], buffer, sizeof(buffer))) > 0) bytes.append(buffer, n);
  close(fds[0]);
  return bytes;
}

void Control() {
  const std::string t = "control_fuzz";
  weft::PoolOptions options;
  options.max_payload_bytes = 1 << 20;
  const std::string ready_ok =
      Captured([](int fd) { weft::internal::SendReady(fd, absl::OkStatus()); });
  const std::string ready_error = Captured([](int fd) {
    weft::internal::SendReady(fd, absl::NotFoundError("cannot open region /weft-0: gone"));
  });
  const std::string boot_fd =
      Captured([&](int fd) { weft::internal::SendBoot(fd, options, 2, 3, "", 7); });
  const std::string boot_named = Captured([&](int fd) {
    weft::internal::SendBoot(fd, options, 0, -1, "/weft-00112233445566778899aabbccddeeff", 1);
  });
  const std::string boot_proc =
      Captured([&](int fd) { weft::internal::SendBoot(fd, options, 1, -1, "/proc/1/fd/9", 2); });
  auto write = [&](const std::string& name, const std::string& stream,
                   std::vector<uint16_t> splits = {}) {
    ControlInput c;
    c.splits = std::move(splits);
    c.stream = stream;
    Write(t, name, EncodeControl(c));
  };
  write("ready_ok", ready_ok);
  write("ready_error", ready_error);
  write("ready_error_in_pieces", ready_error, {3, 8, 17, 40});
  write("boot_fd", boot_fd);
  write("boot_named", boot_named);
  write("boot_proc_path", boot_proc, {8});
  write("two_messages", ready_ok + ready_error, {static_cast<uint16_t>(ready_ok.size())});
  write("truncated", ready_error.substr(0, ready_error.size() / 2));
  // Segment count 2^32 - 1 + 1 = 0 segments.
  write("segment_count_wraps", Words({0x00000000ffffffffull}));
  // 512 segments claimed: too many for the stream reader.
  write("segment_count_512", Words({0x00000001000001ffull}));
  // One segment of 2^31 words: never arrives, and too large to read.
  write("segment_huge", Words({0x7fffffff00000000ull, 0}));
  // A Ready whose message is not NUL-terminated.
  write("ready_text_not_terminated",
        Words({0x0000000400000000ull, 0x0001000100000000ull, 0x0000000500000009ull,
               0x0000002200000001ull, 0x6161616161616161ull}));
}

// --------------------------------------------------------------- region

void Region() {
  const std::string t = "region_fuzz";
  auto header_of = [](const weft::internal::Geometry& g) {
    absl::StatusOr<weft::internal::Region> r = weft::internal::Region::Create(g, 0xabcdef, 10);
    if (!r.ok()) std::exit(1);
    return std::string(r->base(), sizeof(weft::internal::RegionHeader));
  };
  weft::internal::Geometry small{};
  small.lanes = 1;
  small.slots_per_lane = 2;
  small.ring_capacity = 2;
  small.request_inline_bytes = 256;
  small.response_inline_bytes = 256;
  small.heap_bytes = 64 * 1024;
  weft::internal::Geometry wide = small;
  wide.lanes = 3;
  wide.slots_per_lane = 100;
  wide.ring_capacity = 128;
  wide.request_inline_bytes = 1024;
  wide.heap_bytes = 1 << 20;
  weft::internal::Geometry huge = small;
  huge.heap_bytes = uint64_t{1} << 36;
  auto write = [&](const std::string& name, uint8_t size_mode, uint64_t size,
                   const std::string& header, uint8_t fixups = 0) {
    RegionInput r;
    r.size_mode = size_mode;
    r.size = size;
    r.fixups = fixups;
    r.header = header;
    Write(t, name, EncodeRegion(r));
  };
  const std::string header = header_of(small);
  write("valid_small", kSizeFromGeometry, 0, header);
  write("valid_wide", kSizeFromGeometry, 0, header_of(wide));
  write("valid_huge_heaps", kSizeFromHeader, 0, header_of(huge));
  std::string bad = header;
  bad[0] ^= 1;
  write("bad_magic", kSizeFromGeometry, 0, bad);
  bad = header;
  bad[8] = 2;
  write("bad_version", kSizeFromGeometry, 0, bad);
  bad = header;
  const size_t ring = offsetof(weft::internal::RegionHeader, geometry) +
                      offsetof(weft::internal::Geometry, ring_capacity);
  bad[ring] = 3;
  write("ring_not_power_of_two", kSizeRaw, weft::internal::RegionBytes(small), bad);
  write("mapping_one_byte_short", kSizeFromGeometry, 0xff, header);
  write("mapping_smaller_than_header", kSizeSmall, 100, header);
  write("mapping_larger", kSizeRaw, 1 << 20, header);
  write("fixed_up_zero_geometry", kSizeRaw, 8192, std::string(), kFixMagic | kFixTotal);
}

}  // namespace
}  // namespace weft_fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR   (e.g. \"$PWD/tests/fuzz/corpus\")\n", argv[0]);
    return 2;
  }
  weft_fuzz::out_dir = argv[1];
  weft_fuzz::Segments();
  weft_fuzz::Response();
  weft_fuzz::Request();
  weft_fuzz::Control();
  weft_fuzz::Region();
  std::printf("make_corpus: wrote %d files under %s\n", weft_fuzz::written, argv[1]);
  return 0;
}
