// The skeleton of the remote demo: squares, and says where it ran ("local
// thread in pid 123", "process worker pid 456 behind the RPC server").
#ifndef WEFT_EXAMPLES_REMOTE_WHERE_IMPL_H_
#define WEFT_EXAMPLES_REMOTE_WHERE_IMPL_H_

#include <unistd.h>

#include <string>

#include "examples/remote/where.weft.h"

namespace remote_demo {

class WhereImpl : public weft::Skeleton<Where> {
 public:
  explicit WhereImpl(std::string place) : place_(std::move(place)) {}

  absl::Status square(SquareCall& call) override {
    const int64_t v = call.params().getValue();
    call.results().setResult(v * v);
    call.results().setRanOn(place_ + " (pid " + std::to_string(getpid()) + ")");
    return absl::OkStatus();
  }

 private:
  std::string place_;
};

// A process worker's skeleton (where_worker.cc).
class WhereWorker : public WhereImpl {
 public:
  WhereWorker() : WhereImpl("a process worker behind the RPC server") {}
};

}  // namespace remote_demo

#endif  // WEFT_EXAMPLES_REMOTE_WHERE_IMPL_H_
