#include "codegen/interface_model.h"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "capnp/schema-loader.h"
#include "capnp/schema.capnp.h"
#include "capnp/schema.h"
#include "codegen/names.h"
#include "kj/string.h"

namespace weft {
namespace codegen {
namespace {

namespace schema = ::capnp::schema;

// Annotation ids this generator understands.
constexpr uint64_t kCxxNamespaceId = 0xb9c6f99ebf805f2cull;      // /capnp/c++.capnp namespace
constexpr uint64_t kCxxNameId = 0xf264a779fef191ceull;           // /capnp/c++.capnp name
constexpr uint64_t kAbortableId = 0x9df0aa79230e8d3eull;         // /schema/weft.capnp abortable
constexpr uint64_t kDefaultOnTimeoutId = 0xe3a4c7b19d2f6051ull;  // ... defaultOnTimeout
constexpr uint64_t kTimeoutMsId = 0xd56cefed1852b481ull;         // /schema/weft.capnp timeoutMs

std::string Str(kj::StringPtr s) { return std::string(s.cStr(), s.size()); }

std::optional<schema::Value::Reader> FindAnnotation(
    capnp::List<schema::Annotation>::Reader annotations, uint64_t id) {
  for (schema::Annotation::Reader annotation : annotations) {
    if (annotation.getId() == id) return annotation.getValue();
  }
  return std::nullopt;
}

// The C++ name capnpc-c++ gives a field or method: its $Cxx.name, else its
// schema name (capnpc-c++'s protoName()).
template <typename Reader>
std::string ProtoName(Reader reader) {
  if (std::optional<schema::Value::Reader> name =
          FindAnnotation(reader.getAnnotations(), kCxxNameId)) {
    return Str(name->getText());
  }
  return Str(reader.getName());
}

// The C++ type of a flat-form argument of type `which`, or nullptr when
// there is no flat form for it: struct, list, interface, AnyPointer (and
// Void, which takes no argument, and Enum, which the caller names).
const char* FlatArgType(schema::Type::Which which) {
  static const std::map<schema::Type::Which, const char*> kTypes = {
      {schema::Type::BOOL, "bool"},
      {schema::Type::INT8, "int8_t"},
      {schema::Type::INT16, "int16_t"},
      {schema::Type::INT32, "int32_t"},
      {schema::Type::INT64, "int64_t"},
      {schema::Type::UINT8, "uint8_t"},
      {schema::Type::UINT16, "uint16_t"},
      {schema::Type::UINT32, "uint32_t"},
      {schema::Type::UINT64, "uint64_t"},
      {schema::Type::FLOAT32, "float"},
      {schema::Type::FLOAT64, "double"},
      {schema::Type::TEXT, "::capnp::Text::Reader"},
      {schema::Type::DATA, "::capnp::Data::Reader"},
  };
  auto it = kTypes.find(which);
  return it == kTypes.end() ? nullptr : it->second;
}

// Builds the models from the request's nodes; every lookup goes through the
// loader, so imported files' declarations are known too.
class ModelBuilder {
 public:
  explicit ModelBuilder(schema::CodeGeneratorRequest::Reader request) {
    for (schema::Node::Reader node : request.getNodes()) loader_.load(node);
    for (schema::Node::SourceInfo::Reader info : request.getSourceInfo()) {
      source_info_.emplace(info.getId(), info);
    }
  }

  FileModel File(schema::CodeGeneratorRequest::RequestedFile::Reader file) {
    FileModel model;
    model.source = Str(file.getFilename());
    model.header_name = WeftHeaderName(model.source);
    std::vector<capnp::InterfaceSchema> interfaces;
    CollectInterfaces(loader_.get(file.getId()), interfaces);
    for (const capnp::InterfaceSchema& interface : interfaces) {
      model.interfaces.push_back(Interface(interface));
    }
    return model;
  }

 private:
  InterfaceModel Interface(capnp::InterfaceSchema interface) {
    InterfaceModel model;
    model.id = interface.getProto().getId();
    model.cpp_type = CppName(model.id);
    model.name = WithoutGlobalScope(model.cpp_type);
    std::set<uint64_t> seen;
    CollectMethods(interface, interface, seen, model.methods);
    CheckDistinctNames(interface, model.methods);
    model.doc = DocText(model.id, std::nullopt);
    return model;
  }

  // Every interface in `scope`'s tree of nested declarations, in declaration
  // order, depth first.
  void CollectInterfaces(capnp::Schema scope, std::vector<capnp::InterfaceSchema>& out) {
    for (schema::Node::NestedNode::Reader nested : scope.getProto().getNestedNodes()) {
      capnp::Schema child = loader_.get(nested.getId());
      if (child.getProto().isInterface()) out.push_back(child.asInterface());
      CollectInterfaces(child, out);
    }
  }

