#include "runtime/worker_main.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "capnp/message.h"
#include "capnp/serialize.h"
#include "kj/exception.h"
#include "runtime/internal/child_process.h"
#include "runtime/internal/control_channel.h"
#include "runtime/internal/region.h"
#include "runtime/internal/worker_loop.h"
#include "schema/control.capnp.h"

namespace weft {
namespace internal {
namespace {

absl::StatusOr<Region> MapRegion(control::Boot::Reader boot, int requests_fd) {
  if (boot.getRegionFd() >= 0) return Region::Map(boot.getRegionFd(), requests_fd);
  return Region::Open(boot.getRegionName().cStr(), requests_fd);
}

}  // namespace

int RunProcessWorker(const std::function<std::unique_ptr<SkeletonBase>()>& factory) {
  const char* control_env = std::getenv("WEFT_CONTROL_FD");
  if (control_env == nullptr) {
    std::fprintf(stderr,
                 "This program is a weft process worker. A weft::Pool starts it "
                 "(PoolOptions.worker_command); it does nothing on its own.\n");
    return 2;
  }
  // Exit with the host: the signal if it dies from now on. A host that died
  // before this call shows as EOF on the control socket (the boot read below
  // fails, or the watcher thread exits us); the parent's pid says nothing,
  // since a legitimate parent may be pid 1 (a container's entrypoint, a
  // sandbox's reaper).
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  const int control = std::atoi(control_env);
  // Not for our children: a subprocess holding the socket would hide our
  // death from the host.
  fcntl(control, F_SETFD, FD_CLOEXEC);
  fcntl(kRegionFd, F_SETFD, FD_CLOEXEC);

  absl::StatusOr<int> requests_fd = ReceiveRequestsFd(control);
  if (!requests_fd.ok()) {
    SendReady(control, requests_fd.status());
    return 1;
  }
  try {
    // Bounded: a Boot claiming more than kMaxControlWords throws before
    // anything is allocated for it.
    capnp::StreamFdMessageReader boot_message(control, ControlReaderOptions());
    control::Boot::Reader boot = boot_message.getRoot<control::Boot>();
    absl::StatusOr<Region> region = MapRegion(boot, *requests_fd);
    close(*requests_fd);  // the mapping keeps the memory
    if (!region.ok()) {
      SendReady(control, region.status());
      return 1;
    }
    std::unique_ptr<SkeletonBase> impl = factory();
    SpinPolicy spin{boot.getSpinPolls(), boot.getYieldPolls()};
    WorkerLoop loop(region->base(), region->size(), region->geometry(), impl.get(), spin,
                    boot.getMaxPayloadBytes() / sizeof(capnp::word));
    absl::Status started = loop.Start();
    if (started.ok()) {
      // Release: before any call this worker completes (Stats: "up").
      region->header()->worker_pid.store(getpid(), std::memory_order_release);
      // Release: as above; Stats() compares it with the host's token.
      region->header()->boot_token.store(boot.getBootToken(), std::memory_order_release);
    }
    SendReady(control, started);
    if (!started.ok()) return 1;
    // The host closes the control socket when it stops us or dies: either
    // way there is nothing left to serve for.
    std::thread([control] {
      char byte;
      for (;;) {
        const ssize_t n = read(control, &byte, 1);
        if (n == 0 || (n < 0 && errno != EINTR)) {
          std::fflush(stdout);
          std::fflush(stderr);
          _exit(0);
        }
      }
    }).detach();
    loop.Run();
    std::fflush(stdout);
    std::fflush(stderr);
    return 0;
  } catch (const kj::Exception& e) {
    std::fprintf(stderr, "weft worker: bad boot message: %s\n", e.getDescription().cStr());
    return 1;
  }
}

}  // namespace internal
}  // namespace weft
