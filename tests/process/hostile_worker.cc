// A hostile ProcTest worker: scribble() starts a thread that keeps writing
// random bytes over the worker's own shared-memory region(s) until the
// process dies. It writes only inside shared, writable mappings whose name
// says weft ("/memfd:weft-region" or "/dev/shm/weft-*"), so it never faults
// by itself: whatever breaks, breaks because of what it wrote.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

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
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    // begin-end perms offset dev inode path
    std::istringstream in(line);
    std::string range, perms, offset, dev, inode, path;
    in >> range >> perms >> offset >> dev >> inode;
    std::getline(in, path);
    if (perms.size() < 4 || perms[1] != 'w' || perms[3] != 's') continue;
    if (path.find("memfd:weft") == std::string::npos &&
        path.find("/dev/shm/weft") == std::string::npos) {
      continue;
    }
    const size_t dash = range.find('-');
    Mapping m;
    m.begin = std::stoull(range.substr(0, dash), nullptr, 16);
    m.end = std::stoull(range.substr(dash + 1), nullptr, 16);
    found.push_back(m);
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

  absl::Status poison(PoisonCall& call) override {
    (void)call;
    std::vector<Mapping> mappings = WeftMappings();
    if (mappings.empty()) {
      return absl::FailedPreconditionError("hostile_worker: no weft mapping in /proc/self/maps");
    }
    // The attacker knows the layout: the header is at the mapping's start.
    char* base = reinterpret_cast<char*>(mappings[0].begin);
    const uint64_t size = mappings[0].end - mappings[0].begin;
    const auto* header = reinterpret_cast<const weft::internal::RegionHeader*>(base);
    const weft::internal::Geometry g = header->geometry;
    std::mt19937_64 rng(12345);
    uint64_t words = 0;
    const uint32_t active = std::min(header->active_lanes.load(), g.lanes);
    for (uint32_t lane = 0; lane < active; ++lane) {
      const weft::internal::LaneLayout l = weft::internal::LaneAt(g, lane);
      const uint64_t begin = l.request_inline;
      const uint64_t end = begin + uint64_t{g.slots_per_lane} * g.request_inline_bytes;
      if (end > size || begin > end) break;
      for (uint64_t at = begin; at + 8 <= end; at += 8) {
        // Mostly struct pointers 2^29 words (4 GiB) *behind* this word,
        // with a 0xffff-word (512 KiB) data section: outside the region.
        // A builder that zeroes the old object first (initRoot, set*) would
        // memset 512 KiB there. Some far pointers to a missing segment.
        uint64_t word;
        if (rng() % 8 != 0) {
          word = (uint64_t{0xffff} << 32) |
                 static_cast<uint32_t>(static_cast<int32_t>(-(1 << 29)) * 4);
        } else {
          word = (uint64_t{3} << 32) | (uint64_t{16} << 3) | 2;
        }
        std::memcpy(base + at, &word, 8);
        ++words;
      }
    }
    std::fprintf(stderr, "hostile_worker: poisoned %llu words of request areas\n",
                 static_cast<unsigned long long>(words));
    return absl::OkStatus();
  }
};

}  // namespace
}  // namespace weft_test

WEFT_WORKER_MAIN(weft_test::HostileImpl);
