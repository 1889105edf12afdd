// weft through a remote worker: the echo of BM_WeftEchoThread (the same
// EchoLoop), from a host thread to a pool whose only worker is remote, a
// weft RpcServer in this process serving a pool of one thread worker.
//
//   BM_WeftRemoteEchoUnix   the RpcServer on a Unix socket in a temporary
//                           directory
//   BM_WeftRemoteEchoTcp    the same on tcp:127.0.0.1:0 (loopback)
//
// Their baselines are BM_CapnpRpcEchoUnix / BM_CapnpRpcEchoTcp (baselines
// suite): plain Cap'n Proto RPC of the same echo over the same kind of
// socket, with the same placement. One call here is: host thread → submit
// ring → the pool's remote-worker thread (a KJ loop) → the RPC → the
// RpcServer's thread (a KJ loop) → the served pool's ring → its thread
// worker → back the same way, the served pool's continuation thread
// fulfilling the server's promise.
//
// Threads and CPUs: the host side on --host_cpu, the server side on
// --worker_cpu, as the client and the server of the Cap'n Proto baselines.
// The host thread (harness_main pins it) creates the client pool, so the
// remote-worker thread inherits its affinity. The RpcServer (and its pool)
// is started from a thread pinned to --worker_cpu, so the server's thread
// inherits that CPU, and so does the served pool's continuation thread,
// which the server's thread starts; the thread worker pins itself there
// (BenchImpl::OnStart). Affinity is inherited at thread creation
// (sched_setaffinity(2)); weft's threads never change it.
#include "benchmarks/remote_benchmark.h"

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "absl/status/statusor.h"
#include "benchmarks/bench.weft-rpc.h"
#include "benchmarks/bench.weft.h"
#include "benchmarks/bench_impl.h"
#include "benchmarks/echo_loop.h"
#include "runtime/rpc_server.h"

namespace weft_bench {
namespace {

using Bench = weftbench::Bench;
using BenchPool = weft::Pool<Bench>;

enum class Transport { kUnix, kTcp };

// A Bench RpcServer over a pool of one thread worker on `cpu`, its threads
// on `cpu` (see the top of the file), listening at `address`.
absl::StatusOr<std::unique_ptr<weft::RpcServer>> ServeOnCpu(int cpu, const std::string& address) {
  absl::StatusOr<std::unique_ptr<weft::RpcServer>> server;
  std::thread starter([&] {
    if (!PinThisThread(cpu)) {
      server = absl::InternalError("could not pin the RpcServer's starter to CPU " +
                                   std::to_string(cpu));
      return;
    }
    weft::PoolOptions served;
    served.workers = 1;
    weft::RpcServerOptions serve;
    serve.address = address;
    server = weft::RpcServer::Serve<Bench>([cpu] { return std::make_unique<BenchImpl>(cpu); },
                                           served, serve);
  });
  starter.join();
  return server;
}

void RemoteEcho(benchmark::State& state, const Options& options, Transport transport) {
  TempDir dir;
  if (transport == Transport::kUnix && dir.path().empty()) {
    return Fail(state, "cannot make a temporary directory for the socket");
  }
  absl::StatusOr<std::unique_ptr<weft::RpcServer>> server =
      ServeOnCpu(options.worker_cpu,
                 transport == Transport::kUnix ? "unix:" + dir.path() + "/s" : "tcp:127.0.0.1:0");
  if (!server.ok()) return Fail(state, "RpcServer::Serve: " + server.status().ToString());
  weft::PoolOptions remote;
  remote.workers = 0;
  remote.remote_workers.push_back(weft::RemoteWorker{(*server)->address(), std::nullopt});
  // On this thread: the remote-worker thread inherits --host_cpu.
  absl::StatusOr<BenchPool> pool = BenchPool::Create(remote);
  if (!pool.ok()) return Fail(state, "Pool::Create: " + pool.status().ToString());
  EchoLoop(state, *pool);
}  // the pool goes before the server: its connection closes first

void BM_WeftRemoteEchoUnix(benchmark::State& state, Options options) {
  RemoteEcho(state, options, Transport::kUnix);
}

void BM_WeftRemoteEchoTcp(benchmark::State& state, Options options) {
  RemoteEcho(state, options, Transport::kTcp);
}

}  // namespace

void RegisterRemote(const Options& options) {
  RunLength(benchmark::RegisterBenchmark("BM_WeftRemoteEchoUnix", BM_WeftRemoteEchoUnix, options),
            options, 100);
  RunLength(benchmark::RegisterBenchmark("BM_WeftRemoteEchoTcp", BM_WeftRemoteEchoTcp, options),
            options, 100);
}

}  // namespace weft_bench
