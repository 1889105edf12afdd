// iceoryx 2.0 (Debian's 2.0.3), busy polling on both sides.
//
//   BM_IceoryxEcho         request/response: an 8-byte request (the int64),
//                          an 8-byte response
//   BM_IceoryxPubSubEcho   publish/subscribe: the host publishes the int64
//                          on one topic, the server publishes it back on
//                          another (two publishers, two subscribers)
//   BM_IceoryxPayload/B    request/response: a B-byte request the host
//                          fills with memcpy (as the weft stub copies the
//                          Data param into shared memory); the server reads
//                          every byte and answers with the 8-byte checksum
//
// The suite starts its own RouDi before the first benchmark and stops it
// afterwards, leaving nothing behind (iceoryx_roudi.h); if RouDi cannot
// start here every row is skipped with the reason. The server is one forked
// process pinned to --worker_cpu that polls the ports of the row's pattern
// (iceoryx_apps.h); the host polls its client or subscriber for the answer.
#include <cstring>
#include <vector>

#include "benchmarks/harness.h"
#include "benchmarks/iceoryx_apps.h"

namespace weft_bench {
namespace {

Environment* env = nullptr;  // owned by the AtSuiteEnd hook

// The environment, set to serve `pattern`; nullptr (the row skipped) when
// iceoryx is not up.
Environment* Ready(benchmark::State& state, const Options& options, Pattern pattern) {
  if (env == nullptr) {
    env = new Environment(options);
    AtSuiteEnd([] {
      delete env;
      env = nullptr;
    });
  }
  if (!env->unavailable().empty()) {
    Skip(state, env->unavailable());
    return nullptr;
  }
  env->Use(pattern);
  return env;
}

// One request/response; false on an iceoryx error.
bool Call(iox::popo::UntypedClient& client, const void* data, uint32_t size, uint64_t* answer) {
  auto request = client.loan(size, alignof(uint64_t));
  if (request.has_error()) return false;
  std::memcpy(request.value(), data, size);
  if (client.send(request.value()).has_error()) return false;
  const void* response = PollTake([&] { return client.take(); });
  if (response == nullptr) return false;
  std::memcpy(answer, response, sizeof(*answer));
  client.releaseResponse(response);
  return true;
}

// One int64 published on ping and taken back from pong; false on an
// iceoryx error.
bool PubSubCall(Environment& e, int64_t value, int64_t* answer) {
  auto sample = e.ping().loan(sizeof(value), alignof(int64_t));
  if (sample.has_error()) return false;
  std::memcpy(sample.value(), &value, sizeof(value));
  e.ping().publish(sample.value());
  const void* echo = PollTake([&] { return e.pong().take(); });
  if (echo == nullptr) return false;
  std::memcpy(answer, echo, sizeof(*answer));
  e.pong().release(echo);
  return true;
}

// The echo rows: one int64 round trip per iteration, by `call(v, &back)`.
template <typename CallFn>
void EchoLoop(benchmark::State& state, CallFn call) {
  LatencyRecorder rec;
  int64_t v = 0;
  rec.Begin();
  for (auto _ : state) {
    const uint64_t t0 = Ticks();
    int64_t back = 0;
    if (!call(v, &back)) return Fail(state, "iceoryx call failed");
    if (back != v) return Fail(state, "wrong echo");
    rec.Add(Ticks() - t0);
    ++v;
  }
  rec.End();
  rec.Report(state);
}

void BM_IceoryxEcho(benchmark::State& state, Options options) {
  Environment* e = Ready(state, options, Pattern::kRequestResponse);
  if (e == nullptr) return;
  EchoLoop(state, [e](int64_t v, int64_t* back) {
    uint64_t answer = 0;
    const bool ok = Call(e->client(), &v, sizeof(v), &answer);
    *back = static_cast<int64_t>(answer);
    return ok;
  });
}

void BM_IceoryxPubSubEcho(benchmark::State& state, Options options) {
  Environment* e = Ready(state, options, Pattern::kPublishSubscribe);
  if (e == nullptr) return;
  EchoLoop(state, [e](int64_t v, int64_t* back) { return PubSubCall(*e, v, back); });
}

void BM_IceoryxPayload(benchmark::State& state, Options options) {
  Environment* e = Ready(state, options, Pattern::kRequestResponse);
  if (e == nullptr) return;
  const size_t size = static_cast<size_t>(state.range(0));
  const std::vector<unsigned char> payload = MakePayload(size);
  const uint64_t expected = Checksum(payload.data(), payload.size());
  LatencyRecorder rec;
  rec.Begin();
  for (auto _ : state) {
    const uint64_t t0 = Ticks();
    uint64_t sum = 0;
    if (!Call(e->client(), payload.data(), static_cast<uint32_t>(size), &sum)) {
      return Fail(state, "iceoryx call failed");
    }
    if (sum != expected) return Fail(state, "wrong checksum");
    rec.Add(Ticks() - t0);
  }
  rec.End();
  rec.Report(state);
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(size));
}

}  // namespace

void RegisterSuite(const Options& options) {
  RunLength(benchmark::RegisterBenchmark("BM_IceoryxEcho", BM_IceoryxEcho, options), options, 100);
  RunLength(benchmark::RegisterBenchmark("BM_IceoryxPubSubEcho", BM_IceoryxPubSubEcho, options),
            options, 100);
  for (int64_t size : PayloadSizes(options)) {
    RunLength(
        benchmark::RegisterBenchmark("BM_IceoryxPayload", BM_IceoryxPayload, options)->Arg(size),
        options, 3);
  }
}

}  // namespace weft_bench
