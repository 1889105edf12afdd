// The replaced allocation functions behind CountAllocations (alloc_counter.h).
#include "tests/testing/alloc_counter.h"

#include <dlfcn.h>
#include <execinfo.h>
#include <malloc.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <new>
#include <string>

// The sanitizer runtimes define malloc themselves: count through their hook.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define WEFT_SANITIZER_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define WEFT_SANITIZER_MALLOC 1
#endif
#endif

namespace weft_test {
namespace {

constexpr int kStacks = 8;  // allocations whose call stack is kept
constexpr int kDepth = 24;

struct ThreadCounter {
  bool armed = false;
  bool inside = false;  // taking a stack: what backtrace() allocates is ours
  bool in_new = false;  // operator new's own malloc: counted, its stack is new's
  AllocCounts counts;
  int stacks = 0;
  const char* what[kStacks] = {};
  size_t size[kStacks] = {};
  int depth[kStacks] = {};
  void* frames[kStacks][kDepth] = {};
};

// Constant-initialized and trivially destructible: reading it (from malloc,
// on any thread, at any time) needs no TLS initializer and allocates nothing.
constinit thread_local ThreadCounter t_counter;

// Keeps the compiler from moving the arming stores across the measured code.
inline void CompilerBarrier() { asm volatile("" ::: "memory"); }

void Note(bool is_new, const char* what, size_t size, bool take_stack) {
  ThreadCounter& t = t_counter;
  if (!t.armed || t.inside) return;
  if (is_new) {
    ++t.counts.operator_new;
  } else {
    ++t.counts.malloc;
  }
  if (!take_stack || t.in_new || t.stacks >= kStacks) return;
  t.inside = true;
  const int i = t.stacks++;
  t.what[i] = what;
  t.size[i] = size;
  t.depth[i] = backtrace(t.frames[i], kDepth);
  t.inside = false;
}

void NoteRelease(bool is_delete) {
  ThreadCounter& t = t_counter;
  if (!t.armed || t.inside) return;
  if (is_delete) {
    ++t.counts.operator_delete;
  } else {
    ++t.counts.free;
  }
}

#if defined(WEFT_SANITIZER_MALLOC)
// Stacks are taken in operator new only: unwinding inside the sanitizer's
// allocator is not something to rely on.
void SanitizerMallocHook(const volatile void* p, size_t size) {
  (void)p;
  Note(/*is_new=*/false, "malloc (sanitizer allocator)", size, /*take_stack=*/false);
}
void SanitizerFreeHook(const volatile void* p) {
  if (p != nullptr) NoteRelease(/*is_delete=*/false);
}
#endif

}  // namespace
}  // namespace weft_test

#if defined(WEFT_SANITIZER_MALLOC)
extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void*,
                                                                             size_t),
                                                         void (*free_hook)(const volatile void*));
#if defined(__SANITIZE_THREAD__)
// ThreadSanitizer runs the hook from its malloc, calloc and realloc only, not
// from the aligned forms (checked by alloc_counter_test): count those here
// and hand them on to its definitions, the next ones after the executable's.
namespace weft_test {
namespace {
template <typename F>
F Next(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}
}  // namespace
}  // namespace weft_test

