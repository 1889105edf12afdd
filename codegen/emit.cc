#include "codegen/emit.h"

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "codegen/emit_common.h"
#include "codegen/interface_model.h"
#include "codegen/layout.h"

namespace weft {
namespace codegen {
namespace {

// A type id as a C++ literal, "0x0123456789abcdefull".
std::string Hex(uint64_t id) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "0x%016" PRIx64 "ull", id);
  return buffer;
}

// A generic interface's brand must not bind a capability: shared memory
// has no capability table.
std::string BrandCheck(const InterfaceModel& interface) {
  std::string out;
  for (const std::string& param : interface.template_params) {
    out += "  static_assert(::weft::internal::kCarriesNoCapability<" + param + ">,\n";
    out += "                \"weft cannot carry a capability: bind " + interface.name + "'s " +
           param + " to a struct, list, Text, Data or AnyPointer type\");\n";
  }
  return out;
}

// "Not served" lines for the skipped methods, as a comment.
std::string SkippedComment(const InterfaceModel& interface) {
  return SkippedList("Not served by weft (capnpc-weft skipped them, so they are absent here):",
                     interface.skipped);
}

// weft::InterfaceTraits<I>: the constexpr metadata, one MethodInfo a method.
std::string EmitTraits(const InterfaceModel& interface) {
  const std::vector<MethodModel>& methods = interface.methods;
  const std::string count = std::to_string(methods.size());
  std::string out;
  out += TemplateHead(interface) + "struct " + TraitsName(interface) + " {\n";
  out += BrandCheck(interface);
  out += "  static constexpr const char* kName = \"" + interface.name + "\";\n";
  out += "  static constexpr uint64_t kTypeId = " + Hex(interface.id) + ";\n";
  out += "  static constexpr std::size_t kMethodCount = " + count + ";\n";
  out += "  static constexpr std::array<::weft::MethodInfo, " + count + "> kMethods = {";
  if (methods.empty()) {
    out += "};\n";
  } else {
    out += "{\n";
    for (const MethodModel& m : methods) {
      out += "      {" + std::to_string(m.index) + ", \"" + m.schema_name + "\", \"" +
             m.declaring_name + "\", " + Hex(m.declaring_id) + ", " + std::to_string(m.ordinal) +
             ", " + (m.abortable ? "true" : "false") + ", " + std::to_string(m.timeout_ms) + ", " +
             (m.default_on_timeout ? "true" : "false") + ", ::capnp::typeId<" +
             m.skeleton_results_type + ">()},\n";
    }
    out += "  }};\n";
  }
  out += "};\n";
  return out;
}

// weft::Skeleton<I>: a pure virtual and a Call alias per method, and the
// dispatch from a method index to them.
std::string EmitSkeleton(const InterfaceModel& interface) {
  const std::string& type = interface.cpp_type;
  std::string out = FormatComment(interface.doc, "") + SkippedComment(interface);
  out += TemplateHead(interface) + "class Skeleton<" + type +
         "> : public ::weft::internal::SkeletonBase {\n";
  out += " public:\n";
  out += "  using Traits = ::weft::" + TraitsName(interface) + ";\n\n";
  for (const MethodModel& m : interface.methods) {
    out += FormatComment(m.doc, "  ");
    out += WrapList("  using " + m.call_type + " = ::weft::Call<",
                    {m.skeleton_params_type, m.skeleton_results_type}, ">;", "      ");
    out += "  virtual ::absl::Status " + m.cpp_name + "(" + m.call_type + "& call) = 0;\n\n";
  }
  out += "  uint64_t WeftInterfaceId() const override { return Traits::kTypeId; }\n";
  out += "  ::absl::Span<const ::weft::MethodInfo> WeftMethods() const override {\n";
  out += "    return Traits::kMethods;\n  }\n";
  out += "  ::absl::Status WeftDispatch(uint32_t method_index,\n";
  out += "                              ::weft::internal::CallContext& context) override {\n";
  if (interface.methods.empty()) out += "    (void)context;\n";
  out += "    switch (method_index) {\n";
  for (const MethodModel& m : interface.methods) {
    out += "      case " + std::to_string(m.index) + ": {\n";
    out += "        " + m.call_type + " call(context);\n";
    // `this->`: a method may be named like the local (`call`).
    out += "        return this->" + m.cpp_name + "(call);\n";
    out += "      }\n";
  }
  out += "      default:\n";
  out += "        return ::weft::internal::UnknownMethod(Traits::kTypeId, method_index);\n";
  out += "    }\n  }\n};\n";
  return out;
}

// weft::Stub<I>: per method the Params/Results aliases, the builder form
// and, where the model has flat args, the flat form.
std::string EmitStub(const InterfaceModel& interface) {
  std::string out = FormatComment(interface.doc, "") + SkippedComment(interface);
  out += TemplateHead(interface) + "class Stub<" + interface.cpp_type +
         "> : public ::weft::internal::StubBase {\n";
  out += " public:\n";
  out += "  using ::weft::internal::StubBase::StubBase;\n";
  out += "  using Traits = ::weft::" + TraitsName(interface) + ";\n";
  for (const MethodModel& m : interface.methods) {
    // A method with implicit parameters names its Params/Results as alias
    // templates, and its forms are templates on them too.
    std::string implicit_head;  // "template <typename U = ::capnp::AnyPointer>"
    std::string implicit_args;  // "<U>"
    for (const std::string& p : m.implicit_params) {
      implicit_head +=
          (implicit_head.empty() ? "" : ", ") + ("typename " + p) + " = ::capnp::AnyPointer";
      implicit_args += (implicit_args.empty() ? "" : ", ") + p;
    }
    if (!implicit_args.empty()) implicit_args = "<" + implicit_args + ">";
    const bool dependent = Generic(interface) || !m.implicit_params.empty();
    const std::string params = m.type_stem + "Params" + implicit_args;
    const std::string results = m.type_stem + "Results" + implicit_args;
    const std::string builder = (dependent ? "typename " : "") + params + "::Builder";
    // A streaming method is a one-way call: whether it was queued.
    const std::string future =
        m.streaming ? "[[nodiscard]] ::absl::Status" : "::weft::Future<" + results + ">";
    const std::string method_info = "Traits::kMethods[" + std::to_string(m.index) + "]";
    const std::string invoke = m.streaming ? "    return Stream<" + params + ">("
                                           : "    return Invoke<" + params + ", " + results + ">(";
    const std::string options = "const ::weft::CallOptions& options = {}";
    out += "\n";
    out += FormatComment(m.doc, "  ");
    const std::string alias_head =
        implicit_head.empty() ? "" : "  template <" + implicit_head + ">\n";
    out += alias_head + "  using " + m.type_stem + "Params = " + m.params_type + ";\n";
    out += alias_head + "  using " + m.type_stem + "Results = " + m.results_type + ";\n";
    out +=
        "  template <" + (implicit_head.empty() ? "" : implicit_head + ", ") + "typename Fill>\n";
    // Parenthesized: a bare concept-id followed by `::weft::Future` would
    // parse as one nested name.
    out += "    requires(std::invocable<Fill&, " + builder + ">)\n";
    out +=
        WrapList("  " + future + " " + m.cpp_name + "(", {"Fill&& fill", options}, ") {", "      ");
    out += WrapList(invoke, {method_info, "std::forward<Fill>(fill)", "options"}, ");", "        ");
    out += "  }\n";
    if (!m.flat) continue;
    std::vector<std::string> args;
    for (const FlatArg& arg : *m.flat) args.push_back(arg.type + " " + arg.name);
    args.push_back(options);
    out += WrapList("  " + future + " " + m.cpp_name + "(", args, ") {", "      ");
    if (m.flat->empty()) {
      out += WrapList(invoke, {method_info, "[](" + builder + ") {}", "options"}, ");", "        ");
    } else {
      // `fill_params` and `params_` cannot collide with an argument: schema
      // names have no '_', and only keywords and `options` get one appended.
      out += "    auto fill_params = [&](" + builder + " params_) {\n";
      for (const FlatArg& arg : *m.flat) {
        out += "      params_." + arg.setter + "(" + arg.name + ");\n";
      }
      out += "    };\n";
      out += WrapList(invoke, {method_info, "fill_params", "options"}, ");", "        ");
    }
    out += "  }\n";
  }
  out += "};\n";
  return out;
}

}  // namespace

