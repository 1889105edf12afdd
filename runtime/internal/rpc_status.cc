#include "runtime/internal/rpc_status.h"

#include <string>

#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace weft {
namespace internal {
namespace {

// Cap'n Proto 0.9.2 prefixes what a peer threw.
constexpr absl::string_view kRemotePrefix = "remote exception: ";

}  // namespace

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

absl::Status ExceptionToStatus(const kj::Exception& exception) {
  absl::string_view text(exception.getDescription().cStr(), exception.getDescription().size());
  while (absl::ConsumePrefix(&text, kRemotePrefix)) {
  }
  // "CODE: message", as StatusToException writes it.
  for (int code = 1; code <= 16; ++code) {
    const auto status_code = static_cast<absl::StatusCode>(code);
    const std::string name = absl::StatusCodeToString(status_code);
    absl::string_view rest = text;
    if (absl::ConsumePrefix(&rest, name) && absl::ConsumePrefix(&rest, ": ")) {
      return absl::Status(status_code, rest);
    }
  }
  switch (exception.getType()) {
    case kj::Exception::Type::DISCONNECTED:
      return absl::UnavailableError(text);
    case kj::Exception::Type::OVERLOADED:
      return absl::ResourceExhaustedError(text);
    case kj::Exception::Type::UNIMPLEMENTED:
      return absl::UnimplementedError(text);
    default:
      return absl::UnknownError(text);
  }
}

}  // namespace internal
}  // namespace weft
