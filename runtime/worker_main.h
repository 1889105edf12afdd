// WEFT_WORKER_MAIN(Impl): the main() of a process-worker binary.
//
//   // math_worker.cc
//   #include "examples/quickstart/math.weft.h"
//   class MathImpl final : public weft::Skeleton<quickstart::Math> { ... };
//   WEFT_WORKER_MAIN(MathImpl);
//
// The pool starts the binary (PoolOptions.worker_command) with a control
// socket on fd 3; the worker reads its boot message, maps its region, runs
// Impl::OnStart(), answers Ready, and serves until the pool stops it. It
// exits when the host dies (control-socket EOF, and PR_SET_PDEATHSIG).
// Run by hand, the binary says what it is and exits with status 2.
//
// Thread safety: the worker serves from one thread; the skeleton is only
// ever called from it (see skeleton.h).
#ifndef WEFT_RUNTIME_WORKER_MAIN_H_
#define WEFT_RUNTIME_WORKER_MAIN_H_

#include <functional>
#include <memory>

#include "runtime/skeleton.h"

namespace weft {
namespace internal {

int RunProcessWorker(const std::function<std::unique_ptr<SkeletonBase>()>& factory);

}  // namespace internal
}  // namespace weft

#define WEFT_WORKER_MAIN(Impl)                                    \
  int main() {                                                    \
    return ::weft::internal::RunProcessWorker(                    \
        []() -> std::unique_ptr<::weft::internal::SkeletonBase> { \
          return std::make_unique<Impl>();                        \
        });                                                       \
  }                                                               \
  static_assert(true, "")

#endif  // WEFT_RUNTIME_WORKER_MAIN_H_
