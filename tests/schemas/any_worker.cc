// A process worker for any interface of the torture schema but Torture
// (torture_worker): the first argument names which, as torture_test passes
// it in worker_command.
#include <cstdio>
#include <cstring>
#include <memory>

#include "runtime/worker_main.h"
#include "tests/schemas/torture_impl.h"

namespace {

template <typename Impl>
std::unique_ptr<weft::internal::SkeletonBase> Make() {
  return std::make_unique<Impl>();
}

}  // namespace

int main(int argc, char** argv) {
  using Factory = std::unique_ptr<weft::internal::SkeletonBase> (*)();
  struct Entry {
    const char* name;
    Factory make;
  };
  static const Entry kServed[] = {
      {"box_text", &Make<weft_test::BoxImpl<capnp::Text>>},
      {"box_data", &Make<weft_test::BoxImpl<capnp::Data>>},
      {"text_box", &Make<weft_test::TextBoxImpl>},
      {"renamed", &Make<weft_test::RenamedImpl>},
      {"deep", &Make<weft_test::DeepImpl>},
      {"wide", &Make<weft_test::WideImpl>},
  };
  for (const Entry& e : kServed) {
    if (argc > 1 && std::strcmp(argv[1], e.name) == 0) {
      return weft::internal::RunProcessWorker(e.make);
    }
  }
  std::fprintf(stderr,
               "any_worker: name the interface to serve: box_text, box_data, text_box, "
               "renamed, deep or wide\n");
  return 2;
}
