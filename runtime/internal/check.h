// WEFT_CHECK: a broken invariant of weft's own code (a bug), never input
// from another process or the user; those get an absl::Status instead.
#ifndef WEFT_RUNTIME_INTERNAL_CHECK_H_
#define WEFT_RUNTIME_INTERNAL_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define WEFT_CHECK(cond)                                                                          \
  do {                                                                                            \
    if (!(cond)) {                                                                                \
      std::fprintf(stderr, "%s:%d: weft internal check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                               \
    }                                                                                             \
  } while (false)

#endif  // WEFT_RUNTIME_INTERNAL_CHECK_H_
