// The worker-side base of every generated weft::Skeleton<I>.
//
// capnpc-weft generates, for each interface I, `weft::Skeleton<I>` deriving
// from internal::SkeletonBase with one pure virtual per method. Users derive
// from Skeleton<I>, implement the methods, and may override the hooks:
//
//   class MathImpl final : public weft::Skeleton<quickstart::Math> {
//    public:
//     absl::Status OnStart() override { ... }   // once, before the first call
//     absl::Status square(SquareCall& call) override { ... }
//   };
//
// Thread safety: one instance serves one worker and is only ever called from
// that worker's thread (or process), one call at a time.
#ifndef WEFT_RUNTIME_SKELETON_H_
#define WEFT_RUNTIME_SKELETON_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "runtime/call.h"
#include "runtime/interface.h"

namespace weft {
namespace internal {

class SkeletonBase {
 public:
  virtual ~SkeletonBase() = default;

  // Hooks. OnStart runs once in the worker before its first call; a non-OK
  // status fails the worker's start. BeforeCall/AfterCall bracket each call.
  virtual absl::Status OnStart() { return absl::OkStatus(); }
  virtual void BeforeCall(const MethodInfo& method) { (void)method; }
  virtual void AfterCall(const MethodInfo& method, const absl::Status& status) {
    (void)method;
    (void)status;
  }

  // Generated. The interface served, its methods (dense index order), and
  // the dispatch by dense index. An unknown index returns InvalidArgument.
  virtual uint64_t WeftInterfaceId() const = 0;
  virtual absl::Span<const MethodInfo> WeftMethods() const = 0;
  virtual absl::Status WeftDispatch(uint32_t method_index, CallContext& context) = 0;
};

// Used by generated WeftDispatch for an index it does not know.
absl::Status UnknownMethod(uint64_t interface_id, uint32_t method_index);

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_SKELETON_H_
