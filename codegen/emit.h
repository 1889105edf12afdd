// The text of a generated `dir/x.weft.h`, from the model of `dir/x.capnp`
// (interface_model.h). Like capnpc-c++, the header is assembled in fixed
// sections, each with one entry per interface:
//
//   InterfaceTraits            weft::InterfaceTraits<I>: type id, methods, annotations
//   Skeletons (worker side)    weft::Skeleton<I>: one pure virtual per method, the dispatch
//   Stubs (host side)          weft::Stub<I>: per method a builder form and, where the
//                              params allow, a flat form (a `-> stream` method's return
//                              an absl::Status: one-way calls, see runtime/stub.h)
//
// All logic lives in the runtime headers (runtime/interface.h,
// runtime/skeleton.h, runtime/stub.h); generated bodies are one line of
// forwarding each. Emitting cannot fail: whatever weft cannot serve was
// already refused while building the model.
#ifndef WEFT_CODEGEN_EMIT_H_
#define WEFT_CODEGEN_EMIT_H_

#include <string>

#include "codegen/interface_model.h"

namespace weft {
namespace codegen {

// The whole text of `file.header_name`. It static_asserts that the runtime
// it is compiled against has the codegen ABI version it was generated for.
std::string EmitHeader(const FileModel& file);

}  // namespace codegen
}  // namespace weft

#endif  // WEFT_CODEGEN_EMIT_H_
