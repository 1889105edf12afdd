// A weft RpcServer over TestService in a process of its own, for the tests
// that kill it: remote_pool_test.
//
//   test_service_server <address> <whoAmI index>
//
// Serves two thread workers whose whoAmI() answers the index given. Prints
// "listening <address>" once it serves, then "entered <n>" each time the
// n-th gated() call reaches its gate (which never opens: the test kills the
// process), and "aborted <n>" each time the n-th saw call.aborted(). Exits when its stdin reaches
// end of file, so a test that dies leaves no server behind.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "runtime/rpc_server.h"
#include "tests/pool/test_service.weft-rpc.h"
#include "tests/pool/test_service_impl.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <address> <whoAmI index>\n", argv[0]);
    return 2;
  }
  const uint32_t index = static_cast<uint32_t>(std::atoi(argv[2]));
  weft_test::Gate gate;
  weft::PoolOptions options;
  options.workers = 2;
  auto pool = weft::Pool<weft_test::TestService>::Create(
      options, [&] { return std::make_unique<weft_test::TestServiceImpl>(index, &gate); });
  if (!pool.ok()) {
    std::fprintf(stderr, "%s\n", pool.status().ToString().c_str());
    return 1;
  }
  weft::RpcServerOptions serve;
  serve.address = argv[1];
  auto server = weft::RpcServer::Serve(*pool, serve);
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", server.status().ToString().c_str());
    return 1;
  }
  std::printf("listening %s\n", (*server)->address().c_str());
  std::fflush(stdout);
  std::thread([&gate] {
    for (int n = 1;; ++n) {
      gate.WaitEntered(n);
      std::printf("entered %d\n", n);
      std::fflush(stdout);
    }
  }).detach();
  std::thread([&gate] {
    for (int n = 1;; ++n) {
      gate.WaitAborted(n);
      std::printf("aborted %d\n", n);
      std::fflush(stdout);
    }
  }).detach();
  while (std::getchar() != EOF) {
  }
  std::_Exit(0);  // the gate never opens: do not wait for its calls
}
