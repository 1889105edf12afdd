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

}  // namespace

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

kj::Array<capnp::word> ReadMessage(int fd, absl::Time until, bool& timed_out) {
  timed_out = false;
  std::string bytes;
  for (;;) {
    kj::Array<capnp::word> message;
    if (TakeMessage(bytes, message)) return message;
    const int64_t left_ms = absl::ToInt64Milliseconds(until - absl::Now());
    if (left_ms <= 0) {
      timed_out = true;
      return nullptr;
    }
    pollfd p{fd, POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(std::min<int64_t>(left_ms, 1 << 30)));
    if (ready <= 0) continue;
    char buffer[4096];
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return nullptr;  // EOF
    bytes.append(buffer, static_cast<size_t>(n));
  }
}

bool TakeMessage(std::string& bytes, kj::Array<capnp::word>& message) {
  if (bytes.size() < sizeof(capnp::word)) return false;
  const size_t whole = bytes.size() / sizeof(capnp::word);
  kj::Array<capnp::word> prefix = kj::heapArray<capnp::word>(whole);
  std::memcpy(prefix.begin(), bytes.data(), whole * sizeof(capnp::word));
  const size_t needed = capnp::expectedSizeInWordsFromPrefix(prefix);
  if (whole < needed) return false;
  message = kj::heapArray<capnp::word>(needed);
  std::memcpy(message.begin(), bytes.data(), needed * sizeof(capnp::word));
  bytes.erase(0, needed * sizeof(capnp::word));
  return true;
}

absl::Status ParseReady(const PoolOptions& options, uint32_t index,
                        kj::ArrayPtr<const capnp::word> message) {
  const std::string command = CommandString(options);
  try {
    capnp::FlatArrayMessageReader reader(message);
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
