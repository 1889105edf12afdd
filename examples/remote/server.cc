// The "other host": a weft RpcServer whose pool runs process workers
// (where_worker). Any Cap'n Proto client of remote_demo::Where can call it;
// the demo (remote.cc) uses it as one of its pool's workers.
//
//   bazel-bin/examples/remote/server unix:/tmp/where.sock
//
// Prints "serving <address>" once it listens; stops on SIGTERM or SIGINT,
// or when its stdin reaches end of file (so the demo's server never outlives
// the demo).
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <thread>

#include "examples/remote/sibling.h"
#include "examples/remote/where.weft-rpc.h"
#include "runtime/rpc_server.h"
#include "runtime/weft.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s unix:/path | tcp:127.0.0.1:port\n", argv[0]);
    return 2;
  }
  // Block the stop signals before any thread starts; the main thread waits
  // for them (or stdin's end) below.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  weft::PoolOptions options;
  options.workers = 2;
  options.runtime = weft::WorkerRuntime::kProcess;
  options.worker_command = {remote_demo::Sibling("where_worker")};
  auto pool = weft::Pool<remote_demo::Where>::Create(options);
  if (!pool.ok()) {
    std::fprintf(stderr, "server: %s\n", pool.status().ToString().c_str());
    return 1;
  }
  weft::RpcServerOptions serve;
  serve.address = argv[1];
  auto server = weft::RpcServer::Serve(*pool, serve);
  if (!server.ok()) {
    std::fprintf(stderr, "server: %s\n", server.status().ToString().c_str());
    return 1;
  }
  std::printf("serving %s\n", (*server)->address().c_str());
  std::fflush(stdout);

  const int signal_fd = [&] {
    // A thread of its own turns a stop signal into the end of the wait.
    int fds[2];
    if (pipe(fds) != 0) return -1;
    std::thread([stop, fd = fds[1]] {
      int signal = 0;
      sigwait(&stop, &signal);
      (void)!write(fd, "x", 1);
    }).detach();
    return fds[0];
  }();
  pollfd waits[2] = {{STDIN_FILENO, POLLIN, 0}, {signal_fd, POLLIN, 0}};
  for (;;) {
    if (poll(waits, 2, -1) < 0) continue;
    if (waits[1].revents != 0) break;
    if (waits[0].revents != 0) {
      char buffer[256];
      if (read(STDIN_FILENO, buffer, sizeof(buffer)) <= 0) break;
    }
  }
  server->reset();  // stop serving, then the pool (the destructor drains it)
  return 0;
}
