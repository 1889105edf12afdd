#include "runtime/kj/promise.h"

#include <string>

namespace weft {
namespace internal {

void FulfilWhenResolved(CallHandle observer, kj::Own<kj::CrossThreadPromiseFulfiller<void>> done) {
  // std::function wants a copyable callable: the fulfiller rides in a
  // shared_ptr. Fulfilling a promise the loop already dropped is a no-op.
  auto fulfiller = std::make_shared<kj::Own<kj::CrossThreadPromiseFulfiller<void>>>(kj::mv(done));
  std::move(observer).Then([fulfiller](CallHandle) { (*fulfiller)->fulfill(); });
}

}  // namespace internal
}  // namespace weft
