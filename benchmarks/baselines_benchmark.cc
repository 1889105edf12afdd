// The baselines weft is compared against, on the same payloads and CPUs.
//
//   BM_CondvarEcho              a mutex + condition-variable thread pool (one
//                               worker thread); each call is a task that
//                               fulfils a std::promise the host waits on
//   BM_CondvarPayload/B         the same pool; the task checksums the host's
//                               buffer in place (a thread pool needs no copy)
//   BM_FutexWake                raw futex hand-off, the floor of weft's
//                               wake-up path: the worker sleeps in FUTEX_WAIT,
//                               the host stores a request and FUTEX_WAKEs it,
//                               the worker answers in a word the host spins on
//   BM_FutexPingPong            both sides sleep: each direction is a
//                               FUTEX_WAKE of a sleeper
//   BM_CapnpRpcEcho             Cap'n Proto two-party RPC over a socketpair,
//                               the server (Bench::Server) in a forked process
//   BM_CapnpRpcPayload/B        the same, checksum(Data)
//   BM_CapnpRpcEchoUnix         the echo over a listening Unix socket, the
//                               server (EzRpcServer) on a thread of this
//                               process, any CPU: the baseline of
//                               BM_WeftRemoteEchoUnix
//   BM_CapnpRpcEchoTcp          the same over TCP loopback (127.0.0.1)
//   BM_PipePingPong             8 bytes each way over two pipes, to a forked
//                               process blocked in read()
//   BM_CapnpShm*                Cap'n Proto messages in shared memory with
//                               no runtime (capnp_shm_benchmark.cc)
//
// The host thread runs on --host_cpu; the worker thread or forked process on
// --worker_cpu, except the servers of BM_CapnpRpcEcho{Unix,Tcp}, which run
// on any CPU (as the weft rows they are the baselines of; remote_benchmark.cc).
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "benchmarks/bench.capnp.h"
#include "benchmarks/capnp_shm_benchmark.h"
#include "benchmarks/harness.h"
#include "capnp/ez-rpc.h"
#include "capnp/rpc-twoparty.h"
#include "kj/async-io.h"
#include "kj/io.h"

namespace weft_bench {
namespace {

// ---------------------------------------------------------------------------
// Mutex + condition-variable pool.

class CondvarPool {
 public:
  explicit CondvarPool(int cpu) : thread_([this, cpu] { Run(cpu); }) {}
  ~CondvarPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  void Submit(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      tasks_.push_back(std::move(task));
    }
    cv_.notify_one();
  }
  bool pinned() const { return pinned_.load(); }

