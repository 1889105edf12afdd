// The text of a generated `dir/x.weft-rpc.h`, from the model of `dir/x.capnp`
// (interface_model.h): for every interface x.weft.h has a Stub for, the
// Cap'n Proto server weft::RpcServer serves a pool as (runtime/rpc_server.h):
//
//   template <>
//   class RpcService<::ns::I> final : public ::ns::I::Server {
//    public:
//     explicit RpcService(::weft::internal::RpcTarget target);
//    protected:
//     ::kj::Promise<void> square(SquareContext context) override;  // -> the pool
//     ...
//   };
//
// One override per method the Stub has (own and inherited, in the dense
// index order of InterfaceTraits<I>::kMethods), each one line of forwarding
// to RpcTarget::Serve (or ServeStream, for `-> stream`). The methods weft
// skipped are not overridden: I::Server answers them UNIMPLEMENTED, as it
// does any method its implementation leaves out. A generic interface gets a
// partial specialization over its brands, as in x.weft.h.
//
// The override names capnpc-c++'s own spellings: the method's C++ name
// ($Cxx.name and keyword renaming applied) and the `<Method>Context` typedef
// of the declaring interface's Server, qualified (with its brand) for an
// inherited method or a generic interface, where the short name would find
// the wrong typedef or none.
#ifndef WEFT_CODEGEN_EMIT_RPC_H_
#define WEFT_CODEGEN_EMIT_RPC_H_

#include <string>

#include "codegen/interface_model.h"

namespace weft {
namespace codegen {

// The whole text of `file.rpc_header_name`. It includes `file.header_name`
// and static_asserts the codegen ABI version as that header does.
std::string EmitRpcHeader(const FileModel& file);

}  // namespace codegen
}  // namespace weft

#endif  // WEFT_CODEGEN_EMIT_RPC_H_
