// Continuations: runs Future::Then callbacks once their calls resolve.
//
//   continuations.Add(std::move(handle), [](CallHandle h) { ... });
//   ...
//   continuations.Stop();   // pool shutdown: every call has resolved; runs the rest
//
// A callback runs at once on the calling thread if its call has already
// resolved; otherwise on the continuation thread (one per pool, started by
// the first Add that has to wait), never on a worker. That thread waits on
// the oldest pending call in 1 ms slices so that new registrations are
// picked up; a later call's callback may lag by up to that slice.
//
// Thread safety: thread-safe.
#ifndef WEFT_RUNTIME_INTERNAL_CONTINUATIONS_H_
#define WEFT_RUNTIME_INTERNAL_CONTINUATIONS_H_

#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "runtime/future.h"
#include "runtime/internal/mutex.h"

namespace weft {
namespace internal {

class Continuations {
 public:
  Continuations() = default;
  Continuations(const Continuations&) = delete;
  Continuations& operator=(const Continuations&) = delete;
  ~Continuations() { Stop(); }

  void Add(CallHandle call, std::function<void(CallHandle)> run);
  // Runs what is pending (every call must have resolved) and joins the
  // thread; from a callback itself, detaches it instead. Idempotent.
  void Stop();

 private:
  struct Pending {
    CallHandle call;
    std::function<void(CallHandle)> run;
  };
  void Loop();

  Mutex mutex_;
  CondVar cv_;
  std::vector<Pending> added_ ABSL_GUARDED_BY(mutex_);
  bool stop_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_INTERNAL_CONTINUATIONS_H_
