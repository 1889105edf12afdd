// The quickstart: a pool of thread workers serving the Math interface.
//
//   tools/bazel run //examples/quickstart
//
// prints square(7) and hypot(3, 4), then pipelines 10,000 calls and prints
// their median round trip.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "examples/quickstart/math.weft.h"
#include "examples/quickstart/math_impl.h"

int main() {
  weft::PoolOptions options;
  options.workers = 2;
  options.balancer = weft::BalancerKind::kFirstIdle;

  absl::StatusOr<weft::Pool<quickstart::Math>> pool = weft::Pool<quickstart::Math>::Create(
      options, [] { return std::make_unique<quickstart::MathImpl>(); });
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

  // Pipelining: send 10,000 calls, then collect them. Each round trip is
  // timed from its send to the moment its result is read.
  constexpr int kCalls = 10'000;
  std::vector<weft::Future<quickstart::Math::SquareResults>> futures;
  std::vector<absl::Time> sent;
  futures.reserve(kCalls);
  sent.reserve(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    sent.push_back(absl::Now());
    futures.push_back(math.square(i));
  }
  std::vector<double> round_trip_us;
  round_trip_us.reserve(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    auto r = futures[i].Get();
    const absl::Time done = absl::Now();
    if (!r.ok() || r->getResult() != int64_t{i} * i) {
      std::fprintf(stderr, "pipelined call %d failed: %s\n", i,
                   r.ok() ? "wrong result" : r.status().ToString().c_str());
      return EXIT_FAILURE;
    }
    round_trip_us.push_back(absl::ToDoubleMicroseconds(done - sent[i]));
  }
  std::nth_element(round_trip_us.begin(), round_trip_us.begin() + kCalls / 2,
                   round_trip_us.end());
  std::printf("pipelined %d calls: median round trip %.1f us (send to result, %d in flight)\n",
              kCalls, round_trip_us[kCalls / 2], kCalls);
  return EXIT_SUCCESS;
}
