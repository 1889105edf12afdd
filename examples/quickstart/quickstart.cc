// The quickstart: a pool of workers serving the Math interface.
//
//   tools/bazel run //examples/quickstart              # thread workers
//   tools/bazel run //examples/quickstart -- --process # process workers
//
// prints square(7) and hypot(3, 4), then pipelines 10,000 calls and prints
// their median round trip.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "examples/quickstart/math.weft.h"
#include "examples/quickstart/math_impl.h"

namespace {

// math_worker sits next to this binary (bazel-bin/examples/quickstart/).
std::string WorkerBinary() {
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) return "examples/quickstart/math_worker";
  std::string path(self, static_cast<size_t>(n));
  return path.substr(0, path.rfind('/') + 1) + "math_worker";
}

}  // namespace

int main(int argc, char** argv) {
  const bool process = argc > 1 && std::strcmp(argv[1], "--process") == 0;
  weft::PoolOptions options;
  // One core for this (host) thread, the others for workers: a waiting
  // worker spins before it sleeps, so more workers than free cores would
  // only take turns.
  options.workers = static_cast<int>(std::max(2u, std::thread::hardware_concurrency())) - 1;
  options.balancer = weft::BalancerKind::kFirstIdle;

  absl::StatusOr<weft::Pool<quickstart::Math>> pool = absl::UnknownError("not created");
  if (process) {
    options.runtime = weft::WorkerRuntime::kProcess;
    options.worker_command = {WorkerBinary()};
    pool = weft::Pool<quickstart::Math>::Create(options);
  } else {
    pool = weft::Pool<quickstart::Math>::Create(
        options, [] { return std::make_unique<quickstart::MathImpl>(); });
  }
  if (!pool.ok()) {
    std::fprintf(stderr, "could not start the pool: %s\n", pool.status().ToString().c_str());
    return EXIT_FAILURE;
  }
  weft::Stub<quickstart::Math> math = pool->stub();

  // Flat form: the params as arguments.
  auto square = math.square(7).Get();
  if (!square.ok()) {
    std::fprintf(stderr, "square failed: %s\n", square.status().ToString().c_str());
    return EXIT_FAILURE;
  }
  std::printf("square(7) = %lld\n", static_cast<long long>(square->getResult()));

  // Builder form: fill the params in place in shared memory.
  auto hypot = math.hypot([](auto params) {
                     params.setX(3);
                     params.setY(4);
                   })
                   .Get();
  if (!hypot.ok()) {
    std::fprintf(stderr, "hypot failed: %s\n", hypot.status().ToString().c_str());
    return EXIT_FAILURE;
  }
  std::printf("hypot(3, 4) = %g\n", hypot->getLength());

  // Pipelining: 10,000 calls with up to 64 in flight at once. Each call's
  // round trip runs from its send to the moment its result is read.
  constexpr int kCalls = 10'000;
  constexpr int kWindow = 64;
  std::vector<weft::Future<quickstart::Math::SquareResults>> futures(kCalls);
  std::vector<absl::Time> sent(kCalls);
  std::vector<double> round_trip_us(kCalls);
  const absl::Time start = absl::Now();
  int next_to_send = 0;
  for (int i = 0; i < kCalls; ++i) {
    while (next_to_send < kCalls && next_to_send < i + kWindow) {
      sent[next_to_send] = absl::Now();
      futures[next_to_send] = math.square(next_to_send);
      ++next_to_send;
    }
    auto r = futures[i].Get();
    round_trip_us[i] = absl::ToDoubleMicroseconds(absl::Now() - sent[i]);
    if (!r.ok() || r->getResult() != int64_t{i} * i) {
      std::fprintf(stderr, "pipelined call %d failed: %s\n", i,
                   r.ok() ? "wrong result" : r.status().ToString().c_str());
      return EXIT_FAILURE;
    }
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  std::nth_element(round_trip_us.begin(), round_trip_us.begin() + kCalls / 2, round_trip_us.end());
  std::printf("pipelined %d calls (%d in flight): median round trip %.2f us, %.0f calls/s\n",
              kCalls, kWindow, round_trip_us[kCalls / 2], kCalls / seconds);
  return EXIT_SUCCESS;
}
