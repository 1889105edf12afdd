// SharedMemory::kNamed: the workers map a /dev/shm/weft-* region whose name
// is unlinked once mapped, at the first start and at a replacement's.
#include <sys/types.h>

#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "runtime/pool.h"
#include "tests/process/proc_test.weft.h"
#include "tests/process/process_test_util.h"

namespace weft_test {
namespace {

bool MapsContain(pid_t pid, const std::string& needle) {
  std::ifstream maps(absl::StrCat("/proc/", pid, "/maps"));
  std::string line;
  while (std::getline(maps, line)) {
    if (line.find(needle) != std::string::npos) return true;
  }
  return false;
}

TEST_F(ProcessTest, NamedSharedMemoryIsUnlinkedOnceMapped) {
  std::set<pid_t> seen;
  {
    weft::PoolOptions options = ProcOptions(2, "proc_worker");
    options.shared_memory = weft::SharedMemory::kNamed;
    auto pool = Pool::Create(options);
    ASSERT_TRUE(pool.ok()) << pool.status();
    auto stub = pool->stub();
    for (const auto& w : pool->Stats().workers) {
      seen.insert(w.pid);
      EXPECT_TRUE(MapsContain(w.pid, "/dev/shm/weft"))
          << "worker " << w.pid << " does not map a /dev/shm/weft-* region";
    }
    std::set<std::string> added = NewNames(shm_before_);
    EXPECT_TRUE(added.empty()) << "names still linked after Create returned: " << Describe(added);

    std::vector<kj::byte> payload(64 * 1024);
    for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<kj::byte>(i % 253);
    for (int i = 0; i < 100; ++i) {
      auto r = stub.square(i).Get();
      ASSERT_TRUE(r.ok()) << r.status();
      ASSERT_EQ(r->getResult(), int64_t{i} * i);
    }
    auto e = stub.echo(capnp::Data::Reader(payload.data(), payload.size())).Get();
    ASSERT_TRUE(e.ok()) << e.status();
    ASSERT_EQ(e->getData().size(), payload.size());
    EXPECT_EQ(std::memcmp(e->getData().begin(), payload.data(), payload.size()), 0);

    added = NewNames(shm_before_);
    EXPECT_TRUE(added.empty()) << "names linked while running: " << Describe(added);
    Watchdog wd("destroying the pool", kHangBound);
    pool = absl::UnavailableError("destroyed");
  }
  ExpectAllGone(seen, "after the pool was destroyed");
}

TEST_F(ProcessTest, NamedModeReplacementAlsoUnlinks) {
  std::set<pid_t> seen;
  {
    weft::PoolOptions options = ProcOptions(1, "proc_worker");
    options.shared_memory = weft::SharedMemory::kNamed;
    auto pool = Pool::Create(options);
    ASSERT_TRUE(pool.ok()) << pool.status();
    auto stub = pool->stub();
    const pid_t first = PidOf(stub);
    seen.insert(first);
    auto c = stub.crash();
    ASSERT_TRUE(c.WaitFor(kHangBound)) << "crash() never resolved (hang)";
    EXPECT_EQ(c.Get().status().code(), absl::StatusCode::kUnavailable);
    auto f = stub.pid();
    ASSERT_TRUE(f.WaitFor(kHangBound)) << "no replacement ever served (hang)";
    auto r = f.Get();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_NE(r->getPid(), first);
    seen.insert(r->getPid());
    EXPECT_TRUE(MapsContain(r->getPid(), "/dev/shm/weft"));
    const std::set<std::string> added = NewNames(shm_before_);
    EXPECT_TRUE(added.empty()) << "names linked after a restart: " << Describe(added);
  }
  ExpectAllGone(seen, "after the pool was destroyed");
}

}  // namespace
}  // namespace weft_test
