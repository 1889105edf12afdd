// What the fuzz targets in tests/fuzz/ share: reading and writing their
// input formats, the invariant check, ASan poisoning, and a reader that walks
// every object of a Cap'n Proto message.
//
//   FuzzInput in(data, size);
//   const uint32_t count = in.Take<uint32_t>();   // zero once the input ends
//   FUZZ_CHECK(status.ok() == model_ok, "OpenSegments disagrees: ", status);
//
// The inputs are little-endian byte strings parsed front to back; a field
// the input is too short for reads as zero, so every input is valid and
// every prefix of a seed still means something. FuzzOutput writes the same
// fields (the corpus generator, make_corpus.cc).
//
// Thread safety: thread-compatible.
#ifndef WEFT_TESTS_FUZZ_FUZZ_UTIL_H_
#define WEFT_TESTS_FUZZ_FUZZ_UTIL_H_

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "capnp/any.h"
#include "capnp/list.h"
#include "kj/exception.h"
#include "kj/string.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WEFT_FUZZ_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define WEFT_FUZZ_ASAN 1
#endif
#ifdef WEFT_FUZZ_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace weft_fuzz {

// Aborts with a message when an invariant of the code under test is broken:
// libFuzzer reports that as a crash, the corpus replay test as a failure.
#define FUZZ_CHECK(cond, ...)                                                  \
  do {                                                                         \
    if (!(cond)) {                                                             \
      ::weft_fuzz::CheckFailed(__FILE__, __LINE__, #cond,                      \
                               ::absl::StrCat("" __VA_OPT__(, ) __VA_ARGS__)); \
    }                                                                          \
  } while (false)

[[noreturn]] inline void CheckFailed(const char* file, int line, const char* cond,
                                     const std::string& message) {
  std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n  %s\n", file, line, cond,
               message.c_str());
  std::fflush(stderr);
  std::abort();
}

// WEFT_FUZZ_VERBOSE=1 in the environment: each target says what it saw,
// one line per input (to check what a seed exercises).
inline bool Verbose() {
  static const bool verbose = std::getenv("WEFT_FUZZ_VERBOSE") != nullptr;
  return verbose;
}
#define FUZZ_LOG(...)                                                      \
  do {                                                                     \
    if (::weft_fuzz::Verbose()) {                                          \
      std::fprintf(stderr, "  %s\n", ::absl::StrCat(__VA_ARGS__).c_str()); \
    }                                                                      \
  } while (false)

// Marks [p, p + n) unaddressable (or addressable again) for ASan; without
// ASan these do nothing.
inline void Poison(const void* p, size_t n) {
#ifdef WEFT_FUZZ_ASAN
  ASAN_POISON_MEMORY_REGION(p, n);
#else
  (void)p;
  (void)n;
#endif
}
inline void Unpoison(const void* p, size_t n) {
#ifdef WEFT_FUZZ_ASAN
  ASAN_UNPOISON_MEMORY_REGION(p, n);
#else
  (void)p;
  (void)n;
#endif
}

// While alive, drops what KJ logs on this thread (an exception thrown while
// another unwinds is logged, not thrown: Cap'n Proto's stream reader does
// that for every truncated message). The logging is what the runtime does
// too; only its cost would slow the fuzzer down a hundredfold.
class QuietKj final : public kj::ExceptionCallback {
 public:
  void logMessage(kj::LogSeverity severity, const char* file, int line, int context_depth,
                  kj::String&& text) override {
    (void)severity;
    (void)file;
    (void)line;
    (void)context_depth;
    (void)text;
  }
};

class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  template <typename T>
  T Take() {
    static_assert(std::is_trivially_copyable_v<T>);
    T value{};
    const size_t n = sizeof(T) < size_ ? sizeof(T) : size_;
    if (n > 0) std::memcpy(&value, data_, n);
    data_ += n;
    size_ -= n;
    return value;
  }
  // Up to `n` bytes (fewer when the input ends).
  std::string_view TakeBytes(size_t n) {
    if (n > size_) n = size_;
    std::string_view bytes(reinterpret_cast<const char*>(data_), n);
    data_ += n;
    size_ -= n;
    return bytes;
  }
  std::string_view Rest() { return TakeBytes(size_); }
  size_t remaining() const { return size_; }

 private:
  const uint8_t* data_;
  size_t size_;
};

