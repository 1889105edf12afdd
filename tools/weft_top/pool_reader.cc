#include "tools/weft_top/pool_reader.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "runtime/internal/wait.h"

namespace weft {
namespace top {

ForeignRegion::ForeignRegion(ForeignRegion&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}

ForeignRegion& ForeignRegion::operator=(ForeignRegion&& other) noexcept {
  if (this != &other) {
    this->~ForeignRegion();
    new (this) ForeignRegion(std::move(other));
  }
  return *this;
}

ForeignRegion::~ForeignRegion() {
  if (base_ != nullptr) munmap(const_cast<char*>(base_), bytes_);
}

PoolStats ForeignPool::Read() const {
  std::vector<internal::RegionView> views;
  for (const ForeignRegion& r : regions) views.push_back(r.view());
  PoolStats stats;
  internal::ReadPoolStats(block, views, internal::MonotonicNanos(), &stats);
  const bool threads = block.header().process_workers == 0;
  for (size_t w = 0; w < stats.workers.size(); ++w) {
    WorkerStats& s = stats.workers[w];
    const bool mapped = w < views.size() && views[w].base != nullptr;
    s.up = mapped && s.readable && (threads || s.pid != 0);
    if (!mapped) {
      s.readable = false;
      s.last_exit = "its region is not among the process's open files";
    }
  }
  return stats;
}

namespace {

struct OpenFile {
  int number;
  std::string target;  // readlink of /proc/PID/fd/N
};

absl::Status ProcError(pid_t pid, const char* what) {
  const int err = errno;
  if (err == ENOENT || err == ESRCH) {
    return absl::NotFoundError(
        absl::StrCat("weft-top: no process ", pid, " (it exited, or never ran)"));
  }
  if (err == EACCES || err == EPERM) {
    struct stat st;
    const std::string owner = stat(absl::StrCat("/proc/", pid).c_str(), &st) == 0
                                  ? absl::StrCat(" (owned by uid ", st.st_uid, ")")
                                  : "";
    return absl::PermissionDeniedError(
        absl::StrCat("weft-top: may not read the open files of process ", pid, owner,
                     "; run weft-top as the same user as the pool's process, or as root"));
  }
  return absl::InternalError(
      absl::StrCat("weft-top: ", what, " of process ", pid, ": ", std::strerror(err)));
}

absl::StatusOr<std::vector<OpenFile>> ListFiles(pid_t pid) {
  const std::string dir_path = absl::StrCat("/proc/", pid, "/fd");
  std::unique_ptr<DIR, int (*)(DIR*)> dir(opendir(dir_path.c_str()), &closedir);
  if (dir == nullptr) {
    // /proc/PID itself missing: no such process.
    if (errno == ENOENT && access(absl::StrCat("/proc/", pid).c_str(), F_OK) != 0) errno = ESRCH;
    return ProcError(pid, "listing the open files");
  }
  std::vector<OpenFile> files;
  while (dirent* entry = readdir(dir.get())) {
    int number = 0;
    if (!absl::SimpleAtoi(entry->d_name, &number)) continue;
    char target[4096];
    const ssize_t n =
        readlink(absl::StrCat(dir_path, "/", entry->d_name).c_str(), target, sizeof(target) - 1);
    if (n <= 0) continue;  // closed meanwhile
    files.push_back(OpenFile{number, std::string(target, static_cast<size_t>(n))});
  }
  return files;
}

}  // namespace

absl::StatusOr<std::vector<ForeignPool>> OpenPools(pid_t pid) {
  if (pid <= 0) return absl::InvalidArgumentError("weft-top: --pid must be a process id (> 0)");
  absl::StatusOr<std::vector<OpenFile>> files = ListFiles(pid);
  if (!files.ok()) return files.status();
  std::vector<ForeignPool> pools;
  absl::Status last_error;
  for (const OpenFile& f : *files) {
    if (!absl::StartsWith(f.target, "/memfd:weft-stats")) continue;
    const std::string path = absl::StrCat("/proc/", pid, "/fd/", f.number);
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      last_error = ProcError(pid, "opening its stats block");
      continue;
    }
    absl::StatusOr<internal::StatsBlock> block = internal::StatsBlock::MapReadOnly(fd);
    close(fd);
    if (!block.ok()) {
      last_error = block.status();
      continue;
    }
    ForeignPool pool;
    pool.pid = pid;
    pool.stats_fd_number = f.number;
    pool.block = *std::move(block);
    pool.regions.resize(pool.block.header().workers);
    // The regions: the open files whose (device, inode) the block lists.
    for (const OpenFile& r : *files) {
      if (!absl::StartsWith(r.target, "/memfd:weft-region") &&
          !absl::StartsWith(r.target, "/dev/shm/weft-")) {
        continue;
      }
      const int rfd =
          open(absl::StrCat("/proc/", pid, "/fd/", r.number).c_str(), O_RDONLY | O_CLOEXEC);
      if (rfd < 0) continue;
      struct stat st;
      if (fstat(rfd, &st) == 0) {
        for (uint32_t w = 0; w < pool.regions.size(); ++w) {
          const internal::StatsWorkerInfo& info = pool.block.worker(w);
          if (info.region_inode != st.st_ino || info.region_dev != st.st_dev) continue;
          const uint64_t bytes = static_cast<uint64_t>(st.st_size);
          void* at = mmap(nullptr, bytes, PROT_READ, MAP_SHARED, rfd, 0);
          if (at != MAP_FAILED) pool.regions[w] = ForeignRegion(static_cast<char*>(at), bytes);
        }
      }
      close(rfd);
    }
    pools.push_back(std::move(pool));
  }
  if (pools.empty()) {
    if (!last_error.ok()) return last_error;
    return absl::NotFoundError(absl::StrCat(
        "weft-top: process ", pid, " has no weft pool (no weft-stats memfd among its open files)"));
  }
  return pools;
}

}  // namespace top
}  // namespace weft
