#include "runtime/skeleton.h"

#include "absl/strings/str_cat.h"

namespace weft {
namespace internal {

absl::Status UnknownMethod(uint64_t interface_id, uint32_t method_index) {
  return absl::InvalidArgumentError(absl::StrCat("weft: interface ", absl::Hex(interface_id),
                                                 " has no method with index ", method_index));
}

}  // namespace internal
}  // namespace weft