  // Own methods by ordinal, then each superclass's, depth first in `extends`
  // order, each interface once (a diamond lists the shared base once).
  void CollectMethods(capnp::InterfaceSchema served, capnp::InterfaceSchema interface,
                      std::set<uint64_t>& seen, std::vector<MethodModel>& out) {
    schema::Node::Reader node = interface.getProto();
    if (!seen.insert(node.getId()).second) return;
    if (node.getIsGeneric()) {
      const bool own = node.getId() == served.getProto().getId();
      throw CodegenError(Describe(own ? interface : served) +
                         (own ? " is generic (has type parameters)"
                              : " extends the generic interface " + Str(node.getDisplayName())) +
                         "; weft does not support generic interfaces");
    }
    const std::string declaring_name = WithoutGlobalScope(CppName(node.getId()));
    for (capnp::InterfaceSchema::Method method : interface.getMethods()) {
      schema::Method::Reader proto = method.getProto();
      if (proto.getImplicitParameters().size() > 0) {
        throw CodegenError(
            Describe(interface) + ": method `" + Str(proto.getName()) +
            "` is generic (has type parameters); weft does not support generic methods");
      }
      MethodModel m;
      m.index = static_cast<uint32_t>(out.size());
      m.schema_name = Str(proto.getName());
      const std::string proto_name = ProtoName(proto);
      m.cpp_name = SafeIdentifier(proto_name);
      m.type_stem = TitleCase(proto_name);
      m.call_type = m.type_stem + "Call";
      m.params_type = MethodStructName(interface, proto, proto.getParamStructType(),
                                       proto.getParamBrand(), "Params");
      m.results_type = MethodStructName(interface, proto, proto.getResultStructType(),
                                        proto.getResultBrand(), "Results");
      m.declaring_name = declaring_name;
      m.declaring_id = node.getId();
      m.ordinal = method.getOrdinal();
      m.abortable = FindAnnotation(proto.getAnnotations(), kAbortableId).has_value();
      m.default_on_timeout =
          FindAnnotation(proto.getAnnotations(), kDefaultOnTimeoutId).has_value();
      if (std::optional<schema::Value::Reader> timeout =
              FindAnnotation(proto.getAnnotations(), kTimeoutMsId)) {
        m.timeout_ms = timeout->getUint32();
      }
      m.doc = DocText(node.getId(), method.getIndex());
      m.flat = FlatArgs(proto.getParamStructType());
      out.push_back(std::move(m));
    }
    for (capnp::InterfaceSchema superclass : interface.getSuperclasses()) {
      CollectMethods(served, superclass, seen, out);
    }
  }

  // Every method becomes a member of one C++ class, inherited ones included,
  // and names the FooCall / FooParams / FooResults aliases after itself: no
  // two may share a C++ name or a type stem, nor one's name the other's stem.
  void CheckDistinctNames(capnp::InterfaceSchema interface,
                          const std::vector<MethodModel>& methods) {
    std::map<std::string, const MethodModel*> by_name;
    for (const MethodModel& m : methods) {
      auto [it, inserted] = by_name.emplace(m.cpp_name, &m);
      if (inserted) std::tie(it, inserted) = by_name.emplace(m.type_stem, &m);
      if (!inserted) {
        throw CodegenError(Describe(interface) + ": method `" + it->second->declaring_name + "." +
                           it->second->schema_name + "` and method `" + m.declaring_name + "." +
                           m.schema_name +
                           "` have the same C++ name; weft puts all methods of an interface and "
                           "its superclasses in one class (rename one, e.g. with $Cxx.name)");
      }
    }
  }

  // "::ns::Outer::Name" from the scope chain (Node.scopeId), the parents'
  // nestedNodes and the file's $Cxx.namespace; "" for a file without one.
  std::string CppName(uint64_t id) {
    schema::Node::Reader node = loader_.get(id).getProto();
    if (node.isFile()) {
      std::optional<schema::Value::Reader> ns =
          FindAnnotation(node.getAnnotations(), kCxxNamespaceId);
      return ns ? NamespacePrefix(Str(ns->getText())) : "";
    }
    if (node.getScopeId() == 0) {
      throw CodegenError("capnpc-weft: internal error: " + Str(node.getDisplayName()) +
                         " has no scope (an implicit parameter struct named outside its method)");
    }
    return CppName(node.getScopeId()) + "::" + UnqualifiedName(node);
  }

