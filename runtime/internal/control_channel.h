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

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "capnp/common.h"
#include "capnp/message.h"
#include "kj/array.h"
#include "runtime/pool_options.h"

namespace weft {
namespace internal {

// Host: the first thing a worker is sent: one byte carrying `requests_fd`
// (the region's requests block, Region::requests_fd) as SCM_RIGHTS. Over
// the control socket, so that it reaches the worker through any wrapper
// that passes the socket on. False if the worker closed its end.
bool SendRequestsFd(int fd, int requests_fd);

// Worker: receives the descriptor SendRequestsFd sent (close-on-exec), or an
// error naming what arrived instead.
absl::StatusOr<int> ReceiveRequestsFd(int fd);

// Host: sends the boot message, after SendRequestsFd. `region_fd_in_child`
// is the fd number the worker has its region on, or -1 with `region_path`
// to open instead. False if the worker closed its end (it has exited).
// `boot_token` names this start (see RegionHeader::boot_token).
bool SendBoot(int fd, const PoolOptions& options, uint32_t index, int region_fd_in_child,
              const std::string& region_path, uint64_t boot_token);

// The largest message either side accepts: a Boot or a Ready is a few
// hundred bytes; 64 KiB (a pipe's capacity) leaves room for long paths and
// messages while a peer claiming more is turned away before anything is
// allocated for it.
inline constexpr size_t kMaxControlWords = 8192;

// Reader options for a control message: the traversal limit is the size
// limit (capnp checks a stream's claimed size against it before reading).
capnp::ReaderOptions ControlReaderOptions();

enum class Taken {
  kIncomplete,  // `bytes` does not hold a whole message yet
  kMessage,     // the front message moved into `message`
  kTooLarge,    // the front claims more than kMaxControlWords: malformed
};

// Moves one whole Cap'n Proto message from the front of `bytes` into
// `message`. Nothing is taken unless kMessage.
Taken TakeMessage(std::string& bytes, kj::Array<capnp::word>& message);

// Host: reads one whole message from `fd` before `until`.
struct ReadResult {
  enum Kind { kMessage, kEof, kTimedOut, kTooLarge } kind;
  kj::Array<capnp::word> message;  // kMessage only
};
ReadResult ReadMessage(int fd, absl::Time until);

// Host: the status a Ready message reports (FailedPrecondition if malformed).
absl::Status ParseReady(const PoolOptions& options, uint32_t index,
                        kj::ArrayPtr<const capnp::word> message);

// Host: the status for a Ready that claims more than kMaxControlWords.
absl::Status OversizedReady(const PoolOptions& options, uint32_t index);

// Worker: answers the boot with its start status and pid.
void SendReady(int fd, const absl::Status& status);

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_INTERNAL_CONTROL_CHANNEL_H_
