// The Bench skeleton every weft benchmark serves, in thread workers and in
// the process-worker binary (bench_worker.cc).
//
// OnStart pins the worker to a CPU: the one given to the constructor, or
// for a process worker (default-constructed) the one in the environment
// variable WEFT_BENCH_WORKER_CPU, which the host sets before starting it.
#ifndef WEFT_BENCHMARKS_BENCH_IMPL_H_
#define WEFT_BENCHMARKS_BENCH_IMPL_H_

#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "benchmarks/bench.weft.h"
#include "benchmarks/harness.h"

namespace weft_bench {

inline constexpr char kWorkerCpuEnv[] = "WEFT_BENCH_WORKER_CPU";

class BenchImpl final : public weft::Skeleton<weftbench::Bench> {
 public:
  BenchImpl() {
    const char* cpu = std::getenv(kWorkerCpuEnv);
    cpu_ = cpu != nullptr ? std::atoi(cpu) : -1;
  }
  explicit BenchImpl(int cpu) : cpu_(cpu) {}

  absl::Status OnStart() override {
    if (!PinThisThread(cpu_)) {
      return absl::InternalError("could not pin the worker to CPU " + std::to_string(cpu_));
    }
    return absl::OkStatus();
  }

  absl::Status echo(EchoCall& call) override {
    call.results().setValue(call.params().getValue());
    return absl::OkStatus();
  }

  absl::Status sink(SinkCall& call) override {
    // A gap means a streamed call was lost or reordered; the host's Flush says so.
    const int64_t value = call.params().getValue();
    if (value != next_sink_) return absl::DataLossError("sink: out of order");
    ++next_sink_;
    return absl::OkStatus();
  }

  absl::Status checksum(ChecksumCall& call) override {
    const capnp::Data::Reader data = call.params().getData();
    call.results().setSum(Checksum(data.begin(), data.size()));
    return absl::OkStatus();
  }

 private:
  int cpu_;
  int64_t next_sink_ = 0;
};

}  // namespace weft_bench

#endif  // WEFT_BENCHMARKS_BENCH_IMPL_H_
