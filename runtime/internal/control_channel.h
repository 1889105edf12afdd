// The control channel between the host and a process worker: a Unix stream
// socket carrying Cap'n Proto messages (schema/control.capnp).
//
//   host                                   worker (WEFT_WORKER_MAIN)
//   SendBoot(fd, options, index, ...)  ->  reads Boot, maps its region
//   ReadMessage / ParseReady           <-  SendReady(fd, status)
//   (then only EOF matters: either side closing it means the other is gone)
//
// Every message read from the other side is untrusted: a malformed one is a
// clear status, never a crash.
//
// Thread safety: thread-compatible; one thread talks on one socket.
#ifndef WEFT_RUNTIME_INTERNAL_CONTROL_CHANNEL_H_
#define WEFT_RUNTIME_INTERNAL_CONTROL_CHANNEL_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "capnp/common.h"
#include "kj/array.h"
#include "runtime/pool_options.h"

namespace weft {
namespace internal {

// Host: sends the boot message. `region_fd_in_child` is the fd number the
// worker has its region on, or -1 with `region_path` to open instead.
// False if the worker closed its end (it has exited).
// `boot_token` names this start (see RegionHeader::boot_token).
bool SendBoot(int fd, const PoolOptions& options, uint32_t index, int region_fd_in_child,
              const std::string& region_path, uint64_t boot_token);

// Host: reads one whole message from `fd` before `until`; empty on EOF or
// time-out (`timed_out` says which).
kj::Array<capnp::word> ReadMessage(int fd, absl::Time until, bool& timed_out);

// Moves one whole Cap'n Proto message from the front of `bytes` into
// `message`; false if `bytes` does not hold a whole one yet.
bool TakeMessage(std::string& bytes, kj::Array<capnp::word>& message);

// Host: the status a Ready message reports (FailedPrecondition if malformed).
absl::Status ParseReady(const PoolOptions& options, uint32_t index,
                        kj::ArrayPtr<const capnp::word> message);

// Worker: answers the boot with its start status and pid.
void SendReady(int fd, const absl::Status& status);

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_INTERNAL_CONTROL_CHANNEL_H_
