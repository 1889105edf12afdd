// iceoryx 2.0 request/response (Debian's 2.0.3), busy polling on both sides.
//
//   BM_IceoryxEcho         an 8-byte request (the int64), an 8-byte response
//   BM_IceoryxPayload/B    a B-byte request the host fills with memcpy (as the
//                          weft stub copies the Data param into shared
//                          memory); the server reads every byte and answers
//                          with the 8-byte checksum
//
// The suite starts its own RouDi (`iox-roudi -c <config>` with mempools up
// to 17 MiB) before the first benchmark and stops it afterwards. If RouDi
// cannot start here (not installed, or another RouDi already runs), every row
// is skipped with the reason. The server is a forked process pinned to
// --worker_cpu that polls UntypedServer::take() in a loop; the host polls
// UntypedClient::take() for the response.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>

#include "benchmarks/harness.h"
#include "iceoryx_posh/mepoo/chunk_header.hpp"
#include "iceoryx_posh/popo/rpc_header.hpp"
#include "iceoryx_posh/popo/untyped_client.hpp"
#include "iceoryx_posh/popo/untyped_server.hpp"
#include "iceoryx_posh/runtime/posh_runtime.hpp"
#include "kj/io.h"

namespace weft_bench {
namespace {

const iox::capro::ServiceDescription kService{"WeftBench", "Bench", "Call"};

constexpr char kRoudiConfig[] = R"([general]
version = 1

[[segment]]

[[segment.mempool]]
size = 128
count = 1000

[[segment.mempool]]
size = 4096
count = 64

[[segment.mempool]]
size = 65536
count = 16

[[segment.mempool]]
size = 1048576
count = 8

[[segment.mempool]]
size = 4194304
count = 4

[[segment.mempool]]
size = 17825792
count = 4
)";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The server: answers an 8-byte request with itself (echo), any other with
// the checksum of its bytes.
[[noreturn]] void ServeForever(const std::atomic<uint32_t>* stop, int cpu) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (!PinThisThread(cpu)) _exit(3);
  iox::runtime::PoshRuntime::initRuntime("weft-bench-iox-server");
  {
    iox::popo::UntypedServer server(kService);
    // Relaxed: the stop flag needs no ordering; the loop only exits.
    while (stop->load(std::memory_order_relaxed) == 0) {
      auto request = server.take();
      if (request.has_error()) {
        CpuRelax();
        continue;
      }
      const void* payload = request.value();
      const uint32_t size = iox::mepoo::ChunkHeader::fromUserPayload(payload)->userPayloadSize();
      uint64_t answer;
      if (size == sizeof(int64_t)) {
        std::memcpy(&answer, payload, sizeof(answer));
      } else {
        answer = Checksum(payload, size);
      }
      auto response = server.loan(iox::popo::RequestHeader::fromPayload(payload), sizeof(answer),
                                  alignof(uint64_t));
      if (response.has_error()) _exit(4);
      std::memcpy(response.value(), &answer, sizeof(answer));
      if (server.send(response.value()).has_error()) _exit(5);
      server.releaseRequest(payload);
    }
  }
  _exit(0);
}

// RouDi runs under a keeper process: RouDi, when stopped, sends SIGTERM to
// every process still registered with it, and this process stays registered
// until its PoshRuntime is destroyed at exit. So the keeper starts RouDi,
// waits until this process closes its end of a pipe (at exit, after the
// runtime is gone: see StopRoudi) and only then stops RouDi and removes the
// temporary config.
kj::AutoCloseFd keeper_pipe;  // write end; closing it stops RouDi
pid_t keeper = -1;

void StopRoudi() {
  keeper_pipe = nullptr;
  if (keeper > 0) waitpid(keeper, nullptr, 0);
  keeper = -1;
}

[[noreturn]] void KeepRoudi(int pipe_read, const std::string& dir) {
  const std::string config = dir + "/roudi.toml";
  const std::string log = dir + "/roudi.log";
  const pid_t roudi = fork();
  if (roudi == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    dup2(fd, 1);
    dup2(fd, 2);
    execlp("iox-roudi", "iox-roudi", "-c", config.c_str(), "-l", "info", nullptr);
    std::perror("exec iox-roudi");
    _exit(127);
  }
  bool roudi_alive = roudi > 0;
  for (;;) {
    pollfd p{pipe_read, POLLIN, 0};
    const int n = poll(&p, 1, 100);
    if (n > 0) {
      char c;
      if (read(pipe_read, &c, 1) <= 0) break;  // EOF: the benchmark is done
    }
    if (roudi_alive && waitpid(roudi, nullptr, WNOHANG) == roudi) {
      roudi_alive = false;
      std::ofstream(log, std::ios::app) << "\n(iox-roudi exited)\n";
    }
  }
  if (roudi_alive) {
    kill(roudi, SIGTERM);
    waitpid(roudi, nullptr, 0);
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);  // the config and the log
  _exit(0);
}

// RouDi, the server process and this process's client, started on first use.
class Environment {
 public:
  // Why the rows are skipped, empty when up.
  const std::string& unavailable() const { return unavailable_; }
  iox::popo::UntypedClient& client() { return *client_; }

