// How capnpc-c++ spells a schema's declarations and types in C++, brands
// (generic arguments) included:
//
//   struct Pair(A, B) {...}    interface Box(T) { put @0 (p :Pair(T, Text)) -> (); }
//
//   Named(Box, {T})                 -> "::ns::Box<T>"                (dependent)
//   MethodStruct(put, params, {T})  -> "::ns::Box<T>::PutParams"     (dependent)
//   Type(p's type, {T})             -> "::ns::Pair<T, ::capnp::Text>"
//   AsType(...)                     -> "typename ::ns::Box<T>::PutParams"
//
// A type parameter spells as the name the caller maps it to (the template
// parameter of a generated partial specialization), or ::capnp::AnyPointer
// when unmapped, which is what capnpc-c++'s own Server binds an implicit
// method parameter to.
//
// Thread safety: thread-compatible; reads the loader it is given.
#ifndef WEFT_CODEGEN_CPP_TYPES_H_
#define WEFT_CODEGEN_CPP_TYPES_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "capnp/schema-loader.h"
#include "capnp/schema.capnp.h"
#include "capnp/schema.h"

namespace weft {
namespace codegen {

// Annotation ids capnpc-weft understands.
inline constexpr uint64_t kCxxNamespaceId = 0xb9c6f99ebf805f2cull;      // /capnp/c++.capnp
inline constexpr uint64_t kCxxNameId = 0xf264a779fef191ceull;           // /capnp/c++.capnp
inline constexpr uint64_t kAbortableId = 0x9df0aa79230e8d3eull;         // /schema/weft.capnp
inline constexpr uint64_t kDefaultOnTimeoutId = 0xe3a4c7b19d2f6051ull;  // /schema/weft.capnp
inline constexpr uint64_t kTimeoutMsId = 0xd56cefed1852b481ull;         // /schema/weft.capnp
inline constexpr uint64_t kSkipId = 0xc4a1f3e9b2d80657ull;              // /schema/weft.capnp
// /capnp/stream.capnp StreamResult: the results of a `-> stream` method.
inline constexpr uint64_t kStreamResultId = 0x995f9a3377c0b16eull;

std::string Str(kj::StringPtr s);

std::optional<capnp::schema::Value::Reader> FindAnnotation(
    capnp::List<capnp::schema::Annotation>::Reader annotations, uint64_t id);

// The C++ name capnpc-c++ gives a field or method: its $Cxx.name, else its
// schema name (capnpc-c++'s protoName()).
template <typename Reader>
std::string ProtoName(Reader reader) {
  if (std::optional<capnp::schema::Value::Reader> name =
          FindAnnotation(reader.getAnnotations(), kCxxNameId)) {
    return Str(name->getText());
  }
  return Str(reader.getName());
}

// What type parameters are called where a name is spelled.
struct TypeParams {
  // (scope id, index) -> template parameter name; unmapped: AnyPointer.
  std::map<std::pair<uint64_t, uint32_t>, std::string> brand;
  // Implicit method parameters by index; empty: AnyPointer.
  std::vector<std::string> implicit;
};

// A C++ spelling, and whether it depends on a template parameter (then a
// declaration needs `typename` before it).
struct Spelled {
  std::string name;
  bool dependent = false;
};

class CppTypes {
 public:
  // `loader` is kept and must hold every node of the request.
  explicit CppTypes(const capnp::SchemaLoader& loader) : loader_(loader) {}

  // A struct, interface or enum with its brand's arguments at every scope.
  Spelled Named(capnp::Schema schema, const TypeParams& params) const;
  // Any type capnp can bind or declare a field of.
  Spelled Type(capnp::Type type, const TypeParams& params) const;
  // The params (or results) struct of `method`: the implicit one capnp
  // declares inside the interface (`I::FooParams`), or an explicit struct.
  Spelled MethodStruct(capnp::InterfaceSchema::Method method, bool results,
                       const TypeParams& params) const;
  // "::ns::Outer::Name" without any brand, for metadata ("" for a file
  // without a $Cxx.namespace).
  std::string PlainName(uint64_t id) const;

  // `spelled` as a type in a declaration: `typename` before a dependent
  // qualified name.
  static std::string AsType(const Spelled& spelled);

 private:
  // The node's name within its parent scope, as capnpc-c++ spells it.
  std::string UnqualifiedName(capnp::schema::Node::Reader node) const;
  std::string FilePrefix(capnp::schema::Node::Reader file) const;
  // The nodes from the outermost non-file scope down to `id`.
  std::vector<capnp::schema::Node::Reader> Chain(uint64_t id) const;
  // "<A, B>" for the node's own parameters as `schema`'s brand binds them.
  std::string Arguments(capnp::Schema schema, capnp::schema::Node::Reader node,
                        const TypeParams& params, bool& dependent) const;

  const capnp::SchemaLoader& loader_;
};

}  // namespace codegen
}  // namespace weft

#endif  // WEFT_CODEGEN_CPP_TYPES_H_
