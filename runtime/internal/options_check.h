// Validation of PoolOptions, and the region geometry they ask for.
//
//   WEFT_RETURN_IF_ERROR(ValidatePoolOptions(options, /*has_factory=*/true));
//   WEFT_ASSIGN_OR_RETURN(Geometry g, GeometryFor(options, methods));
//
// Every error is InvalidArgument and names the field and the fix.
//
// Thread safety: pure functions.
#ifndef WEFT_RUNTIME_INTERNAL_OPTIONS_CHECK_H_
#define WEFT_RUNTIME_INTERNAL_OPTIONS_CHECK_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/internal/layout.h"
#include "runtime/pool_options.h"

namespace weft {
namespace internal {

// `has_factory`: Create was given a skeleton factory (thread workers need
// one; process workers must not have one).
absl::Status ValidatePoolOptions(const PoolOptions& options, bool has_factory);

// The geometry of each worker's region, checked.
// `method_count`: the served interface's, for the stats cells.
absl::StatusOr<Geometry> GeometryFor(const PoolOptions& options, uint32_t method_count);

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_INTERNAL_OPTIONS_CHECK_H_
