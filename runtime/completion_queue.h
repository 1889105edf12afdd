// weft::CompletionQueue: many calls in flight, one place to learn which
// finished — in the order they resolve, not the order they were sent.
//
//   absl::StatusOr<weft::CompletionQueue> cq = weft::CompletionQueue::Create();
//   cq->Add(math.square(7), /*tag=*/7);
//   cq->Add(math.square(8), /*tag=*/8);
//   while (std::optional<weft::Completion> c = cq->Next()) {   // nullopt: none outstanding
//     absl::StatusOr<weft::Response<Math::SquareResults>> r =
//         c->Get<Math::SquareResults>();
//     use(c->tag(), r);
//   }
//
// An event loop waits on fd() instead: it is readable exactly while a
// resolved call waits to be taken (an eventfd counting them), so epoll,
// poll, libevent or asio can watch it; call TryNext() when it is readable.
// Calls of any pools and methods may share one queue.
//
// Delivery: each call added is returned by Next() exactly once, when it has
// resolved (to a value or a status, as Future::Get would say). A queue
// learns of resolutions through its pool's continuation thread, which
// sleeps until a watched call resolves (no polling; see
// runtime/internal/continuations.h).
//
// Blocking: do not call Next() from a Then callback or from a coroutine
// resumed on the continuation thread while waiting for calls of the same
// pool: that thread is the one that delivers them.
//
// Lifetime: destroying the queue abandons the calls it still holds, as
// destroying their futures would (results dropped; an abortable method sees
// aborted()). A Completion owns its call and may outlive the queue.
//
// Thread safety: thread-safe; many threads may Add and Next at once.
#ifndef WEFT_RUNTIME_COMPLETION_QUEUE_H_
#define WEFT_RUNTIME_COMPLETION_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "capnp/common.h"
#include "runtime/future.h"
#include "runtime/interface.h"

namespace weft {

// One resolved call, as the queue hands it out. Move-only.
class Completion {
 public:
  Completion(Completion&&) noexcept = default;
  Completion& operator=(Completion&&) noexcept = default;

  // The tag the call was added with.
  uint64_t tag() const { return tag_; }
  // The method called; null when the call failed before reaching a worker.
  const MethodInfo* method() const { return handle_.method(); }

  // The call's outcome, as Future<R>::Get() returns it. R must be the
  // method's results type: another type is InvalidArgument. Once only.
  template <typename R>
  absl::StatusOr<Response<R>> Get() {
    const MethodInfo* m = handle_.method();
    if (m != nullptr && m->results_type_id != capnp::typeId<R>()) {
      return absl::InvalidArgumentError(
          absl::StrCat("weft: the completion tagged ", tag_, " is a call to ", m->interface_name,
                       "::", m->name, "; read it with Get<> of that method's results type"));
    }
    return Future<R>(std::move(handle_)).Get();
  }

 private:
  friend class CompletionQueue;
  Completion(uint64_t tag, internal::CallHandle handle) : tag_(tag), handle_(std::move(handle)) {}

  uint64_t tag_;
  internal::CallHandle handle_;
};

class CompletionQueue {
 public:
  // ResourceExhausted if the process is out of file descriptors.
  static absl::StatusOr<CompletionQueue> Create();
  CompletionQueue(CompletionQueue&&) noexcept = default;
  CompletionQueue& operator=(CompletionQueue&&) noexcept;
  ~CompletionQueue();

  // Takes `future`; Next() returns it with `tag` once it resolved. A
  // future already resolved (or failed before it was sent) is ready at once.
  template <typename R>
  void Add(Future<R> future, uint64_t tag) {
    AddHandle(std::move(future.weft_handle()), tag);
  }

  // The next resolved call, waiting for one; nullopt when no call is
  // outstanding (every call added was returned), or when `until` passed.
  std::optional<Completion> Next(absl::Time until = absl::InfiniteFuture());
  // The next resolved call if there is one now.
  std::optional<Completion> TryNext() { return Next(absl::InfinitePast()); }

  // Readable (POLLIN) exactly while a resolved call waits to be taken.
  // Owned by the queue; do not read or close it.
  int fd() const;
  // Calls added and not yet returned by Next (resolved or not).
  size_t outstanding() const;

 private:
  struct State;
  explicit CompletionQueue(std::shared_ptr<State> state) : state_(std::move(state)) {}
  void AddHandle(internal::CallHandle handle, uint64_t tag);
  void Close();

  std::shared_ptr<State> state_;
};

}  // namespace weft

#endif  // WEFT_RUNTIME_COMPLETION_QUEUE_H_