 private:
  void Run(int cpu) {
    pinned_ = PinThisThread(cpu);
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      cv_.wait(lock, [this] { return stop_ || !tasks_.empty(); });
      if (tasks_.empty()) return;
      std::function<void()> task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stop_ = false;
  std::atomic<bool> pinned_{false};
  std::thread thread_;  // last: started once the rest is built
};

void BM_CondvarEcho(benchmark::State& state, Options options) {
  CondvarPool pool(options.worker_cpu);
  LatencyRecorder rec;
  int64_t v = 0;
  rec.Begin();
  for (auto _ : state) {
    const uint64_t t0 = Ticks();
    std::promise<int64_t> promise;
    std::future<int64_t> future = promise.get_future();
    pool.Submit([&promise, v] { promise.set_value(v); });
    if (future.get() != v) return Fail(state, "wrong echo");
    rec.Add(Ticks() - t0);
    ++v;
  }
  rec.End();
  rec.Report(state);
  if (!pool.pinned()) Fail(state, "could not pin the pool thread");
}

void BM_CondvarPayload(benchmark::State& state, Options options) {
  const size_t size = static_cast<size_t>(state.range(0));
  const std::vector<unsigned char> payload = MakePayload(size);
  const uint64_t expected = Checksum(payload.data(), payload.size());
  CondvarPool pool(options.worker_cpu);
  LatencyRecorder rec;
  rec.Begin();
  for (auto _ : state) {
    const uint64_t t0 = Ticks();
    std::promise<uint64_t> promise;
    std::future<uint64_t> future = promise.get_future();
    pool.Submit(
        [&promise, &payload] { promise.set_value(Checksum(payload.data(), payload.size())); });
    if (future.get() != expected) return Fail(state, "wrong checksum");
    rec.Add(Ticks() - t0);
  }
  rec.End();
  rec.Report(state);
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(size));
}

// ---------------------------------------------------------------------------
// Raw futex hand-offs.

struct alignas(64) FutexWords {
  alignas(64) std::atomic<uint32_t> request{0};   // the host bumps it per call
  alignas(64) std::atomic<uint32_t> sleeping{0};  // the worker advertises sleep
  alignas(64) std::atomic<uint32_t> response{0};  // the worker's answer
  alignas(64) std::atomic<uint32_t> host_sleeping{0};
  std::atomic<bool> stop{false};
};

constexpr uint32_t kStopRequest = ~uint32_t{0};
// The same margin as BM_WeftEchoSleeping: the flag is set just before the
// FUTEX_WAIT syscall, so wait a little longer to be sure the worker is in it.
constexpr uint64_t kAsleepMarginNs = 100'000;

// The worker sleeps before every request: advertise, re-check, FUTEX_WAIT
// (the protocol of runtime/wait.h, without the spin phase).
void FutexWorker(FutexWords* w, bool wake_host) {
  uint32_t seen = 0;
  for (;;) {
    uint32_t r;
    for (;;) {
      // Relaxed: ordered by the seq_cst fence below.
      w->sleeping.store(1, std::memory_order_relaxed);
      // Seq_cst fence: the advertisement before the re-check, against the
      // host's request store + fence + load of `sleeping`.
      std::atomic_thread_fence(std::memory_order_seq_cst);
      r = w->request.load(std::memory_order_acquire);
      if (r != seen) break;
      FutexWait(&w->request, seen);
    }
    w->sleeping.store(0, std::memory_order_relaxed);
    if (r == kStopRequest) return;
    seen = r;
    // Release: the answer; pairs with the host's acquire load.
    w->response.store(r, std::memory_order_release);
    if (wake_host) {
      std::atomic_thread_fence(std::memory_order_seq_cst);
      if (w->host_sleeping.load(std::memory_order_relaxed) != 0) FutexWake(&w->response);
    }
  }
}

void FutexHandOff(benchmark::State& state, const Options& options, bool host_sleeps) {
  FutexWords w;
  std::atomic<bool> pinned{true};
  std::thread worker([&] {
    if (!PinThisThread(options.worker_cpu)) pinned = false;
    FutexWorker(&w, host_sleeps);
  });
  LatencyRecorder rec;
  uint32_t seq = 0;
  rec.Begin();
  for (auto _ : state) {
    ++seq;
    if (!host_sleeps) {
      // Wait, untimed, for the worker to be asleep (as BM_WeftEchoSleeping).
      state.PauseTiming();
      while (w.sleeping.load(std::memory_order_acquire) == 0) SpinFor(2'000);
      SpinFor(kAsleepMarginNs);
      state.ResumeTiming();
    }
    const uint64_t t0 = Ticks();
    // Release: publishes the request; pairs with the worker's acquire load.
    w.request.store(seq, std::memory_order_release);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (w.sleeping.load(std::memory_order_relaxed) != 0) FutexWake(&w.request);
    if (host_sleeps) {
      for (;;) {
        w.host_sleeping.store(1, std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_seq_cst);
        if (w.response.load(std::memory_order_acquire) == seq) break;
        FutexWait(&w.response, seq - 1);
      }
      w.host_sleeping.store(0, std::memory_order_relaxed);
    } else {
      // Acquire: pairs with the worker's release store of the answer.
      while (w.response.load(std::memory_order_acquire) != seq) CpuRelax();
    }
    rec.Add(Ticks() - t0);
  }
  rec.End();
  w.request.store(kStopRequest, std::memory_order_release);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  FutexWake(&w.request);
  worker.join();
  rec.Report(state);
  if (!host_sleeps) state.counters.erase("calls_per_s");
  if (!pinned) Fail(state, "could not pin the worker thread");
}

void BM_FutexWake(benchmark::State& state, Options options) { FutexHandOff(state, options, false); }
void BM_FutexPingPong(benchmark::State& state, Options options) {
  FutexHandOff(state, options, true);
}

// ---------------------------------------------------------------------------
// Cap'n Proto two-party RPC, server in a forked process.

class BenchServer final : public weftbench::Bench::Server {
 protected:
  kj::Promise<void> echo(EchoContext context) override {
    context.getResults().setValue(context.getParams().getValue());
    return kj::READY_NOW;
  }
  kj::Promise<void> checksum(ChecksumContext context) override {
    const capnp::Data::Reader data = context.getParams().getData();
    context.getResults().setSum(Checksum(data.begin(), data.size()));
    return kj::READY_NOW;
  }
};

capnp::ReaderOptions LargeMessages() {
  capnp::ReaderOptions o;
  o.traversalLimitInWords = uint64_t{1} << 30;  // 16 MiB payloads and more
  return o;
}

// Forks the RPC server on `server_end` (the child closes its copy of
// `host_end`); returns its pid.
pid_t ForkRpcServer(kj::AutoCloseFd& server_end, kj::AutoCloseFd& host_end, int cpu) {
  const pid_t pid = fork();
  if (pid != 0) return pid;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  host_end = nullptr;
  if (!PinThisThread(cpu)) _exit(3);
  kj::AsyncIoContext io = kj::setupAsyncIo();
  kj::Own<kj::AsyncIoStream> stream = io.lowLevelProvider->wrapSocketFd(kj::mv(server_end));
  capnp::TwoPartyVatNetwork network(*stream, capnp::rpc::twoparty::Side::SERVER, LargeMessages());
  auto server = capnp::makeRpcServer(network, kj::heap<BenchServer>());
  network.onDisconnect().wait(io.waitScope);
  _exit(0);
}

template <typename Body>
void WithRpcClient(benchmark::State& state, const Options& options, Body&& body) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return Fail(state, "socketpair");
  }
  kj::AutoCloseFd host_end(fds[0]), server_end(fds[1]);
  const pid_t server = ForkRpcServer(server_end, host_end, options.worker_cpu);
  server_end = nullptr;
  {
    kj::AsyncIoContext io = kj::setupAsyncIo();
    // The stream owns the socket: when it goes, the server sees EOF and exits.
    kj::Own<kj::AsyncIoStream> stream = io.lowLevelProvider->wrapSocketFd(kj::mv(host_end));
    capnp::TwoPartyVatNetwork network(*stream, capnp::rpc::twoparty::Side::CLIENT, LargeMessages());
    auto rpc = capnp::makeRpcClient(network);
    capnp::word scratch[4]{};
    capnp::MallocMessageBuilder message(scratch);
    auto host_id = message.getRoot<capnp::rpc::twoparty::VatId>();
    host_id.setSide(capnp::rpc::twoparty::Side::SERVER);
    weftbench::Bench::Client client = rpc.bootstrap(host_id).castAs<weftbench::Bench>();
    try {
      body(client, io.waitScope);
    } catch (const kj::Exception& e) {
      Fail(state, std::string("capnp: ") + e.getDescription().cStr());
    }
  }
  int status = 0;
  waitpid(server, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) Fail(state, "the RPC server failed");
}

