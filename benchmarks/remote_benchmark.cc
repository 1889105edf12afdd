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
// Threads and CPUs: only the caller is pinned (the host thread, on
// --host_cpu, as in every row). Everything of the RPC runs where the
// scheduler puts it: the pool's remote-worker thread, the RpcServer's
// thread, its pool's thread worker and continuation thread — four threads
// on this project's two vCPUs, so pinning them by hand only decides which
// of them queue behind each other (pinned, the remote rows measured 2-3x
// slower than unpinned; the Cap'n Proto rows barely moved). The baselines
// place their server thread the same way. They are created from a thread
// whose affinity is every CPU (UnpinThisThread), which they inherit
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

// Runs `fn` on a thread free to run on every CPU, so that the threads it
// starts are too (see the top of the file); an error if it cannot unpin.
template <typename Fn>
absl::Status OnUnpinnedThread(Fn fn) {
  absl::Status status;
  std::thread starter([&] {
    if (!UnpinThisThread()) {
      status = absl::InternalError("could not let a thread run on every CPU");
      return;
    }
    fn();
  });
  starter.join();
  return status;
}

void RemoteEcho(benchmark::State& state, Transport transport) {
  TempDir dir;
  if (transport == Transport::kUnix && dir.path().empty()) {
    return Fail(state, "cannot make a temporary directory for the socket");
  }
  const std::string address =
      transport == Transport::kUnix ? "unix:" + dir.path() + "/s" : "tcp:127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<weft::RpcServer>> server;
  absl::StatusOr<BenchPool> pool = absl::UnknownError("not created");
  absl::Status placed = OnUnpinnedThread([&] {
    weft::PoolOptions served;
    served.workers = 1;
    weft::RpcServerOptions serve;
    serve.address = address;
    server = weft::RpcServer::Serve<Bench>([] { return std::make_unique<BenchImpl>(-1); }, served,
                                           serve);
    if (!server.ok()) return;
    weft::PoolOptions remote;
    remote.workers = 0;
    remote.remote_workers.push_back(weft::RemoteWorker{(*server)->address(), std::nullopt});
    pool = BenchPool::Create(remote);
  });
  if (!placed.ok()) return Fail(state, placed.ToString());
  if (!server.ok()) return Fail(state, "RpcServer::Serve: " + server.status().ToString());
  if (!pool.ok()) return Fail(state, "Pool::Create: " + pool.status().ToString());
  EchoLoop(state, *pool);
}  // the pool goes before the server: its connection closes first

void BM_WeftRemoteEchoUnix(benchmark::State& state, Options options) {
  (void)options;  // only the host thread is placed, by the harness
  RemoteEcho(state, Transport::kUnix);
}

void BM_WeftRemoteEchoTcp(benchmark::State& state, Options options) {
  (void)options;
  RemoteEcho(state, Transport::kTcp);
}

}  // namespace

void RegisterRemote(const Options& options) {
  RunLength(benchmark::RegisterBenchmark("BM_WeftRemoteEchoUnix", BM_WeftRemoteEchoUnix, options),
            options, 100);
  RunLength(benchmark::RegisterBenchmark("BM_WeftRemoteEchoTcp", BM_WeftRemoteEchoTcp, options),
            options, 100);
}

}  // namespace weft_bench
