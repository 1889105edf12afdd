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
// What weft cannot serve is reported as a CodegenError naming the interface:
// a generic interface, method or params/results struct, or two methods of
// one `extends` tree with the same C++ name.
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

// A schema capnpc-weft cannot turn into C++. what() is the whole message,
// "capnpc-weft: error: interface dir/x.capnp:I ...", for stderr as is.
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
  uint32_t index = 0;          // position in the flattened list: the dispatch index
  std::string schema_name;     // "countTo", as in the schema
  std::string cpp_name;        // "countTo"; $Cxx.name and keyword renaming applied
  std::string type_stem;       // "CountTo": the stub's CountToParams/CountToResults aliases
  std::string call_type;       // "CountToCall"
  std::string params_type;     // "::quickstart::Math::CountToParams"
  std::string results_type;    // "::quickstart::Math::CountToResults"
  std::string declaring_name;  // "quickstart::Math"
  uint64_t declaring_id = 0;
  uint16_t ordinal = 0;
  bool abortable = false;           // $Weft.abortable
  uint32_t timeout_ms = 0;          // $Weft.timeoutMs, 0 when absent
  bool default_on_timeout = false;  // $Weft.defaultOnTimeout
  std::string doc;                  // the schema doc comment, raw
  // Present when every param is a scalar, an enum, Text or Data (Void params
  // take no argument); absent: no flat form.
  std::optional<std::vector<FlatArg>> flat;
};

// One interface of a requested file, nested ones included.
struct InterfaceModel {
  uint64_t id = 0;
  std::string cpp_type;  // "::quickstart::Math"
  std::string name;      // "quickstart::Math"
  std::string doc;       // the schema doc comment, raw
  // Own methods by ordinal, then each superclass's, depth first in `extends`
  // order, each interface once.
  std::vector<MethodModel> methods;
};

// One requested schema file and the header capnpc-weft writes for it.
struct FileModel {
  std::string source;       // "dir/x.capnp"
  std::string header_name;  // "dir/x.weft.h"
  // In declaration order, depth first through nested declarations.
  std::vector<InterfaceModel> interfaces;
};

// The model of every file `request` asks for, in request order. Throws
// CodegenError for the first schema weft cannot serve (and kj::Exception for
// a malformed request).
std::vector<FileModel> BuildFileModels(capnp::schema::CodeGeneratorRequest::Reader request);

}  // namespace codegen
}  // namespace weft

#endif  // WEFT_CODEGEN_INTERFACE_MODEL_H_