// The echo round trip of the Cap'n Proto RPC rows, on the client's event
// loop (this thread).
void CapnpEchoLoop(benchmark::State& state, weftbench::Bench::Client& client, kj::WaitScope& ws) {
  LatencyRecorder rec;
  int64_t v = 0;
  rec.Begin();
  for (auto _ : state) {
    const uint64_t t0 = Ticks();
    {
      auto request = client.echoRequest();
      request.setValue(v);
      auto response = request.send().wait(ws);
      if (response.getValue() != v) return Fail(state, "wrong echo");
    }
    rec.Add(Ticks() - t0);
    ++v;
  }
  rec.End();
  rec.Report(state);
}

void BM_CapnpRpcEcho(benchmark::State& state, Options options) {
  WithRpcClient(state, options, [&](weftbench::Bench::Client& client, kj::WaitScope& ws) {
    CapnpEchoLoop(state, client, ws);
  });
}

// The baselines of BM_WeftRemoteEcho{Unix,Tcp} (remote_benchmark.cc): the
// same echo over a listening Unix socket or TCP loopback, the server
// (EzRpcServer over BenchServer) on a thread of this process free to run on
// every CPU, as weft's RpcServer and remote worker are; the client
// (EzRpcClient) is the host thread, its event loop too.
enum class Transport { kUnix, kTcp };

