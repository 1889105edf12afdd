#include "codegen/emit_rpc.h"

#include <cstddef>
#include <string>
#include <vector>

#include "codegen/emit_common.h"
#include "codegen/interface_model.h"
#include "codegen/layout.h"
#include "codegen/names.h"

namespace weft {
namespace codegen {
namespace {

// .clang-format's ColumnLimit (as in layout.cc).
constexpr size_t kColumnLimit = 100;

// The override's parameter type: capnpc-c++'s `<Method>Context`. The short
// name is found in I::Server for I's own methods; an inherited method names
// its declaring interface's Server (I::Server has a typedef of the same name
// for a method that hides it, or none), and a generic interface's base is
// dependent, where unqualified lookup does not look.
std::string ContextType(const InterfaceModel& interface, const MethodModel& m) {
  if (m.declaring_id == interface.id && !Generic(interface)) return m.type_stem + "Context";
  return m.server_context_type;
}

// One override: the forwarding of `m` to the pool.
std::string EmitOverride(const InterfaceModel& interface, const MethodModel& m) {
  std::string out = FormatComment(m.doc, "  ");
  out += WrapList("  ::kj::Promise<void> " + m.cpp_name + "(",
                  {ContextType(interface, m) + " context"}, ") override {", "      ");
  // The worker's spellings: implicit method parameters bound to AnyPointer,
  // as capnpc-c++'s Server binds them.
  std::vector<std::string> types = {m.skeleton_params_type};
  if (!m.streaming) types.push_back(m.skeleton_results_type);
  const std::string head =
      std::string("    return target_.") + (m.streaming ? "ServeStream<" : "Serve<");
  const std::string args = "Traits::kMethods[" + std::to_string(m.index) + "], context);";
  std::string one_line = WrapList(head, types, ">(" + args, "        ");
  if (one_line.find('\n') == one_line.size() - 1) {
    out += one_line;
  } else {
    out += WrapList(head, types, ">(", "        ") + "        " + args + "\n";
  }
  out += "  }\n";
  return out;
}

// weft::RpcService<I>: I::Server with an override per method weft serves.
std::string EmitRpcService(const InterfaceModel& interface) {
  const std::string& type = interface.cpp_type;
  const std::string server = WithoutGlobalScope(type) + "::Server";
  std::string out = FormatComment(interface.doc, "");
  out += SkippedList(
      "Not overridden (capnpc-weft skipped them), so " + server + " answers them UNIMPLEMENTED:",
      interface.skipped);
  // No `typename` before a generic interface's Server: a base specifier
  // names a type already. Broken before the base where the line is too long,
  // as clang-format would.
  const std::string head = "class RpcService<" + type + "> final";
  const std::string base = ": public " + type + "::Server {\n";
  out += TemplateHead(interface) + head;
  out += head.size() + 1 + base.size() - 1 <= kColumnLimit ? " " + base : "\n    " + base;
  out += " public:\n";
  out += "  using Traits = ::weft::" + TraitsName(interface) + ";\n\n";
  out += "  explicit RpcService(::weft::internal::RpcTarget target)";
  out += " : target_(std::move(target)) {}\n";
  if (!interface.methods.empty()) {
    out += "\n protected:\n";
    for (size_t i = 0; i < interface.methods.size(); ++i) {
      out += (i > 0 ? "\n" : "") + EmitOverride(interface, interface.methods[i]);
    }
  }
  out += "\n private:\n";
  out += "  ::weft::internal::RpcTarget target_;\n";
  out += "};\n";
  return out;
}

}  // namespace

std::string EmitRpcHeader(const FileModel& file) {
  std::string out = Banner(file);
  out += "#include <utility>\n\n";
  out += "#include \"" + file.header_name + "\"\n";
  out += "#include \"runtime/rpc_server.h\"\n\n";
  out += AbiCheck(file.rpc_header_name);
  if (file.interfaces.empty()) {
    out += "\n// " + file.source + " declares no interfaces weft serves.\n";
    return out;
  }
  out += "\nnamespace weft {\n";
  out += SectionHeading("RpcServices (Cap'n Proto servers over a pool: runtime/rpc_server.h)");
  for (const InterfaceModel& interface : file.interfaces) out += "\n" + EmitRpcService(interface);
  out += "\n}  // namespace weft\n";
  return out;
}

}  // namespace codegen
}  // namespace weft
