// The path of a binary next to this one (bazel-bin/examples/remote/), where
// Bazel puts the demo's server and worker.
#ifndef WEFT_EXAMPLES_REMOTE_SIBLING_H_
#define WEFT_EXAMPLES_REMOTE_SIBLING_H_

#include <unistd.h>

#include <string>

namespace remote_demo {

inline std::string Sibling(const char* name) {
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) return std::string("examples/remote/") + name;
  const std::string path(self, static_cast<size_t>(n));
  return path.substr(0, path.rfind('/') + 1) + name;
}

}  // namespace remote_demo

#endif  // WEFT_EXAMPLES_REMOTE_SIBLING_H_
