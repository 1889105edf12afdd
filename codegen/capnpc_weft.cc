// capnpc-weft: the `capnp compile` plugin that turns Cap'n Proto interfaces
// into weft stubs and skeletons.
//
//   capnp compile -I/usr/include -I. -oc++:out -obazel-bin/codegen/capnpc-weft:out dir/x.capnp
//
// For each requested file `dir/x.capnp` it writes `dir/x.weft.h` under the
// output directory (the plugin runs with that directory as its working
// directory, as capnpc-c++ does). For every interface `I` in the file, nested
// ones included, the header specializes
//   weft::InterfaceTraits<I>  constexpr metadata: type id, methods, annotations
//   weft::Skeleton<I>         one pure virtual per method, and the dispatch
//   weft::Stub<I>             per method a builder form and, where the params
//                             are all scalars, enums, Text or Data, a flat form
// (see runtime/interface.h, runtime/skeleton.h, runtime/stub.h).
//
// Like capnpc-c++, the generator builds one set of text fragments per
// interface and assembles the file in fixed sections (traits, skeletons,
// stubs). All logic lives in the runtime headers; generated bodies are one
// line of forwarding each.
//
// Errors (a generic interface, two methods of one interface's `extends` tree
// with the same C++ name) go to stderr naming the interface; the exit status
// is then 1 and nothing is written.

#include <unistd.h>

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "capnp/message.h"
#include "capnp/schema-loader.h"
#include "capnp/schema.capnp.h"
#include "capnp/schema.h"
#include "capnp/serialize.h"
#include "kj/exception.h"

namespace weft {
namespace codegen {
namespace {

namespace schema = ::capnp::schema;

// Annotation ids this generator understands.
constexpr uint64_t kCxxNamespaceId = 0xb9c6f99ebf805f2cull;  // /capnp/c++.capnp namespace
constexpr uint64_t kCxxNameId = 0xf264a779fef191ceull;       // /capnp/c++.capnp name
constexpr uint64_t kAbortableId = 0x9df0aa79230e8d3eull;     // /schema/weft.capnp abortable
constexpr uint64_t kDefaultOnTimeoutId = 0xe3a4c7b19d2f6051ull;  // ... defaultOnTimeout
constexpr uint64_t kTimeoutMsId = 0xd56cefed1852b481ull;     // /schema/weft.capnp timeoutMs

// Must match WEFT_CODEGEN_ABI_VERSION in runtime/interface.h.
constexpr int kCodegenAbiVersion = 1;

// A schema the generator cannot turn into C++; reported once, on stderr.
class CodegenError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string Str(kj::StringPtr s) { return std::string(s.cStr(), s.size()); }

std::string Hex(uint64_t id) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "0x%016" PRIx64 "ull", id);
  return buffer;
}

// capnpc-c++'s safeIdentifier(): a C++ keyword gets a trailing underscore.
// Schema identifiers cannot contain '_', so the result never collides.
std::string SafeIdentifier(std::string_view name) {
  // clang-format off
  static const std::set<std::string_view> kKeywords = {
      "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "break",
      "case", "catch", "char", "char16_t", "char32_t", "class", "compl", "const", "constexpr",
      "const_cast", "continue", "decltype", "default", "delete", "do", "double", "dynamic_cast",
      "else", "enum", "explicit", "export", "extern", "false", "float", "for", "friend", "goto",
      "if", "inline", "int", "long", "mutable", "namespace", "new", "noexcept", "not", "not_eq",
      "nullptr", "operator", "or", "or_eq", "private", "protected", "public", "register",
      "reinterpret_cast", "return", "short", "signed", "sizeof", "static", "static_assert",
      "static_cast", "struct", "switch", "template", "this", "thread_local", "throw", "true", "try",
      "typedef", "typeid", "typename", "union", "unsigned", "using", "virtual", "void", "volatile",
      "wchar_t", "while", "xor", "xor_eq",
      // C++20 keywords capnp 0.9.2 predates.
      "char8_t", "concept", "consteval", "constinit", "co_await", "co_return", "co_yield",
      "requires",
  };
  // clang-format on

  std::string result(name);
  if (kKeywords.count(name) > 0) result += '_';
  return result;
}

// capnpc-c++'s toTitleCase(): the first letter uppercased.
std::string TitleCase(std::string_view name) {
  std::string result(name);
  if (!result.empty() && result[0] >= 'a' && result[0] <= 'z') result[0] -= 'a' - 'A';
  return result;
}

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

// `text` as `//` comment lines, each prefixed by `indent`.
std::string FormatComment(std::string_view text, std::string_view indent) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  if (text.empty()) return "";
  std::string out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r' || line.back() == '\t')) {
      line.remove_suffix(1);
    }
    out += indent;
    out += "//";
    if (!line.empty()) {
      out += ' ';
      out += line;
      // A trailing backslash would splice the next source line into the comment.
      if (line.back() == '\\') out += '.';
    }
    out += '\n';
    start = end + 1;
  }
  return out;
}

