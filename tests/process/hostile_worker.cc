// A hostile ProcTest worker: scribble() starts a thread that keeps writing
// random bytes over the worker's own shared-memory region(s) until the
// process dies. It writes only inside shared, writable mappings whose name
// says weft ("/memfd:weft-region" or "/dev/shm/weft-*"), so it never faults
// by itself: whatever breaks, breaks because of what it wrote. poison()
// tries every way to write the requests block, which it may only read, and
// poisons it through whichever works.
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/internal/child_process.h"
#include "runtime/internal/layout.h"
#include "runtime/internal/region.h"
#include "tests/process/proc_impl.h"

namespace weft_test {
namespace {

struct Mapping {
  uintptr_t begin;
  uintptr_t end;
};

std::vector<Mapping> WeftMappings() {
  std::vector<Mapping> found;
  for (const MapsLine& m : ReadMaps()) {
    if (m.perms.size() < 4 || m.perms[1] != 'w' || m.perms[3] != 's') continue;
    if (m.path.find("memfd:weft") == std::string::npos &&
        m.path.find("/dev/shm/weft") == std::string::npos) {
      continue;
    }
    found.push_back(Mapping{m.begin, m.end});
  }
  return found;
}

// A value an attacker would try: random, or a boundary that probes the
// reader's checks (zero, all ones, sign bits, small counts, offsets).
uint64_t Nasty(std::mt19937_64& rng, uint64_t size) {
  switch (rng() % 8) {
    case 0:
      return 0;
    case 1:
      return ~0ull;
    case 2:
      return 0x7fffffffull | (rng() % 2 ? 0x7fffffff00000000ull : 0);
    case 3:
      return 0x80000000ull;
    case 4:
      return rng() % 4096;
    case 5:
      return size - (rng() % 64);
    case 6:
      return rng() % size;
    default:
      return rng();
  }
}

// Writes concentrate on the first MiB (header, lane 0's ring, slot table and
// inline areas), some go into the first 8 MiB; none beyond, so that the
// scribbler does not commit gigabytes of sparse heap pages.
void ScribbleForever(std::vector<Mapping> mappings) {
  std::mt19937_64 rng(std::random_device{}());
  for (uint64_t round = 0;; ++round) {
    for (const Mapping& m : mappings) {
      const uint64_t size = m.end - m.begin;
      const uint64_t hot = std::min<uint64_t>(size, 1 << 20) - 8;
      const uint64_t warm = std::min<uint64_t>(size, 8 << 20) - 8;
      for (int i = 0; i < 16; ++i) {
        const uint64_t at = (rng() % 10 == 0 ? rng() % warm : rng() % hot) & ~uint64_t{3};
        const uint64_t value = Nasty(rng, size);
        if (rng() % 2) {
          std::memcpy(reinterpret_cast<void*>(m.begin + at), &value, 8);
        } else {
          const uint32_t narrow = static_cast<uint32_t>(value);
          std::memcpy(reinterpret_cast<void*>(m.begin + at), &narrow, 4);
        }
      }
    }
    std::this_thread::yield();
  }
}

// Rewrites what the host reads of every lane's responses: the slots'
// response tables and status, the response inline areas and the first
// 64 KiB of each response heap, with values aimed at the reader's checks.
[[noreturn]] void RewriteResponsesForever(char* base, weft::internal::Geometry g) {
  using weft::internal::LaneLayout;
  using weft::internal::SlotShared;
  std::mt19937_64 rng(std::random_device{}());
  const uint64_t size = weft::internal::RegionBytes(g);
  for (;;) {
    for (uint32_t lane = 0; lane < g.lanes; ++lane) {
      const LaneLayout l = weft::internal::LaneAt(g, lane);
      auto* slots = reinterpret_cast<SlotShared*>(base + l.slots);
      for (uint32_t i = 0; i < g.slots_per_lane; ++i) {
        const uint32_t count = static_cast<uint32_t>(rng() % 3);
        std::memcpy(&slots[i].response.count, &count, sizeof(count));
        uint64_t value = Nasty(rng, size);
        std::memcpy(&slots[i].response.segments[rng() % 2].offset, &value, sizeof(value));
        value = Nasty(rng, 4096);
        std::memcpy(&slots[i].response.segments[rng() % 2].words, &value, sizeof(value));
      }
      const uint64_t inline_bytes = uint64_t{g.slots_per_lane} * g.response_inline_bytes;
      const uint64_t heap = std::min<uint64_t>(g.heap_bytes, 64 << 10);
      for (int k = 0; k < 64; ++k) {
        const uint64_t value = Nasty(rng, size);
        const bool in_heap = rng() % 4 == 0 && heap >= 8;
        const uint64_t at = in_heap ? l.response_heap + (rng() % (heap / 8)) * 8
                                    : l.response_inline + (rng() % (inline_bytes / 8)) * 8;
        std::memcpy(base + at, &value, sizeof(value));
      }
    }
  }
}

class HostileImpl final : public ProcImpl {
 public:
  absl::Status scribble(ScribbleCall& call) override {
    (void)call;
    std::vector<Mapping> mappings = WeftMappings();
    if (mappings.empty()) {
      return absl::FailedPreconditionError("hostile_worker: no weft mapping in /proc/self/maps");
    }
    for (const Mapping& m : mappings) {
      std::fprintf(stderr, "hostile_worker: scribbling over a %llu-byte mapping\n",
                   static_cast<unsigned long long>(m.end - m.begin));
    }
    std::thread(ScribbleForever, std::move(mappings)).detach();
    return absl::OkStatus();
  }

