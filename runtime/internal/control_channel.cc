#include "runtime/internal/control_channel.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "capnp/message.h"
#include "capnp/serialize.h"
#include "kj/exception.h"
#include "runtime/internal/child_process.h"
#include "schema/control.capnp.h"

namespace weft {
namespace internal {
namespace {

// Sends all of `bytes`; MSG_NOSIGNAL: a worker that already exited must
// not kill the host with SIGPIPE.
bool SendAll(int fd, kj::ArrayPtr<const kj::byte> bytes) {
  while (bytes.size() > 0) {
    const ssize_t n = send(fd, bytes.begin(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes = bytes.slice(static_cast<size_t>(n), bytes.size());
  }
  return true;
}

// The one byte that carries the requests block's descriptor.
constexpr char kFdByte = 'R';

// One byte and room for one descriptor, as sendmsg and recvmsg take them.
// Not copyable: msg points into the object itself.
struct FdMessage {
  char byte = kFdByte;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};

  FdMessage() {
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
  }
  FdMessage(const FdMessage&) = delete;
  FdMessage& operator=(const FdMessage&) = delete;
};

}  // namespace

bool SendRequestsFd(int socket, int fd) {
  FdMessage m;
  cmsghdr* c = CMSG_FIRSTHDR(&m.msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  for (;;) {
    const ssize_t n = sendmsg(socket, &m.msg, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    return n == 1;
  }
}

absl::StatusOr<int> ReceiveRequestsFd(int fd) {
  FdMessage m;
  m.byte = 0;
  ssize_t n;
  while ((n = recvmsg(fd, &m.msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
  }
  if (n < 0) return absl::InternalError(absl::StrCat("weft worker: recvmsg: ", strerror(errno)));
  if (n == 0) return absl::UnavailableError("weft worker: the host closed the control socket");
  const cmsghdr* c = CMSG_FIRSTHDR(&m.msg);
  int received = -1;
  if (c != nullptr && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
      c->cmsg_len == CMSG_LEN(sizeof(int))) {
    std::memcpy(&received, CMSG_DATA(c), sizeof(int));
  }
  if (m.byte != kFdByte || received < 0 || (m.msg.msg_flags & MSG_CTRUNC) != 0) {
    if (received >= 0) close(received);
    return absl::FailedPreconditionError(
        "weft worker: the host did not send the request area's descriptor first; are host and "
        "worker built from the same weft version?");
  }
  return received;
}

bool SendBoot(int fd, const PoolOptions& options, uint32_t index, int region_fd_in_child,
              const std::string& region_path, uint64_t boot_token) {
  capnp::MallocMessageBuilder boot_message;
  control::Boot::Builder boot = boot_message.initRoot<control::Boot>();
  boot.setWorkerIndex(index);
  boot.setRegionFd(region_fd_in_child);
  boot.setRegionName(region_path);
  boot.setMaxPayloadBytes(options.max_payload_bytes);
  boot.setSpinPolls(options.spin.spin_polls);
  boot.setYieldPolls(options.spin.yield_polls);
  boot.setBootToken(boot_token);
  kj::Array<capnp::word> words = capnp::messageToFlatArray(boot_message);
  return SendAll(fd, words.asBytes());
}

capnp::ReaderOptions ControlReaderOptions() {
  capnp::ReaderOptions options;
  options.traversalLimitInWords = kMaxControlWords;
  return options;
}

ReadResult ReadMessage(int fd, absl::Time until) {
  std::string bytes;
  for (;;) {
    kj::Array<capnp::word> message;
    switch (TakeMessage(bytes, message)) {
      case Taken::kMessage:
        return {ReadResult::kMessage, std::move(message)};
      case Taken::kTooLarge:
        return {ReadResult::kTooLarge, nullptr};
      case Taken::kIncomplete:
        break;
    }
    const int64_t left_ms = absl::ToInt64Milliseconds(until - absl::Now());
    if (left_ms <= 0) return {ReadResult::kTimedOut, nullptr};
    pollfd p{fd, POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(std::min<int64_t>(left_ms, 1 << 30)));
    if (ready <= 0) continue;
    char buffer[4096];
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return {ReadResult::kEof, nullptr};
    bytes.append(buffer, static_cast<size_t>(n));
  }
}

Taken TakeMessage(std::string& bytes, kj::Array<capnp::word>& message) {
  if (bytes.size() < sizeof(capnp::word)) return Taken::kIncomplete;
  const size_t whole = bytes.size() / sizeof(capnp::word);
  // Only the segment table is needed to know the size: capnp allows 512
  // segments, a table of 257 words. Copied to align it.
  constexpr size_t kTableWords = 257;
  const size_t prefix_words = std::min(whole, kTableWords);
  capnp::word prefix[kTableWords];
  std::memcpy(prefix, bytes.data(), prefix_words * sizeof(capnp::word));
  const size_t needed = capnp::expectedSizeInWordsFromPrefix(kj::arrayPtr(prefix, prefix_words));
  if (needed > kMaxControlWords) return Taken::kTooLarge;
  if (whole < needed) return Taken::kIncomplete;
  message = kj::heapArray<capnp::word>(needed);
  std::memcpy(message.begin(), bytes.data(), needed * sizeof(capnp::word));
  bytes.erase(0, needed * sizeof(capnp::word));
  return Taken::kMessage;
}

absl::Status ParseReady(const PoolOptions& options, uint32_t index,
                        kj::ArrayPtr<const capnp::word> message) {
  const std::string command = CommandString(options);
  try {
    capnp::FlatArrayMessageReader reader(message, ControlReaderOptions());
    control::Ready::Reader ready = reader.getRoot<control::Ready>();
    if (ready.getCode() == 0) return absl::OkStatus();
    const uint32_t code = ready.getCode();
    const absl::StatusCode status_code =
        code <= static_cast<uint32_t>(absl::StatusCode::kUnauthenticated)
            ? static_cast<absl::StatusCode>(code)
            : absl::StatusCode::kUnknown;
    return absl::Status(status_code,
                        absl::StrCat("weft: worker ", index, " (", command,
                                     ") failed to start: ", ready.getMessage().cStr()));
  } catch (const kj::Exception& e) {
    return absl::FailedPreconditionError(
        absl::StrCat("weft: worker ", index, " (", command,
                     ") sent a malformed Ready: ", e.getDescription().cStr()));
  }
}

absl::Status OversizedReady(const PoolOptions& options, uint32_t index) {
  return absl::FailedPreconditionError(absl::StrCat(
      "weft: worker ", index, " (", CommandString(options),
      ") sent a malformed Ready: it claims more than ", kMaxControlWords * sizeof(capnp::word),
      " bytes; is the worker command a weft worker (WEFT_WORKER_MAIN) of this version?"));
}

void SendReady(int fd, const absl::Status& status) {
  capnp::MallocMessageBuilder message;
  control::Ready::Builder ready = message.initRoot<control::Ready>();
  ready.setCode(static_cast<uint32_t>(status.code()));
  ready.setMessage(std::string(status.message()));
  ready.setPid(getpid());
  capnp::writeMessageToFd(fd, message);
}

}  // namespace internal
}  // namespace weft
