// Status helpers: the one place WEFT_RETURN_IF_ERROR / WEFT_ASSIGN_OR_RETURN
// are defined (our Abseil, 20220623, has no ABSL_RETURN_IF_ERROR yet).
#ifndef WEFT_RUNTIME_INTERNAL_STATUS_MACROS_H_
#define WEFT_RUNTIME_INTERNAL_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define WEFT_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::absl::Status weft_status_ = (expr);        \
    if (!weft_status_.ok()) return weft_status_; \
  } while (false)

#define WEFT_STATUS_CONCAT_INNER_(a, b) a##b
#define WEFT_STATUS_CONCAT_(a, b) WEFT_STATUS_CONCAT_INNER_(a, b)

// WEFT_ASSIGN_OR_RETURN(auto x, MakeX()); or WEFT_ASSIGN_OR_RETURN(x, MakeX());
#define WEFT_ASSIGN_OR_RETURN(lhs, expr) \
  WEFT_ASSIGN_OR_RETURN_IMPL_(WEFT_STATUS_CONCAT_(weft_statusor_, __LINE__), lhs, expr)
#define WEFT_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return std::move(tmp).status();    \
  lhs = std::move(tmp).value()

#endif  // WEFT_RUNTIME_INTERNAL_STATUS_MACROS_H_
