// Small shared helpers of the files that call the kernel directly: a failed
// syscall as an absl::Status, the page size regions and stats blocks are laid
// out in, and rounding up to it.
//
//   if (ftruncate(fd, bytes) != 0) return ErrnoStatus("ftruncate");
//   const uint64_t total = RoundUp(bytes, kPageBytes);
//
// Thread safety: ErrnoStatus reads errno, which is per thread.
#ifndef WEFT_RUNTIME_INTERNAL_SYS_STATUS_H_
#define WEFT_RUNTIME_INTERNAL_SYS_STATUS_H_

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace weft {
namespace internal {

inline constexpr uint64_t kPageBytes = 4096;

constexpr uint64_t RoundUp(uint64_t v, uint64_t to) { return (v + to - 1) / to * to; }

// "weft: <what>: <strerror(errno)>" as an InternalError.
inline absl::Status ErrnoStatus(absl::string_view what) {
  return absl::InternalError(absl::StrCat("weft: ", what, ": ", std::strerror(errno)));
}

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_INTERNAL_SYS_STATUS_H_
