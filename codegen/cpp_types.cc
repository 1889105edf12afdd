#include "codegen/cpp_types.h"

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "capnp/schema.capnp.h"
#include "capnp/schema.h"
#include "codegen/names.h"

namespace weft {
namespace codegen {

namespace schema = ::capnp::schema;

std::string Str(kj::StringPtr s) { return std::string(s.cStr(), s.size()); }

std::optional<schema::Value::Reader> FindAnnotation(
    capnp::List<schema::Annotation>::Reader annotations, uint64_t id) {
  for (schema::Annotation::Reader annotation : annotations) {
    if (annotation.getId() == id) return annotation.getValue();
  }
  return std::nullopt;
}

std::string CppTypes::AsType(const Spelled& spelled) {
  // A bare template parameter ("T") is a type already.
  const bool qualified = spelled.name.find("::") != std::string::npos;
  return spelled.dependent && qualified ? "typename " + spelled.name : spelled.name;
}

std::string CppTypes::FilePrefix(schema::Node::Reader file) const {
  std::optional<schema::Value::Reader> ns = FindAnnotation(file.getAnnotations(), kCxxNamespaceId);
  return ns ? NamespacePrefix(Str(ns->getText())) : "";
}

std::vector<schema::Node::Reader> CppTypes::Chain(uint64_t id) const {
  std::vector<schema::Node::Reader> chain;
  for (schema::Node::Reader node = loader_.get(id).getProto(); !node.isFile();
       node = loader_.get(node.getScopeId()).getProto()) {
    if (node.getScopeId() == 0) {
      // Only a method's implicit params/results struct has no scope; it is
      // spelled through MethodStruct.
      throw std::logic_error("capnpc-weft: internal error: " + Str(node.getDisplayName()) +
                             " has no scope (an implicit method struct named on its own)");
    }
    chain.insert(chain.begin(), node);
  }
  return chain;
}

std::string CppTypes::Arguments(capnp::Schema schema, schema::Node::Reader node,
                                const TypeParams& params, bool& dependent) const {
  const uint32_t count = node.getParameters().size();
  if (count == 0) return "";
  capnp::Schema::BrandArgumentList args = schema.getBrandArgumentsAtScope(node.getId());
  std::string out = "<";
  for (uint32_t i = 0; i < count; ++i) {
    Spelled arg = Type(args[i], params);
    dependent |= arg.dependent;
    out += (i == 0 ? "" : ", ") + AsType(arg);
  }
  return out + ">";
}

Spelled CppTypes::Named(capnp::Schema schema, const TypeParams& params) const {
  const uint64_t id = schema.getProto().getId();
  std::vector<schema::Node::Reader> chain = Chain(id);
  uint64_t file_id = chain.empty() ? id : chain.front().getScopeId();
  Spelled out{FilePrefix(loader_.get(file_id).getProto()), false};
  for (schema::Node::Reader node : chain) {
    const bool qualifier_dependent = out.dependent;
    std::string args = Arguments(schema, node, params, out.dependent);
    // A member template of a dependent scope needs `template` to parse.
    out.name += "::" + std::string(qualifier_dependent && !args.empty() ? "template " : "") +
                UnqualifiedName(node) + args;
  }
  return out;
}

std::string CppTypes::PlainName(uint64_t id) const {
  std::vector<schema::Node::Reader> chain = Chain(id);
  std::string out =
      FilePrefix(loader_.get(chain.empty() ? id : chain.front().getScopeId()).getProto());
  for (schema::Node::Reader node : chain) out += "::" + UnqualifiedName(node);
  return out;
}

Spelled CppTypes::MethodStruct(capnp::InterfaceSchema::Method method, bool results,
                               const TypeParams& params) const {
  capnp::StructSchema type = results ? method.getResultType() : method.getParamType();
  schema::Node::Reader node = type.getProto();
  if (node.getScopeId() != 0) return Named(type, params);
  Spelled out = Named(method.getContainingInterface(), params);
  const bool qualifier_dependent = out.dependent;
  // The implicit struct's own parameters are the method's implicit ones, in
  // order; the loader binds them to AnyPointer in the method's brand, so they
  // are spelled from `params` here.
  std::string args;
  for (uint32_t i = 0; i < node.getParameters().size(); ++i) {
    const bool named = i < params.implicit.size();
    args += (i == 0 ? "<" : ", ") + (named ? params.implicit[i] : "::capnp::AnyPointer");
    out.dependent |= named;
  }
  if (!args.empty()) args += ">";
  out.name += "::" + std::string(qualifier_dependent && !args.empty() ? "template " : "") +
              TitleCase(ProtoName(method.getProto())) + (results ? "Results" : "Params") + args;
  return out;
}

Spelled CppTypes::Type(capnp::Type type, const TypeParams& params) const {
  switch (type.which()) {
    case schema::Type::VOID:
      return {"::capnp::Void"};
    case schema::Type::BOOL:
      return {"bool"};
    case schema::Type::INT8:
      return {"int8_t"};
    case schema::Type::INT16:
      return {"int16_t"};
    case schema::Type::INT32:
      return {"int32_t"};
    case schema::Type::INT64:
      return {"int64_t"};
    case schema::Type::UINT8:
      return {"uint8_t"};
    case schema::Type::UINT16:
      return {"uint16_t"};
    case schema::Type::UINT32:
      return {"uint32_t"};
    case schema::Type::UINT64:
      return {"uint64_t"};
    case schema::Type::FLOAT32:
      return {"float"};
    case schema::Type::FLOAT64:
      return {"double"};
    case schema::Type::TEXT:
      return {"::capnp::Text"};
    case schema::Type::DATA:
      return {"::capnp::Data"};
    case schema::Type::LIST: {
      Spelled element = Type(type.asList().getElementType(), params);
      return {"::capnp::List<" + AsType(element) + ">", element.dependent};
    }
    case schema::Type::ENUM:
      return Named(type.asEnum(), params);
    case schema::Type::STRUCT:
      return Named(type.asStruct(), params);
    case schema::Type::INTERFACE:
      return Named(type.asInterface(), params);
    case schema::Type::ANY_POINTER: {
      KJ_IF_MAYBE (parameter, type.getBrandParameter()) {
        auto it = params.brand.find({parameter->scopeId, parameter->index});
        if (it != params.brand.end()) return {it->second, true};
        return {"::capnp::AnyPointer"};
      }
      KJ_IF_MAYBE (implicit, type.getImplicitParameter()) {
        if (implicit->index < params.implicit.size()) {
          return {params.implicit[implicit->index], true};
        }
        return {"::capnp::AnyPointer"};
      }
      switch (type.whichAnyPointerKind()) {
        case schema::Type::AnyPointer::Unconstrained::STRUCT:
          return {"::capnp::AnyStruct"};
        case schema::Type::AnyPointer::Unconstrained::LIST:
          return {"::capnp::AnyList"};
        case schema::Type::AnyPointer::Unconstrained::CAPABILITY:
          return {"::capnp::Capability"};
        default:
          return {"::capnp::AnyPointer"};
      }
    }
  }
  return {"::capnp::AnyPointer"};
}

std::string CppTypes::UnqualifiedName(schema::Node::Reader node) const {
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
      if (method.getResultStructType() == node.getId()) {
        return TitleCase(ProtoName(method)) + "Results";
      }
    }
  }
  throw std::logic_error("capnpc-weft: internal error: " + Str(node.getDisplayName()) +
                         " is not declared in its scope " + Str(parent.getDisplayName()));
}

}  // namespace codegen
}  // namespace weft
