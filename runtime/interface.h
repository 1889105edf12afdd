// What the generated code tells the runtime about an interface.
//
// capnpc-weft specializes, for every Cap'n Proto interface `I`:
//   weft::InterfaceTraits<I>  constexpr metadata (type id, methods, annotations)
//   weft::Skeleton<I>         the worker-side base class to implement
//   weft::Stub<I>             the host-side typed caller
//
// Example (from the quickstart schema):
//   static_assert(weft::InterfaceTraits<quickstart::Math>::kMethods[2].abortable);
//   static_assert(weft::InterfaceTraits<quickstart::Math>::kMethods[2].timeout_ms == 500);
//
// Thread safety: compile-time constants.
#ifndef WEFT_RUNTIME_INTERFACE_H_
#define WEFT_RUNTIME_INTERFACE_H_

#include <array>
#include <cstddef>
#include <cstdint>

#include "capnp/common.h"

// Bumped whenever the contract between capnpc-weft's output and the runtime
// changes; every generated header checks it with a static_assert.
#define WEFT_CODEGEN_ABI_VERSION 2

namespace weft {

// One callable method of an interface, own or inherited through `extends`.
// Methods are numbered densely (`index`) in the order the generator lists
// them: the interface's own methods by ordinal, then each superclass's
// (depth-first, in `extends` order, each interface once). The index is what
// crosses shared memory; host and worker are generated from the same schema.
struct MethodInfo {
  uint32_t index;              // dense index within the served interface
  const char* name;            // the schema name, e.g. "countTo"
  const char* interface_name;  // the declaring interface, e.g. "quickstart::Math"
  uint64_t interface_id;       // the declaring interface's Cap'n Proto type id
  uint16_t ordinal;            // the method's @n in the declaring interface
  bool abortable;              // $Weft.abortable
  uint32_t timeout_ms;         // $Weft.timeoutMs(n); 0 when absent
  bool default_on_timeout;     // $Weft.defaultOnTimeout: expiry yields empty results
  uint64_t results_type_id;    // the results struct's Cap'n Proto type id
};

// Specialized by capnpc-weft. Members:
//   static constexpr const char* kName;          e.g. "quickstart::Math"
//   static constexpr uint64_t kTypeId;
//   static constexpr std::size_t kMethodCount;
//   static constexpr std::array<MethodInfo, kMethodCount> kMethods;
template <typename I>
struct InterfaceTraits;

namespace internal {

// False for a capability type (an interface, capnp::Capability): shared
// memory has no capability table, so weft cannot carry one. The traits of a
// generic interface static_assert it for each type argument of the brand.
template <typename T>
inline constexpr bool kCarriesNoCapability = ::capnp::kind<T>() != ::capnp::Kind::INTERFACE;

}  // namespace internal

template <typename I>
class Skeleton;

template <typename I>
class Stub;

}  // namespace weft

#endif  // WEFT_RUNTIME_INTERFACE_H_
