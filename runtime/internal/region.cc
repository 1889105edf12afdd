#include "runtime/internal/region.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/internal/spsc_ring.h"
#include "runtime/internal/stats_cells.h"
#include "runtime/internal/stats_clock.h"
#include "runtime/internal/status_macros.h"
#include "runtime/internal/sys_status.h"

namespace weft {
namespace internal {
namespace {

// One lane's parts in the region proper. Its request areas are elsewhere:
// in the requests block (RequestParts), which is another file.
struct LaneParts {
  uint64_t ring_control, descriptors, slots, response_inline, response_heap, stride;
};

LaneParts Parts(const Geometry& g) {
  LaneParts p;
  uint64_t at = 0;
  p.ring_control = at;
  at += sizeof(RingControl);
  p.descriptors = at;
  at = RoundUp(at + uint64_t{g.ring_capacity} * sizeof(CallDescriptor), kCacheLine);
  p.slots = at;
  at += uint64_t{g.slots_per_lane} * sizeof(SlotShared);
  p.response_inline = at;
  at = RoundUp(at + uint64_t{g.slots_per_lane} * g.response_inline_bytes, kPageBytes);
  p.response_heap = at;
  at += g.heap_bytes;
  p.stride = RoundUp(at, kPageBytes);
  return p;
}

// One lane's request areas in the requests block: the inline areas, then
// the request heap, page-aligned so that the block maps as a file of its own.
struct RequestParts {
  uint64_t request_heap, stride;
};

RequestParts RequestPartsOf(const Geometry& g) {
  RequestParts p;
  p.request_heap = RoundUp(uint64_t{g.slots_per_lane} * g.request_inline_bytes, kPageBytes);
  p.stride = p.request_heap + g.heap_bytes;
  return p;
}

}  // namespace

absl::Status CheckGeometry(const Geometry& g) {
  if (g.lanes == 0 || g.lanes > 4096) {
    return absl::InvalidArgumentError(
        absl::StrCat("weft: lanes (max_host_threads) must be in [1, 4096], got ", g.lanes));
  }
  if (g.slots_per_lane == 0 || g.slots_per_lane > 65536) {
    return absl::InvalidArgumentError(
        absl::StrCat("weft: slots_per_lane must be in [1, 65536], got ", g.slots_per_lane));
  }
  if (!IsPowerOfTwo(g.ring_capacity) || g.ring_capacity < g.slots_per_lane ||
      g.ring_capacity > (1u << 20)) {
    return absl::InvalidArgumentError(
        absl::StrCat("weft: ring_capacity must be a power of two in [slots_per_lane, 2^20], got ",
                     g.ring_capacity));
  }
  for (uint32_t bytes : {g.request_inline_bytes, g.response_inline_bytes}) {
    if (bytes < 64 || bytes % 8 != 0 || bytes > (1u << 20)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "weft: initial_payload_bytes must be a multiple of 8 in [64, 1 MiB], got ", bytes));
    }
  }
  if (g.stats_methods > 65536) {
    return absl::InvalidArgumentError(
        absl::StrCat("weft: at most 65536 methods carry stats, got ", g.stats_methods));
  }
  if (g.heap_bytes % kPageBytes != 0 || g.heap_bytes > (uint64_t{1} << 36)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "weft: heap bytes must be page-aligned and at most 64 GiB, got ", g.heap_bytes));
  }
  if (RegionBytes(g) > (uint64_t{1} << 44)) {
    return absl::InvalidArgumentError(
        "weft: region would exceed 16 TiB; lower max_host_threads, "
        "slots_per_lane or max_payload_bytes");
  }
  return absl::OkStatus();
}

uint64_t LaneStride(const Geometry& g) { return Parts(g).stride; }
uint64_t LanesOffset() { return RoundUp(sizeof(RegionHeader), kPageBytes); }
uint64_t RequestsOffset(const Geometry& g) { return LanesOffset() + g.lanes * LaneStride(g); }
uint64_t RequestsBytes(const Geometry& g) { return g.lanes * RequestPartsOf(g).stride; }
uint64_t StatsOffset(const Geometry& g) { return RequestsOffset(g) + RequestsBytes(g); }
uint64_t RegionBytes(const Geometry& g) {
  return RoundUp(StatsOffset(g) + uint64_t{g.stats_methods} * sizeof(WorkerMethodCells),
                 kPageBytes);
}

LaneLayout LaneAt(const Geometry& g, uint32_t lane) {
  const LaneParts p = Parts(g);
  const RequestParts r = RequestPartsOf(g);
  const uint64_t start = LanesOffset() + uint64_t{lane} * p.stride;
  const uint64_t requests = RequestsOffset(g) + uint64_t{lane} * r.stride;
  return LaneLayout{
      start,    start + p.ring_control,    start + p.descriptors,     start + p.slots,
      requests, start + p.response_inline, requests + r.request_heap, start + p.response_heap};
}

