// PoolBase (pool.h): the non-template part of weft::Pool<I>.
#include "runtime/pool.h"

#include "runtime/internal/pool_core.h"

namespace weft {
namespace internal {

absl::StatusOr<std::shared_ptr<PoolCore>> PoolBase::CreateCore(const PoolOptions& options,
                                                               uint64_t interface_id,
                                                               const char* interface_name,
                                                               absl::Span<const MethodInfo> methods,
                                                               SkeletonFactory factory) {
  return PoolCore::Create(options, interface_id, interface_name, methods, std::move(factory));
}

namespace {

void ShutdownAtEnd(PoolCore& core) {
  // A failure (thread workers stuck past the grace) is logged by Shutdown
  // (kPoolStop, a warning).
  (void)core.Shutdown(ShutdownMode::kDrain, core.options().shutdown_grace);
  core.DropStreams();
}

}  // namespace

PoolBase& PoolBase::operator=(PoolBase&& other) noexcept {
  if (this != &other) {
    if (core_) ShutdownAtEnd(*core_);
    core_ = std::move(other.core_);
  }
  return *this;
}

PoolBase::~PoolBase() {
  if (core_) ShutdownAtEnd(*core_);
}

PoolStats PoolBase::Stats() const { return core_ != nullptr ? core_->Stats() : PoolStats(); }

const PoolOptions& PoolBase::options() const {
  static const PoolOptions kMovedFrom;
  return core_ != nullptr ? core_->options() : kMovedFrom;
}

absl::Status PoolBase::Shutdown(ShutdownMode mode, absl::Duration grace) {
  return core_ != nullptr ? core_->Shutdown(mode, grace) : absl::OkStatus();
}

}  // namespace internal
}  // namespace weft