// `head` + `items` joined by ", " + `tail` and a newline, wrapped to 100
// columns the way clang-format's Google style would: on one line if it fits,
// else all items on one continuation line, else one item per line.
std::string Wrap(const std::string& head, const std::vector<std::string>& items,
                 const std::string& tail, const std::string& indent) {
  std::string joined;
  for (size_t i = 0; i < items.size(); ++i) joined += (i > 0 ? ", " : "") + items[i];
  if (head.size() + joined.size() + tail.size() <= 100) return head + joined + tail + "\n";
  if (indent.size() + joined.size() + tail.size() <= 100) {
    return head + "\n" + indent + joined + tail + "\n";
  }
  std::string out = head + "\n";
  for (size_t i = 0; i < items.size(); ++i) {
    out += indent + items[i] + (i + 1 < items.size() ? ",\n" : tail + "\n");
  }
  return out;
}

// One argument of a stub's flat form.
struct FlatArg {
  std::string type;    // e.g. "int64_t", "::capnp::Text::Reader"
  std::string name;    // the C++ parameter name
  std::string setter;  // e.g. "setValue"
};

// One method of a served interface, own or inherited.
struct MethodText {
  uint32_t index = 0;
  std::string schema_name;     // "countTo", as in the schema
  std::string cpp_name;        // "countTo"; $Cxx.name and keyword renaming applied
  std::string type_stem;       // "CountTo": the stub's CountToParams/CountToResults aliases
  std::string call_type;       // "CountToCall"
  std::string params_type;     // "::quickstart::Math::CountToParams"
  std::string results_type;    // "::quickstart::Math::CountToResults"
  std::string declaring_name;  // "quickstart::Math"
  uint64_t declaring_id = 0;
  uint16_t ordinal = 0;
  bool abortable = false;
  uint32_t timeout_ms = 0;
  bool default_on_timeout = false;
  std::string doc;                           // the schema doc comment, raw
  std::optional<std::vector<FlatArg>> flat;  // absent: no flat form
};

// The text fragments of one interface, assembled by GenerateFile().
struct InterfaceText {
  std::string traits;
  std::string skeleton;
  std::string stub;
};

class Generator {
 public:
  explicit Generator(schema::CodeGeneratorRequest::Reader request) {
    for (schema::Node::Reader node : request.getNodes()) loader_.load(node);
    for (schema::Node::SourceInfo::Reader info : request.getSourceInfo()) {
      source_info_.emplace(info.getId(), info);
    }
  }

  // The text of `dir/x.weft.h` for the requested file `dir/x.capnp`.
  std::string GenerateFile(schema::CodeGeneratorRequest::RequestedFile::Reader file) {
    const std::string source = Str(file.getFilename());
    std::vector<capnp::InterfaceSchema> interfaces;
    CollectInterfaces(loader_.get(file.getId()), interfaces);

    std::vector<InterfaceText> texts;
    for (const capnp::InterfaceSchema& interface : interfaces) {
      texts.push_back(MakeInterfaceText(interface));
    }

    const std::string out_name = WeftHeaderName(source);
    std::string out;
    out += "// Generated by capnpc-weft, DO NOT EDIT\n";
    out += "// source: " + source + "\n";
    out += "\n#pragma once\n\n";
    out += "#include <array>\n#include <concepts>\n#include <cstddef>\n#include <cstdint>\n";
    out += "#include <utility>\n\n";
    out += "#include \"" + source + ".h\"\n";
    out += "#include \"runtime/weft.h\"\n\n";
    const std::string abi = std::to_string(kCodegenAbiVersion);
    out += "static_assert(WEFT_CODEGEN_ABI_VERSION == " + abi + ",\n";
    out += "              \"" + out_name + " was generated for weft codegen ABI version " + abi +
           "; \"\n              \"regenerate it with this runtime's capnpc-weft\");\n";
    if (texts.empty()) {
      out += "\n// " + source + " declares no interfaces.\n";
      return out;
    }
    out += "\nnamespace weft {\n";
    out += "\n// " + std::string(87, '=') + "\n// InterfaceTraits\n";
    for (const InterfaceText& text : texts) out += "\n" + text.traits;
    out += "\n// " + std::string(87, '=') + "\n// Skeletons (worker side)\n";
    for (const InterfaceText& text : texts) out += "\n" + text.skeleton;
    out += "\n// " + std::string(87, '=') + "\n// Stubs (host side)\n";
    for (const InterfaceText& text : texts) out += "\n" + text.stub;
    out += "\n}  // namespace weft\n";
    return out;
  }

