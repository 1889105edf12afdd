#include "benchmarks/echo_loop.h"

#include <cstdint>

#include "benchmarks/harness.h"

namespace weft_bench {

void EchoLoop(benchmark::State& state, weft::Pool<weftbench::Bench>& pool) {
  weft::Stub<weftbench::Bench> stub = pool.stub();
  LatencyRecorder rec;
  int64_t v = 0;
  rec.Begin();
  for (auto _ : state) {
    const uint64_t t0 = Ticks();
    {
      auto r = stub.echo(v).Get();
      if (!r.ok() || r->getValue() != v) {
        return Fail(state, r.ok() ? "wrong echo" : r.status().ToString());
      }
    }  // the response returns its slot here, inside the timed call
    rec.Add(Ticks() - t0);
    ++v;
  }
  rec.End();
  rec.Report(state);
}

}  // namespace weft_bench
