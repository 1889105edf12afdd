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
#include "runtime/internal/host_core.h"
#include "runtime/interface.h"
#include "runtime/pool_options.h"
#include "runtime/stats.h"

namespace weft {

template <typename I>
class Pool {
 public:
  // Makes one skeleton per worker; called on the thread that calls Create.
  using Factory = std::function<std::unique_ptr<Skeleton<I>>()>;

  // Starts `options.workers` thread workers, each serving a skeleton made by
  // `factory`, and returns once every worker's OnStart() succeeded.
  // Errors: InvalidArgument for bad options (naming the field), the status
  // of a failed OnStart(), Unimplemented for WorkerRuntime::kProcess.
  [[nodiscard]] static absl::StatusOr<Pool> Create(const PoolOptions& options, Factory factory) {
    using Traits = InterfaceTraits<I>;
    absl::StatusOr<std::shared_ptr<internal::HostCore>> core = internal::HostCore::Create(
        options, Traits::kTypeId, absl::MakeConstSpan(Traits::kMethods.data(), Traits::kMethodCount),
        factory ? internal::HostCore::SkeletonFactory(
                      [factory]() -> std::unique_ptr<internal::SkeletonBase> { return factory(); })
                : internal::HostCore::SkeletonFactory());
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

  Pool(Pool&&) noexcept = default;
  Pool& operator=(Pool&& other) noexcept {
    if (this != &other) {
      if (core_) core_->Shutdown(ShutdownMode::kDrain, core_->options().shutdown_grace);
      core_ = std::move(other.core_);
    }
    return *this;
  }
  // Shutdown(kDrain, options.shutdown_grace).
  ~Pool() {
    if (core_) core_->Shutdown(ShutdownMode::kDrain, core_->options().shutdown_grace);
  }

  // A typed caller; cheap to copy.
  Stub<I> stub() const { return Stub<I>(core_); }

  // Counters and state per worker, read live from shared memory.
  PoolStats Stats() const { return core_->Stats(); }

  // kDrain: finish every call sent, waiting at most `grace`, then cancel
  // what is left. kCancelPending: resolve every outstanding call with
  // Cancelled at once (workers see aborted()). Either way new calls fail
  // with Unavailable and the workers stop (process workers: told to stop,
  // then SIGTERM, then SIGKILL, every child reaped). Idempotent.
  void Shutdown(ShutdownMode mode = ShutdownMode::kDrain,
                absl::Duration grace = absl::InfiniteDuration()) {
    if (core_) core_->Shutdown(mode, grace);
  }

 private:
  explicit Pool(std::shared_ptr<internal::HostCore> core) : core_(std::move(core)) {}

  std::shared_ptr<internal::HostCore> core_;
};

}  // namespace weft

#endif  // WEFT_RUNTIME_POOL_H_