void CapnpRpcEchoOver(benchmark::State& state, Transport transport) {
  TempDir dir;
  if (transport == Transport::kUnix && dir.path().empty()) {
    return Fail(state, "cannot make a temporary directory for the socket");
  }
  const std::string bind =
      transport == Transport::kUnix ? "unix:" + dir.path() + "/s" : "127.0.0.1:0";
  // The server's thread hands back where it listens (or why it cannot) and
  // a fulfiller that stops it.
  struct Listening {
    std::string address, error;
    kj::Own<kj::CrossThreadPromiseFulfiller<void>> stop;
  };
  std::promise<Listening> listening;
  std::thread server([&] {
    Listening l;
    bool told = false;  // set_value ran
    if (!UnpinThisThread()) {
      l.error = "could not let the RPC server thread run on every CPU";
      return listening.set_value(std::move(l));
    }
    kj::Maybe<kj::Exception> failed = kj::runCatchingExceptions([&] {
      capnp::EzRpcServer rpc(kj::heap<BenchServer>(), bind, 0, LargeMessages());
      kj::WaitScope& ws = rpc.getWaitScope();
      const unsigned port = rpc.getPort().wait(ws);
      auto stop = kj::newPromiseAndCrossThreadFulfiller<void>();
      l.address = transport == Transport::kUnix ? bind : "127.0.0.1:" + std::to_string(port);
      l.stop = kj::mv(stop.fulfiller);
      listening.set_value(std::move(l));
      told = true;
      stop.promise.wait(ws);
    });
    KJ_IF_MAYBE (e, failed) {
      // Told: it failed while serving, which the client sees as a failed
      // call; else the listen failed.
      if (!told) {
        l.error = std::string("capnp server: ") + e->getDescription().cStr();
        listening.set_value(std::move(l));
      }
    }
  });
  Listening l = listening.get_future().get();
  if (l.error.empty()) {
    try {
      capnp::EzRpcClient rpc(l.address, 0, LargeMessages());
      weftbench::Bench::Client client = rpc.getMain<weftbench::Bench>();
      CapnpEchoLoop(state, client, rpc.getWaitScope());
    } catch (const kj::Exception& e) {
      Fail(state, std::string("capnp: ") + e.getDescription().cStr());
    }
    l.stop->fulfill();  // after the client went: the server sees it disconnect first
  } else {
    Fail(state, l.error);
  }
  server.join();
}

void BM_CapnpRpcEchoUnix(benchmark::State& state, Options options) {
  (void)options;  // only the host thread is placed, by the harness
  CapnpRpcEchoOver(state, Transport::kUnix);
}

void BM_CapnpRpcEchoTcp(benchmark::State& state, Options options) {
  (void)options;
  CapnpRpcEchoOver(state, Transport::kTcp);
}

void BM_CapnpRpcPayload(benchmark::State& state, Options options) {
  const size_t size = static_cast<size_t>(state.range(0));
  const std::vector<unsigned char> payload = MakePayload(size);
  const uint64_t expected = Checksum(payload.data(), payload.size());
  WithRpcClient(state, options, [&](weftbench::Bench::Client& client, kj::WaitScope& ws) {
    LatencyRecorder rec;
    rec.Begin();
    for (auto _ : state) {
      const uint64_t t0 = Ticks();
      {
        auto request = client.checksumRequest();
        request.setData(capnp::Data::Reader(payload.data(), payload.size()));
        auto response = request.send().wait(ws);
        if (response.getSum() != expected) return Fail(state, "wrong checksum");
      }
      rec.Add(Ticks() - t0);
    }
    rec.End();
    rec.Report(state);
    state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(size));
  });
}

