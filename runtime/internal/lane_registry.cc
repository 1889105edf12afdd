#include "runtime/internal/lane_registry.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace weft {
namespace internal {
namespace {

std::atomic<uint64_t> next_registry_uid{1};

}  // namespace

// This thread's lanes, one per pool it has called; given back when the
// thread exits.
struct ThreadBindings {
  struct Entry {
    std::weak_ptr<LaneRegistry> registry;
    uint64_t uid;
    uint32_t lane;
  };
  std::vector<Entry> entries;

  ~ThreadBindings() {
    for (Entry& e : entries) {
      if (std::shared_ptr<LaneRegistry> registry = e.registry.lock()) registry->Release(e.lane);
    }
    // A later thread-exit destructor that calls a pool binds afresh rather
    // than reuse a lane given back above (which another thread may own).
    entries.clear();
    t_last_binding.uid = 0;
  }
};

namespace {
thread_local ThreadBindings t_bindings;
}  // namespace

std::shared_ptr<LaneRegistry> LaneRegistry::Create(uint32_t lanes) {
  return std::shared_ptr<LaneRegistry>(new LaneRegistry(lanes));
}

LaneRegistry::LaneRegistry(uint32_t lanes)
    : count_(lanes),
      // Relaxed: only uniqueness matters.
      uid_(next_registry_uid.fetch_add(1, std::memory_order_relaxed)),
      lanes_(new LaneFlags[lanes]) {
  MutexLock lock(&mutex_);
  for (uint32_t lane = lanes; lane > 0; --lane) free_.push_back(lane - 1);
}

absl::StatusOr<LaneRegistry::Binding> LaneRegistry::Bind() {
  if (t_last_binding.uid == uid_) return Binding{t_last_binding.lane, false};
  ThreadBindings& t = t_bindings;
  for (const ThreadBindings::Entry& e : t.entries) {
    if (e.uid == uid_) {
      t_last_binding = LastBinding{uid_, e.lane};
      return Binding{e.lane, false};
    }
  }
  std::erase_if(t.entries, [](const ThreadBindings::Entry& e) { return e.registry.expired(); });
  uint32_t lane;
  {
    MutexLock lock(&mutex_);
    if (free_.empty()) {
      return absl::ResourceExhaustedError(absl::StrCat("weft: more than max_host_threads (", count_,
                                                       ") threads are calling this pool at once"));
    }
    lane = free_.back();
    free_.pop_back();
  }
  t.entries.push_back(ThreadBindings::Entry{weak_from_this(), uid_, lane});
  t_last_binding = LastBinding{uid_, lane};
  return Binding{lane, true};
}

std::optional<uint32_t> LaneRegistry::LaneOfThisThreadSlow() const {
  const ThreadBindings& t = t_bindings;
  for (const ThreadBindings::Entry& e : t.entries) {
    if (e.uid == uid_) return e.lane;
  }
  return std::nullopt;
}

void LaneRegistry::Release(uint32_t lane) {
  MutexLock lock(&mutex_);
  free_.push_back(lane);
}

}  // namespace internal
}  // namespace weft
