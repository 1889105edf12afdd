// Fuzzes both ends of the control channel (runtime/internal/control_channel.h):
// the bytes a process worker sends the host during the boot handshake, and
// the bytes a host sends a worker.
//
// The input (formats.h, ControlInput) is a byte stream and the points where
// recv() cuts it.
//   Host: the pieces are appended to a buffer and TakeMessage is called
//   after each (as ReadMessage does), every message taken goes through
//   ParseReady. Invariants: TakeMessage takes whole words off the front of
//   the buffer and leaves the rest, or takes nothing (and says too large
//   only for a front claiming more than kMaxControlWords, where the host
//   stops reading); the messages taken and
//   what is left are the stream again; ParseReady's status is the one the
//   Ready message's fields say (an independent reading of it), and a message
//   that does not parse is FailedPrecondition naming a malformed Ready.
//   Worker: the whole stream is a Boot, read as runtime/worker_main.cc does
//   (capnp::StreamFdMessageReader on a pipe with ControlReaderOptions, every
//   field it uses) and as a flat array (capnp::FlatArrayMessageReader); a malformed Boot is a
//   kj::Exception, never a crash, and when both parse they agree.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "capnp/message.h"
#include "capnp/serialize.h"
#include "kj/array.h"
#include "kj/exception.h"
#include "runtime/internal/control_channel.h"
#include "runtime/pool_options.h"
#include "schema/control.capnp.h"
#include "tests/fuzz/formats.h"
#include "tests/fuzz/fuzz_util.h"

namespace weft_fuzz {
namespace {

namespace control = weft::control;

constexpr size_t kPipeBytes = 65536;  // a pipe's default capacity

const weft::PoolOptions& Options() {
  static const weft::PoolOptions* options = [] {
    auto* o = new weft::PoolOptions;
    o->worker_command = {"/fuzz/worker"};
    return o;
  }();
  return *options;
}

// What ParseReady should say about `message`, read independently.
absl::StatusCode ExpectedReady(kj::ArrayPtr<const capnp::word> message) {
  try {
    capnp::FlatArrayMessageReader reader(message);
    control::Ready::Reader ready = reader.getRoot<control::Ready>();
    const uint32_t code = ready.getCode();
    if (code == 0) return absl::StatusCode::kOk;
    (void)ready.getMessage().cStr();
    return code <= static_cast<uint32_t>(absl::StatusCode::kUnauthenticated)
               ? static_cast<absl::StatusCode>(code)
               : absl::StatusCode::kUnknown;
  } catch (const kj::Exception&) {
    return absl::StatusCode::kFailedPrecondition;
  }
}

void Host(const ControlInput& input) {
  const std::string& stream = input.stream;
  std::vector<size_t> cuts;
  for (uint16_t split : input.splits) cuts.push_back(split % (stream.size() + 1));
  cuts.push_back(stream.size());
  std::sort(cuts.begin(), cuts.end());

  std::string bytes;
  size_t received = 0;
  size_t taken = 0;  // stream bytes moved into messages
  for (size_t cut : cuts) {
    bytes.append(stream, received, cut - received);
    received = cut;
    for (;;) {
      const std::string before = bytes;
      kj::Array<capnp::word> message;
      const weft::internal::Taken result = weft::internal::TakeMessage(bytes, message);
      if (result != weft::internal::Taken::kMessage) {
        FUZZ_CHECK(bytes == before, "TakeMessage changed the buffer without taking a message");
        if (result == weft::internal::Taken::kTooLarge) {
          // An independent reading of the claim, from the whole buffer.
          kj::Array<capnp::word> all = kj::heapArray<capnp::word>(bytes.size() / 8);
          std::memcpy(all.begin(), bytes.data(), all.size() * 8);
          FUZZ_CHECK(capnp::expectedSizeInWordsFromPrefix(all) > weft::internal::kMaxControlWords,
                     "TakeMessage said too large for a message within the limit");
          const absl::Status status = weft::internal::OversizedReady(Options(), 3);
          FUZZ_CHECK(absl::StrContains(status.message(), "malformed Ready"),
                     "an unclear status: ", status.ToString());
          // The host stops reading here (ReadMessage, Supervisor).
          return;
        }
        break;
      }
      FUZZ_CHECK(message.size() <= weft::internal::kMaxControlWords, "took ", message.size(),
                 " words, over the limit");
      const size_t length = message.size() * sizeof(capnp::word);
      FUZZ_CHECK(length > 0 && length <= before.size(), "took ", length, " bytes of ",
                 before.size());
      FUZZ_CHECK(std::memcmp(message.begin(), stream.data() + taken, length) == 0 &&
                     bytes == before.substr(length),
                 "the message taken is not the front of the stream");
      taken += length;
      const absl::Status status = weft::internal::ParseReady(Options(), 3, message);
      const absl::StatusCode expected = ExpectedReady(message);
      FUZZ_LOG("control: host took ", length, " bytes: ", status.ToString());
      FUZZ_CHECK(status.code() == expected, "ParseReady says ", status.ToString(),
                 ", the Ready says code ", static_cast<int>(expected));
      if (expected == absl::StatusCode::kFailedPrecondition && !status.ok()) {
        FUZZ_CHECK(absl::StrContains(status.message(), "malformed Ready") ||
                       absl::StrContains(status.message(), "failed to start"),
                   "an unclear status: ", status.ToString());
      }
    }
  }
  FUZZ_CHECK(
      taken + bytes.size() == stream.size() && stream.compare(taken, bytes.size(), bytes) == 0,
      "the messages and what is left are not the stream");
}

struct BootFields {
  uint32_t worker_index;
  int32_t region_fd;
  std::string region_name;
  bool proc_path;
  uint64_t max_payload_bytes;
  uint32_t spin_polls;
  uint32_t yield_polls;

