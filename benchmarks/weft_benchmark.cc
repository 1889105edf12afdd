// weft itself: the Bench interface served by one worker, called through the
// generated stub.
//
//   BM_WeftEchoThread          echo(int64) round trip, thread worker
//   BM_WeftEchoStatsOff        the same with PoolOptions::stats off
//   BM_WeftEchoProcess         the same, process worker (bench_worker)
//   BM_WeftEchoSleeping        the same, thread worker asleep on its futex
//                              before each call (the wake-up path)
//   BM_WeftEchoThen            echo whose result arrives through Future::Then
//                              (the continuation thread); the caller sleeps
//                              until the callback ran
//   BM_WeftEchoQueue           echo through a CompletionQueue: Add, Next()
//   BM_WeftStreamThread        sink(int64), a `-> stream` method: the time until
//                              the call is queued (no result; one Flush at the end)
//   BM_WeftPipelined/W         echo with W calls in flight from one thread
//   BM_WeftPipelinedBatched/W/B  the same, sent in weft::Batch bursts of B
//   BM_WeftHostThreads/N       N host threads calling one worker at once
//   BM_WeftScaling/N           N host threads, each calling its own of N
//                              workers (aggregate calls/s); needs 2N cores,
//                              skipped with the count otherwise
//   BM_WeftIdleCpu             a thread-worker pool and a process-worker pool
//                              gone idle after some calls: the CPU seconds
//                              this process (but the measuring thread) and
//                              the worker processes use per wall second
//                              (idle_cpu_s_per_s; goal ~0), from the
//                              threads' /proc/PID/task/TID/schedstat
//   BM_WeftPayloadThread/B     checksum(Data of B bytes): the host copies B
//                              bytes into the request in shared memory, the
//                              worker reads every byte and returns the sum
//   BM_WeftPayloadProcess/B    the same, process worker
//   BM_WeftRemoteEcho{Unix,Tcp}  echo through a remote worker over a Unix
//                              socket / TCP loopback (remote_benchmark.cc)
//
// The host thread runs on --host_cpu, the worker on --worker_cpu (pinned in
// BenchImpl::OnStart). BM_WeftHostThreads pins all its host threads to
// --host_cpu. BM_WeftScaling pins host thread k to --host_cpu + 2k and
// worker k to --worker_cpu + 2k (pairs of cores, as the defaults 0 and 1).
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "benchmarks/bench.weft.h"
#include "benchmarks/bench_impl.h"
#include "benchmarks/echo_loop.h"
#include "benchmarks/harness.h"
#include "benchmarks/remote_benchmark.h"

