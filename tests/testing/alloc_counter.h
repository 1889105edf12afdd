// Counts the heap allocations the calling thread makes while a
// CountAllocations is alive: for tests that pin "this path never allocates".
//
//   weft_test::CountAllocations counting;
//   for (int i = 0; i < 1000; ++i) run_one_call();
//   weft_test::AllocCounts counts = counting.Stop();
//   EXPECT_EQ(counts.allocations(), 0u) << counting.Describe();
//
// What is counted, in every build: every form of the global operator new and
// operator delete (plain, array, nothrow, aligned, sized), which this
// library replaces for the whole binary. A replaced operator new wins over
// the sanitizer runtimes' and over libstdc++'s only if it is defined in the
// executable itself, so a test using this library must be linked with
// `linkstatic = True`.
//
// malloc, calloc, realloc and the aligned forms are counted too, from every
// shared library (Cap'n Proto, KJ, Abseil, libstdc++, libc):
//  - plain builds: this library defines them in the executable, forwarding
//    to glibc's __libc_malloc and friends (glibc 2.36 has no __malloc_hook;
//    an executable's malloc interposes libc's for every library);
//  - AddressSanitizer / ThreadSanitizer builds: their runtimes define malloc
//    themselves (a second definition would bypass their allocator), so the
//    count comes from the sanitizer allocator's own hook,
//    __sanitizer_install_malloc_and_free_hooks, which sees every allocation
//    the sanitizer allocator makes, whoever asked for it (ASan's for every
//    form; TSan's hook misses posix_memalign, aligned_alloc and memalign,
//    which this library defines and hands on to TSan's own; the obsolete
//    valloc and pvalloc go uncounted under TSan).
// MallocCountingMode() says which applies; tests/testing/alloc_counter_test.cc
// checks what each way sees, in plain, ASan and TSan builds.
//
// The replaced operator new takes its memory from malloc, so in binaries
// that use this library ASan no longer tells new from malloc (its
// new/delete mismatch reports); everything else it checks still holds.
//
// Only the arming thread's allocations count: the state is thread_local
// (constant-initialized, so reading it in malloc allocates nothing).
//
// Thread safety: a CountAllocations belongs to the thread that made it; each
// thread may have at most one alive at a time.
#ifndef WEFT_TESTS_TESTING_ALLOC_COUNTER_H_
#define WEFT_TESTS_TESTING_ALLOC_COUNTER_H_

#include <cstdint>
#include <string>

namespace weft_test {

struct AllocCounts {
  uint64_t operator_new = 0;     // calls of any operator new / new[]
  uint64_t operator_delete = 0;  // calls of any operator delete / delete[] on non-null
  uint64_t malloc = 0;           // malloc-family allocations (incl. operator new's own)
  uint64_t free = 0;             // free (and realloc's release) of non-null pointers

  uint64_t allocations() const { return operator_new + malloc; }
  uint64_t releases() const { return operator_delete + free; }
};

inline AllocCounts operator+(const AllocCounts& a, const AllocCounts& b) {
  return AllocCounts{a.operator_new + b.operator_new, a.operator_delete + b.operator_delete,
                     a.malloc + b.malloc, a.free + b.free};
}

// "operator new: 1, operator delete: 1, malloc: 1, free: 1".
std::string ToString(const AllocCounts& counts);

// "interposed malloc" (plain builds) or "sanitizer allocator hook".
const char* MallocCountingMode();

class CountAllocations {
 public:
  // Arms the calling thread's counter, from zero.
  CountAllocations();
  // Disarms (if Stop was not called).
  ~CountAllocations();
  CountAllocations(const CountAllocations&) = delete;
  CountAllocations& operator=(const CountAllocations&) = delete;

  // Disarms and returns the counts; idempotent.
  AllocCounts Stop();

  // The counts, the counting mode and the call stacks of the first few
  // allocations (operator new, and plain builds' malloc), for a failure
  // message. Call after Stop(): it allocates.
  std::string Describe() const;

 private:
  bool stopped_ = false;
  AllocCounts counts_;
};

// What a steady state of calls allocated: see CountSteadyState.
struct SteadyState {
  AllocCounts counts;
  int failed_calls = 0;     // calls for which `call` returned false (warm-up included)
  std::string description;  // CountAllocations::Describe() of the measured calls
};

// Runs `call(i)` (true when the call did what it should) `warm_up` times,
// then `calls` times with this thread's allocations counted.
template <typename Call>
SteadyState CountSteadyState(int warm_up, int calls, Call&& call) {
  int failed = 0;
  for (int i = 0; i < warm_up; ++i) failed += call(i) ? 0 : 1;
  CountAllocations counting;
  for (int i = 0; i < calls; ++i) failed += call(warm_up + i) ? 0 : 1;
  SteadyState state;
  state.counts = counting.Stop();
  state.failed_calls = failed;
  state.description = counting.Describe();
  return state;
}

}  // namespace weft_test

#endif  // WEFT_TESTS_TESTING_ALLOC_COUNTER_H_
