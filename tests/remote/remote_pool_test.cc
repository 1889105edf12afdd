// Pools whose workers include remote ones: a weft RpcServer in a process of
// its own (test_service_server), reached over a Unix socket.
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "runtime/weft.h"
#include "tests/pool/test_service.weft.h"
#include "tests/pool/test_service_impl.h"
#include "tests/testing/watchdog.h"

namespace weft_test {
namespace {

using Pool = weft::Pool<TestService>;

// test_service_server as a child: its stdin is a pipe (closing it ends the
// server), its stdout lines are collected by a thread.
class ServerProcess {
 public:
  ServerProcess(const std::string& address, int index) {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) std::abort();
    pid_ = fork();
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      const std::string i = std::to_string(index);
      execl("tests/remote/test_service_server", "test_service_server", address.c_str(), i.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    stdin_ = in[1];
    reader_ = std::thread([this, fd = out[0]] {
      FILE* lines = fdopen(fd, "r");
      char line[256];
      while (std::fgets(line, sizeof(line), lines) != nullptr) {
        std::string text(line);
        if (!text.empty() && text.back() == '\n') text.pop_back();
        std::lock_guard<std::mutex> lock(mu_);
        lines_.push_back(text);
        cv_.notify_all();
      }
      std::fclose(lines);
    });
    WaitLine("listening " + address);
  }
  ~ServerProcess() {
    if (pid_ > 0) {
      close(stdin_);
      int status;
      waitpid(pid_, &status, 0);
    }
    reader_.join();
  }
  // Waits until the server printed `line` (a hang is the watchdog's).
  void WaitLine(const std::string& line) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return std::find(lines_.begin(), lines_.end(), line) != lines_.end(); });
  }
  // The highest n of the "entered <n>" lines so far.
  int entered() {
    std::lock_guard<std::mutex> lock(mu_);
    int n = 0;
    for (const std::string& l : lines_) {
      if (l.rfind("entered ", 0) == 0) n = std::max(n, std::atoi(l.c_str() + 8));
    }
    return n;
  }
  void Kill() {
    kill(pid_, SIGKILL);
    int status;
    waitpid(pid_, &status, 0);
    close(stdin_);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
};

class RemotePoolTest : public ::testing::Test {
 protected:
  RemotePoolTest() {
    char dir[] = "/tmp/weft-remote-XXXXXX";
    if (mkdtemp(dir) == nullptr) std::abort();
    dir_ = dir;
    address_ = "unix:" + dir_ + "/s";
  }
  ~RemotePoolTest() override { std::filesystem::remove_all(dir_); }

  weft::PoolOptions Options(int local,
                            weft::BalancerKind balancer = weft::BalancerKind::kRoundRobin) const {
    weft::PoolOptions options;
    options.workers = local;
    options.remote_workers.push_back(weft::RemoteWorker{address_, std::nullopt});
    options.balancer = balancer;
    options.log_level = weft::LogLevel::kOff;
    return options;
  }
  uint32_t WhoAmI(weft::Stub<TestService>& stub) {
    auto r = stub.whoAmI().Get();
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->getWorker() : 999;
  }

  std::string dir_;
  std::string address_;
  Watchdog watchdog_{"a remote pool test", 3 * kHangBound};
};

TEST_F(RemotePoolTest, CallsSpreadOverLocalAndRemoteAndSurviveTheServersDeath) {
  auto server = std::make_unique<ServerProcess>(address_, 7);
  Gate gate;
  auto pool = Pool::Create(Options(1), [&] { return std::make_unique<TestServiceImpl>(0, &gate); });
  ASSERT_TRUE(pool.ok()) << pool.status();
  weft::Stub<TestService> stub = pool->stub();

  // Both workers serve, with the same stub and balancer.
  std::map<uint32_t, int> served_by;
  for (int i = 0; i < 20; ++i) ++served_by[WhoAmI(stub)];
  EXPECT_GT(served_by[0], 0);
  EXPECT_GT(served_by[7], 0);
  EXPECT_EQ(served_by[0] + served_by[7], 20);
  auto square = stub.square(-9).Get();
  ASSERT_TRUE(square.ok()) << square.status();
  EXPECT_EQ(square->getResult(), 81);

  // Calls held by both workers: each worker's first ones inside the method
  // (one local thread, the server's two), the rest queued behind them.
  constexpr int kHeld = 8;
  std::vector<weft::Future<TestService::GatedResults>> held;
  for (int i = 0; i < kHeld; ++i) held.push_back(stub.gated());
  ASSERT_TRUE(
      PollUntil([&] { return gate.entered_count() == 1 && server->entered() == 2; }, kHangBound));
  const int remote = static_cast<int>(pool->Stats().workers[1].in_flight);
  ASSERT_GE(remote, 2);
  ASSERT_LT(remote, kHeld);

  // The server dies: exactly the calls it held fail, Unavailable.
  server->Kill();
  auto ready = [&] {
    int n = 0;
    for (auto& f : held) n += f.Ready() ? 1 : 0;
    return n;
  };
  ASSERT_TRUE(PollUntil([&] { return ready() == remote; }, kHangBound));
  std::vector<weft::Future<TestService::GatedResults>> local;
  for (auto& f : held) {
    if (!f.Ready()) {
      local.push_back(std::move(f));
      continue;
    }
    auto r = f.Get();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
    EXPECT_NE(r.status().message().find(address_), std::string::npos) << r.status();
  }
  // The local worker's calls are untouched, and it keeps serving alone.
  gate.Open();
  for (auto& f : local) {
    auto r = f.Get();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_FALSE(r->getWasAborted());
  }
  ASSERT_TRUE(PollUntil([&] { return pool->Stats().workers[1].failed; }, kHangBound));
  EXPECT_FALSE(pool->Stats().workers[1].up);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(WhoAmI(stub), 0u);

  // A new server on the same address: the remote worker is used again.
  server = std::make_unique<ServerProcess>(address_, 8);
  ASSERT_TRUE(PollUntil([&] { return WhoAmI(stub) == 8; }, kHangBound));
  EXPECT_FALSE(pool->Stats().workers[1].failed);
  EXPECT_TRUE(pool->Stats().workers[1].up);
}

