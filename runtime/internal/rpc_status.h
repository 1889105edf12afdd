// absl::Status <-> kj::Exception, the one mapping between weft's outcomes and
// Cap'n Proto RPC's, used by both directions (RpcServer answering a client,
// a remote worker's answer becoming a call's status) and by ToPromise.
//
//   kj::Exception e = StatusToException(absl::NotFoundError("weft: no key"));
//   // e.getType() == FAILED, e.getDescription() == "NOT_FOUND: weft: no key"
//   absl::Status s = ExceptionToStatus(e);   // NotFound, "weft: no key"
//
// Types: Unavailable is DISCONNECTED, ResourceExhausted OVERLOADED,
// Unimplemented UNIMPLEMENTED, every other code FAILED. The description is
// always absl::Status::ToString() ("CODE: message"), so the code survives
// the trip: ExceptionToStatus reads it back (after Cap'n Proto's "remote
// exception: " prefix). An exception without a code (a plain Cap'n Proto
// server's, or a broken connection) maps by type: DISCONNECTED Unavailable,
// OVERLOADED ResourceExhausted, UNIMPLEMENTED Unimplemented, FAILED Unknown.
//
// Thread safety: pure functions.
#ifndef WEFT_RUNTIME_INTERNAL_RPC_STATUS_H_
#define WEFT_RUNTIME_INTERNAL_RPC_STATUS_H_

#include "absl/status/status.h"
#include "kj/exception.h"

namespace weft {
namespace internal {

kj::Exception StatusToException(const absl::Status& status);
absl::Status ExceptionToStatus(const kj::Exception& exception);

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_INTERNAL_RPC_STATUS_H_