class FuzzOutput {
 public:
  template <typename T>
  void Put(T value) {
    static_assert(std::is_trivially_copyable_v<T>);
    bytes_.append(reinterpret_cast<const char*>(&value), sizeof(T));
  }
  void PutBytes(std::string_view bytes) { bytes_.append(bytes); }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

// What a walk saw; `checksum` mixes every byte, so no read is optimized away.
struct WalkStats {
  uint64_t structs = 0;
  uint64_t lists = 0;
  uint64_t elements = 0;
  uint64_t bytes = 0;
  uint64_t capabilities = 0;
  uint64_t checksum = 1469598103934665603ull;

  void Mix(kj::ArrayPtr<const kj::byte> data) {
    for (kj::byte b : data) checksum = (checksum ^ b) * 1099511628211ull;
    bytes += data.size();
  }
};

void WalkPointer(capnp::AnyPointer::Reader pointer, WalkStats& stats);

inline void WalkStruct(capnp::AnyStruct::Reader s, WalkStats& stats) {
  ++stats.structs;
  stats.Mix(s.getDataSection());
  for (capnp::AnyPointer::Reader p : s.getPointerSection()) WalkPointer(p, stats);
}

inline void WalkList(capnp::AnyList::Reader list, WalkStats& stats) {
  ++stats.lists;
  stats.elements += list.size();
  switch (list.getElementSize()) {
    case capnp::ElementSize::VOID:
      break;
    case capnp::ElementSize::BIT:  // the bits, eight at a time
    case capnp::ElementSize::BYTE:
    case capnp::ElementSize::TWO_BYTES:
    case capnp::ElementSize::FOUR_BYTES:
    case capnp::ElementSize::EIGHT_BYTES:
      stats.Mix(list.getRawBytes());
      break;
    case capnp::ElementSize::POINTER:
      for (capnp::AnyPointer::Reader p : list.as<capnp::List<capnp::AnyPointer>>()) {
        WalkPointer(p, stats);
      }
      break;
    case capnp::ElementSize::INLINE_COMPOSITE: {
      capnp::List<capnp::AnyStruct>::Reader structs = list.as<capnp::List<capnp::AnyStruct>>();
      // Elements all have the size of the first. Empty ones hold nothing to
      // read (Cap'n Proto charged the traversal limit for them already when
      // the list was read): counting them is reading them all.
      if (structs.size() > 0 && structs[0].getDataSection().size() == 0 &&
          structs[0].getPointerSection().size() == 0) {
        stats.structs += structs.size();
        break;
      }
      for (capnp::AnyStruct::Reader s : structs) WalkStruct(s, stats);
      break;
    }
  }
}

// Reads every object reachable from `pointer`, as a user's reader could:
// every struct's data and pointers, every list's elements. Capabilities are
// only counted (a result message has no capability table to resolve them).
// Throws what Cap'n Proto throws for a malformed message.
inline void WalkPointer(capnp::AnyPointer::Reader pointer, WalkStats& stats) {
  switch (pointer.getPointerType()) {
    case capnp::PointerType::NULL_:
      break;
    case capnp::PointerType::STRUCT:
      WalkStruct(pointer.getAs<capnp::AnyStruct>(), stats);
      break;
    case capnp::PointerType::LIST:
      WalkList(pointer.getAs<capnp::AnyList>(), stats);
      break;
    case capnp::PointerType::CAPABILITY:
      ++stats.capabilities;
      break;
  }
}

}  // namespace weft_fuzz

#endif  // WEFT_TESTS_FUZZ_FUZZ_UTIL_H_