TEST_F(RemotePoolTest, EveryBalancerSpreadsOverLocalAndRemote) {
  ServerProcess server(address_, 8);
  for (weft::BalancerKind kind :
       {weft::BalancerKind::kRoundRobin, weft::BalancerKind::kFirstIdle,
        weft::BalancerKind::kRandom, weft::BalancerKind::kFirstIdleOrRandom,
        weft::BalancerKind::kLeastBusy}) {
    SCOPED_TRACE(static_cast<int>(kind));
    Gate gate;
    auto pool =
        Pool::Create(Options(1, kind), [&] { return std::make_unique<TestServiceImpl>(0, &gate); });
    ASSERT_TRUE(pool.ok()) << pool.status();
    weft::Stub<TestService> stub = pool->stub();
    // Keep the local worker busy: gated calls until one went to it (the
    // pool's own count says where each went). One that went to the server is
    // aborted at once: held there, it would hold up the calls the server's
    // own balancer queues behind it.
    std::vector<weft::Future<TestService::GatedResults>> held;
    for (int i = 0; i < 64 && pool->Stats().workers[0].submitted == 0; ++i) {
      weft::Future<TestService::GatedResults> call = stub.gated();
      if (pool->Stats().workers[0].submitted == 0) {
        call.Abort();
      } else {
        held.push_back(std::move(call));
      }
    }
    ASSERT_EQ(held.size(), 1u) << "no gated call reached the local worker";
    // With the local worker busy, every policy sends calls to the remote
    // one too; the random ones would anyway.
    std::vector<weft::Future<TestService::WhoAmIResults>> calls;
    for (int i = 0; i < 20; ++i) calls.push_back(stub.whoAmI());
    gate.Open();
    std::map<uint32_t, int> served_by;
    for (auto& f : calls) {
      auto r = f.Get();
      ASSERT_TRUE(r.ok()) << r.status();
      ++served_by[r->getWorker()];
    }
    EXPECT_GT(served_by[0], 0);
    EXPECT_GT(served_by[8], 0);
    auto local = held[0].Get();
    ASSERT_TRUE(local.ok()) << local.status();
    EXPECT_FALSE(local->getWasAborted());
  }
}

TEST_F(RemotePoolTest, DeadlinesAndAbortsCancelTheRpc) {
  ServerProcess server(address_, 3);
  auto pool = Pool::Create(Options(0), nullptr);
  ASSERT_TRUE(pool.ok()) << pool.status();
  weft::Stub<TestService> stub = pool->stub();
  EXPECT_EQ(WhoAmI(stub), 3u);

  // gatedTimed has a 30 ms deadline in the schema: the RPC is cancelled, so
  // the server's pool call is abandoned and its method sees aborted().
  auto timed = stub.gatedTimed().Get();
  ASSERT_FALSE(timed.ok());
  EXPECT_EQ(timed.status().code(), absl::StatusCode::kDeadlineExceeded) << timed.status();
  server.WaitLine("aborted 1");

  auto gated = stub.gated();
  server.WaitLine("entered 2");
  gated.Abort();
  auto aborted = gated.Get();
  EXPECT_EQ(aborted.status().code(), absl::StatusCode::kCancelled) << aborted.status();
  server.WaitLine("aborted 2");
  // The worker goes on.
  EXPECT_EQ(WhoAmI(stub), 3u);
}

TEST_F(RemotePoolTest, CreateFailsWhenNobodyListensAndSaysWhere) {
  auto pool = Pool::Create(Options(0), nullptr);
  ASSERT_FALSE(pool.ok());
  EXPECT_EQ(pool.status().code(), absl::StatusCode::kUnavailable) << pool.status();
  EXPECT_NE(pool.status().message().find(address_), std::string::npos) << pool.status();
}

TEST_F(RemotePoolTest, BadRemoteAddressesAreInvalidArgument) {
  for (const char* address : {"", "http://example.com", "tcp:localhost", "unix:relative"}) {
    weft::PoolOptions options;
    options.workers = 0;
    options.remote_workers.push_back(weft::RemoteWorker{address, std::nullopt});
    options.log_level = weft::LogLevel::kOff;
    auto pool = Pool::Create(options, nullptr);
    ASSERT_FALSE(pool.ok()) << address;
    EXPECT_EQ(pool.status().code(), absl::StatusCode::kInvalidArgument)
        << address << ": " << pool.status();
  }
}

}  // namespace
}  // namespace weft_test
