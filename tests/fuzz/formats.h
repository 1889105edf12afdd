// The input formats of the fuzz targets, decoded by the targets and encoded
// by the corpus generator (make_corpus.cc), in one place so the two agree.
//
// Every format is a flat little-endian byte string (FuzzInput, fuzz_util.h):
// fields in the order of the struct below, missing trailing bytes read as
// zero. Offsets into a region are given relative to an area the target
// names (`base`, taken modulo the target's area count) so that the fuzzer
// reaches the interesting offsets; one of the areas is always "absolute"
// (region offset 0) so that any offset at all can still be expressed.
//
// Thread safety: thread-compatible.
#ifndef WEFT_TESTS_FUZZ_FORMATS_H_
#define WEFT_TESTS_FUZZ_FORMATS_H_

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/internal/layout.h"
#include "tests/fuzz/fuzz_util.h"

namespace weft_fuzz {

// ---------------------------------------------------------------- pieces

// One SegmentRef, relative to an area of the target's choosing.
struct SegmentSpec {
  uint8_t base = 0;
  uint64_t offset = 0;  // added to the area's region offset (wrapping)
  uint64_t words = 0;
};

// A SegmentTable: `count` is stored as is (it may be 0 or above
// kMaxSegments); min(count, kMaxSegments) entries follow.
struct TableSpec {
  uint32_t count = 0;
  std::vector<SegmentSpec> segments;
};

inline TableSpec DecodeTable(FuzzInput& in) {
  TableSpec t;
  t.count = in.Take<uint32_t>();
  const uint32_t n = std::min(t.count, weft::internal::kMaxSegments);
  for (uint32_t i = 0; i < n; ++i) {
    SegmentSpec s;
    s.base = in.Take<uint8_t>();
    s.offset = in.Take<uint64_t>();
    s.words = in.Take<uint64_t>();
    t.segments.push_back(s);
  }
  return t;
}

inline void EncodeTable(const TableSpec& t, FuzzOutput& out) {
  out.Put<uint32_t>(t.count);
  const uint32_t n = std::min(t.count, weft::internal::kMaxSegments);
  for (uint32_t i = 0; i < n; ++i) {
    const SegmentSpec s = i < t.segments.size() ? t.segments[i] : SegmentSpec{};
    out.Put<uint8_t>(s.base);
    out.Put<uint64_t>(s.offset);
    out.Put<uint64_t>(s.words);
  }
}

// Bytes for a message's inline area (at most its size is used) and for the
// lane heap behind it (the rest of the input).
struct AreaBytes {
  std::string inline_bytes;
  std::string heap_bytes;
};

inline AreaBytes DecodeAreas(FuzzInput& in) {
  AreaBytes a;
  a.inline_bytes = std::string(in.TakeBytes(in.Take<uint16_t>()));
  a.heap_bytes = std::string(in.Rest());
  return a;
}

inline void EncodeAreas(const AreaBytes& a, FuzzOutput& out) {
  out.Put<uint16_t>(static_cast<uint16_t>(a.inline_bytes.size()));
  out.PutBytes(a.inline_bytes);
  out.PutBytes(a.heap_bytes);
}

// --------------------------------------------------------- segments_fuzz

// Areas of the segments target's region (lane 0 unless said otherwise).
enum SegmentsArea : uint8_t {
  kSegAbsolute = 0,
  kSegRequestInline0,   // slot 0's request inline area
  kSegResponseInline1,  // slot 1's response inline area
  kSegRequestHeap,
  kSegResponseHeap,
  kSegLane1,  // lane 1's start
  kSegEnd,    // the region's end
  kSegAreaCount,
};

struct RangeSpec {
  uint8_t base = 0;
  uint64_t offset = 0;
  uint64_t bytes = 0;
};

struct SegmentsInput {
  // When bit 0 is set, OpenSegments is told the region is `cut` bytes
  // shorter than it is (at least 0 bytes).
  uint8_t cut_mode = 0;
  uint32_t cut = 0;
  std::vector<RangeSpec> ranges;  // 0..3 of them (count byte taken mod 4)
  TableSpec table;
};

inline SegmentsInput DecodeSegments(FuzzInput& in) {
  SegmentsInput s;
  s.cut_mode = in.Take<uint8_t>();
  s.cut = in.Take<uint32_t>();
  const uint8_t ranges = in.Take<uint8_t>() % 4;
  for (uint8_t i = 0; i < ranges; ++i) {
    RangeSpec r;
    r.base = in.Take<uint8_t>();
    r.offset = in.Take<uint64_t>();
    r.bytes = in.Take<uint64_t>();
    s.ranges.push_back(r);
  }
  s.table = DecodeTable(in);
  return s;
}

inline std::string EncodeSegments(const SegmentsInput& s) {
  FuzzOutput out;
  out.Put<uint8_t>(s.cut_mode);
  out.Put<uint32_t>(s.cut);
  out.Put<uint8_t>(static_cast<uint8_t>(s.ranges.size()));
  for (const RangeSpec& r : s.ranges) {
    out.Put<uint8_t>(r.base);
    out.Put<uint64_t>(r.offset);
    out.Put<uint64_t>(r.bytes);
  }
  EncodeTable(s.table, out);
  return out.bytes();
}

// --------------------------------------------------------- response_fuzz

// Areas a hostile worker's response table may name (the call's slot).
enum ResponseArea : uint8_t {
  kRespInline = 0,     // the slot's response inline area (allowed)
  kRespHeap,           // the lane's response heap (allowed)
  kRespAbsolute,       // region offset 0
  kRespRequestInline,  // the slot's request inline area (not allowed)
  kRespOtherInline,    // the other slot's response inline area (not allowed)
  kRespAreaCount,
};

struct ResponseInput {
  uint32_t status_code = 0;
  uint32_t message_length = 0;
  std::string message;  // written to SlotShared::message (at most 512 bytes)
  // bit 0: store `head` into the ring's head before the host submits (a
  // worker corrupting its ring); bit 1: claim to be asleep (worker_sleeping).
  uint8_t flags = 0;
  uint32_t head = 0;
  TableSpec table;
  AreaBytes areas;  // the response inline area and the response heap
};

inline ResponseInput DecodeResponse(FuzzInput& in) {
  ResponseInput r;
  r.status_code = in.Take<uint32_t>();
  r.message_length = in.Take<uint32_t>();
  r.message = std::string(in.TakeBytes(in.Take<uint16_t>()));
  r.flags = in.Take<uint8_t>();
  r.head = in.Take<uint32_t>();
  r.table = DecodeTable(in);
  r.areas = DecodeAreas(in);
  return r;
}

inline std::string EncodeResponse(const ResponseInput& r) {
  FuzzOutput out;
  out.Put<uint32_t>(r.status_code);
  out.Put<uint32_t>(r.message_length);
  out.Put<uint16_t>(static_cast<uint16_t>(r.message.size()));
  out.PutBytes(r.message);
  out.Put<uint8_t>(r.flags);
  out.Put<uint32_t>(r.head);
  EncodeTable(r.table, out);
  EncodeAreas(r.areas, out);
  return out.bytes();
}

// ---------------------------------------------------------- request_fuzz

// Areas a hostile host's request table may name (the descriptor's slot, or
// slot 0 when that is out of range).
enum RequestArea : uint8_t {
  kReqInline = 0,      // the slot's request inline area (allowed)
  kReqHeap,            // the lane's request heap (allowed)
  kReqAbsolute,        // region offset 0
  kReqResponseInline,  // the slot's response inline area (not allowed)
  kReqOtherInline,     // the other slot's request inline area (not allowed)
  kReqAreaCount,
};

enum DeadlineMode : uint8_t {
  kNoDeadline = 0,  // deadline_ns = 0
  kFarFuture,       // INT64_MAX
  kPast,            // 1 ns after boot
  kRawDeadline,     // `deadline` as is (time-dependent)
  kDeadlineModeCount,
};

// Areas the response table left by a replacement worker's predecessor may
// name (in the slot after the call's).
enum PredecessorArea : uint8_t {
  kPredInline = 0,   // that slot's response inline area
  kPredHeap,         // the lane's response heap
  kPredAbsolute,     // region offset 0
  kPredCallInline,   // the call's own slot's response inline area
  kPredRequestHeap,  // the lane's request heap
  kPredAreaCount,
};

struct RequestInput {
  uint32_t slot = 0;
  uint32_t seq = 1;
  uint32_t method_index = 0;
  uint32_t flags = 0;
  uint8_t deadline_mode = kNoDeadline;
  int64_t deadline = 0;
  uint8_t abort = 0;
  // Bit 0: the worker replaces one that died (AdoptPredecessorResponses
  // before it serves); the slot after the call's then holds the
  // predecessor's last call: done_seq, released_seq and response table.
  uint8_t replacement = 0;
  uint32_t predecessor_done = 0;
  uint32_t predecessor_released = 0;
  TableSpec predecessor;
  TableSpec table;
  AreaBytes areas;  // the request inline area and the request heap
};

inline RequestInput DecodeRequest(FuzzInput& in) {
  RequestInput r;
  r.slot = in.Take<uint32_t>();
  r.seq = in.Take<uint32_t>();
  r.method_index = in.Take<uint32_t>();
  r.flags = in.Take<uint32_t>();
  r.deadline_mode = in.Take<uint8_t>();
  r.deadline = in.Take<int64_t>();
  r.abort = in.Take<uint8_t>();
  r.replacement = in.Take<uint8_t>();
  r.predecessor_done = in.Take<uint32_t>();
  r.predecessor_released = in.Take<uint32_t>();
  r.predecessor = DecodeTable(in);
  r.table = DecodeTable(in);
  r.areas = DecodeAreas(in);
  return r;
}

inline std::string EncodeRequest(const RequestInput& r) {
  FuzzOutput out;
  out.Put<uint32_t>(r.slot);
  out.Put<uint32_t>(r.seq);
  out.Put<uint32_t>(r.method_index);
  out.Put<uint32_t>(r.flags);
  out.Put<uint8_t>(r.deadline_mode);
  out.Put<int64_t>(r.deadline);
  out.Put<uint8_t>(r.abort);
  out.Put<uint8_t>(r.replacement);
  out.Put<uint32_t>(r.predecessor_done);
  out.Put<uint32_t>(r.predecessor_released);
  EncodeTable(r.predecessor, out);
  EncodeTable(r.table, out);
  EncodeAreas(r.areas, out);
  return out.bytes();
}

// ---------------------------------------------------------- control_fuzz

struct ControlInput {
  // Where the byte stream is cut into the pieces recv() hands over (taken
  // modulo the stream's length + 1); at most 7 (count byte taken mod 8).
  std::vector<uint16_t> splits;
  std::string stream;
};

inline ControlInput DecodeControl(FuzzInput& in) {
  ControlInput c;
  const uint8_t n = in.Take<uint8_t>() % 8;
  for (uint8_t i = 0; i < n; ++i) c.splits.push_back(in.Take<uint16_t>());
  c.stream = std::string(in.Rest());
  return c;
}

inline std::string EncodeControl(const ControlInput& c) {
  FuzzOutput out;
  out.Put<uint8_t>(static_cast<uint8_t>(c.splits.size()));
  for (uint16_t s : c.splits) out.Put<uint16_t>(s);
  out.PutBytes(c.stream);
  return out.bytes();
}

// ----------------------------------------------------------- region_fuzz

enum RegionSizeMode : uint8_t {
  kSizeRaw = 0,       // `size` as is
  kSizeFromGeometry,  // RegionBytes(header geometry) + (int8) size, if the geometry checks
  kSizeFromHeader,    // the header's total_bytes
  kSizeSmall,         // `size` % 4096
  kSizeModeCount,
};

enum RegionFixup : uint8_t {
  kFixMagic = 1,       // magic, layout_version, header_bytes as this build writes them
  kFixTotal = 2,       // total_bytes = the size the header is checked against
  kFixLaneFields = 4,  // lanes_offset and lane_stride as computed from the geometry
};

struct RegionInput {
  uint8_t size_mode = kSizeRaw;
  uint64_t size = 0;
  uint8_t fixups = 0;
  std::string header;  // the header's first bytes (the rest is zero)
};

inline RegionInput DecodeRegion(FuzzInput& in) {
  RegionInput r;
  r.size_mode = in.Take<uint8_t>();
  r.size = in.Take<uint64_t>();
  r.fixups = in.Take<uint8_t>();
  r.header = std::string(in.TakeBytes(sizeof(weft::internal::RegionHeader)));
  return r;
}

inline std::string EncodeRegion(const RegionInput& r) {
  FuzzOutput out;
  out.Put<uint8_t>(r.size_mode);
  out.Put<uint64_t>(r.size);
  out.Put<uint8_t>(r.fixups);
  out.PutBytes(r.header);
  return out.bytes();
}

}  // namespace weft_fuzz

#endif  // WEFT_TESTS_FUZZ_FORMATS_H_