std::string EmitHeader(const FileModel& file) {
  const std::string& source = file.source;
  std::string out = Banner(file);
  out += "#include <array>\n#include <concepts>\n#include <cstddef>\n#include <cstdint>\n";
  out += "#include <utility>\n\n";
  out += "#include \"" + source + ".h\"\n";
  bool streams = false;  // capnpc-c++'s header names StreamResult without including it
  for (const InterfaceModel& interface : file.interfaces) {
    for (const MethodModel& m : interface.methods) streams |= m.streaming;
  }
  if (streams) out += "#include \"capnp/stream.capnp.h\"\n";
  out += "#include \"runtime/weft.h\"\n\n";
  out += AbiCheck(file.header_name);
  if (!file.skipped.empty()) {
    out += "\n" + SkippedList("Interfaces capnpc-weft generated nothing for:", file.skipped);
  }
  if (file.interfaces.empty()) {
    out += "\n// " + source + " declares no interfaces weft serves.\n";
    return out;
  }
  out += "\nnamespace weft {\n";
  out += SectionHeading("InterfaceTraits");
  for (const InterfaceModel& interface : file.interfaces) out += "\n" + EmitTraits(interface);
  out += SectionHeading("Skeletons (worker side)");
  for (const InterfaceModel& interface : file.interfaces) out += "\n" + EmitSkeleton(interface);
  out += SectionHeading("Stubs (host side)");
  for (const InterfaceModel& interface : file.interfaces) out += "\n" + EmitStub(interface);
  out += "\n}  // namespace weft\n";
  return out;
}

}  // namespace codegen
}  // namespace weft
