// PoolBase (pool.h): the non-template part of weft::Pool<I>.
#include "runtime/pool.h"

#include "runtime/internal/pool_core.h"

namespace weft {
namespace internal {

absl::StatusOr<std::shared_ptr<PoolCore>> PoolBase::CreateCore(const PoolOptions& options,
                                                               uint64_t interface_id,
                                                               absl::Span<const MethodInfo> methods,
                                                               SkeletonFactory factory) {
  return PoolCore::Create(options, interface_id, methods, std::move(factory));
}

PoolBase& PoolBase::operator=(PoolBase&& other) noexcept {
  if (this != &other) {
    if (core_) core_->Shutdown(ShutdownMode::kDrain, core_->options().shutdown_grace);
    core_ = std::move(other.core_);
  }
  return *this;
}

PoolBase::~PoolBase() {
  if (core_) core_->Shutdown(ShutdownMode::kDrain, core_->options().shutdown_grace);
}

PoolStats PoolBase::Stats() const { return core_->Stats(); }

void PoolBase::Shutdown(ShutdownMode mode, absl::Duration grace) {
  if (core_) core_->Shutdown(mode, grace);
}

}  // namespace internal
}  // namespace weft
