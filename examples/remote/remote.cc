// weft beyond one machine, on one machine: this process's pool has two
// workers, a thread of its own and a weft RPC server in another process
// (server.cc, with process workers behind it), reached over a Unix socket.
// The same stub, the same balancer; each call says where it ran.
//
//   tools/bazel run //examples/remote
//
// On two hosts the server would listen on "tcp:<its address>:<port>" with
// TLS (RpcServerOptions::tls) and the pool name that address.
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "examples/remote/sibling.h"
#include "examples/remote/where_impl.h"
#include "runtime/weft.h"

namespace {

// The server as a child whose stdin is ours to close; returns its pid once
// it printed "serving".
pid_t StartServer(const std::string& address, int* stdin_fd) {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) return -1;
  const std::string server = remote_demo::Sibling("server");
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    execl(server.c_str(), "server", address.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  *stdin_fd = in[1];
  FILE* lines = fdopen(out[0], "r");
  char line[512];
  const bool serving =
      std::fgets(line, sizeof(line), lines) != nullptr && std::strncmp(line, "serving ", 8) == 0;
  std::fclose(lines);
  if (!serving) {
    waitpid(pid, nullptr, 0);
    return -1;
  }
  return pid;
}

}  // namespace

int main() {
  char dir[] = "/tmp/weft-remote-demo-XXXXXX";
  if (mkdtemp(dir) == nullptr) return 1;
  const std::string address = std::string("unix:") + dir + "/where.sock";
  int server_stdin = -1;
  const pid_t server = StartServer(address, &server_stdin);
  if (server < 0) {
    std::fprintf(stderr, "the RPC server did not start\n");
    return 1;
  }

  weft::PoolOptions options;
  options.workers = 1;  // a thread of this process
  options.remote_workers.push_back(weft::RemoteWorker{address, std::nullopt});
  options.balancer = weft::BalancerKind::kRoundRobin;
  auto pool = weft::Pool<remote_demo::Where>::Create(options, [] {
    return std::make_unique<remote_demo::WhereImpl>("a thread worker of the caller");
  });
  if (!pool.ok()) {
    std::fprintf(stderr, "%s\n", pool.status().ToString().c_str());
    return 1;
  }
  weft::Stub<remote_demo::Where> where = pool->stub();
  std::printf("caller pid %d; the RPC server is pid %d at %s\n", getpid(), server, address.c_str());
  int failures = 0;
  for (int64_t i = 1; i <= 6; ++i) {
    auto r = where.square(i).Get();
    if (!r.ok()) {
      std::printf("square(%lld) failed: %s\n", static_cast<long long>(i),
                  r.status().ToString().c_str());
      ++failures;
      continue;
    }
    std::printf("square(%lld) = %lld, ran on %s\n", static_cast<long long>(i),
                static_cast<long long>(r->getResult()), r->getRanOn().cStr());
  }
  (void)pool->Shutdown();
  close(server_stdin);  // the server stops
  waitpid(server, nullptr, 0);
  std::filesystem::remove_all(dir);
  return failures == 0 ? 0 : 1;
}
