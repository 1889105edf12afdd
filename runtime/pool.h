// weft::Pool<I>: workers serving interface I, and the stubs that call them.
//
//   weft::PoolOptions options;
//   options.workers = 4;
//   absl::StatusOr<weft::Pool<quickstart::Math>> pool = weft::Pool<quickstart::Math>::Create(
//       options, [] { return std::make_unique<MathImpl>(); });
//   weft::Stub<quickstart::Math> math = pool->stub();
//   auto r = math.square(7).Get();
//
// Destroying the pool shuts it down gracefully (ShutdownMode::kDrain): new
// calls fail with Unavailable, every call already sent finishes, and the
// workers stop. Futures and responses outlive the pool safely: they keep the
// shared memory mapped until they are gone.
//
// Thread safety: thread-safe; stub() copies may be used from any thread.
#ifndef WEFT_RUNTIME_POOL_H_
#define WEFT_RUNTIME_POOL_H_

#include <functional>
#include <memory>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "runtime/interface.h"
#include "runtime/pool_options.h"
#include "runtime/skeleton.h"
#include "runtime/stats.h"

namespace weft {

class SignalShutdown;

namespace internal {

class PoolCore;

// The non-template part of Pool<I> (pool.cc). Move-only.
class PoolBase {
 public:
  PoolBase(PoolBase&&) noexcept = default;
  PoolBase& operator=(PoolBase&& other) noexcept;
  ~PoolBase();

  // Counters and state per worker, read live from shared memory. A
  // moved-from pool has no workers: empty stats.
  PoolStats Stats() const;

  // The options the pool was created with.
  const PoolOptions& options() const;

  // kDrain: finish every call sent, waiting at most `grace`, then cancel
  // what is left. kCancelPending: resolve every outstanding call with
  // Cancelled at once (workers see aborted()). Either way new calls fail
  // with Unavailable and the workers stop (process workers: told to stop,
  // then SIGTERM, then SIGKILL, every child reaped). Returns within about
  // `grace` even if a thread worker is stuck in a method that never returns:
  // that thread is left running (its memory is kept until it returns) and
  // the result is DeadlineExceeded naming it; OK otherwise. Idempotent: a
  // second call waits for the first (one from a Then callback returns at
  // once). A moved-from pool has nothing to stop and returns OK.
  absl::Status Shutdown(ShutdownMode mode = ShutdownMode::kDrain,
                        absl::Duration grace = absl::InfiniteDuration());

 protected:
  using SkeletonFactory = std::function<std::unique_ptr<SkeletonBase>()>;
  static absl::StatusOr<std::shared_ptr<PoolCore>> CreateCore(const PoolOptions& options,
                                                              uint64_t interface_id,
                                                              const char* interface_name,
                                                              absl::Span<const MethodInfo> methods,
                                                              SkeletonFactory factory);
  explicit PoolBase(std::shared_ptr<PoolCore> core) : core_(std::move(core)) {}

  std::shared_ptr<PoolCore> core_;

 private:
  // ShutdownOnSignal (signals.h) holds the core, not this object, so its
  // guard follows a moved pool and cannot dangle.
  friend class ::weft::SignalShutdown;
};

}  // namespace internal

template <typename I>
class Pool : public internal::PoolBase {
 public:
  // Makes one skeleton per worker; called on the thread that calls Create.
  using Factory = std::function<std::unique_ptr<Skeleton<I>>()>;

  // Starts `options.workers` thread workers, each serving a skeleton made by
  // `factory`, and returns once every worker's OnStart() succeeded.
  // Errors: InvalidArgument for bad options (naming the field), the status
  // of a failed OnStart().
  [[nodiscard]] static absl::StatusOr<Pool> Create(const PoolOptions& options, Factory factory) {
    using Traits = InterfaceTraits<I>;
    absl::StatusOr<std::shared_ptr<internal::PoolCore>> core = CreateCore(
        options, Traits::kTypeId, Traits::kName,
        absl::MakeConstSpan(Traits::kMethods.data(), Traits::kMethodCount),
        factory ? SkeletonFactory(
                      [factory]() -> std::unique_ptr<internal::SkeletonBase> { return factory(); })
                : SkeletonFactory());
    if (!core.ok()) return core.status();
    return Pool(*std::move(core));
  }

  // Starts `options.workers` process workers running
  // options.command_prefix + options.worker_command (a binary whose main is
  // WEFT_WORKER_MAIN of a Skeleton<I>), each with a region of its own, and
  // returns once every one answered Ready. Errors name the command and the
  // cause: NotFound, PermissionDenied, FailedPrecondition (exited before
  // Ready), DeadlineExceeded (startup_timeout), the worker's OnStart status.
  [[nodiscard]] static absl::StatusOr<Pool> Create(const PoolOptions& options) {
    return Create(options, Factory());
  }

  // A typed caller; cheap to copy.
  Stub<I> stub() const { return Stub<I>(core_); }

 private:
  explicit Pool(std::shared_ptr<internal::PoolCore> core) : PoolBase(std::move(core)) {}
};

}  // namespace weft

#endif  // WEFT_RUNTIME_POOL_H_