  static std::string WeftHeaderName(const std::string& source) {
    std::string base = source;
    if (base.size() > 6 && base.compare(base.size() - 6, 6, ".capnp") == 0) {
      base.resize(base.size() - 6);
    }
    return base + ".weft.h";
  }

 private:
  // Every interface in `scope`'s tree of nested declarations, in declaration
  // order, depth first.
  void CollectInterfaces(capnp::Schema scope, std::vector<capnp::InterfaceSchema>& out) {
    for (schema::Node::NestedNode::Reader nested : scope.getProto().getNestedNodes()) {
      capnp::Schema child = loader_.get(nested.getId());
      if (child.getProto().isInterface()) out.push_back(child.asInterface());
      CollectInterfaces(child, out);
    }
  }

  // "::ns::Outer::Name" from the scope chain (Node.scopeId), the parents'
  // nestedNodes and the file's $Cxx.namespace; "" for a file without one.
  std::string CppName(uint64_t id) {
    schema::Node::Reader node = loader_.get(id).getProto();
    if (node.isFile()) {
      std::optional<schema::Value::Reader> ns =
          FindAnnotation(node.getAnnotations(), kCxxNamespaceId);
      if (!ns) return "";
      std::string name = Str(ns->getText());
      if (name.rfind("::", 0) == 0) name.erase(0, 2);
      return name.empty() ? "" : "::" + name;
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
      switch (type.which()) {
        case schema::Type::VOID:
          continue;  // nothing to pass
        case schema::Type::BOOL:
          arg.type = "bool";
          break;
        case schema::Type::INT8:
          arg.type = "int8_t";
          break;
        case schema::Type::INT16:
          arg.type = "int16_t";
          break;
        case schema::Type::INT32:
          arg.type = "int32_t";
          break;
        case schema::Type::INT64:
          arg.type = "int64_t";
          break;
        case schema::Type::UINT8:
          arg.type = "uint8_t";
          break;
        case schema::Type::UINT16:
          arg.type = "uint16_t";
          break;
        case schema::Type::UINT32:
          arg.type = "uint32_t";
          break;
        case schema::Type::UINT64:
          arg.type = "uint64_t";
          break;
        case schema::Type::FLOAT32:
          arg.type = "float";
          break;
        case schema::Type::FLOAT64:
          arg.type = "double";
          break;
        case schema::Type::TEXT:
          arg.type = "::capnp::Text::Reader";
          break;
        case schema::Type::DATA:
          arg.type = "::capnp::Data::Reader";
          break;
        case schema::Type::ENUM:
          arg.type = CppName(type.getEnum().getTypeId());
          break;
        default:
          return std::nullopt;  // struct, list, interface, AnyPointer
      }
      const std::string name = ProtoName(field);
      arg.name = SafeIdentifier(name);
      // The flat form's own trailing parameter.
      if (arg.name == "options") arg.name += '_';
      arg.setter = "set" + TitleCase(name);
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

  // Own methods by ordinal, then each superclass's, depth first in `extends`
  // order, each interface once (a diamond lists the shared base once).
  void CollectMethods(capnp::InterfaceSchema served, capnp::InterfaceSchema interface,
                      std::set<uint64_t>& seen, std::vector<MethodText>& out) {
    schema::Node::Reader node = interface.getProto();
    if (!seen.insert(node.getId()).second) return;
    if (node.getIsGeneric()) {
      const bool own = node.getId() == served.getProto().getId();
      throw CodegenError(Describe(own ? interface : served) +
                         (own ? " is generic (has type parameters)"
                              : " extends the generic interface " + Str(node.getDisplayName())) +
                         "; weft does not support generic interfaces");
    }
    const std::string declaring_cpp = CppName(node.getId());
    const std::string declaring_name =
        declaring_cpp.rfind("::", 0) == 0 ? declaring_cpp.substr(2) : declaring_cpp;
    for (capnp::InterfaceSchema::Method method : interface.getMethods()) {
      schema::Method::Reader proto = method.getProto();
      if (proto.getImplicitParameters().size() > 0) {
        throw CodegenError(
            Describe(interface) + ": method `" + Str(proto.getName()) +
            "` is generic (has type parameters); weft does not support generic methods");
      }
      MethodText m;
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

  InterfaceText MakeInterfaceText(capnp::InterfaceSchema interface) {
    const uint64_t id = interface.getProto().getId();
    const std::string type = CppName(id);
    const std::string name = type.substr(2);
    const std::string traits = "InterfaceTraits<" + type + ">";

    std::vector<MethodText> methods;
    std::set<uint64_t> seen;
    CollectMethods(interface, interface, seen, methods);

    // Every method becomes a member of one C++ class, inherited ones included,
    // and names the FooCall / FooParams / FooResults aliases after itself.
    std::map<std::string, const MethodText*> by_name;
    for (const MethodText& m : methods) {
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

    const std::string doc = FormatComment(DocText(id, std::nullopt), "");
    const std::string count = std::to_string(methods.size());
    InterfaceText text;

    // ---- InterfaceTraits
    text.traits += "template <>\nstruct " + traits + " {\n";
    text.traits += "  static constexpr const char* kName = \"" + name + "\";\n";
    text.traits += "  static constexpr uint64_t kTypeId = " + Hex(id) + ";\n";
    text.traits += "  static constexpr std::size_t kMethodCount = " + count + ";\n";
    text.traits += "  static constexpr std::array<::weft::MethodInfo, " + count + "> kMethods = {";
    if (methods.empty()) {
      text.traits += "};\n";
    } else {
      text.traits += "{\n";
      for (const MethodText& m : methods) {
        text.traits += "      {" + std::to_string(m.index) + ", \"" + m.schema_name + "\", \"" +
                       m.declaring_name + "\", " + Hex(m.declaring_id) + ", " +
                       std::to_string(m.ordinal) + ", " + (m.abortable ? "true" : "false") + ", " +
                       std::to_string(m.timeout_ms) + ", " +
                       (m.default_on_timeout ? "true" : "false") + "},\n";
      }
      text.traits += "  }};\n";
    }
    text.traits += "};\n";

    // ---- Skeleton
    std::string& sk = text.skeleton;
    sk += doc;
    sk += "template <>\nclass Skeleton<" + type + "> : public ::weft::internal::SkeletonBase {\n";
    sk += " public:\n";
    sk += "  using Traits = ::weft::" + traits + ";\n\n";
    for (const MethodText& m : methods) {
      sk += FormatComment(m.doc, "  ");
      sk += Wrap("  using " + m.call_type + " = ::weft::Call<", {m.params_type, m.results_type},
                 ">;", "      ");
      sk += "  virtual ::absl::Status " + m.cpp_name + "(" + m.call_type + "& call) = 0;\n\n";
    }
    sk += "  uint64_t WeftInterfaceId() const override { return Traits::kTypeId; }\n";
    sk += "  ::absl::Span<const ::weft::MethodInfo> WeftMethods() const override {\n";
    sk += "    return Traits::kMethods;\n  }\n";
    sk += "  ::absl::Status WeftDispatch(uint32_t method_index,\n";
    sk += "                              ::weft::internal::CallContext& context) override {\n";
    if (methods.empty()) sk += "    (void)context;\n";
    sk += "    switch (method_index) {\n";
    for (const MethodText& m : methods) {
      sk += "      case " + std::to_string(m.index) + ": {\n";
      sk += "        " + m.call_type + " call(context);\n";
      // `this->`: a method may be named like the local (`call`).
      sk += "        return this->" + m.cpp_name + "(call);\n";
      sk += "      }\n";
    }
    sk += "      default:\n";
    sk += "        return ::weft::internal::UnknownMethod(Traits::kTypeId, method_index);\n";
    sk += "    }\n  }\n};\n";

    // ---- Stub
    std::string& st = text.stub;
    st += doc;
    st += "template <>\nclass Stub<" + type + "> : public ::weft::internal::StubBase {\n";
    st += " public:\n";
    st += "  using ::weft::internal::StubBase::StubBase;\n";
    st += "  using Traits = ::weft::" + traits + ";\n";
    for (const MethodText& m : methods) {
      const std::string params = m.type_stem + "Params";
      const std::string results = m.type_stem + "Results";
      const std::string future = "::weft::Future<" + results + ">";
      const std::string method_info = "Traits::kMethods[" + std::to_string(m.index) + "]";
      const std::string invoke = "    return Invoke<" + params + ", " + results + ">(";
      const std::string options = "const ::weft::CallOptions& options = {}";
      st += "\n";
      st += FormatComment(m.doc, "  ");
      st += "  using " + params + " = " + m.params_type + ";\n";
      st += "  using " + results + " = " + m.results_type + ";\n";
      st += "  template <typename Fill>\n";
      // Parenthesized: a bare concept-id followed by `::weft::Future` would
      // parse as one nested name.
      st += "    requires(std::invocable<Fill&, " + params + "::Builder>)\n";
      st += Wrap("  " + future + " " + m.cpp_name + "(", {"Fill&& fill", options}, ") {", "      ");
      st += Wrap(invoke, {method_info, "std::forward<Fill>(fill)", "options"}, ");", "        ");
      st += "  }\n";
      if (!m.flat) continue;
      std::vector<std::string> args;
      for (const FlatArg& arg : *m.flat) args.push_back(arg.type + " " + arg.name);
      args.push_back(options);
      st += Wrap("  " + future + " " + m.cpp_name + "(", args, ") {", "      ");
      if (m.flat->empty()) {
        st += Wrap(invoke, {method_info, "[](" + params + "::Builder) {}", "options"}, ");",
                   "        ");
      } else {
        // `fill_params` and `params_` cannot collide with an argument: schema
        // names have no '_', and only keywords and `options` get one appended.
        st += "    auto fill_params = [&](" + params + "::Builder params_) {\n";
        for (const FlatArg& arg : *m.flat) {
          st += "      params_." + arg.setter + "(" + arg.name + ");\n";
        }
        st += "    };\n";
        st += Wrap(invoke, {method_info, "fill_params", "options"}, ");", "        ");
      }
      st += "  }\n";
    }
    st += "};\n";
    return text;
  }

  capnp::SchemaLoader loader_;
  std::map<uint64_t, schema::Node::SourceInfo::Reader> source_info_;
};

int Main() {
  capnp::ReaderOptions options;
  options.traversalLimitInWords = uint64_t{1} << 40;  // a schema set, not untrusted input
  options.nestingLimit = 1 << 12;
  capnp::StreamFdMessageReader message(STDIN_FILENO, options);
  schema::CodeGeneratorRequest::Reader request = message.getRoot<schema::CodeGeneratorRequest>();

  Generator generator(request);
  // Generate everything before writing anything: an error leaves no output.
  std::vector<std::pair<std::string, std::string>> outputs;
  for (schema::CodeGeneratorRequest::RequestedFile::Reader file : request.getRequestedFiles()) {
    const std::string source = Str(file.getFilename());
    outputs.emplace_back(Generator::WeftHeaderName(source), generator.GenerateFile(file));
  }
  for (const auto& [path, text] : outputs) {
    const std::filesystem::path out(path);
    if (out.has_parent_path()) std::filesystem::create_directories(out.parent_path());
    std::ofstream stream(out, std::ios::binary | std::ios::trunc);
    stream << text;
    stream.close();
    if (!stream) {
      std::cerr << "capnpc-weft: error: cannot write " << path << "\n";
      return 1;
    }
  }
  return 0;
}

}  // namespace
}  // namespace codegen
}  // namespace weft

int main() {
  try {
    return weft::codegen::Main();
  } catch (const weft::codegen::CodegenError& e) {
    std::cerr << e.what() << "\n";
  } catch (const kj::Exception& e) {
    std::cerr << "capnpc-weft: error: " << e.getDescription().cStr() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "capnpc-weft: error: " << e.what() << "\n";
  }
  return 1;
}
