// The simplest Cap'n Proto-in-shared-memory call, without weft's runtime:
// what weft's small call costs at least with the same messages in the same
// kind of memory (weft_over_capnp_shm; capnp_shm_over_floor is what the
// messages add to the bare cache-line ping-pong).
//
//   BM_CapnpShmThreads      one call at a time, the worker a thread
//   BM_CapnpShmProcesses    the same, the worker a forked process
//   BM_CapnpShmPipelined/W  W calls in flight from one host thread, over W
//                           slots the worker answers in turn (calls/s)
//
// One call: the host zeroes the words its slot's last request used (a
// FlatMessageBuilder needs zeroed memory), builds Bench.echo's params in
// place with a capnp::FlatMessageBuilder over the slot's request words and
// publishes them with a release store of the slot's sequence word; the
// worker spins on it, opens the request with a
// capnp::SegmentArrayMessageReader, reads the int64, builds the results in
// the slot's response words the same way and publishes them; the host
// spins, opens the response and checks the value. No queue, no slot
// allocation, no timeouts, no stats: each slot is one call's.
//
// The host thread runs on --host_cpu (harness_main pins it), the worker on
// --worker_cpu. Registered by baselines_benchmark (RegisterCapnpShm).
#include "benchmarks/capnp_shm_benchmark.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <new>
#include <thread>
#include <type_traits>
#include <vector>

#include "benchmarks/bench.capnp.h"
#include "capnp/message.h"

