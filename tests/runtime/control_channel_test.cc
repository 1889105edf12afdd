// The descriptor handshake that opens every process worker's boot
// (SendRequestsFd / ReceiveRequestsFd): over a real socketpair.
#include "runtime/internal/control_channel.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "runtime/internal/region.h"

namespace weft::internal {
namespace {

struct SocketPair {
  int fds[2] = {-1, -1};
  SocketPair() { EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0); }
  ~SocketPair() {
    for (int fd : fds) {
      if (fd >= 0) close(fd);
    }
  }
};

TEST(ControlChannel, TheRequestsDescriptorArrivesAsTheSameFile) {
  Geometry g{};
  g.lanes = 1;
  g.slots_per_lane = 4;
  g.ring_capacity = 4;
  g.request_inline_bytes = 256;
  g.response_inline_bytes = 256;
  g.heap_bytes = 4096;
  absl::StatusOr<Region> region = Region::Create(g, 1, 1);
  ASSERT_TRUE(region.ok()) << region.status();
  SocketPair s;
  ASSERT_TRUE(SendRequestsFd(s.fds[0], region->requests_fd()));
  absl::StatusOr<int> got = ReceiveRequestsFd(s.fds[1]);
  ASSERT_TRUE(got.ok()) << got.status();
  struct stat a, b;
  ASSERT_EQ(fstat(region->requests_fd(), &a), 0);
  ASSERT_EQ(fstat(*got, &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_dev, b.st_dev);
  close(*got);
}

TEST(ControlChannel, APeerThatSendsNoDescriptorIsRefusedWithWhatToCheck) {
  // A host of another weft version would start with its Boot message.
  SocketPair s;
  const char boot_start[8] = {0, 0, 0, 0, 3, 0, 0, 0};
  ASSERT_EQ(write(s.fds[0], boot_start, sizeof(boot_start)), 8);
  absl::StatusOr<int> got = ReceiveRequestsFd(s.fds[1]);
  ASSERT_EQ(got.status().code(), absl::StatusCode::kFailedPrecondition) << got.status();
  EXPECT_TRUE(absl::StrContains(got.status().message(), "same weft version")) << got.status();
}

TEST(ControlChannel, AHostThatClosedTheSocketIsUnavailable) {
  SocketPair s;
  close(s.fds[0]);
  s.fds[0] = -1;
  EXPECT_EQ(ReceiveRequestsFd(s.fds[1]).status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace weft::internal