  bool operator==(const BootFields&) const = default;
};

// Every field runtime/worker_main.cc reads, in its order.
BootFields ReadBoot(capnp::MessageReader& message) {
  control::Boot::Reader boot = message.getRoot<control::Boot>();
  BootFields f{};
  f.worker_index = boot.getWorkerIndex();
  f.region_fd = boot.getRegionFd();
  if (f.region_fd < 0) {
    f.region_name = boot.getRegionName().cStr();
    f.proc_path = f.region_name.rfind("/proc/", 0) == 0;
  }
  f.spin_polls = boot.getSpinPolls();
  f.yield_polls = boot.getYieldPolls();
  f.max_payload_bytes = boot.getMaxPayloadBytes();
  return f;
}

// The worker's reading, on a pipe holding `stream` (cut to what the pipe
// takes without blocking: `stream` is shortened to that).
std::optional<BootFields> BootFromPipe(std::string& stream) {
  int fds[2];
  FUZZ_CHECK(pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0, "pipe2");
  const ssize_t n = stream.empty() ? 0 : write(fds[1], stream.data(), stream.size());
  FUZZ_CHECK(n >= 0 || errno == EAGAIN, "write to the pipe");
  stream.resize(n > 0 ? static_cast<size_t>(n) : 0);
  close(fds[1]);
  // Blocking again for the reader, as the worker's control socket is.
  FUZZ_CHECK(fcntl(fds[0], F_SETFL, 0) == 0, "fcntl");
  std::optional<BootFields> fields;
  try {
    // As in worker_main.cc: the reader, then the fields, in one try block.
    capnp::StreamFdMessageReader boot_message(fds[0], weft::internal::ControlReaderOptions());
    fields = ReadBoot(boot_message);
  } catch (const kj::Exception&) {
    fields.reset();
  }
  close(fds[0]);
  return fields;
}

std::optional<BootFields> BootFromFlatArray(const std::string& stream) {
  kj::Array<capnp::word> words = kj::heapArray<capnp::word>(stream.size() / sizeof(capnp::word));
  std::memcpy(words.begin(), stream.data(), words.size() * sizeof(capnp::word));
  try {
    capnp::FlatArrayMessageReader reader(words, weft::internal::ControlReaderOptions());
    return ReadBoot(reader);
  } catch (const kj::Exception&) {
    return std::nullopt;
  }
}

void Worker(const ControlInput& input) {
  std::string stream = input.stream.substr(0, kPipeBytes);
  const std::optional<BootFields> from_pipe = BootFromPipe(stream);
  const std::optional<BootFields> from_array = BootFromFlatArray(stream);
  FUZZ_LOG("control: worker reads a Boot: ", from_pipe.has_value() ? "yes" : "no", " (stream), ",
           from_array.has_value() ? "yes" : "no", " (flat array)",
           from_pipe.has_value()
               ? absl::StrCat(", index ", from_pipe->worker_index, " fd ", from_pipe->region_fd,
                              " name ", from_pipe->region_name)
               : "");
  if (from_pipe.has_value() && from_array.has_value()) {
    FUZZ_CHECK(*from_pipe == *from_array, "the stream and flat-array readers disagree");
  }
}

}  // namespace
}  // namespace weft_fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  weft_fuzz::QuietKj quiet;
  weft_fuzz::FuzzInput in(data, size);
  const weft_fuzz::ControlInput input = weft_fuzz::DecodeControl(in);
  weft_fuzz::Host(input);
  weft_fuzz::Worker(input);
  return 0;
}
