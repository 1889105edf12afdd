// capnpc-weft: the `capnp compile` plugin that turns Cap'n Proto interfaces
// into weft stubs and skeletons.
//
//   capnp compile -I/usr/include -I. -oc++:out -obazel-bin/codegen/capnpc-weft:out dir/x.capnp
//
// For each requested file `dir/x.capnp` it writes `dir/x.weft.h` and
// `dir/x.weft-rpc.h` under the output directory (the plugin runs with that
// directory as its working directory, as capnpc-c++ does). For every
// interface `I` in the file, nested ones included, the first specializes
//   weft::InterfaceTraits<I>  constexpr metadata: type id, methods, annotations
//   weft::Skeleton<I>         one pure virtual per method, and the dispatch
//   weft::Stub<I>             per method a builder form and, where the params
//                             are all scalars, enums, Text or Data, a flat form
// (see runtime/interface.h, runtime/skeleton.h, runtime/stub.h), and the
// second, which includes the first,
//   weft::RpcService<I>       a Cap'n Proto I::Server forwarding each method
//                             to a pool (see runtime/rpc_server.h)
//
// This file only reads the request and writes the files. The work is done in
// layers, each using only the ones below it:
//   emit.h, emit_rpc.h the model -> the headers' text
//   interface_model.h  the request -> a plain model of files, interfaces, methods
//   layout.h           comments and wrapped lists in the generated text
//   names.h            C++ spelling of identifiers, scopes and file names
//
// It never refuses a file capnpc-c++ accepts. What weft cannot carry (a
// capability in a signature, a method whose C++ name is taken) is skipped,
// one method at a time, with one warning line each on stderr naming the
// file, the interface, the method and the reason, and how to silence it:
//
//   capnpc-weft: warning: dir/x.capnp: interface ns::I: method `I.watch` skipped: param `cb`
//   is a capability (interface ns::Callback); ... [silence: $Weft.skip on the method]
//
// With WEFT_STRICT=1 in the environment (weft_capnp_library's strict = True)
// those warnings are errors: exit status 1 and nothing written. Skips asked
// for with $Weft.skip never warn. A malformed request is an error too.

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "capnp/message.h"
#include "capnp/schema.capnp.h"
#include "capnp/serialize.h"
#include "codegen/emit.h"
#include "codegen/emit_rpc.h"
#include "codegen/interface_model.h"
#include "kj/exception.h"

namespace weft {
namespace codegen {
namespace {

int Main() {
  capnp::ReaderOptions options;
  options.traversalLimitInWords = uint64_t{1} << 40;  // a schema set, not untrusted input
  options.nestingLimit = 1 << 12;
  capnp::StreamFdMessageReader message(STDIN_FILENO, options);
  capnp::schema::CodeGeneratorRequest::Reader request =
      message.getRoot<capnp::schema::CodeGeneratorRequest>();

  const char* strict_env = std::getenv("WEFT_STRICT");
  const bool strict = strict_env != nullptr && std::string(strict_env) == "1";
  const char* kind = strict ? "error" : "warning";

  // Generate everything before writing anything: an error leaves no output.
  std::vector<std::pair<std::string, std::string>> outputs;
  int warnings = 0;
  for (const FileModel& file : BuildFileModels(request)) {
    for (const Skipped& skipped : file.skipped) {
      if (skipped.silenced) continue;
      ++warnings;
      std::cerr << "capnpc-weft: " << kind << ": " << file.source << ": interface " << skipped.name
                << " skipped: " << skipped.reason
                << " [silence: $Weft.skip on the interface; make it an error: strict = True]\n";
    }
    for (const InterfaceModel& interface : file.interfaces) {
      for (const Skipped& skipped : interface.skipped) {
        if (skipped.silenced) continue;
        ++warnings;
        std::cerr << "capnpc-weft: " << kind << ": " << file.source << ": interface "
                  << interface.name << ": method `" << skipped.name
                  << "` skipped: " << skipped.reason
                  << " [silence: $Weft.skip on the method; make it an error: strict = True]\n";
      }
    }
    outputs.emplace_back(file.header_name, EmitHeader(file));
    outputs.emplace_back(file.rpc_header_name, EmitRpcHeader(file));
  }
  if (strict && warnings > 0) {
    std::cerr << "capnpc-weft: " << warnings
              << " method(s) skipped and strict mode is on (WEFT_STRICT=1); nothing written\n";
    return 1;
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