namespace weft_bench {
namespace {

using Params = weftbench::Bench::EchoParams;
using Results = weftbench::Bench::EchoResults;

// An echo message is a root pointer and one data word; one spare.
constexpr size_t kMessageWords = 3;
constexpr uint64_t kStop = ~uint64_t{0};

// One call's slot. Lives in shared memory (an anonymous shared mapping).
// One cache line, so that a call moves one line each way, as the floor's
// ping-pong does.
struct alignas(64) Slot {
  // 2k+1: the slot's k-th request is there; 2k+2: its response; kStop: the
  // worker returns.
  std::atomic<uint64_t> seq{0};
  uint32_t request_words = 0;   // written by the host before an odd seq
  uint32_t response_words = 0;  // written by the worker before an even seq
  capnp::word request[kMessageWords];
  capnp::word response[kMessageWords];
};
static_assert(sizeof(Slot) == 64);
static_assert(std::is_standard_layout_v<Slot>);
static_assert(std::atomic<uint64_t>::is_always_lock_free);

// Builds a message whose root is a `T` holding `value` in `words`, which
// are zero but for the first `*used`; those are zeroed first, and *used
// becomes what this message used.
template <typename T>
void Build(capnp::word* words, uint32_t* used, int64_t value) {
  std::memset(words, 0, *used * sizeof(capnp::word));
  capnp::FlatMessageBuilder message(kj::arrayPtr(words, kMessageWords));
  message.initRoot<T>().setValue(value);
  *used = static_cast<uint32_t>(message.getSegmentsForOutput()[0].size());
}

// The value of the `T` at the root of the one-segment message in
// [words, words + size).
template <typename T>
int64_t Open(const capnp::word* words, uint32_t size) {
  const kj::ArrayPtr<const capnp::word> segment(words, size);
  capnp::SegmentArrayMessageReader message(kj::arrayPtr(&segment, 1));
  return message.getRoot<T>().getValue();
}

// The worker: answers slots 0, 1, ..., n-1, 0, ... in turn until it finds
// kStop. `want` (n entries, 1 each, allocated by the caller so that a forked
// worker never calls malloc) is each slot's next request seq.
void Serve(Slot* slots, uint64_t* want, size_t n) {
  for (size_t i = 0;;) {
    Slot& slot = slots[i];
    uint64_t seq;
    // Acquire: pairs with the host's release store in CallLoop; the
    // request's words and request_words are visible.
    while ((seq = slot.seq.load(std::memory_order_acquire)) != want[i]) {
      if (seq == kStop) return;
      CpuRelax();
    }
    Build<Results>(slot.response, &slot.response_words,
                   Open<Params>(slot.request, slot.request_words));
    // Release: publishes the response's words and response_words; pairs
    // with the host's acquire load in CallLoop.
    slot.seq.store(seq + 1, std::memory_order_release);
    want[i] = seq + 2;
    if (++i == n) i = 0;
  }
}

// The host: each iteration sends call k in slot k mod window, then, once
// `window` calls are in flight, takes the oldest response. Window 1 is one
// call at a time. Round trip: from building the request to the response
// checked. `window` is a power of two (a mask, not a division, picks the
// slot).
void CallLoop(benchmark::State& state, Slot* slots, size_t window) {
  const size_t mask = window - 1;
  std::vector<uint64_t> seq(window, 0);  // each slot's last response seq
  std::vector<uint64_t> sent_at(window);
  uint64_t sent = 0, done = 0;
  LatencyRecorder rec;
  auto take_oldest = [&]() -> bool {
    const size_t i = done & mask;
    Slot& slot = slots[i];
    const uint64_t answered = seq[i] + 2;
    const uint64_t give_up = MonotonicNanos() + 10'000'000'000ull;
    // Acquire: pairs with the worker's release store in Serve; the
    // response's words and response_words are visible.
    for (uint64_t polls = 1; slot.seq.load(std::memory_order_acquire) != answered; ++polls) {
      if (polls % 65536 == 0 && MonotonicNanos() > give_up) {
        Fail(state, "the worker did not answer within 10 s");
        return false;
      }
      CpuRelax();
    }
    seq[i] = answered;
    if (Open<Results>(slot.response, slot.response_words) != static_cast<int64_t>(done)) {
      Fail(state, "wrong echo");
      return false;
    }
    rec.Add(Ticks() - sent_at[i]);
    ++done;
    return true;
  };
  rec.Begin();
  for (auto _ : state) {
    const size_t i = sent & mask;
    Slot& slot = slots[i];
    sent_at[i] = Ticks();
    Build<Params>(slot.request, &slot.request_words, static_cast<int64_t>(sent));
    // Release: publishes the request's words and request_words; pairs with
    // the worker's acquire load in Serve.
    slot.seq.store(seq[i] + 1, std::memory_order_release);
    ++sent;
    if (sent - done == window && !take_oldest()) return;
  }
  while (done < sent) {
    if (!take_oldest()) return;
  }
  rec.End();
  rec.Report(state);
}

// Runs CallLoop over `window` slots against a worker thread, or a forked
// worker process when `process`.
void RunPair(benchmark::State& state, const Options& options, size_t window, bool process) {
  if (window == 0 || (window & (window - 1)) != 0) return Fail(state, "window not a power of two");
  const size_t bytes = window * sizeof(Slot);
  void* map = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (map == MAP_FAILED) return Fail(state, "mmap");
  Slot* slots = static_cast<Slot*>(map);
  for (size_t i = 0; i < window; ++i) new (&slots[i]) Slot;
  std::vector<uint64_t> want(window, 1);
  std::atomic<bool> pinned{true};
  std::thread thread;
  pid_t child = -1;
  if (process) {
    child = fork();
    if (child == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (!PinThisThread(options.worker_cpu)) _exit(3);
      Serve(slots, want.data(), window);
      _exit(0);
    }
    if (child < 0) {
      munmap(map, bytes);
      return Fail(state, "fork");
    }
  } else {
    thread = std::thread([&] {
      if (!PinThisThread(options.worker_cpu)) pinned = false;
      Serve(slots, want.data(), window);
    });
  }
  CallLoop(state, slots, window);
  for (size_t i = 0; i < window; ++i) {
    // Relaxed: kStop carries no data; the worker only returns.
    slots[i].seq.store(kStop, std::memory_order_relaxed);
  }
  int status = 0;
  if (process) {
    if (waitpid(child, &status, 0) != child) status = -1;
  } else {
    thread.join();
  }
  munmap(map, bytes);
  if (!pinned) Fail(state, "could not pin the worker thread");
  if (process && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
    Fail(state, "the worker process failed");
  }
}

void BM_CapnpShmThreads(benchmark::State& state, Options options) {
  RunPair(state, options, 1, /*process=*/false);
}

void BM_CapnpShmProcesses(benchmark::State& state, Options options) {
  RunPair(state, options, 1, /*process=*/true);
}

void BM_CapnpShmPipelined(benchmark::State& state, Options options) {
  RunPair(state, options, static_cast<size_t>(state.range(0)), /*process=*/false);
}

}  // namespace

void RegisterCapnpShm(const Options& options) {
  RunLength(benchmark::RegisterBenchmark("BM_CapnpShmThreads", BM_CapnpShmThreads, options),
            options, 1000);
  RunLength(benchmark::RegisterBenchmark("BM_CapnpShmProcesses", BM_CapnpShmProcesses, options),
            options, 1000);
  // The same number in flight as BM_WeftPipelined/256.
  RunLength(
      benchmark::RegisterBenchmark("BM_CapnpShmPipelined", BM_CapnpShmPipelined, options)->Arg(256),
      options, 512);
}

}  // namespace weft_bench
