// What capnpc-weft generates code from: the interfaces of each requested
// schema file, read out of a CodeGeneratorRequest into plain structs that
// already speak C++ (qualified type names, method and parameter names as
// capnpc-c++ declares them) and carry weft's annotations.
//
// An interface's methods are flattened across its `extends` tree, the way
// weft serves them: for
//
//   interface Named { name @0 () -> (name :Text); }
//   interface Shape extends(Named) { area @0 (unit :Unit) -> (value :Float64); }
//
// Shape's model lists `area` (index 0, declared by Shape) and then `name`
// (index 1, declared by Named), each interface once even in a diamond.
//
// A generic interface (`interface Box(T)`, or one nested in a generic
// struct) is modelled once for every brand: its model names the template
// parameters, and every type spelled in it may depend on them. A method with
// implicit parameters (`get @0 [U] (...)`) is a template on the stub and is
// served with them bound to AnyPointer, as capnpc-c++'s Server does.
//
// Nothing that capnpc-c++ accepts is refused. What weft cannot carry is
// skipped, method by method, with the reason: a capability (an interface
// type, `Capability`) anywhere in the params or results, since shared memory
// has no capability table; a method whose C++ name another method of the
// same `extends` tree already took. `$Weft.skip` on a method or an interface
// skips it on purpose (and silences the warning). Skipped methods are listed
// in the model, so the header documents them and the plugin warns.
#ifndef WEFT_CODEGEN_INTERFACE_MODEL_H_
#define WEFT_CODEGEN_INTERFACE_MODEL_H_

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "capnp/schema.capnp.h"

namespace weft {
namespace codegen {

// A request capnpc-weft cannot read (an internal inconsistency). what() is
// the whole message, for stderr as is.
class CodegenError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One argument of a stub's flat form.
struct FlatArg {
  std::string type;    // e.g. "int64_t", "::capnp::Text::Reader"
  std::string name;    // the C++ parameter name
  std::string setter;  // e.g. "setValue"
};

// One method of a served interface, own or inherited.
struct MethodModel {
  uint32_t index = 0;        // position in the flattened list: the dispatch index
  std::string schema_name;   // "countTo", as in the schema
  std::string cpp_name;      // "countTo"; $Cxx.name and keyword renaming applied
  std::string type_stem;     // "CountTo": the stub's CountToParams/CountToResults aliases
  std::string call_type;     // "CountToCall"
  std::string params_type;   // "::quickstart::Math::CountToParams" (as a type)
  std::string results_type;  // "::quickstart::Math::CountToResults" (as a type)
  // The worker's spelling: implicit method parameters bound to AnyPointer.
  // The same as the above for a method without implicit parameters.
  std::string skeleton_params_type;
  std::string skeleton_results_type;
  // The names of the method's implicit parameters (`[U]`); non-empty: the
  // stub's forms are templates on them (defaulting to AnyPointer).
  std::vector<std::string> implicit_params;
  // `-> stream`: the results are capnp::StreamResult.
  bool streaming = false;
  std::string declaring_name;  // "quickstart::Math"
  uint64_t declaring_id = 0;
  // The context typedef capnpc-c++ declares for the method in the declaring
  // interface's Server, the declaring interface as the `extends` brand binds
  // it (as a type): "::torture::Box<::capnp::Text>::Server::GetContext".
  std::string server_context_type;
  uint16_t ordinal = 0;
  bool abortable = false;           // $Weft.abortable
  uint32_t timeout_ms = 0;          // $Weft.timeoutMs, 0 when absent
  bool default_on_timeout = false;  // $Weft.defaultOnTimeout
  std::string doc;                  // the schema doc comment, raw
  // Present when every param is a scalar, an enum, Text or Data (Void params
  // take no argument); absent: no flat form.
  std::optional<std::vector<FlatArg>> flat;
};

// A method (or interface) weft generates nothing for, and why.
struct Skipped {
  std::string name;       // "Math.countTo" (declaring interface, schema names), or "Math"
  std::string reason;     // "param `cb` is a capability (interface ns::Callback); ..."
  bool silenced = false;  // $Weft.skip: on purpose, no warning
};

// One interface of a requested file, nested ones included.
struct InterfaceModel {
  uint64_t id = 0;
  std::string cpp_type;  // "::quickstart::Math", "::ns::Box<T>" (a generic one)
  std::string name;      // "quickstart::Math", "ns::Box" (no template arguments)
  std::string doc;       // the schema doc comment, raw
  // The template parameters of a generic interface, outermost scope first
  // ("T" for `interface Box(T)`); empty for an ordinary one.
  std::vector<std::string> template_params;
  // Own methods by ordinal, then each superclass's, depth first in `extends`
  // order, each interface once.
  std::vector<MethodModel> methods;
  // Methods of its `extends` tree that are not served, in the same order.
  std::vector<Skipped> skipped;
};

// One requested schema file and the headers capnpc-weft writes for it.
struct FileModel {
  std::string source;           // "dir/x.capnp"
  std::string header_name;      // "dir/x.weft.h"
  std::string rpc_header_name;  // "dir/x.weft-rpc.h"
  // In declaration order, depth first through nested declarations.
  std::vector<InterfaceModel> interfaces;
  // Interfaces marked $Weft.skip.
  std::vector<Skipped> skipped;
};

// The model of every file `request` asks for, in request order. Throws
// CodegenError (and kj::Exception) only for a malformed request.
std::vector<FileModel> BuildFileModels(capnp::schema::CodeGeneratorRequest::Reader request);

}  // namespace codegen
}  // namespace weft

#endif  // WEFT_CODEGEN_INTERFACE_MODEL_H_
