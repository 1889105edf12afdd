#include "runtime/kj/promise.h"

#include <string>

namespace weft {
namespace internal {

kj::Exception StatusToException(const absl::Status& status) {
  kj::Exception::Type type = kj::Exception::Type::FAILED;
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
      type = kj::Exception::Type::DISCONNECTED;
      break;
    case absl::StatusCode::kResourceExhausted:
      type = kj::Exception::Type::OVERLOADED;
      break;
    case absl::StatusCode::kUnimplemented:
      type = kj::Exception::Type::UNIMPLEMENTED;
      break;
    default:
      break;
  }
  // weft's messages already say "weft:".
  const std::string text = status.ToString();
  return kj::Exception(type, __FILE__, __LINE__, kj::heapString(text.data(), text.size()));
}

void FulfilWhenResolved(CallHandle observer, kj::Own<kj::CrossThreadPromiseFulfiller<void>> done) {
  // std::function wants a copyable callable: the fulfiller rides in a
  // shared_ptr. Fulfilling a promise the loop already dropped is a no-op.
  auto fulfiller = std::make_shared<kj::Own<kj::CrossThreadPromiseFulfiller<void>>>(kj::mv(done));
  std::move(observer).Then([fulfiller](CallHandle) { (*fulfiller)->fulfill(); });
}

}  // namespace internal
}  // namespace weft