  explicit Environment(const Options& options) {
    char dir_template[] = "/tmp/weft-bench-iox-XXXXXX";
    if (mkdtemp(dir_template) == nullptr) {
      unavailable_ = "mkdtemp failed";
      return;
    }
    const std::string dir = dir_template;
    const std::string log = dir + "/roudi.log";
    std::ofstream(dir + "/roudi.toml") << kRoudiConfig;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
      unavailable_ = "pipe failed";
      return;
    }
    kj::AutoCloseFd read_end(fds[0]);
    keeper_pipe = kj::AutoCloseFd(fds[1]);
    // Registered before the PoshRuntime exists, so it runs after the
    // runtime's destructor has deregistered this process.
    std::atexit(StopRoudi);
    keeper = fork();
    if (keeper == 0) {
      keeper_pipe = nullptr;
      KeepRoudi(read_end, dir);
    }
    read_end = nullptr;
    const uint64_t give_up = MonotonicNanos() + 10'000'000'000ull;
    for (;;) {
      const std::string text = ReadFile(log);
      if (text.find("RouDi is ready for clients") != std::string::npos) break;
      if (text.find("(iox-roudi exited)") != std::string::npos) {
        unavailable_ = "iox-roudi could not start (another RouDi running? not installed?): " + text;
        while (!unavailable_.empty() && unavailable_.back() == '\n') unavailable_.pop_back();
        for (char& c : unavailable_) {
          if (c == '\n') c = ' ';
        }
        return;
      }
      if (MonotonicNanos() > give_up) {
        unavailable_ = "iox-roudi did not become ready within 10 s";
        return;
      }
      SpinFor(5'000'000);
    }
    stop_ = static_cast<std::atomic<uint32_t>*>(
        mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    new (stop_) std::atomic<uint32_t>(0);
    server_ = fork();
    if (server_ == 0) {
      keeper_pipe = nullptr;
      ServeForever(stop_, options.worker_cpu);
    }
    iox::runtime::PoshRuntime::initRuntime("weft-bench-iox-client");
    client_.emplace(kService);
    while (client_->getConnectionState() != iox::ConnectionState::CONNECTED) {
      if (MonotonicNanos() > give_up) {
        unavailable_ = "the iceoryx client did not connect to the server within 10 s";
        return;
      }
      SpinFor(1'000'000);
    }
  }

  // Stops the server; RouDi stops at exit (StopRoudi).
  ~Environment() {
    client_.reset();
    if (server_ > 0) {
      stop_->store(1, std::memory_order_relaxed);
      waitpid(server_, nullptr, 0);
    }
  }

 private:
  std::string unavailable_;
  pid_t server_ = -1;
  std::atomic<uint32_t>* stop_ = nullptr;
  std::optional<iox::popo::UntypedClient> client_;
};

Environment* env = nullptr;  // owned by the AtSuiteEnd hook

Environment* GetEnvironment(const Options& options) {
  if (env == nullptr) {
    env = new Environment(options);
    AtSuiteEnd([] {
      delete env;
      env = nullptr;
    });
  }
  return env;
}

// One request/response; false on an iceoryx error.
bool Call(iox::popo::UntypedClient& client, const void* data, uint32_t size, uint64_t* answer) {
  auto request = client.loan(size, alignof(uint64_t));
  if (request.has_error()) return false;
  std::memcpy(request.value(), data, size);
  if (client.send(request.value()).has_error()) return false;
  const uint64_t give_up = MonotonicNanos() + 10'000'000'000ull;
  for (uint64_t polls = 1;; ++polls) {
    if (polls % 65536 == 0 && MonotonicNanos() > give_up) return false;
    auto response = client.take();
    if (!response.has_error()) {
      std::memcpy(answer, response.value(), sizeof(*answer));
      client.releaseResponse(response.value());
      return true;
    }
    CpuRelax();
  }
}

void BM_IceoryxEcho(benchmark::State& state, Options options) {
  Environment* e = GetEnvironment(options);
  if (!e->unavailable().empty()) return Skip(state, e->unavailable());
  LatencyRecorder rec;
  int64_t v = 0;
  rec.Begin();
  for (auto _ : state) {
    const uint64_t t0 = Ticks();
    uint64_t back = 0;
    if (!Call(e->client(), &v, sizeof(v), &back)) return Fail(state, "iceoryx call failed");
    if (static_cast<int64_t>(back) != v) return Fail(state, "wrong echo");
    rec.Add(Ticks() - t0);
    ++v;
  }
  rec.End();
  rec.Report(state);
}

void BM_IceoryxPayload(benchmark::State& state, Options options) {
  Environment* e = GetEnvironment(options);
  if (!e->unavailable().empty()) return Skip(state, e->unavailable());
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
  for (int64_t size : PayloadSizes(options)) {
    RunLength(
        benchmark::RegisterBenchmark("BM_IceoryxPayload", BM_IceoryxPayload, options)->Arg(size),
        options, 3);
  }
}

}  // namespace weft_bench