extern "C" {
int posix_memalign(void** out, size_t alignment, size_t size) noexcept {
  static const auto next = weft_test::Next<int (*)(void**, size_t, size_t)>("posix_memalign");
  weft_test::Note(false, "posix_memalign", size, false);
  return next(out, alignment, size);
}
void* aligned_alloc(size_t alignment, size_t size) noexcept {
  static const auto next = weft_test::Next<void* (*)(size_t, size_t)>("aligned_alloc");
  weft_test::Note(false, "aligned_alloc", size, false);
  return next(alignment, size);
}
void* memalign(size_t alignment, size_t size) noexcept {
  static const auto next = weft_test::Next<void* (*)(size_t, size_t)>("memalign");
  weft_test::Note(false, "memalign", size, false);
  return next(alignment, size);
}
}  // extern "C"
#endif
#else
// glibc's own allocator, under the names it exports for exactly this.
extern "C" {
void* __libc_malloc(size_t size);
void __libc_free(void* p);
void* __libc_calloc(size_t count, size_t size);
void* __libc_realloc(void* p, size_t size);
void* __libc_memalign(size_t alignment, size_t size);
void* __libc_valloc(size_t size);
void* __libc_pvalloc(size_t size);

void* malloc(size_t size) noexcept {
  weft_test::Note(false, "malloc", size, true);
  return __libc_malloc(size);
}
void free(void* p) noexcept {
  if (p != nullptr) weft_test::NoteRelease(false);
  __libc_free(p);
}
void* calloc(size_t count, size_t size) noexcept {
  weft_test::Note(false, "calloc", count * size, true);
  return __libc_calloc(count, size);
}
void* realloc(void* p, size_t size) noexcept {
  // A call into the allocator either way; realloc(p, 0) only frees.
  if (p == nullptr || size != 0) weft_test::Note(false, "realloc", size, true);
  if (p != nullptr) weft_test::NoteRelease(false);
  return __libc_realloc(p, size);
}
void* reallocarray(void* p, size_t count, size_t size) noexcept {
  size_t bytes;
  if (__builtin_mul_overflow(count, size, &bytes)) {
    errno = ENOMEM;
    return nullptr;
  }
  return realloc(p, bytes);
}
void* memalign(size_t alignment, size_t size) noexcept {
  weft_test::Note(false, "memalign", size, true);
  return __libc_memalign(alignment, size);
}
void* aligned_alloc(size_t alignment, size_t size) noexcept {
  weft_test::Note(false, "aligned_alloc", size, true);
  return __libc_memalign(alignment, size);
}
int posix_memalign(void** out, size_t alignment, size_t size) noexcept {
  if (alignment == 0 || alignment % sizeof(void*) != 0 || (alignment & (alignment - 1)) != 0) {
    return EINVAL;
  }
  weft_test::Note(false, "posix_memalign", size, true);
  void* p = __libc_memalign(alignment, size);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
void* valloc(size_t size) noexcept {
  weft_test::Note(false, "valloc", size, true);
  return __libc_valloc(size);
}
void* pvalloc(size_t size) noexcept {
  weft_test::Note(false, "pvalloc", size, true);
  return __libc_pvalloc(size);
}
}  // extern "C"
#endif

// ---------------------------------------------------------- operator new

namespace weft_test {
namespace {

void* NewOrNull(size_t size, size_t alignment, const char* what) noexcept {
  Note(/*is_new=*/true, what, size, /*take_stack=*/true);
  if (size == 0) size = 1;
  ThreadCounter& t = t_counter;
  const bool outer = !t.in_new;
  t.in_new = true;
  void* p = nullptr;
  if (alignment <= alignof(std::max_align_t)) {
    p = std::malloc(size);
  } else if (posix_memalign(&p, std::max(alignment, sizeof(void*)), size) != 0) {
    p = nullptr;
  }
  if (outer) t.in_new = false;
  return p;
}

void* NewOrThrow(size_t size, size_t alignment, const char* what) {
  void* p = NewOrNull(size, alignment, what);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void Delete(void* p) noexcept {
  if (p == nullptr) return;
  NoteRelease(/*is_delete=*/true);
  std::free(p);
}

constexpr size_t kNoAlign = 0;
size_t A(std::align_val_t alignment) { return static_cast<size_t>(alignment); }

}  // namespace
}  // namespace weft_test

using weft_test::A;
using weft_test::Delete;
using weft_test::kNoAlign;
using weft_test::NewOrNull;
using weft_test::NewOrThrow;

void* operator new(size_t n) { return NewOrThrow(n, kNoAlign, "operator new"); }
void* operator new[](size_t n) { return NewOrThrow(n, kNoAlign, "operator new[]"); }
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  return NewOrNull(n, kNoAlign, "operator new(nothrow)");
}
void* operator new[](size_t n, const std::nothrow_t&) noexcept {
  return NewOrNull(n, kNoAlign, "operator new[](nothrow)");
}
void* operator new(size_t n, std::align_val_t a) {
  return NewOrThrow(n, A(a), "operator new(aligned)");
}
void* operator new[](size_t n, std::align_val_t a) {
  return NewOrThrow(n, A(a), "operator new[](aligned)");
}
void* operator new(size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return NewOrNull(n, A(a), "operator new(aligned, nothrow)");
}
void* operator new[](size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return NewOrNull(n, A(a), "operator new[](aligned, nothrow)");
}

void operator delete(void* p) noexcept { Delete(p); }
void operator delete[](void* p) noexcept { Delete(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { Delete(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { Delete(p); }
void operator delete(void* p, size_t) noexcept { Delete(p); }
void operator delete[](void* p, size_t) noexcept { Delete(p); }
void operator delete(void* p, std::align_val_t) noexcept { Delete(p); }
void operator delete[](void* p, std::align_val_t) noexcept { Delete(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { Delete(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { Delete(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { Delete(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { Delete(p); }

// ------------------------------------------------------ CountAllocations

namespace weft_test {

const char* MallocCountingMode() {
#if defined(WEFT_SANITIZER_MALLOC)
  return "sanitizer allocator hook";
#else
  return "interposed malloc";
#endif
}

CountAllocations::CountAllocations() {
  // Once per process, before anything is armed: the hooks, and the
  // first-use allocations of backtrace() (it loads libgcc_s) and of the
  // aligned forms (under TSan they look up the next definition).
  static const bool ready = [] {
#if defined(WEFT_SANITIZER_MALLOC)
    __sanitizer_install_malloc_and_free_hooks(&SanitizerMallocHook, &SanitizerFreeHook);
#endif
    void* frames[2];
    (void)backtrace(frames, 2);
    void* p = nullptr;
    if (posix_memalign(&p, 64, 64) == 0) std::free(p);
    std::free(aligned_alloc(64, 64));
    std::free(memalign(64, 64));
    return true;
  }();
  (void)ready;
  ThreadCounter& t = t_counter;
  t.counts = AllocCounts();
  t.stacks = 0;
  CompilerBarrier();
  t.armed = true;
  CompilerBarrier();
}

CountAllocations::~CountAllocations() { (void)Stop(); }

AllocCounts CountAllocations::Stop() {
  if (stopped_) return counts_;
  CompilerBarrier();
  t_counter.armed = false;
  CompilerBarrier();
  stopped_ = true;
  counts_ = t_counter.counts;
  return counts_;
}

std::string ToString(const AllocCounts& counts) {
  return "operator new: " + std::to_string(counts.operator_new) +
         ", operator delete: " + std::to_string(counts.operator_delete) +
         ", malloc: " + std::to_string(counts.malloc) + ", free: " + std::to_string(counts.free);
}

std::string CountAllocations::Describe() const {
  const ThreadCounter& t = t_counter;
  std::string out = ToString(counts_) + " (malloc counted by " + MallocCountingMode() + ")";
  for (int i = 0; i < t.stacks; ++i) {
    out += "\nallocation " + std::to_string(i + 1) + ": " + t.what[i] + " of " +
           std::to_string(t.size[i]) + " bytes, at:";
    char** symbols = backtrace_symbols(t.frames[i], t.depth[i]);
    for (int f = 0; f < t.depth[i]; ++f) {
      out += "\n  ";
      out += symbols != nullptr ? symbols[f] : "?";
    }
    std::free(symbols);
  }
  return out;
}

}  // namespace weft_test
