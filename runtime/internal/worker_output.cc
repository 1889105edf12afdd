#include "runtime/internal/worker_output.h"

#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace weft {
namespace internal {
namespace {
constexpr size_t kMaxLine = 4096;
}  // namespace

void LineForwarder::Adopt(int fd) {
  DrainAndClose();
  fd_ = fd;
}

bool LineForwarder::Pump() {
  if (fd_ < 0) return false;
  char buffer[4096];
  const ssize_t n = read(fd_, buffer, sizeof(buffer));
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return false;
  if (n <= 0) {
    if (!partial_.empty()) partial_ += '\n';
    close(fd_);
    fd_ = -1;
  } else {
    partial_.append(buffer, static_cast<size_t>(n));
  }
  Flush();
  return n > 0;
}

void LineForwarder::DrainAndClose() {
  for (int i = 0; i < 1024 && fd_ >= 0; ++i) {
    if (!Pump()) break;
  }
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
  if (!partial_.empty()) {
    partial_ += '\n';
    Flush();
  }
}

void LineForwarder::Flush() {
  // Whole lines go out with the worker's index in front.
  size_t start = 0;
  for (size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1) {
    const std::string_view text = std::string_view(partial_).substr(start, nl - start);
    Remember(text);
    const std::string line = absl::StrCat("[weft worker ", worker_, "] ", std::string(text), "\n");
    (void)!write(to_, line.data(), line.size());
  }
  partial_.erase(0, start);
  if (partial_.size() > kMaxLine) {
    Remember(partial_);
    const std::string line = absl::StrCat("[weft worker ", worker_, "] ", partial_, "\n");
    (void)!write(to_, line.data(), line.size());
    partial_.clear();
  }
}

void LineForwarder::Remember(std::string_view line) {
  if (line.empty()) return;
  tail_.emplace_back(line.substr(0, 200));
  if (tail_.size() > kTailLines) tail_.pop_front();
}

std::string LineForwarder::Tail() const { return absl::StrJoin(tail_, " | "); }

}  // namespace internal
}  // namespace weft
