// Per-call options, the optional trailing argument of every stub method.
//
//   auto f = math.countTo(1'000'000'000, weft::CallOptions{.timeout = absl::Milliseconds(5)});
//
// CallOptions is an aggregate whose first member is `timeout`, so designated
// initializers work. Members may be added at the end; meanings do not change.
#ifndef WEFT_RUNTIME_CALL_OPTIONS_H_
#define WEFT_RUNTIME_CALL_OPTIONS_H_

#include <optional>

#include "absl/time/time.h"

namespace weft {

struct CallOptions {
  // The call's deadline, counted from the moment the stub is called (queue
  // time counts). Unset: the method's $Weft.timeoutMs, else the pool's
  // `default_timeout`, else none. absl::InfiniteDuration() means none, even
  // if the schema or the pool sets one.
  std::optional<absl::Duration> timeout;
};

}  // namespace weft

#endif  // WEFT_RUNTIME_CALL_OPTIONS_H_
