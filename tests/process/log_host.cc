// The host program log_env_test runs, so that it can read what the default
// log sink (spdlog, stderr) printed under each WEFT_LOG:
//   log_host                 a pool of one thread worker serves a call
//   log_host WORKER_BINARY   a pool of one process worker serves a call, the
//                            worker is SIGKILLed, and its replacement serves
// Then the pool is destroyed and it exits 0 (1, with a line, on a failure).
// It sets no log option: WEFT_LOG alone decides.
#include <signal.h>

#include <cstdio>
#include <memory>
#include <string>

#include "runtime/pool.h"
#include "tests/process/proc_impl.h"
#include "tests/process/proc_test.weft.h"

namespace {

int Fail(const std::string& what) {
  std::fprintf(stdout, "log_host: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using Pool = weft::Pool<weft_test::ProcTest>;
  weft::PoolOptions options;
  Pool::Factory factory = [] { return std::make_unique<weft_test::ProcImpl>(); };
  if (argc > 1) {
    options.runtime = weft::WorkerRuntime::kProcess;
    options.worker_command = {argv[1]};
    factory = nullptr;
  }
  absl::StatusOr<Pool> pool = Pool::Create(options, factory);
  if (!pool.ok()) return Fail(pool.status().ToString());
  auto stub = pool->stub();
  auto first = stub.pid().Get();
  if (!first.ok()) return Fail(first.status().ToString());
  if (argc > 1) {
    const pid_t victim = first->getPid();
    if (kill(victim, SIGKILL) != 0) return Fail("kill failed");
    // Calls sent once the death is handled wait for the replacement; one
    // that raced with the death fails Unavailable, and the next is sent.
    for (int i = 0;; ++i) {
      auto r = stub.pid().Get();
      if (r.ok() && r->getPid() != victim) break;
      if (i == 100000) return Fail("no replacement served");
    }
  }
  return 0;
}
