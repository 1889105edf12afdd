// A worker's shared-memory region: one mapping holding its lanes.
//
//   absl::StatusOr<Region> r = Region::Create(geometry, interface_id, method_count);
//   LaneLayout lane = r->lane(0);           // offsets of lane 0's parts
//   // hand r->fd() and r->requests_fd() to a process worker; it calls
//   // Region::Map(fd, requests_fd).
//
// Create makes an anonymous memfd (MFD_CLOEXEC; a process worker gets it
// explicitly), sizes it, seals its size, maps it MAP_SHARED and writes the
// header. The files are sparse: untouched heap pages cost no memory.
//
// The requests block (every lane's request inline areas and request heap)
// is a second memfd, "weft-requests", mapped over its place in the region
// (MAP_FIXED), so that one offset space covers both. The host maps it
// writable and then seals it (F_SEAL_FUTURE_WRITE, size, seals): a process
// worker maps it read-only and has no way to write it. So the host builds
// every request in place, for thread and process workers alike, and no
// worker can change a request under the host's Cap'n Proto builder. Map/Validate check the
// header (magic, layout version, sizes, recomputed layout) before anything in
// the region is used; a mismatch is a clear InvalidArgument.
//
// Thread safety: thread-compatible; the memory it maps is shared and is
// accessed only through the atomics and protocols described in layout.h.
#ifndef WEFT_RUNTIME_INTERNAL_REGION_H_
#define WEFT_RUNTIME_INTERNAL_REGION_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/internal/layout.h"

namespace weft {
namespace internal {

// Where one lane's parts are, as region offsets.
struct LaneLayout {
  uint64_t start;
  uint64_t ring_control;
  uint64_t descriptors;
  uint64_t slots;
  uint64_t request_inline;   // slot i's area: + i * request_inline_bytes
  uint64_t response_inline;  // slot i's area: + i * response_inline_bytes
  uint64_t request_heap;
  uint64_t response_heap;
};

// Checks a geometry and fills in the derived sizes: lane stride and total.
absl::Status CheckGeometry(const Geometry& geometry);
uint64_t LaneStride(const Geometry& geometry);
uint64_t LanesOffset();
// The requests block: where it is in the region, and its size.
uint64_t RequestsOffset(const Geometry& geometry);
uint64_t RequestsBytes(const Geometry& geometry);
uint64_t RegionBytes(const Geometry& geometry);
// Where the WorkerMethodCells (geometry.stats_methods of them) start.
uint64_t StatsOffset(const Geometry& geometry);
LaneLayout LaneAt(const Geometry& geometry, uint32_t lane);

class Region {
 public:
  // `named`: a POSIX shared-memory object with a random 128-bit name
  // (O_EXCL, mode 0600) instead of a memfd; see Unlink().
  static absl::StatusOr<Region> Create(const Geometry& geometry, uint64_t interface_id,
                                       uint32_t method_count, bool named = false);
  // Maps the region behind `fd` (not taken over: the caller keeps it) and
  // validates its header; then the requests block behind `requests_fd`
  // read-only over its place. With requests_fd -1 that place stays the
  // region file's own (never written) pages: for readers of everything else.
  static absl::StatusOr<Region> Map(int fd, int requests_fd);
  // Maps the region at `path`: a POSIX shared-memory name ("/weft-<hex>",
  // named mode) or a /proc/<pid>/fd/<n> path (a named-mode replacement).
  // NotFound says what a sandboxed worker must share with the host when it
  // cannot open it (/dev/shm, or the host's /proc).
  static absl::StatusOr<Region> Open(const std::string& path, int requests_fd);
  // Validates a region header against the mapping's size.
  static absl::Status Validate(const char* base, uint64_t mapped_bytes);

  Region() = default;
  Region(Region&& other) noexcept;
  Region& operator=(Region&& other) noexcept;
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;
  ~Region();

  char* base() const { return base_; }
  uint64_t size() const { return size_; }
  int fd() const { return fd_; }                    // -1 for a region mapped from someone else's fd
  int requests_fd() const { return requests_fd_; }  // likewise
  // The shared-memory name while it is linked ("/weft-<32 hex>"), else "".
  const std::string& name() const { return name_; }
  // Removes the name (the memory lives on while mapped or open). Idempotent;
  // the destructor does it too.
  void Unlink();
  RegionHeader* header() const { return reinterpret_cast<RegionHeader*>(base_); }
  // The geometry this process laid out or validated, kept privately: what
  // is in the shared header may since have been rewritten by a peer.
  const Geometry& geometry() const { return geometry_; }
  LaneLayout lane(uint32_t i) const { return LaneAt(geometry(), i); }
  // Rewrites the header's layout fields from this process's own copy (the
  // creator's only): a worker that died may have scribbled over them, and
  // its replacement validates them. Only while no worker runs on the region.
  void RestoreHeader();

 private:
  absl::Status CreateRequests();

  char* base_ = nullptr;
  uint64_t size_ = 0;
  int fd_ = -1;           // owned when >= 0
  int requests_fd_ = -1;  // owned when >= 0
  std::string name_;
  Geometry geometry_{};
  uint64_t interface_id_ = 0;  // set by Create (RestoreHeader)
  uint32_t method_count_ = 0;
};

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_INTERNAL_REGION_H_
