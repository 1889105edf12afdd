// Where a call's bytes are, for each kind of worker and trust setting: the
// request is built by the host in the region's requests block and read there
// by the worker (zero copy, both kinds; read-only to a process worker), and
// the results are read where the worker wrote them for thread workers and
// trusted process workers, and from a private copy otherwise. Each case
// looks the bytes up in /proc/self/maps of the process that reads them.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "runtime/pool.h"
#include "tests/process/proc_impl.h"
#include "tests/process/proc_test.weft.h"
#include "tests/process/process_test_util.h"

namespace weft_test {
namespace {

// An untrusted worker's results are checked field by field against their
// type unless they have no pointer field (nothing a getter could mistake).
static_assert(weft::internal::kPointerFree<ProcTest::SquareResults>);
static_assert(!weft::internal::kPointerFree<ProcTest::EchoResults>);
static_assert(!weft::internal::kPointerFree<capnp::AnyPointer>);

// One segment (fits the slot's inline area) and spilled into the heaps.
const std::vector<size_t> kSizes = {200, 200 << 10};

std::vector<kj::byte> Pattern(size_t n) {
  std::vector<kj::byte> bytes(n);
  for (size_t i = 0; i < n; ++i) bytes[i] = static_cast<kj::byte>(i * 31 + 7);
  return bytes;
}

struct Case {
  std::string name;
  bool process;
  bool trusted;
};

class ZeroCopy : public ProcessTest, public ::testing::WithParamInterface<Case> {
 protected:
  absl::StatusOr<Pool> MakePool() {
    if (!GetParam().process) {
      weft::PoolOptions options;
      options.workers = 1;
      return Pool::Create(options, [] { return std::make_unique<ProcImpl>(); });
    }
    weft::PoolOptions options = ProcOptions(1, "proc_worker");
    options.trusted_workers = GetParam().trusted;
    return Pool::Create(options);
  }
};

TEST_P(ZeroCopy, TheWorkerReadsTheRequestWhereTheHostBuiltIt) {
  auto pool = MakePool();
  ASSERT_TRUE(pool.ok()) << pool.status();
  auto stub = pool->stub();
  for (size_t n : kSizes) {
    const std::vector<kj::byte> sent = Pattern(n);
    auto r = stub.placement(capnp::Data::Reader(sent.data(), sent.size())).Get();
    ASSERT_TRUE(r.ok()) << r.status();
    const capnp::Data::Reader back = r->getData();
    ASSERT_EQ(std::vector<kj::byte>(back.begin(), back.end()), sent) << n << " bytes";
    const std::string mapping = r->getMapping();
    EXPECT_TRUE(absl::StrContains(mapping, "/memfd:weft-requests"))
        << n << " bytes: the worker read the request from \"" << mapping << "\"";
    // A process worker can only read it; a thread worker shares the host's
    // mapping, which the host writes.
    const std::string perms = GetParam().process ? "r--s" : "rw-s";
    EXPECT_TRUE(absl::StartsWith(mapping, perms)) << n << " bytes: " << mapping;
  }
}

TEST_P(ZeroCopy, ResultsAreReadInPlaceExactlyWhenTheWorkerIsTrusted) {
  auto pool = MakePool();
  ASSERT_TRUE(pool.ok()) << pool.status();
  auto stub = pool->stub();
  const bool in_place = !GetParam().process || GetParam().trusted;
  for (size_t n : kSizes) {
    const std::vector<kj::byte> sent = Pattern(n);
    auto r = stub.placement(capnp::Data::Reader(sent.data(), sent.size())).Get();
    ASSERT_TRUE(r.ok()) << r.status();
    const capnp::Data::Reader back = r->getData();
    ASSERT_EQ(back.size(), n);
    const std::string mapping = MappingOf(back.begin());
    if (in_place) {
      EXPECT_TRUE(absl::StartsWith(mapping, "rw-s /memfd:weft-region"))
          << n << " bytes: the host read the results from \"" << mapping << "\"";
    } else {
      EXPECT_FALSE(absl::StrContains(mapping, "weft"))
          << n << " bytes: an untrusted worker's results were read in shared memory: " << mapping;
    }
  }
}

TEST_P(ZeroCopy, RequestHeapSpaceIsZeroAgainBeforeItIsReused) {
  // The host builds spilled requests in request heap space it does not zero
  // on the call path: it zeroes spans as they are freed (large ones while it
  // waits). A large Data of 0xff bytes, then a long Text (its NUL terminator
  // is the zero Cap'n Proto expects the space to hold; a 0xff there makes
  // the worker's read of the Text throw), alternately, so the Texts land in
  // space the Data used.
  auto pool = MakePool();
  ASSERT_TRUE(pool.ok()) << pool.status();
  auto stub = pool->stub();
  const std::vector<kj::byte> ones(300 << 10, 0xff);
  const std::string name(5000, 'N');
  for (int round = 0; round < 40; ++round) {
    const size_t n = (64 << 10) + (round * 7919) % (236 << 10);
    auto big = stub.placement(capnp::Data::Reader(ones.data(), n)).Get();
    ASSERT_TRUE(big.ok()) << big.status();
    ASSERT_EQ(big->getData().size(), n);
    auto text = stub.getEnv(name.substr(0, 1000 + (round * 131) % 4000)).Get();
    ASSERT_TRUE(text.ok()) << "round " << round << ": " << text.status();
    EXPECT_EQ(std::string(text->getValue().cStr()), "");
  }
}

INSTANTIATE_TEST_SUITE_P(Workers, ZeroCopy,
                         ::testing::Values(Case{"thread", false, false},
                                           Case{"process_untrusted", true, false},
                                           Case{"process_trusted", true, true}),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace weft_test
