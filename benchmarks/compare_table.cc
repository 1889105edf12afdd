#include "benchmarks/compare_table.h"

#include <map>

namespace weft_bench {

const std::vector<std::string> kSuites = {"floor", "weft", "baselines", "iceoryx"};

std::string SuiteOf(const std::string& name) {
  if (name.rfind("BM_Floor", 0) == 0) return "floor";
  if (name.rfind("BM_Weft", 0) == 0) return "weft";
  if (name.rfind("BM_Iceoryx", 0) == 0) return "iceoryx";
  return "baselines";
}

const std::vector<std::string> kCounters = {"p50_ns", "p99_ns", "calls_per_s", "idle_cpu_s_per_s"};

const std::vector<Series> kPayloadSeries = {
    {"weft (thread worker)", "BM_WeftPayloadThread", "#d62728"},
    {"weft (process worker)", "BM_WeftPayloadProcess", "#ff7f0e"},
    {"iceoryx request/response", "BM_IceoryxPayload", "#2ca02c"},
    {"mutex+condvar pool", "BM_CondvarPayload", "#1f77b4"},
    {"Cap'n Proto RPC (socketpair)", "BM_CapnpRpcPayload", "#9467bd"},
};

const std::vector<Ratio> kRatios = {
    {"weft_over_floor", "BM_WeftEchoThread", "BM_FloorThreads",
     "weft thread-worker small call p50 ÷ thread cache-line ping-pong p50", "≤ 3"},
    {"iceoryx_over_weft", "BM_IceoryxEcho", "BM_WeftEchoThread",
     "iceoryx request/response p50 ÷ weft p50", "≥ 8"},
    {"capnp_rpc_over_weft", "BM_CapnpRpcEcho", "BM_WeftEchoThread",
     "Cap'n Proto RPC p50 ÷ weft p50", "≥ 200"},
    {"condvar_over_weft", "BM_CondvarEcho", "BM_WeftEchoThread",
     "mutex+condvar pool p50 ÷ weft p50", "≥ 150"},
    {"stats_on_over_off", "BM_WeftEchoThread", "BM_WeftEchoStatsOff",
     "weft small call p50 with stats (the default) ÷ with PoolOptions::stats off", "≤ 1.03"},
    {"process_over_thread", "BM_WeftEchoProcess", "BM_WeftEchoThread",
     "weft process-worker p50 ÷ weft thread-worker p50", "≤ 1.15"},
    {"sleeping_over_futex", "BM_WeftEchoSleeping", "BM_FutexWake",
     "weft wake-from-sleep p50 ÷ raw futex hand-off p50", "≤ 1.15"},
    {"then_over_get", "BM_WeftEchoThen", "BM_WeftEchoThread",
     "echo delivered by a Then callback p50 ÷ the same echo by Get() p50", "µs, no ms steps"},
    {"queue_over_get", "BM_WeftEchoQueue", "BM_WeftEchoThread",
     "echo delivered by CompletionQueue::Next p50 ÷ by Get() p50", "µs, no ms steps"},
    {"stream_over_echo", "BM_WeftStreamThread", "BM_WeftEchoThread",
     "a streamed (-> stream) call, queued, p50 ÷ the small round trip p50", "< 0.5"},
    {"weft_over_capnp_shm", "BM_WeftEchoThread", "BM_CapnpShmThreads",
     "weft thread-worker small call p50 ÷ bare Cap'n Proto-in-shared-memory ping-pong p50 "
     "(threads)",
     "reference"},
    {"capnp_shm_over_floor", "BM_CapnpShmThreads", "BM_FloorThreads",
     "bare Cap'n Proto-in-shared-memory ping-pong p50 ÷ thread cache-line ping-pong p50",
     "reference"},
    {"remote_unix_over_capnp_rpc_unix", "BM_WeftRemoteEchoUnix", "BM_CapnpRpcEchoUnix",
     "weft echo through a remote worker p50 ÷ plain Cap'n Proto RPC echo p50, both over a Unix "
     "socket",
     "≈ 1"},
    {"remote_tcp_over_capnp_rpc_tcp", "BM_WeftRemoteEchoTcp", "BM_CapnpRpcEchoTcp",
     "weft echo through a remote worker p50 ÷ plain Cap'n Proto RPC echo p50, both over TCP "
     "loopback",
     "≈ 1"},
    {"remote_unix_over_shm", "BM_WeftRemoteEchoUnix", "BM_WeftEchoThread",
     "weft echo through a remote worker over a Unix socket p50 ÷ through a thread worker in "
     "shared memory p50 (for scale)",
     "reference"},
    {"pipelined_calls_per_s", "BM_WeftPipelined/256", "",
     "weft calls/s, 256 in flight from one thread to one worker", "≥ 20 M", "calls_per_s"},
    {"pipelined_over_capnp_shm_pipelined", "BM_WeftPipelined/256", "BM_CapnpShmPipelined/256",
     "weft calls/s ÷ bare Cap'n Proto-in-shared-memory calls/s, 256 in flight from one thread",
     "reference", "calls_per_s"},
    {"batched_over_pipelined", "BM_WeftPipelinedBatched/256/64", "BM_WeftPipelined/256",
     "weft calls/s, 256 in flight sent in weft::Batch bursts of 64 ÷ sent one by one", "reference",
     "calls_per_s"},
    {"idle_cpu_s_per_s", "BM_WeftIdleCpu", "",
     "CPU seconds per wall second of an idle thread-worker pool and process-worker pool (this "
     "process's threads but the measuring one, and the worker processes)",
     "≈ 0", "idle_cpu_s_per_s"},
};

std::string Describe(const std::string& name) {
  static const std::map<std::string, std::string> kWhat = {
      {"BM_FloorThreads", "floor: cache-line ping-pong, two threads"},
      {"BM_FloorProcesses", "floor: cache-line ping-pong, two processes (memfd)"},
      {"BM_WeftEchoThread", "weft echo, thread worker"},
      {"BM_WeftEchoStatsOff", "weft echo, thread worker, PoolOptions::stats off"},
      {"BM_WeftEchoProcess", "weft echo, process worker"},
      {"BM_WeftEchoSleeping", "weft echo, worker asleep before each call"},
      {"BM_WeftEchoThen", "weft echo, result by Then callback (caller sleeps)"},
      {"BM_WeftEchoQueue", "weft echo, result by CompletionQueue::Next"},
      {"BM_WeftStreamThread", "weft streamed call (-> stream), until queued"},
      {"BM_WeftPipelined/64", "weft echo, 64 in flight"},
      {"BM_WeftPipelined/256", "weft echo, 256 in flight"},
      {"BM_WeftPipelinedBatched/256/64",
       "weft echo, 256 in flight, sent in weft::Batch bursts of 64"},
      {"BM_WeftHostThreads/2", "weft echo, 2 host threads (both on host CPU), 1 worker"},
      {"BM_WeftHostThreads/4", "weft echo, 4 host threads (all on host CPU), 1 worker"},
      {"BM_WeftScaling/1", "weft echo, 1 host thread → its own worker (aggregate)"},
      {"BM_WeftScaling/2", "weft echo, 2 host threads → 2 workers, a pair each (aggregate)"},
      {"BM_WeftScaling/4", "weft echo, 4 host threads → 4 workers, a pair each (aggregate)"},
      {"BM_WeftRemoteEchoUnix",
       "weft echo, remote worker: RpcServer (1 thread worker) in this process, Unix socket"},
      {"BM_WeftRemoteEchoTcp",
       "weft echo, remote worker: RpcServer (1 thread worker) in this process, TCP loopback"},
      {"BM_WeftIdleCpu", "weft pools (thread and process workers) idle: CPU use"},
      {"BM_CondvarEcho", "mutex+condvar pool + std::promise"},
      {"BM_FutexWake", "raw futex: wake a sleeping worker, spin for the answer"},
      {"BM_FutexPingPong", "raw futex: both sides sleep"},
      {"BM_CapnpRpcEcho", "Cap'n Proto two-party RPC, socketpair, forked server"},
      {"BM_CapnpRpcEchoUnix", "Cap'n Proto two-party RPC, Unix socket, server thread"},
      {"BM_CapnpRpcEchoTcp", "Cap'n Proto two-party RPC, TCP loopback, server thread"},
      {"BM_PipePingPong", "pipe ping-pong with a forked process"},
      {"BM_CapnpShmThreads", "Cap'n Proto in shared memory, no runtime: ping-pong, two threads"},
      {"BM_CapnpShmProcesses",
       "Cap'n Proto in shared memory, no runtime: ping-pong, two processes"},
      {"BM_CapnpShmPipelined/256", "Cap'n Proto in shared memory, no runtime: 256 in flight"},
      {"BM_IceoryxEcho", "iceoryx 2.0 request/response, busy polling"},
      {"BM_IceoryxPubSubEcho", "iceoryx 2.0 publish/subscribe, a topic each way, busy polling"},
  };
  auto it = kWhat.find(name);
  if (it != kWhat.end()) return it->second;
  for (const Series& s : kPayloadSeries) {
    if (name.rfind(s.prefix + "/", 0) == 0)
      return s.label + ", " + name.substr(s.prefix.size() + 1) + " B";
  }
  return "";
}

}  // namespace weft_bench