namespace weft_bench {
namespace {

using Bench = weftbench::Bench;
using BenchPool = weft::Pool<Bench>;

// The CPU of the k-th of the pairs of cores that start at `first` (-1: not
// pinned).
int PairCpu(int first, int k) { return first < 0 ? -1 : first + 2 * k; }

// Thread workers: worker k on PairCpu(--worker_cpu, k). `balancer`, when
// set, picks the worker for each call.
absl::StatusOr<BenchPool> ThreadPool(const Options& options, bool stats = true, int workers = 1,
                                     std::shared_ptr<weft::Balancer> balancer = nullptr) {
  weft::PoolOptions pool_options;
  pool_options.workers = workers;
  pool_options.stats = stats;
  pool_options.custom_balancer = std::move(balancer);
  const int cpu = options.worker_cpu;
  auto next = std::make_shared<std::atomic<int>>(0);
  return BenchPool::Create(pool_options, [cpu, next] {
    // Relaxed: only that each worker gets an index of its own matters.
    const int k = next->fetch_add(1, std::memory_order_relaxed);
    return std::make_unique<BenchImpl>(PairCpu(cpu, k));
  });
}

// Process workers: bench_worker, started by the pool (the one-argument
// Create: the worker binary makes its own skeleton).
absl::StatusOr<BenchPool> ProcessPool(const Options& options) {
  const std::string worker = FindRunfile(options, "weft/benchmarks/bench_worker");
  if (worker.empty()) {
    return absl::NotFoundError("weft/benchmarks/bench_worker not found in the runfiles");
  }
  setenv(kWorkerCpuEnv, std::to_string(options.worker_cpu).c_str(), 1);
  weft::PoolOptions pool_options;
  pool_options.workers = 1;
  pool_options.runtime = weft::WorkerRuntime::kProcess;
  pool_options.worker_command = {worker};
  return BenchPool::Create(pool_options);
}

// Makes the pool or marks the row failed; nullopt then.
std::optional<BenchPool> MakePool(benchmark::State& state, const Options& options, bool process) {
  absl::StatusOr<BenchPool> pool = process ? ProcessPool(options) : ThreadPool(options);
  if (pool.ok()) return *std::move(pool);
  Fail(state, "Pool::Create: " + pool.status().ToString());
  return std::nullopt;
}

void BM_WeftEchoThread(benchmark::State& state, Options options) {
  std::optional<BenchPool> pool = MakePool(state, options, false);
  if (pool) EchoLoop(state, *pool);
}

// The same with PoolOptions::stats off: what the stats cost a small call.
void BM_WeftEchoStatsOff(benchmark::State& state, Options options) {
  absl::StatusOr<BenchPool> pool = ThreadPool(options, /*stats=*/false);
  if (!pool.ok()) return Fail(state, "Pool::Create: " + pool.status().ToString());
  EchoLoop(state, *pool);
}

// One-way calls: each iteration times one streamed call until it is queued,
// which includes settling earlier ones and waiting for room when the worker
// is behind. One Flush after the loop checks that all arrived in order.
void BM_WeftStreamThread(benchmark::State& state, Options options) {
  std::optional<BenchPool> pool = MakePool(state, options, false);
  if (!pool) return;
  weft::Stub<Bench> stub = pool->stub();
  LatencyRecorder rec;
  int64_t v = 0;
  rec.Begin();
  for (auto _ : state) {
    const uint64_t t0 = Ticks();
    absl::Status queued = stub.sink(v);
    rec.Add(Ticks() - t0);
    if (!queued.ok()) return Fail(state, queued.ToString());
    ++v;
  }
  absl::Status flushed = stub.Flush();
  rec.End();
  if (!flushed.ok()) return Fail(state, flushed.ToString());
  rec.Report(state);
}

void BM_WeftEchoProcess(benchmark::State& state, Options options) {
  std::optional<BenchPool> pool = MakePool(state, options, true);
  if (pool) EchoLoop(state, *pool);
}

// Resolution to callback: the same echo, its result delivered by a Then
// callback on the pool's continuation thread. The calling thread sleeps on
// a futex until the callback ran (the continuation thread is not pinned and
// needs a CPU: spinning here would starve it on two cores).
void BM_WeftEchoThen(benchmark::State& state, Options options) {
  std::optional<BenchPool> pool = MakePool(state, options, false);
  if (!pool) return;
  weft::Stub<Bench> stub = pool->stub();
  LatencyRecorder rec;
  std::atomic<uint32_t> delivered{0};
  bool wrong = false;  // written by the callback before its release below
  int64_t v = 0;
  rec.Begin();
  for (auto _ : state) {
    const uint64_t t0 = Ticks();
    // Relaxed: the previous callback's increment was acquired by the loop
    // below in the last iteration; nobody else bumps it meanwhile.
    const uint32_t before = delivered.load(std::memory_order_relaxed);
    stub.echo(v).Then([&delivered, &wrong, v](auto r) {
      if (!r.ok() || r->getValue() != v) wrong = true;
      // Release: publishes `wrong`; pairs with the acquire loads below.
      delivered.fetch_add(1, std::memory_order_release);
      delivered.notify_one();
    });
    // Acquire: pairs with the callback's release increment.
    while (delivered.load(std::memory_order_acquire) == before) {
      delivered.wait(before, std::memory_order_acquire);
    }
    rec.Add(Ticks() - t0);
    if (wrong) return Fail(state, "wrong echo through Then");
    ++v;
  }
  rec.End();
  rec.Report(state);
}

// The same echo through a CompletionQueue: Add, then Next() (which sleeps).
void BM_WeftEchoQueue(benchmark::State& state, Options options) {
  std::optional<BenchPool> pool = MakePool(state, options, false);
  if (!pool) return;
  absl::StatusOr<weft::CompletionQueue> cq = weft::CompletionQueue::Create();
  if (!cq.ok()) return Fail(state, cq.status().ToString());
  weft::Stub<Bench> stub = pool->stub();
  LatencyRecorder rec;
  int64_t v = 0;
  rec.Begin();
  for (auto _ : state) {
    const uint64_t t0 = Ticks();
    cq->Add(stub.echo(v), static_cast<uint64_t>(v));
    std::optional<weft::Completion> c = cq->Next();
    if (!c.has_value()) return Fail(state, "the queue returned nothing");
    {
      auto r = c->Get<Bench::EchoResults>();
      if (!r.ok() || r->getValue() != v || c->tag() != static_cast<uint64_t>(v)) {
        return Fail(state, r.ok() ? "wrong echo through the queue" : r.status().ToString());
      }
    }
    rec.Add(Ticks() - t0);
    ++v;
  }
  rec.End();
  rec.Report(state);
}

// Waits until the worker has advertised that it sleeps, then 100 us more so
// that it is inside FUTEX_WAIT (the flag is set just before the syscall).
// The same wait precedes each call of BM_FutexWake (baselines).
constexpr uint64_t kAsleepMarginNs = 100'000;

void BM_WeftEchoSleeping(benchmark::State& state, Options options) {
  std::optional<BenchPool> pool = MakePool(state, options, false);
  if (!pool) return;
  weft::Stub<Bench> stub = pool->stub();
  LatencyRecorder rec;
  int64_t v = 0;
  rec.Begin();
  for (auto _ : state) {
    state.PauseTiming();
    const uint64_t give_up = MonotonicNanos() + 5'000'000'000ull;
    while (!pool->Stats().workers[0].sleeping) {
      if (MonotonicNanos() > give_up) return Fail(state, "the worker never went to sleep");
      SpinFor(2'000);
    }
    SpinFor(kAsleepMarginNs);
    state.ResumeTiming();
    const uint64_t t0 = Ticks();
    {
      auto r = stub.echo(v).Get();
      if (!r.ok() || r->getValue() != v) {
        return Fail(state, r.ok() ? "wrong echo" : r.status().ToString());
      }
    }
    rec.Add(Ticks() - t0);
    ++v;
  }
  rec.End();
  rec.Report(state);
  state.counters.erase("calls_per_s");  // mostly waiting for the worker to sleep
}

// One iteration sends one call; once `window` calls are in flight it first
// takes the oldest result. Round trip = send to result read.
// `burst` > 0: each `burst` calls are sent in one weft::Batch (published
// together), and `burst` results are taken before the next burst.
void Pipelined(benchmark::State& state, const Options& options, uint64_t burst) {
  std::optional<BenchPool> pool = MakePool(state, options, false);
  if (!pool) return;
  const uint64_t window = static_cast<uint64_t>(state.range(0));
  std::optional<weft::Batch> batch;
  weft::Stub<Bench> stub = pool->stub();
  std::vector<weft::Future<Bench::EchoResults>> futures(window);
  std::vector<uint64_t> sent_at(window);
  uint64_t sent = 0, done = 0;
  LatencyRecorder rec;
  auto take_oldest = [&]() -> bool {
    const uint64_t i = done % window;
    auto r = futures[i].Get();
    if (!r.ok() || r->getValue() != static_cast<int64_t>(done)) {
      Fail(state, r.ok() ? "wrong echo" : r.status().ToString());
      return false;
    }
    rec.Add(Ticks() - sent_at[i]);
    ++done;
    return true;
  };
  rec.Begin();
  for (auto _ : state) {
    if (sent - done == window) {
      batch.reset();  // publishes the open burst before waiting on it
      for (uint64_t k = 0; k < std::max<uint64_t>(burst, 1); ++k) {
        if (!take_oldest()) return;
      }
    }
    if (burst > 0 && !batch) batch.emplace(stub);
    const uint64_t i = sent % window;
    sent_at[i] = Ticks();
    futures[i] = stub.echo(static_cast<int64_t>(sent));
    ++sent;
    if (burst > 0 && sent % burst == 0) batch.reset();
  }
  batch.reset();
  while (done < sent) {
    if (!take_oldest()) return;
  }
  rec.End();
  rec.Report(state);
}

void BM_WeftPipelined(benchmark::State& state, Options options) { Pipelined(state, options, 0); }

void BM_WeftPipelinedBatched(benchmark::State& state, Options options) {
  Pipelined(state, options, static_cast<uint64_t>(state.range(1)));
}

// `threads` host threads, host thread t pinned to cpu_of(t) with its own
// stub, each making the same number of echo calls at once; the iteration's
// time is the wall time until all are done, the round trips all of theirs.
// Before its calls, host thread t runs before_calls(t) (may be empty).
void HostThreadsLoop(benchmark::State& state, BenchPool& pool, const Options& options, int threads,
                     const std::function<int(int)>& cpu_of,
                     const std::function<void(int)>& before_calls) {
  const int calls = options.smoke ? 20 : options.quick ? 10'000 : 40'000;
  LatencyRecorder all;
  for (auto _ : state) {
    std::vector<LatencyRecorder> recs(threads, LatencyRecorder(calls));
    std::vector<std::string> errors(threads);
    std::vector<std::thread> hosts;
    const uint64_t start = MonotonicNanos();
    all.Begin();
    for (int t = 0; t < threads; ++t) {
      hosts.emplace_back([&, t] {
        if (!PinThisThread(cpu_of(t))) {
          errors[t] = "could not pin a host thread to CPU " + std::to_string(cpu_of(t));
          return;
        }
        if (before_calls) before_calls(t);
        weft::Stub<Bench> stub = pool.stub();
        for (int i = 0; i < calls; ++i) {
          const int64_t v = int64_t{t} << 32 | i;
          const uint64_t t0 = Ticks();
          {
            auto r = stub.echo(v).Get();
            if (!r.ok() || r->getValue() != v) {
              errors[t] = r.ok() ? "wrong echo" : r.status().ToString();
              return;
            }
          }
          recs[t].Add(Ticks() - t0);
        }
      });
    }
    for (std::thread& h : hosts) h.join();
    all.End();
    state.SetIterationTime(double(MonotonicNanos() - start) * 1e-9);
    for (int t = 0; t < threads; ++t) {
      if (!errors[t].empty()) return Fail(state, errors[t]);
      all.Merge(recs[t]);
    }
  }
  all.Report(state);
}

void BM_WeftHostThreads(benchmark::State& state, Options options) {
  std::optional<BenchPool> pool = MakePool(state, options, false);
  if (!pool) return;
  HostThreadsLoop(
      state, *pool, options, static_cast<int>(state.range(0)),
      [&](int) { return options.host_cpu; }, nullptr);
}

// The worker the calling host thread of BM_WeftScaling owns.
thread_local size_t own_worker = 0;

// Sends each call to the calling thread's own_worker: N independent
// host-worker pairs.
class OwnWorker final : public weft::Balancer {
 public:
  size_t Pick(absl::Span<const weft::WorkerLoad>) override { return own_worker; }
};

void BM_WeftScaling(benchmark::State& state, Options options) {
  const int n = static_cast<int>(state.range(0));
  const unsigned cores = std::thread::hardware_concurrency();
  if (cores < 2u * n) {
    return Skip(state, "needs " + std::to_string(2 * n) + " cores (2N, N = " + std::to_string(n) +
                           "); this machine has " + std::to_string(cores));
  }
  absl::StatusOr<BenchPool> pool =
      ThreadPool(options, /*stats=*/true, n, std::make_shared<OwnWorker>());
  if (!pool.ok()) return Fail(state, "Pool::Create: " + pool.status().ToString());
  HostThreadsLoop(
      state, *pool, options, n, [&](int t) { return PairCpu(options.host_cpu, t); },
      [](int t) { own_worker = static_cast<size_t>(t); });
}

// CPU seconds of the threads of the process at `proc` ("/proc/PID") but
// thread `skip_tid`: the sum of the first field of each
// task/<tid>/schedstat (nanoseconds on a CPU); nullopt where there is no
// schedstat. A thread that exits between two readings takes its time
// with it; an idle pool's threads live on.
std::optional<double> TasksCpuSeconds(const std::string& proc, long skip_tid) {
  std::error_code error;
  double ns = 0;
  bool any = false;
  for (const auto& task : std::filesystem::directory_iterator(proc + "/task", error)) {
    if (task.path().filename() == std::to_string(skip_tid)) continue;
    std::ifstream in(task.path() / "schedstat");
    double on_cpu = 0;
    if (in >> on_cpu) {
      ns += on_cpu;
      any = true;
    }
  }
  if (!any) return std::nullopt;
  return ns * 1e-9;
}

// CPU seconds of this process's threads but the calling one (which
// measures, and would count its own reading of /proc): the pools'
// host-side, supervisor, continuation and thread-worker threads. Without
// schedstat, getrusage's figure for the whole process.
double OtherThreadsCpuSeconds() {
  if (auto s = TasksCpuSeconds("/proc/self", static_cast<long>(gettid()))) return *s;
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
}

// CPU seconds of process `pid`, all its threads (TasksCpuSeconds), or,
// where there is no schedstat, fields 14 and 15 of /proc/<pid>/stat (user
// and system time in clock ticks: 10 ms, coarse for an idle process). -1
// when neither can be read.
double ProcessCpuSeconds(int pid) {
  const std::string proc = "/proc/" + std::to_string(pid);
  if (auto s = TasksCpuSeconds(proc, 0)) return *s;
  std::ifstream in(proc + "/stat");
  std::string stat;
  std::getline(in, stat);
  const size_t paren = stat.rfind(')');  // the command may hold spaces
  if (paren == std::string::npos) return -1;
  std::istringstream fields(stat.substr(paren + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i >= 14) ticks += std::atof(field.c_str());
  }
  return ticks / double(sysconf(_SC_CLK_TCK));
}

// Two pools, one of thread workers and one of process workers, each served
// some calls and then left alone until every worker sleeps; then, over a
// wall-clock window (1 s, 0.2 s with --smoke), the CPU time this process's
// other threads (host side, supervisor, continuation and thread workers)
// and the worker processes used. Reported as idle_cpu_s_per_s; no calls are timed.
void BM_WeftIdleCpu(benchmark::State& state, Options options) {
  std::optional<BenchPool> threads = MakePool(state, options, false);
  if (!threads) return;
  std::optional<BenchPool> processes = MakePool(state, options, true);
  if (!processes) return;
  for (BenchPool* pool : {&*threads, &*processes}) {
    weft::Stub<Bench> stub = pool->stub();
    for (int64_t v = 0; v < 100; ++v) {
      auto r = stub.echo(v).Get();
      if (!r.ok() || r->getValue() != v) {
        return Fail(state, r.ok() ? "wrong echo" : r.status().ToString());
      }
    }
  }
  const uint64_t window_ns = options.smoke ? 200'000'000 : 1'000'000'000;
  for (auto _ : state) {
    const uint64_t give_up = MonotonicNanos() + 5'000'000'000ull;
    for (BenchPool* pool : {&*threads, &*processes}) {
      while (!pool->Stats().workers[0].sleeping) {
        if (MonotonicNanos() > give_up) return Fail(state, "a worker never went to sleep");
        SpinFor(1'000'000);
      }
    }
    std::vector<int> pids;
    for (const weft::WorkerStats& w : processes->Stats().workers) pids.push_back(w.pid);
    auto workers_cpu = [&] {
      double sum = 0;
      for (int pid : pids) sum += ProcessCpuSeconds(pid);
      return sum;
    };
    const double self0 = OtherThreadsCpuSeconds(), workers0 = workers_cpu();
    const uint64_t t0 = MonotonicNanos();
    const timespec window{static_cast<time_t>(window_ns / 1'000'000'000),
                          static_cast<long>(window_ns % 1'000'000'000)};
    nanosleep(&window, nullptr);
    const double wall = double(MonotonicNanos() - t0) * 1e-9;
    const double self = OtherThreadsCpuSeconds() - self0, workers = workers_cpu() - workers0;
    if (workers0 < 0 || workers < 0) return Fail(state, "cannot read a worker's /proc/PID/stat");
    state.SetIterationTime(wall);
    state.counters["idle_cpu_s_per_s"] = (self + workers) / wall;
    state.counters["idle_cpu_self_s_per_s"] = self / wall;
    state.counters["idle_cpu_workers_s_per_s"] = workers / wall;
  }
}

void PayloadLoop(benchmark::State& state, BenchPool& pool) {
  const size_t size = static_cast<size_t>(state.range(0));
  const std::vector<unsigned char> payload = MakePayload(size);
  const uint64_t expected = Checksum(payload.data(), payload.size());
  weft::Stub<Bench> stub = pool.stub();
  LatencyRecorder rec;
  rec.Begin();
  for (auto _ : state) {
    const uint64_t t0 = Ticks();
    {
      auto r = stub.checksum(capnp::Data::Reader(payload.data(), payload.size())).Get();
      if (!r.ok() || r->getSum() != expected) {
        return Fail(state, r.ok() ? "wrong checksum" : r.status().ToString());
      }
    }
    rec.Add(Ticks() - t0);
  }
  rec.End();
  rec.Report(state);
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(size));
}

void BM_WeftPayloadThread(benchmark::State& state, Options options) {
  std::optional<BenchPool> pool = MakePool(state, options, false);
  if (pool) PayloadLoop(state, *pool);
}

void BM_WeftPayloadProcess(benchmark::State& state, Options options) {
  std::optional<BenchPool> pool = MakePool(state, options, true);
  if (pool) PayloadLoop(state, *pool);
}

}  // namespace

void RegisterSuite(const Options& options) {
  RunLength(benchmark::RegisterBenchmark("BM_WeftEchoThread", BM_WeftEchoThread, options), options,
            100);
  RunLength(benchmark::RegisterBenchmark("BM_WeftEchoStatsOff", BM_WeftEchoStatsOff, options),
            options, 100);
  RunLength(benchmark::RegisterBenchmark("BM_WeftEchoProcess", BM_WeftEchoProcess, options),
            options, 100);
  RunLength(benchmark::RegisterBenchmark("BM_WeftEchoThen", BM_WeftEchoThen, options), options,
            100);
  RunLength(benchmark::RegisterBenchmark("BM_WeftEchoQueue", BM_WeftEchoQueue, options), options,
            100);
  RunLength(benchmark::RegisterBenchmark("BM_WeftStreamThread", BM_WeftStreamThread, options),
            options, 100);
  RegisterRemote(options);
  // Each call first waits for the worker's spin window to run out.
  benchmark::RegisterBenchmark("BM_WeftEchoSleeping", BM_WeftEchoSleeping, options)
      ->Iterations(options.smoke   ? 3
                   : options.quick ? 300
                                   : 1000);
  for (int window : {64, 256}) {
    RunLength(
        benchmark::RegisterBenchmark("BM_WeftPipelined", BM_WeftPipelined, options)->Arg(window),
        options, 2 * window);
  }
  RunLength(
      benchmark::RegisterBenchmark("BM_WeftPipelinedBatched", BM_WeftPipelinedBatched, options)
          ->Args({256, 64}),
      options, 512);
  for (int threads : {2, 4}) {
    benchmark::RegisterBenchmark("BM_WeftHostThreads", BM_WeftHostThreads, options)
        ->Arg(threads)
        ->Iterations(1)
        ->UseManualTime();
  }
  for (int n : {1, 2, 4}) {
    benchmark::RegisterBenchmark("BM_WeftScaling", BM_WeftScaling, options)
        ->Arg(n)
        ->Iterations(1)
        ->UseManualTime();
  }
  benchmark::RegisterBenchmark("BM_WeftIdleCpu", BM_WeftIdleCpu, options)
      ->Iterations(1)
      ->UseManualTime();
  for (int64_t size : PayloadSizes(options)) {
    RunLength(benchmark::RegisterBenchmark("BM_WeftPayloadThread", BM_WeftPayloadThread, options)
                  ->Arg(size),
              options, 3);
    RunLength(benchmark::RegisterBenchmark("BM_WeftPayloadProcess", BM_WeftPayloadProcess, options)
                  ->Arg(size),
              options, 3);
  }
}

}  // namespace weft_bench
