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
// Lifetime: a callback may destroy the pool (drop its last reference) or
// call Shutdown. The thread's state is held by shared_ptr, by the thread
// itself too, so the thread never reads the Continuations object (or the
// pool around it) after a callback returns; Stop() from inside a callback
// detaches the thread, which ends once the callbacks still pending ran.
//
// Thread safety: thread-safe.
#ifndef WEFT_RUNTIME_INTERNAL_CONTINUATIONS_H_
#define WEFT_RUNTIME_INTERNAL_CONTINUATIONS_H_

#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "runtime/future.h"
#include "runtime/internal/mutex.h"

namespace weft {
namespace internal {

class Continuations {
 public:
  Continuations() : state_(std::make_shared<State>()) {}
  Continuations(const Continuations&) = delete;
  Continuations& operator=(const Continuations&) = delete;
  ~Continuations() { Stop(); }

  void Add(CallHandle call, std::function<void(CallHandle)> run);
  // Runs what is pending (every call must have resolved) and joins the
  // thread; from a callback itself, detaches it instead. Idempotent.
  void Stop();
  // True on the continuation thread (inside a callback).
  bool OnLoopThread() const;

 private:
  struct Pending {
    CallHandle call;
    std::function<void(CallHandle)> run;
  };
  // Shared by the object and its thread.
  struct State {
    Mutex mutex;
    CondVar cv;
    std::vector<Pending> added ABSL_GUARDED_BY(mutex);
    bool stop ABSL_GUARDED_BY(mutex) = false;
    std::thread thread ABSL_GUARDED_BY(mutex);
    std::thread::id thread_id ABSL_GUARDED_BY(mutex);
  };
  static void Loop(std::shared_ptr<State> state);

  const std::shared_ptr<State> state_;
};

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_INTERNAL_CONTINUATIONS_H_