absl::StatusOr<Region> Region::Create(const Geometry& geometry, uint64_t interface_id,
                                      uint32_t method_count, bool named) {
  if (absl::Status s = CheckGeometry(geometry); !s.ok()) return s;
  const uint64_t bytes = RegionBytes(geometry);
  Region region;
  if (named) {
    uint8_t random[16];
    if (getrandom(random, sizeof(random), 0) != sizeof(random)) return ErrnoStatus("getrandom");
    std::string name = "/weft-";
    for (uint8_t b : random) absl::StrAppend(&name, absl::Hex(b, absl::kZeroPad2));
    region.fd_ = shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
    if (region.fd_ < 0) return ErrnoStatus("shm_open");
    region.name_ = std::move(name);
  } else {
    region.fd_ = memfd_create("weft-region", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  }
  if (region.fd_ < 0) return ErrnoStatus("memfd_create");
  if (ftruncate(region.fd_, static_cast<off_t>(bytes)) != 0) return ErrnoStatus("ftruncate");
  // A worker that shrank the file would make every host access past the new
  // end a SIGBUS: the size is sealed (memfd only; a POSIX shared-memory
  // object cannot be sealed, see SharedMemory::kNamed).
  if (!named && fcntl(region.fd_, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    return ErrnoStatus("sealing the region's size (F_ADD_SEALS)");
  }
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, region.fd_, 0);
  if (p == MAP_FAILED) return ErrnoStatus("mmap");
  region.base_ = static_cast<char*>(p);
  region.size_ = bytes;
  region.geometry_ = geometry;
  WEFT_RETURN_IF_ERROR(region.CreateRequests());

  // A fresh memfd reads as zeros: every atomic starts at 0, which is each
  // one's initial state. The header's atomics are created in place.
  new (region.base_) RegionHeader{};
  region.interface_id_ = interface_id;
  region.method_count_ = method_count;
  region.RestoreHeader();
  return region;
}

absl::Status Region::CreateRequests() {
  // The requests block is a file of its own, mapped over its place in the
  // region: writable here, and sealed so that nobody can map it writable
  // again. A process worker gets the descriptor and can only read it: with
  // F_SEAL_FUTURE_WRITE, write(2), a PROT_WRITE shared mapping (also through
  // a re-opened /proc/<pid>/fd path) and mprotect to PROT_WRITE all fail, and
  // the size seals keep it from being shrunk under the host.
  const uint64_t bytes = RequestsBytes(geometry_);
  requests_fd_ = memfd_create("weft-requests", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (requests_fd_ < 0) return ErrnoStatus("memfd_create(weft-requests)");
  if (ftruncate(requests_fd_, static_cast<off_t>(bytes)) != 0) {
    return ErrnoStatus("ftruncate(weft-requests)");
  }
  void* at = mmap(base_ + RequestsOffset(geometry_), bytes, PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_FIXED, requests_fd_, 0);
  if (at == MAP_FAILED) return ErrnoStatus("mmap(weft-requests)");
  constexpr int kSeals = F_SEAL_FUTURE_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
  if (fcntl(requests_fd_, F_ADD_SEALS, kSeals) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("weft: cannot seal the request area read-only for workers (F_ADD_SEALS "
                     "F_SEAL_FUTURE_WRITE: ",
                     std::strerror(errno), "); weft needs Linux 5.1 or later"));
  }
  return absl::OkStatus();
}

void Region::RestoreHeader() {
  // Plain fields, written while no worker runs on the region (before the
  // first start, or after a worker died and before its replacement starts;
  // the fork and the boot handshake order them before the worker reads).
  RegionHeader* h = header();
  h->magic = kRegionMagic;
  h->layout_version = kLayoutVersion;
  h->header_bytes = sizeof(RegionHeader);
  h->total_bytes = size_;
  h->interface_id = interface_id_;
  h->method_count = method_count_;
  h->geometry = geometry_;
  h->lanes_offset = LanesOffset();
  h->lane_stride = LaneStride(geometry_);
  const TickScale scale = ProcessTickScale();
  h->clock_kind = static_cast<uint32_t>(scale.kind);
  h->clock_shift = scale.shift;
  h->clock_mult = scale.mult;
}

absl::StatusOr<Region> Region::Open(const std::string& path, int requests_fd) {
  const bool via_proc = path.rfind("/proc/", 0) == 0;
  const int fd =
      via_proc ? open(path.c_str(), O_RDWR | O_CLOEXEC) : shm_open(path.c_str(), O_RDWR, 0);
  if (fd < 0) {
    const int e = errno;
    std::string hint;
    if (e == ENOENT) {
      hint = via_proc ? "; the worker must see the host's /proc (a sandbox with its own /proc "
                        "cannot restart named-mode workers: use SharedMemory::kAnonymous)"
                      : "; the worker must share /dev/shm with the host (with bubblewrap: "
                        "--bind /dev/shm /dev/shm), or use SharedMemory::kAnonymous";
    }
    return absl::NotFoundError(
        absl::StrCat("cannot open region ", path, ": ", std::strerror(e), hint));
  }
  absl::StatusOr<Region> region = Map(fd, requests_fd);
  close(fd);  // the mapping keeps the memory
  return region;
}

absl::Status Region::Validate(const char* base, uint64_t mapped_bytes) {
  if (mapped_bytes < sizeof(RegionHeader)) {
    return absl::InvalidArgumentError("weft: region is smaller than its header");
  }
  const RegionHeader* h = reinterpret_cast<const RegionHeader*>(base);
  if (h->magic != kRegionMagic) {
    return absl::InvalidArgumentError("weft: region header has a bad magic number");
  }
  if (h->layout_version != kLayoutVersion || h->header_bytes != sizeof(RegionHeader)) {
    return absl::InvalidArgumentError(
        absl::StrCat("weft: region layout version ", h->layout_version, " (header ",
                     h->header_bytes, " bytes) does not match this build's version ",
                     kLayoutVersion, " (", sizeof(RegionHeader), " bytes)"));
  }
  const Geometry g = h->geometry;
  if (absl::Status s = CheckGeometry(g); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("weft: region header geometry: ", s.message()));
  }
  if (h->total_bytes != mapped_bytes || RegionBytes(g) != mapped_bytes ||
      h->lanes_offset != LanesOffset() || h->lane_stride != LaneStride(g)) {
    return absl::InvalidArgumentError(
        absl::StrCat("weft: region header sizes do not match the mapping (header says ",
                     h->total_bytes, " bytes, mapping has ", mapped_bytes, ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Region> Region::Map(int fd, int requests_fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return ErrnoStatus("fstat region");
  const uint64_t bytes = static_cast<uint64_t>(st.st_size);
  if (bytes < sizeof(RegionHeader)) {
    return absl::InvalidArgumentError("weft: region file is smaller than its header");
  }
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return ErrnoStatus("mmap region");
  Region region;
  region.base_ = static_cast<char*>(p);
  region.size_ = bytes;
  if (absl::Status s = Validate(region.base_, bytes); !s.ok()) return s;
  region.geometry_ = region.header()->geometry;
  // Checked again on the copy: the peer may have changed the header since.
  if (absl::Status s = CheckGeometry(region.geometry_); !s.ok()) return s;
  if (RegionBytes(region.geometry_) != bytes) {
    return absl::InvalidArgumentError("weft: region header changed while it was being mapped");
  }
  if (requests_fd < 0) return region;
  if (fstat(requests_fd, &st) != 0) return ErrnoStatus("fstat request area");
  const uint64_t requests = RequestsBytes(region.geometry_);
  if (static_cast<uint64_t>(st.st_size) != requests) {
    return absl::InvalidArgumentError(absl::StrCat("weft: the request area has ", st.st_size,
                                                   " bytes, the region's geometry ", requests));
  }
  // Read-only: the host builds requests here, the worker reads them.
  void* at = mmap(region.base_ + RequestsOffset(region.geometry_), requests, PROT_READ,
                  MAP_SHARED | MAP_FIXED, requests_fd, 0);
  if (at == MAP_FAILED) return ErrnoStatus("mmap request area");
  return region;
}

Region::Region(Region&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      fd_(std::exchange(other.fd_, -1)),
      requests_fd_(std::exchange(other.requests_fd_, -1)),
      name_(std::exchange(other.name_, std::string())),
      geometry_(other.geometry_),
      interface_id_(other.interface_id_),
      method_count_(other.method_count_) {}

void Region::Unlink() {
  if (!name_.empty()) shm_unlink(name_.c_str());
  name_.clear();
}

Region& Region::operator=(Region&& other) noexcept {
  if (this != &other) {
    this->~Region();
    new (this) Region(std::move(other));
  }
  return *this;
}

Region::~Region() {
  Unlink();
  if (base_ != nullptr) munmap(base_, size_);  // the requests block's mapping too
  if (fd_ >= 0) close(fd_);
  if (requests_fd_ >= 0) close(requests_fd_);
}

}  // namespace internal
}  // namespace weft
