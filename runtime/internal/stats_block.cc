#include "runtime/internal/stats_block.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/internal/region.h"
#include "runtime/internal/sys_status.h"
#include "runtime/internal/wait.h"

namespace weft {
namespace internal {
namespace {

struct Offsets {
  uint64_t names, workers, shards, stride, total;
};

Offsets OffsetsFor(uint64_t workers, uint64_t methods, uint64_t shards) {
  Offsets o;
  o.names = RoundUp(sizeof(StatsBlockHeader), kCacheLine);
  o.workers = RoundUp(o.names + methods * kStatsNameBytes, kCacheLine);
  o.shards = RoundUp(o.workers + workers * sizeof(StatsWorkerInfo), kPageBytes);
  o.stride = RoundUp(methods * sizeof(HostMethodCells) + workers * sizeof(uint64_t), kCacheLine);
  o.total = RoundUp(o.shards + shards * o.stride, kPageBytes);
  return o;
}

// Relaxed: statistics (stats_cells.h).
uint64_t Load(const std::atomic<uint64_t>& cell) { return cell.load(std::memory_order_relaxed); }

}  // namespace

void ReadInto(const HistogramCells& cells, LatencyHistogram& into) {
  std::array<uint64_t, LatencyHistogram::kBuckets> buckets;
  for (uint32_t b = 0; b < LatencyHistogram::kBuckets; ++b) buckets[b] = Load(cells.buckets[b]);
  LatencyHistogram h;
  h.Assign(buckets, Load(cells.sum_ns));
  into.Merge(h);
}

absl::StatusOr<StatsBlock> StatsBlock::Create(const Spec& spec) {
  const uint64_t methods = spec.method_names.size();
  const uint64_t shards = uint64_t{spec.lanes} + 1;
  const Offsets o = OffsetsFor(spec.workers, methods, shards);
  StatsBlock block;
  block.fd_ = memfd_create("weft-stats", MFD_CLOEXEC);
  if (block.fd_ < 0) return ErrnoStatus("memfd_create(weft-stats)");
  if (ftruncate(block.fd_, static_cast<off_t>(o.total)) != 0)
    return ErrnoStatus("ftruncate(weft-stats)");
  void* at = mmap(nullptr, o.total, PROT_READ | PROT_WRITE, MAP_SHARED, block.fd_, 0);
  if (at == MAP_FAILED) return ErrnoStatus("mmap(weft-stats)");
  block.base_ = static_cast<char*>(at);
  block.size_ = o.total;
  auto* h = reinterpret_cast<StatsBlockHeader*>(block.base_);
  h->magic = kStatsMagic;
  h->version = kStatsVersion;
  h->header_bytes = sizeof(StatsBlockHeader);
  h->total_bytes = o.total;
  h->interface_id = spec.interface_id;
  h->workers = spec.workers;
  h->methods = static_cast<uint32_t>(methods);
  h->shards = static_cast<uint32_t>(shards);
  h->enabled = spec.enabled ? 1 : 0;
  h->host_pid = getpid();
  h->process_workers = spec.process_workers ? 1 : 0;
  h->created_ns = MonotonicNanos();
  h->names_offset = o.names;
  h->workers_offset = o.workers;
  h->shards_offset = o.shards;
  h->shard_stride = o.stride;
  std::strncpy(h->interface_name, spec.interface_name.c_str(), kStatsInterfaceBytes - 1);
  for (uint64_t m = 0; m < methods; ++m) {
    std::strncpy(block.base_ + o.names + m * kStatsNameBytes, spec.method_names[m].c_str(),
                 kStatsNameBytes - 1);
  }
  block.CacheLayout();
  // The cells start zeroed (a fresh memfd); std::atomic<uint64_t> of zero
  // bytes is a valid zero on every platform weft runs on.
  return block;
}

absl::Status StatsBlock::Validate(const char* base, uint64_t bytes) {
  if (bytes < sizeof(StatsBlockHeader)) {
    return absl::DataLossError(absl::StrCat("weft: stats block of ", bytes, " bytes is too small"));
  }
  StatsBlockHeader h;
  std::memcpy(&h, base, sizeof(h));
  if (h.magic != kStatsMagic) return absl::DataLossError("weft: not a weft stats block (magic)");
  if (h.version != kStatsVersion || h.header_bytes != sizeof(StatsBlockHeader)) {
    return absl::FailedPreconditionError(
        absl::StrCat("weft: stats block version ", h.version, " (", h.header_bytes,
                     " bytes), this build reads version ", kStatsVersion,
                     "; use the weft-top of the same weft build as the pool"));
  }
  if (h.workers > 65536 || h.methods > 65536 || h.shards == 0 || h.shards > 4097) {
    return absl::DataLossError("weft: stats block header is corrupt (counts)");
  }
  const Offsets o = OffsetsFor(h.workers, h.methods, h.shards);
  if (h.total_bytes != bytes || o.total != bytes || h.names_offset != o.names ||
      h.workers_offset != o.workers || h.shards_offset != o.shards || h.shard_stride != o.stride) {
    return absl::DataLossError("weft: stats block header is corrupt (layout)");
  }
  return absl::OkStatus();
}

absl::StatusOr<StatsBlock> StatsBlock::MapReadOnly(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return ErrnoStatus("fstat(weft-stats)");
  const uint64_t bytes = static_cast<uint64_t>(st.st_size);
  if (bytes < sizeof(StatsBlockHeader)) {
    return absl::DataLossError(absl::StrCat("weft: stats block of ", bytes, " bytes is too small"));
  }
  void* at = mmap(nullptr, bytes, PROT_READ, MAP_SHARED, fd, 0);
  if (at == MAP_FAILED) return ErrnoStatus("mmap(weft-stats, read-only)");
  StatsBlock block;
  block.base_ = static_cast<char*>(at);
  block.size_ = bytes;
  if (absl::Status s = Validate(block.base_, bytes); !s.ok()) return s;
  block.CacheLayout();
  return block;
}

StatsBlock::StatsBlock(StatsBlock&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      fd_(std::exchange(other.fd_, -1)),
      shards_(std::exchange(other.shards_, nullptr)),
      shard_stride_(other.shard_stride_),
      submitted_offset_(other.submitted_offset_),
      shared_shard_(other.shared_shard_) {}

StatsBlock& StatsBlock::operator=(StatsBlock&& other) noexcept {
  if (this != &other) {
    this->~StatsBlock();
    new (this) StatsBlock(std::move(other));
  }
  return *this;
}

StatsBlock::~StatsBlock() {
  if (base_ != nullptr) munmap(base_, size_);
  if (fd_ >= 0) close(fd_);
}

void StatsBlock::CacheLayout() {
  const StatsBlockHeader& h = header();
  shards_ = base_ + h.shards_offset;
  shard_stride_ = h.shard_stride;
  submitted_offset_ = uint64_t{h.methods} * sizeof(HostMethodCells);
  shared_shard_ = h.shards - 1;
}

StatsWorkerInfo& StatsBlock::worker(uint32_t w) const {
  return *reinterpret_cast<StatsWorkerInfo*>(base_ + header().workers_offset +
                                             uint64_t{w} * sizeof(StatsWorkerInfo));
}

void ReadPoolStats(const StatsBlock& block, absl::Span<const RegionView> regions, int64_t now_ns,
                   PoolStats* out) {
  // The header was validated when mapped; copy it once (a hostile writer
  // cannot change what is validated: only the pool writes the block).
  StatsBlockHeader h;
  std::memcpy(&h, block.base(), sizeof(h));
  out->interface_name.assign(h.interface_name, strnlen(h.interface_name, kStatsInterfaceBytes));
  out->enabled = h.enabled != 0;
  out->uptime_ns = now_ns > h.created_ns ? static_cast<uint64_t>(now_ns - h.created_ns) : 0;
  out->methods.resize(h.methods);
  out->workers.resize(h.workers);
  for (uint32_t m = 0; m < h.methods; ++m) {
    MethodStats& ms = out->methods[m];
    ms.index = m;
    const char* name = block.base() + h.names_offset + uint64_t{m} * kStatsNameBytes;
    ms.name.assign(name, strnlen(name, kStatsNameBytes));
    for (uint32_t s = 0; s < h.shards; ++s) {
      const HostMethodCells& c = block.method(s, m);
      ms.submitted += Load(c.submitted);
      for (int code = 0; code < kStatusCodes; ++code) ms.by_code[code] += Load(c.by_code[code]);
      ReadInto(c.round_trip, ms.round_trip);
    }
  }
  for (uint32_t w = 0; w < h.workers; ++w) {
    WorkerStats& ws = out->workers[w];
    for (uint32_t s = 0; s < h.shards; ++s) ws.submitted += Load(block.worker_submitted(s, w));
    if (w >= regions.size() || regions[w].base == nullptr) continue;
    const RegionView& r = regions[w];
    if (r.geometry == nullptr && !Region::Validate(r.base, r.bytes).ok()) {
      ws.readable = false;
      continue;
    }
    const auto* rh = reinterpret_cast<const RegionHeader*>(r.base);
    // Relaxed (all): counters for display (the worker's own, see layout.h).
    ws.calls_started = rh->calls_started.load(std::memory_order_relaxed);
    ws.calls_served = rh->calls_served.load(std::memory_order_relaxed);
    ws.sleeps = rh->sleeps.load(std::memory_order_relaxed);
    ws.sleeping = rh->worker_sleeping.load(std::memory_order_relaxed) != 0;
    const uint64_t boots = rh->boots.load(std::memory_order_relaxed);
    ws.restarts = boots > 1 ? boots - 1 : 0;
    ws.pid = rh->worker_pid.load(std::memory_order_relaxed);
    // One copy of the geometry, checked again on its own: a process worker
    // may rewrite its header between Validate and here.
    Geometry g;
    if (r.geometry != nullptr) {
      g = *r.geometry;
    } else {
      std::memcpy(&g, &rh->geometry, sizeof(g));
    }
    const uint32_t cells = std::min(g.stats_methods, h.methods);
    if (!CheckGeometry(g).ok() ||
        StatsOffset(g) + uint64_t{cells} * sizeof(WorkerMethodCells) > r.bytes) {
      ws.readable = false;
      continue;
    }
    const char* at = r.base + StatsOffset(g);
    double busy_ns = 0;
    for (uint32_t m = 0; m < cells; ++m) {
      const auto& c = reinterpret_cast<const WorkerMethodCells*>(at)[m];
      MethodStats& ms = out->methods[m];
      const uint64_t served = Load(c.served);
      ms.served += served;
      ms.started += Load(c.started);
      for (int code = 0; code < kStatusCodes; ++code) {
        ms.served_by_code[code] += Load(c.by_code[code]);
      }
      LatencyHistogram queue_wait, service;
      ReadInto(c.queue_wait, queue_wait);
      ReadInto(c.service, service);
      ms.queue_wait.Merge(queue_wait);
      ms.service.Merge(service);
      ws.queue_wait.Merge(queue_wait);
      ws.service.Merge(service);
      // The timed calls are a sample (stats_time_every): scale their
      // service time up to every call the worker served.
      if (service.count() > 0) {
        busy_ns += static_cast<double>(service.sum_ns()) * static_cast<double>(served) /
                   static_cast<double>(service.count());
      }
    }
    ws.busy_ns = static_cast<uint64_t>(busy_ns);
    ws.in_flight = ws.submitted > ws.calls_served ? ws.submitted - ws.calls_served : 0;
    ws.queued = ws.submitted > ws.calls_started ? ws.submitted - ws.calls_started : 0;
    ws.utilization =
        out->uptime_ns == 0
            ? 0
            : std::min(1.0, static_cast<double>(ws.busy_ns) / static_cast<double>(out->uptime_ns));
  }
  for (MethodStats& ms : out->methods) {
    for (int code = 0; code < kStatusCodes; ++code) ms.resolved += ms.by_code[code];
    ms.errors = ms.resolved - ms.by_code[0];
    ms.in_flight = ms.submitted > ms.resolved ? ms.submitted - ms.resolved : 0;
    ms.queued = ms.submitted > ms.started ? ms.submitted - ms.started : 0;
  }
}

}  // namespace internal
}  // namespace weft
