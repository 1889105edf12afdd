#include "codegen/interface_model.h"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "capnp/schema-loader.h"
#include "capnp/schema.capnp.h"
#include "capnp/schema.h"
#include "codegen/cpp_types.h"
#include "codegen/names.h"
#include "kj/string.h"

namespace weft {
namespace codegen {
namespace {

namespace schema = ::capnp::schema;

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
  explicit ModelBuilder(schema::CodeGeneratorRequest::Reader request) : types_(loader_) {
    for (schema::Node::Reader node : request.getNodes()) loader_.load(node);
    for (schema::Node::SourceInfo::Reader info : request.getSourceInfo()) {
      source_info_.emplace(info.getId(), info);
    }
  }

  FileModel File(schema::CodeGeneratorRequest::RequestedFile::Reader file) {
    FileModel model;
    model.source = Str(file.getFilename());
    model.header_name = WeftHeaderName(model.source);
    model.rpc_header_name = WeftRpcHeaderName(model.source);
    std::vector<capnp::InterfaceSchema> interfaces;
    CollectInterfaces(loader_.get(file.getId()), interfaces);
    for (const capnp::InterfaceSchema& interface : interfaces) {
      if (FindAnnotation(interface.getProto().getAnnotations(), kSkipId)) {
        model.skipped.push_back({WithoutGlobalScope(types_.PlainName(interface.getProto().getId())),
                                 "marked $Weft.skip", true});
        continue;
      }
      std::optional<std::string> outer = GenericScopeAbove(interface.getProto());
      if (outer) {
        model.skipped.push_back(
            {WithoutGlobalScope(types_.PlainName(interface.getProto().getId())),
             "it is nested in the generic " + *outer +
                 ", whose type parameters C++ cannot deduce from weft::Stub<...>'s argument "
                 "(move it out of the generic scope)",
             false});
        continue;
      }
      // Unbound: a generic interface's type parameters stay parameters (the
      // default brand would bind them to AnyPointer).
      model.interfaces.push_back(
          Interface(loader_.getUnbound(interface.getProto().getId()).asInterface()));
    }
    return model;
  }

 private:
  InterfaceModel Interface(capnp::InterfaceSchema interface) {
    InterfaceModel model;
    model.id = interface.getProto().getId();
    TypeParams params = TemplateParams(model.id, model.template_params);
    model.cpp_type = types_.Named(interface, params).name;
    model.name = WithoutGlobalScope(types_.PlainName(model.id));
    model.doc = DocText(model.id, std::nullopt);
    std::set<uint64_t> seen;
    std::map<std::string, std::string> taken;  // C++ name or type stem -> "Decl.method"
    CollectMethods(interface, params, seen, taken, model);
    return model;
  }

  // The template parameters of every generic scope from the outermost down
  // to `id` (an interface in `struct Outer(T)` has T), named as the schema
  // names them; and the names they spell as.
  TypeParams TemplateParams(uint64_t id, std::vector<std::string>& names) {
    TypeParams params;
    std::vector<schema::Node::Reader> chain;
    for (schema::Node::Reader node = loader_.get(id).getProto(); !node.isFile();
         node = loader_.get(node.getScopeId()).getProto()) {
      chain.insert(chain.begin(), node);
    }
    for (schema::Node::Reader node : chain) {
      uint32_t index = 0;
      for (schema::Node::Parameter::Reader parameter : node.getParameters()) {
        names.push_back(Str(parameter.getName()));
        params.brand[{node.getId(), index++}] = names.back();
      }
    }
    return params;
  }

