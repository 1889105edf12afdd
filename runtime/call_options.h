// Per-call options, the optional trailing argument of every stub method.
//
//   auto f = math.countTo(1'000'000'000, weft::CallOptions{.timeout = absl::Milliseconds(5)});
//   auto g = math.square(3, weft::CallOptions{.timeout = absl::Milliseconds(1),
//                                             .on_timeout = weft::OnTimeout::DefaultResult()});
//
// CallOptions is an aggregate whose first member is `timeout`, so designated
// initializers work. Members may be added at the end; meanings do not change.
//
// Thread safety: plain values (thread-compatible); read once when the call starts.
#ifndef WEFT_RUNTIME_CALL_OPTIONS_H_
#define WEFT_RUNTIME_CALL_OPTIONS_H_

#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace weft {

// What a call resolves to when its deadline passes.
class OnTimeout {
 public:
  enum class Kind {
    kMethodDefault,     // the method's $Weft.defaultOnTimeout, else kDeadlineExceeded
    kDeadlineExceeded,  // absl::DeadlineExceededError
    kDefaultResult,     // an OK Response over the default (empty) results
    kStatus,            // a status the caller chose
  };

  OnTimeout() = default;
  static OnTimeout DeadlineExceeded() { return OnTimeout(Kind::kDeadlineExceeded, {}); }
  static OnTimeout DefaultResult() { return OnTimeout(Kind::kDefaultResult, {}); }
  // `status` must not be OK (an OK status means DefaultResult()).
  static OnTimeout Return(absl::Status status) {
    if (status.ok()) return DefaultResult();
    return OnTimeout(Kind::kStatus, std::move(status));
  }

  Kind kind() const { return kind_; }
  const absl::Status& status() const { return status_; }

 private:
  OnTimeout(Kind kind, absl::Status status) : kind_(kind), status_(std::move(status)) {}
  Kind kind_ = Kind::kMethodDefault;
  absl::Status status_;
};

struct CallOptions {
  // The call's deadline, counted from the moment the stub is called (queue
  // time counts). Unset: the method's $Weft.timeoutMs, else the pool's
  // `default_timeout`, else none. absl::InfiniteDuration() means none, even
  // if the schema or the pool sets one.
  std::optional<absl::Duration> timeout = std::nullopt;
  // What the call resolves to when the deadline passes.
  OnTimeout on_timeout = OnTimeout();
  // Reserve an abort slot even if the method is not $Weft.abortable, so the
  // worker's call.aborted() turns true on Abort() or expiry.
  bool abortable = false;
};

}  // namespace weft

#endif  // WEFT_RUNTIME_CALL_OPTIONS_H_