  // The node's name within its parent scope, as capnpc-c++ spells it.
  std::string UnqualifiedName(schema::Node::Reader node) {
    if (std::optional<schema::Value::Reader> name =
            FindAnnotation(node.getAnnotations(), kCxxNameId)) {
      return Str(name->getText());
    }
    schema::Node::Reader parent = loader_.get(node.getScopeId()).getProto();
    for (schema::Node::NestedNode::Reader nested : parent.getNestedNodes()) {
      if (nested.getId() == node.getId()) return Str(nested.getName());
    }
    if (parent.isStruct()) {
      for (schema::Field::Reader field : parent.getStruct().getFields()) {
        if (field.isGroup() && field.getGroup().getTypeId() == node.getId()) {
          return TitleCase(ProtoName(field));
        }
      }
    }
    if (parent.isInterface()) {
      for (schema::Method::Reader method : parent.getInterface().getMethods()) {
        if (method.getParamStructType() == node.getId())
          return TitleCase(ProtoName(method)) + "Params";
        if (method.getResultStructType() == node.getId())
          return TitleCase(ProtoName(method)) + "Results";
      }
    }
    throw CodegenError("capnpc-weft: internal error: " + Str(node.getDisplayName()) +
                       " is not declared in its scope " + Str(parent.getDisplayName()));
  }

  // The params or results struct of `method`: the implicit one capnp
  // declares inside the interface (`I::FooParams`), or an explicit struct.
  std::string MethodStructName(capnp::InterfaceSchema interface, schema::Method::Reader method,
                               uint64_t struct_id, schema::Brand::Reader brand,
                               const char* suffix) {
    schema::Node::Reader node = loader_.get(struct_id).getProto();
    if (node.getIsGeneric() || brand.getScopes().size() > 0) {
      throw CodegenError(Describe(interface) + ": method `" + Str(method.getName()) +
                         "` uses the generic struct " + Str(node.getDisplayName()) + " as its " +
                         (suffix[0] == 'P' ? "params" : "results") +
                         "; weft does not support generic types in method signatures");
    }
    if (node.getScopeId() == 0) {
      return CppName(interface.getProto().getId()) + "::" + TitleCase(ProtoName(method)) + suffix;
    }
    return CppName(struct_id);
  }

  std::string Describe(capnp::InterfaceSchema interface) {
    return "capnpc-weft: error: interface " + Str(interface.getProto().getDisplayName());
  }

  // The flat-form arguments for a params struct, or nullopt when some field
  // is not a plain scalar, enum, Text or Data slot (or the struct has a union).
  std::optional<std::vector<FlatArg>> FlatArgs(uint64_t params_id) {
    schema::Node::Reader node = loader_.get(params_id).getProto();
    if (!node.isStruct() || node.getStruct().getDiscriminantCount() > 0) return std::nullopt;
    std::vector<FlatArg> args;
    for (schema::Field::Reader field : node.getStruct().getFields()) {
      if (!field.isSlot() || field.getDiscriminantValue() != schema::Field::NO_DISCRIMINANT) {
        return std::nullopt;
      }
      schema::Type::Reader type = field.getSlot().getType();
      FlatArg arg;
      if (type.isVoid()) continue;  // nothing to pass
      if (type.isEnum()) {
        arg.type = CppName(type.getEnum().getTypeId());
      } else if (const char* cpp_type = FlatArgType(type.which())) {
        arg.type = cpp_type;
      } else {
        return std::nullopt;
      }
      const std::string name = ProtoName(field);
      arg.name = FlatParamName(name);
      arg.setter = SetterName(name);
      args.push_back(std::move(arg));
    }
    return args;
  }

  // The schema's doc comment for a node, or for one of its members.
  std::string DocText(uint64_t node_id, std::optional<uint32_t> member) {
    auto it = source_info_.find(node_id);
    if (it == source_info_.end()) return "";
    schema::Node::SourceInfo::Reader info = it->second;
    if (!member) return Str(info.getDocComment());
    if (*member >= info.getMembers().size()) return "";
    return Str(info.getMembers()[*member].getDocComment());
  }

  capnp::SchemaLoader loader_;
  std::map<uint64_t, schema::Node::SourceInfo::Reader> source_info_;
};

}  // namespace

std::vector<FileModel> BuildFileModels(schema::CodeGeneratorRequest::Reader request) {
  ModelBuilder builder(request);
  std::vector<FileModel> files;
  for (schema::CodeGeneratorRequest::RequestedFile::Reader file : request.getRequestedFiles()) {
    files.push_back(builder.File(file));
  }
  return files;
}

}  // namespace codegen
}  // namespace weft
