// Continuations: runs Future::Then callbacks once their calls resolve.
//
//   continuations.Add(std::move(handle), [](CallHandle h) { ... });
//   ...
//   continuations.Stop();   // pool shutdown: every call has resolved; runs the rest
//
// A callback runs at once on the calling thread if its call has already
// resolved; otherwise on the continuation thread (one per pool, started by
// the first Add that has to wait), never on a worker. That thread sleeps
// until one of its calls resolves, without polling: it marks each call
// watched (CallHandle::Watch), and whoever publishes a watched call's
// outcome rings the host doorbell of its worker's region (slot.h); the
// thread waits on the doorbells of every region it has calls on, and a
// local word for new registrations, in one futex_waitv, bounded by the
// earliest deadline among its calls. Without futex_waitv (Linux < 5.16), or
// with calls on more than 127 workers, it falls back to waiting in 1 ms
// slices.
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

#include <atomic>
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
    RegionHeader* doorbell = nullptr;  // its region's header, once watched
  };
  // Shared by the object and its thread.
  struct State {
    Mutex mutex;
    std::vector<Pending> added ABSL_GUARDED_BY(mutex);
    bool stop ABSL_GUARDED_BY(mutex) = false;
    std::thread thread ABSL_GUARDED_BY(mutex);
    std::thread::id thread_id ABSL_GUARDED_BY(mutex);
    // Bumped by Add and Stop after they changed the above; the thread
    // sleeps on it beside the doorbells. `sleeping` follows wait.h's
    // protocol so that Add makes no syscall while the thread is awake.
    std::atomic<uint32_t> kick{0};
    std::atomic<uint32_t> sleeping{0};
  };
  static void Loop(std::shared_ptr<State> state);
  static void Kick(State& s);
  // Sleeps until a call of `pending` may have resolved, something was
  // added, or the earliest deadline among `pending` passed.
  static void Sleep(State& s, std::vector<Pending>& pending);

  const std::shared_ptr<State> state_;
};

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_INTERNAL_CONTINUATIONS_H_