  absl::Status rewrite(RewriteCall& call) override {
    call.results().setData(call.params().getData());
    std::vector<Mapping> mappings = WeftMappings();
    if (mappings.empty()) {
      return absl::FailedPreconditionError("hostile_worker: no weft mapping in /proc/self/maps");
    }
    char* base = reinterpret_cast<char*>(mappings[0].begin);
    auto* header = reinterpret_cast<weft::internal::RegionHeader*>(base);
    // Relaxed: a hint; this worker's serving thread stores it just before
    // it publishes this call (LaneWorker::Serve).
    const uint64_t served = header->calls_served.load(std::memory_order_relaxed);
    static std::once_flag started;  // one rewriter, however many calls
    std::call_once(started, [&] {
      std::thread([base, header, served] {
        // Relaxed: as above; the rewriting starts as the call is published.
        while (header->calls_served.load(std::memory_order_relaxed) == served) {
        }
        RewriteResponsesForever(base, header->geometry);
      }).detach();
    });
    return absl::OkStatus();
  }

  absl::Status poison(PoisonCall& call) override {
    (void)call;
    std::vector<Mapping> mappings = WeftMappings();
    if (mappings.empty()) {
      return absl::FailedPreconditionError("hostile_worker: no weft mapping in /proc/self/maps");
    }
    // The attacker knows the layout: the header is at the first mapping's
    // start, the requests block (read-only to us) where the geometry says.
    char* base = reinterpret_cast<char*>(mappings[0].begin);
    const auto* header = reinterpret_cast<const weft::internal::RegionHeader*>(base);
    const weft::internal::Geometry g = header->geometry;
    char* requests = base + weft::internal::RequestsOffset(g);
    const uint64_t bytes = weft::internal::RequestsBytes(g);
    // Every way to a writable view of the requests block; each one that
    // works is used to poison it, and named in the answer.
    std::vector<std::string> opened;
    if (mprotect(requests, bytes, PROT_READ | PROT_WRITE) == 0) {
      opened.push_back("mprotect");
      Poison(requests, g);
    }
    for (const std::string& path : RequestFdPaths()) {
      const int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
      if (fd < 0) continue;
      void* view = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      if (view != MAP_FAILED) {
        opened.push_back("mmap of " + path);
        Poison(static_cast<char*>(view), g);
      }
      const uint64_t word = ~0ull;
      for (uint64_t at = 0; at < 4096; at += 8) {
        if (pwrite(fd, &word, 8, static_cast<off_t>(at)) == 8) {
          opened.push_back("pwrite to " + path);
          break;
        }
      }
      if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 1 << 20) == 0) {
        opened.push_back("a hole punched in " + path);
      }
      if (ftruncate(fd, 0) == 0) opened.push_back("ftruncate of " + path);
      close(fd);
    }
    // The region itself (the descriptor it was inherited on): shrunk, every
    // host access past the new end would be a SIGBUS.
    if (ftruncate(weft::internal::kRegionFd, 4096) == 0)
      opened.push_back("ftruncate of the region");
    // A plain store into the read-only view must fault: in a child, so that
    // this worker lives to answer. The child exits 0 only if the store went
    // through (a fault kills it, or under a sanitizer, which reports the
    // SEGV, exits it non-zero).
    const pid_t child = fork();
    if (child == 0) {
      requests[0] = 1;
      _exit(0);
    }
    int status = 0;
    waitpid(child, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      opened.push_back("a plain store (it did not fault)");
    }
    if (!opened.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "hostile_worker: wrote the request areas through ", absl::StrJoin(opened, ", ")));
    }
    std::fprintf(stderr, "hostile_worker: every way to write the request areas was refused\n");
    return absl::OkStatus();
  }

 private:
  // Where a descriptor of the requests block may be reached: ours (the
  // worker closes it once mapped, but try), and the host's, through its
  // /proc (same user: allowed).
  static std::vector<std::string> RequestFdPaths() {
    std::vector<std::string> paths;
    for (const std::string& dir :
         {std::string("/proc/self/fd"), "/proc/" + std::to_string(getppid()) + "/fd"}) {
      DIR* d = opendir(dir.c_str());
      if (d == nullptr) continue;
      while (dirent* e = readdir(d)) {
        const std::string path = dir + "/" + e->d_name;
        char target[256];
        const ssize_t n = readlink(path.c_str(), target, sizeof(target) - 1);
        if (n <= 0) continue;
        target[n] = 0;
        if (std::strstr(target, "memfd:weft-requests") != nullptr) paths.push_back(path);
      }
      closedir(d);
    }
    return paths;
  }

  // Fills the request inline areas of every active lane with words that
  // look like Cap'n Proto pointers aimed far outside the segment.
  static void Poison(char* view, const weft::internal::Geometry& g) {
    std::mt19937_64 rng(12345);
    const uint64_t request_stride = weft::internal::RequestsBytes(g) / g.lanes;
    for (uint32_t lane = 0; lane < g.lanes; ++lane) {
      char* at = view + uint64_t{lane} * request_stride;
      for (uint64_t i = 0; i + 8 <= uint64_t{g.slots_per_lane} * g.request_inline_bytes; i += 8) {
        // Mostly struct pointers 2^29 words (4 GiB) *behind* this word,
        // with a 0xffff-word (512 KiB) data section: outside the region.
        // Some far pointers to a missing segment.
        uint64_t word;
        if (rng() % 8 != 0) {
          word = (uint64_t{0xffff} << 32) |
                 static_cast<uint32_t>(static_cast<int32_t>(-(1 << 29)) * 4);
        } else {
          word = (uint64_t{3} << 32) | (uint64_t{16} << 3) | 2;
        }
        std::memcpy(at + i, &word, 8);
      }
    }
  }
};

}  // namespace
}  // namespace weft_test

WEFT_WORKER_MAIN(weft_test::HostileImpl);
