// How capnpc-weft spells things in C++: identifiers, type and scope names,
// and the name of the header it writes. Plain string functions, following
// the rules capnpc-c++ uses, so that generated code names what capnpc-c++
// declares:
//
//   SafeIdentifier("delete")          == "delete_"
//   TitleCase("countTo")              == "CountTo"   // CountToParams, CountToCall
//   SetterName("byUnit")              == "setByUnit"
//   NamespacePrefix("::quickstart")   == "::quickstart"
//   WithoutGlobalScope("::a::Math")   == "a::Math"
//   WeftHeaderName("dir/x.capnp")     == "dir/x.weft.h"
//   WeftRpcHeaderName("dir/x.capnp")  == "dir/x.weft-rpc.h"
#ifndef WEFT_CODEGEN_NAMES_H_
#define WEFT_CODEGEN_NAMES_H_

#include <string>
#include <string_view>

namespace weft {
namespace codegen {

// capnpc-c++'s safeIdentifier(): a C++ keyword (C++20's included) gets a
// trailing underscore, anything else is returned as is. Schema identifiers
// cannot contain '_', so the result never collides with another name.
std::string SafeIdentifier(std::string_view name);

// capnpc-c++'s toTitleCase(): the first letter uppercased, if it is a
// lowercase ASCII letter.
std::string TitleCase(std::string_view name);

// The name of capnpc-c++'s setter for the field `name`: "set" + TitleCase.
std::string SetterName(std::string_view name);

// The C++ parameter name of a flat-form argument for the param `name`: its
// SafeIdentifier, with `options` (the flat form's own trailing parameter)
// getting an underscore too.
std::string FlatParamName(std::string_view name);

// The fully qualified C++ scope a file's $Cxx.namespace value names,
// "::ns::sub", whether or not the value starts with "::"; "" when it names
// the global namespace.
std::string NamespacePrefix(std::string_view cxx_namespace);

// A fully qualified name without its leading "::" ("::a::B" -> "a::B"), as
// weft's metadata spells interface names; other names are returned as is.
std::string WithoutGlobalScope(std::string_view qualified);

// The header capnpc-weft writes for the schema file `source`: its ".capnp"
// suffix replaced by ".weft.h" ("dir/x.capnp" -> "dir/x.weft.h"), or
// ".weft.h" appended when there is no such suffix.
std::string WeftHeaderName(std::string_view source);

// The RPC header capnpc-weft writes for `source` (weft::RpcService per
// interface), named the same way: "dir/x.capnp" -> "dir/x.weft-rpc.h".
std::string WeftRpcHeaderName(std::string_view source);

}  // namespace codegen
}  // namespace weft

#endif  // WEFT_CODEGEN_NAMES_H_