// ---------------------------------------------------------------------------
// Pipe ping-pong with a forked process.

// A pipe (O_CLOEXEC); false on failure.
bool MakePipe(kj::AutoCloseFd& read_end, kj::AutoCloseFd& write_end) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return false;
  read_end = kj::AutoCloseFd(fds[0]);
  write_end = kj::AutoCloseFd(fds[1]);
  return true;
}

bool ReadFull(int fd, void* p, size_t n) {
  char* c = static_cast<char*>(p);
  while (n > 0) {
    const ssize_t r = read(fd, c, n);
    if (r <= 0) return false;
    c += r;
    n -= size_t(r);
  }
  return true;
}

bool WriteFull(int fd, const void* p, size_t n) {
  const char* c = static_cast<const char*>(p);
  while (n > 0) {
    const ssize_t r = write(fd, c, n);
    if (r <= 0) return false;
    c += r;
    n -= size_t(r);
  }
  return true;
}

void BM_PipePingPong(benchmark::State& state, Options options) {
  kj::AutoCloseFd child_in, host_out, host_in, child_out;
  if (!MakePipe(child_in, host_out) || !MakePipe(host_in, child_out)) return Fail(state, "pipe");
  const pid_t child = fork();
  if (child == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    host_out = nullptr;
    host_in = nullptr;
    if (!PinThisThread(options.worker_cpu)) _exit(3);
    int64_t v;
    while (ReadFull(child_in, &v, sizeof(v))) {
      if (!WriteFull(child_out, &v, sizeof(v))) _exit(4);
    }
    _exit(0);
  }
  child_in = nullptr;
  child_out = nullptr;
  LatencyRecorder rec;
  int64_t v = 0;
  rec.Begin();
  for (auto _ : state) {
    const uint64_t t0 = Ticks();
    int64_t back = -1;
    if (!WriteFull(host_out, &v, sizeof(v)) || !ReadFull(host_in, &back, sizeof(back)) ||
        back != v) {
      Fail(state, "pipe echo");
      break;
    }
    rec.Add(Ticks() - t0);
    ++v;
  }
  rec.End();
  host_out = nullptr;  // the child reads EOF and exits
  host_in = nullptr;
  int status = 0;
  waitpid(child, &status, 0);
  rec.Report(state);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) Fail(state, "the echo process failed");
}

}  // namespace

void RegisterSuite(const Options& options) {
  RunLength(benchmark::RegisterBenchmark("BM_CondvarEcho", BM_CondvarEcho, options), options, 100);
  benchmark::RegisterBenchmark("BM_FutexWake", BM_FutexWake, options)
      ->Iterations(options.smoke   ? 3
                   : options.quick ? 300
                                   : 1000);
  RunLength(benchmark::RegisterBenchmark("BM_FutexPingPong", BM_FutexPingPong, options), options,
            100);
  RunLength(benchmark::RegisterBenchmark("BM_CapnpRpcEcho", BM_CapnpRpcEcho, options), options,
            100);
  RunLength(benchmark::RegisterBenchmark("BM_CapnpRpcEchoUnix", BM_CapnpRpcEchoUnix, options),
            options, 100);
  RunLength(benchmark::RegisterBenchmark("BM_CapnpRpcEchoTcp", BM_CapnpRpcEchoTcp, options),
            options, 100);
  RunLength(benchmark::RegisterBenchmark("BM_PipePingPong", BM_PipePingPong, options), options,
            100);
  RegisterCapnpShm(options);
  for (int64_t size : PayloadSizes(options)) {
    RunLength(
        benchmark::RegisterBenchmark("BM_CondvarPayload", BM_CondvarPayload, options)->Arg(size),
        options, 3);
    RunLength(
        benchmark::RegisterBenchmark("BM_CapnpRpcPayload", BM_CapnpRpcPayload, options)->Arg(size),
        options, 3);
  }
}

}  // namespace weft_bench