  // The nearest enclosing scope of `node` with type parameters, as "struct
  // ns::Outer"; nullopt if none. capnpc-c++ makes such an interface a member
  // of a class template, which no partial specialization can match.
  std::optional<std::string> GenericScopeAbove(schema::Node::Reader node) {
    for (schema::Node::Reader scope = loader_.get(node.getScopeId()).getProto(); !scope.isFile();
         scope = loader_.get(scope.getScopeId()).getProto()) {
      if (scope.getParameters().size() > 0) {
        return std::string(scope.isInterface() ? "interface " : "struct ") +
               WithoutGlobalScope(types_.PlainName(scope.getId()));
      }
    }
    return std::nullopt;
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
  // order, each interface once (a diamond lists the shared base once). A
  // superclass comes with its brand (`extends(Box(Text))`), so its methods'
  // types are spelled as that brand binds them.
  void CollectMethods(capnp::InterfaceSchema interface, const TypeParams& params,
                      std::set<uint64_t>& seen, std::map<std::string, std::string>& taken,
                      InterfaceModel& out) {
    schema::Node::Reader node = interface.getProto();
    if (!seen.insert(node.getId()).second) return;
    const std::string declaring_name = WithoutGlobalScope(types_.PlainName(node.getId()));
    const Spelled declaring_type = types_.Named(interface, params);
    for (capnp::InterfaceSchema::Method method : interface.getMethods()) {
      schema::Method::Reader proto = method.getProto();
      const std::string schema_name = Str(proto.getName());
      const std::string qualified = declaring_name + "." + schema_name;
      auto skip = [&](std::string reason, bool silenced) {
        out.skipped.push_back({qualified, std::move(reason), silenced});
      };
      if (FindAnnotation(proto.getAnnotations(), kSkipId)) {
        skip("marked $Weft.skip", true);
        continue;
      }
      std::optional<std::string> capability = CapabilityIn(method.getParamType(), "param ");
      if (!capability) capability = CapabilityIn(method.getResultType(), "result ");
      if (capability) {
        skip(*capability + "; shared memory has no capability table, so weft cannot carry it",
             false);
        continue;
      }
      MethodModel m;
      m.schema_name = schema_name;
      const std::string proto_name = ProtoName(proto);
      m.cpp_name = SafeIdentifier(proto_name);
      m.type_stem = TitleCase(proto_name);
      m.call_type = m.type_stem + "Call";
      for (const std::string& name : {m.cpp_name, m.type_stem}) {
        auto it = taken.find(name);
        if (it != taken.end()) {
          capability = "its C++ name `" + name + "` is taken by method `" + it->second +
                       "`; weft puts all methods of an interface and its superclasses in one "
                       "class (rename one with $Cxx.name)";
          break;
        }
      }
      if (capability) {
        skip(*capability, false);
        continue;
      }
      taken.emplace(m.cpp_name, qualified);
      taken.emplace(m.type_stem, qualified);

      TypeParams stub_params = params;
      for (schema::Node::Parameter::Reader implicit : proto.getImplicitParameters()) {
        m.implicit_params.push_back(Str(implicit.getName()));
      }
      stub_params.implicit = m.implicit_params;
      m.params_type = CppTypes::AsType(types_.MethodStruct(method, false, stub_params));
      m.results_type = CppTypes::AsType(types_.MethodStruct(method, true, stub_params));
      m.skeleton_params_type = CppTypes::AsType(types_.MethodStruct(method, false, params));
      m.skeleton_results_type = CppTypes::AsType(types_.MethodStruct(method, true, params));
      m.streaming = method.getResultType().getProto().getId() == kStreamResultId;
      m.index = static_cast<uint32_t>(out.methods.size());
      m.declaring_name = declaring_name;
      m.declaring_id = node.getId();
      m.server_context_type = CppTypes::AsType(
          {declaring_type.name + "::Server::" + m.type_stem + "Context", declaring_type.dependent});
      m.ordinal = method.getOrdinal();
      m.abortable = FindAnnotation(proto.getAnnotations(), kAbortableId).has_value();
      m.default_on_timeout =
          FindAnnotation(proto.getAnnotations(), kDefaultOnTimeoutId).has_value();
      if (std::optional<schema::Value::Reader> timeout =
              FindAnnotation(proto.getAnnotations(), kTimeoutMsId)) {
        m.timeout_ms = timeout->getUint32();
      }
      m.doc = DocText(node.getId(), method.getIndex());
      if (m.implicit_params.empty()) m.flat = FlatArgs(method.getParamType(), params);
      out.methods.push_back(std::move(m));
    }
    for (capnp::InterfaceSchema superclass : interface.getSuperclasses()) {
      CollectMethods(superclass, params, seen, taken, out);
    }
  }

  // Where `type` holds a capability: the path to it from `where` ("cb",
  // "holder.cap", "cbs[]") and what it is; nullopt when it holds none. Structs are searched field
  // by field (groups and lists too), each struct once. A type parameter is not a capability here:
  // the brand that binds it decides, and the generated code refuses a capability brand at compile
  // time.
  using Found = std::pair<std::string, std::string>;
  std::optional<Found> CapabilityIn(capnp::Type type, const std::string& where,
                                    std::set<uint64_t>& seen) {
    if (type.isInterface()) {
      return Found{where, "interface " + WithoutGlobalScope(types_.PlainName(
                                             type.asInterface().getProto().getId()))};
    }
    if (type.isAnyPointer() && type.getBrandParameter() == nullptr &&
        type.getImplicitParameter() == nullptr &&
        type.whichAnyPointerKind() == schema::Type::AnyPointer::Unconstrained::CAPABILITY) {
      return Found{where, "Capability"};
    }
    if (type.isList()) return CapabilityIn(type.asList().getElementType(), where + "[]", seen);
    if (!type.isStruct()) return std::nullopt;
    capnp::StructSchema structure = type.asStruct();
    if (!seen.insert(structure.getProto().getId()).second) return std::nullopt;
    for (capnp::StructSchema::Field field : structure.getFields()) {
      std::optional<Found> found =
          CapabilityIn(field.getType(), where + "." + Str(field.getProto().getName()), seen);
      if (found) return found;
    }
    return std::nullopt;
  }

  // The first field of a params or results struct holding a capability,
  // "param `cb` is a capability (interface ns::Callback)".
  std::optional<std::string> CapabilityIn(capnp::StructSchema structure, const char* kind) {
    std::set<uint64_t> seen{structure.getProto().getId()};
    for (capnp::StructSchema::Field field : structure.getFields()) {
      std::optional<Found> found =
          CapabilityIn(field.getType(), Str(field.getProto().getName()), seen);
      if (found) return kind + ("`" + found->first + "` is a capability (" + found->second + ")");
    }
    return std::nullopt;
  }

  // The flat-form arguments for a params struct, or nullopt when some field
  // is not a plain scalar, enum, Text or Data slot (or the struct has a union).
  std::optional<std::vector<FlatArg>> FlatArgs(capnp::StructSchema params_struct,
                                               const TypeParams& params) {
    schema::Node::Reader node = params_struct.getProto();
    if (node.getStruct().getDiscriminantCount() > 0) return std::nullopt;
    std::vector<FlatArg> args;
    for (capnp::StructSchema::Field field : params_struct.getFields()) {
      schema::Field::Reader proto = field.getProto();
      if (!proto.isSlot() || proto.getDiscriminantValue() != schema::Field::NO_DISCRIMINANT) {
        return std::nullopt;
      }
      capnp::Type type = field.getType();
      FlatArg arg;
      if (type.isVoid()) continue;  // nothing to pass
      if (type.isEnum()) {
        arg.type = CppTypes::AsType(types_.Type(type, params));
      } else if (const char* cpp_type = FlatArgType(type.which())) {
        arg.type = cpp_type;
      } else {
        return std::nullopt;
      }
      const std::string name = ProtoName(proto);
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
  CppTypes types_;
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
