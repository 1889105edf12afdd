// The torture schema served end to end: every method weft generates for
// Torture (a diamond across Bazel packages, C++ keywords, $Cxx.name renames,
// branded generic structs, an implicit method parameter, a streaming
// method) called on thread workers and on process workers; two brands of
// the generic Box, each in a pool of its own; the branded superclass
// TextBox; a renamed interface, one nested three structs deep, and one with
// 210 methods.
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "runtime/weft.h"
#include "tests/schemas/torture_impl.h"
#include "tests/testing/watchdog.h"

namespace weft_test {
namespace {

std::string Worker(const char* name) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (srcdir == nullptr || workspace == nullptr) return absl::StrCat("tests/schemas/", name);
  return absl::StrCat(srcdir, "/", workspace, "/tests/schemas/", name);
}
std::string TortureWorker() { return Worker("torture_worker"); }

// A pool of one `I` worker: a thread running `Impl`, or a process of
// any_worker serving `serves` (see any_worker.cc).
template <typename I, typename Impl>
weft::Pool<I> PoolOf(weft::WorkerRuntime runtime, const char* serves) {
  weft::PoolOptions options;
  options.workers = 1;
  absl::StatusOr<weft::Pool<I>> pool = absl::UnknownError("unset");
  if (runtime == weft::WorkerRuntime::kThread) {
    pool = weft::Pool<I>::Create(options, [] { return std::make_unique<Impl>(); });
  } else {
    options.runtime = weft::WorkerRuntime::kProcess;
    options.worker_command = {Worker("any_worker"), serves};
    pool = weft::Pool<I>::Create(options);
  }
  EXPECT_TRUE(pool.ok()) << pool.status();
  return *std::move(pool);
}

template <typename I, typename Impl>
weft::Pool<I> ThreadPool(int workers = 1) {
  weft::PoolOptions options;
  options.workers = workers;
  auto pool = weft::Pool<I>::Create(options, [] { return std::make_unique<Impl>(); });
  EXPECT_TRUE(pool.ok()) << pool.status();
  return *std::move(pool);
}

// One pool of Torture workers, threads or processes.
weft::Pool<torture::Torture> TorturePool(weft::WorkerRuntime runtime) {
  if (runtime == weft::WorkerRuntime::kThread) {
    return ThreadPool<torture::Torture, TortureImpl>();
  }
  weft::PoolOptions options;
  options.workers = 1;
  options.runtime = weft::WorkerRuntime::kProcess;
  options.worker_command = {TortureWorker()};
  auto pool = weft::Pool<torture::Torture>::Create(options);
  EXPECT_TRUE(pool.ok()) << pool.status();
  return *std::move(pool);
}

class TortureTest : public ::testing::TestWithParam<weft::WorkerRuntime> {};

INSTANTIATE_TEST_SUITE_P(Runtimes, TortureTest,
                         ::testing::Values(weft::WorkerRuntime::kThread,
                                           weft::WorkerRuntime::kProcess),
                         [](const auto& info) {
                           return info.param == weft::WorkerRuntime::kThread ? "Threads"
                                                                             : "Processes";
                         });

TEST_P(TortureTest, ServesEveryGeneratedMethod) {
  Watchdog watchdog("the torture calls", kHangBound);
  weft::Pool<torture::Torture> pool = TorturePool(GetParam());
  weft::Stub<torture::Torture> stub = pool.stub();

  // Keywords: the flat forms take `class_`, `new_`, `this_`, `void_`, `options_`.
  auto deleted = stub.delete_("k", true, 7).Get();
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(std::string(deleted->getNamespace().cStr()), "k+7");
  auto returned = stub.return_(3, 4).Get();
  ASSERT_TRUE(returned.ok()) << returned.status();
  EXPECT_EQ(returned->getInt(), 3004u);

  // $Cxx.name on the method and on its param.
  auto renamed = stub.renamed(21).Get();
  ASSERT_TRUE(renamed.ok()) << renamed.status();
  EXPECT_EQ(renamed->getValue(), -21);

  // Branded generic structs from another package.
  auto swapped =
      stub.swap([](auto p) {
            auto pair = p.initPair();
            pair.setFirst("text");
            pair.setSecond(capnp::Data::Reader(reinterpret_cast<const kj::byte*>("\x01\x02"), 2));
          })
          .Get();
  ASSERT_TRUE(swapped.ok()) << swapped.status();
  EXPECT_EQ(swapped->getPair().getFirst().size(), 2u);
  EXPECT_EQ(std::string(swapped->getPair().getSecond().cStr()), "text");
  auto paired = stub.pairUp([](torture::base::Pair<capnp::Text, capnp::Text>::Builder p) {
                      p.setFirst("a");
                      p.setSecond("b");
                    })
                    .Get();
  ASSERT_TRUE(paired.ok()) << paired.status();
  EXPECT_EQ(std::string(paired->getFirst().cStr()), "b");
  EXPECT_EQ(std::string(paired->getSecond().cStr()), "a");

  // The implicit method parameter, bound by the caller.
  auto echoed = stub.echo<capnp::Text>([](auto p) { p.setValue("round trip"); }).Get();
  ASSERT_TRUE(echoed.ok()) << echoed.status();
  EXPECT_EQ(std::string(echoed->getValue().cStr()), "round trip");

  // ping2, renamed `left` (Base.Left's `left` is skipped for the clash).
  ASSERT_TRUE(stub.left().Get().ok());

  // Inherited through the diamond (Root once) from another package.
  auto pinged = stub.ping(41).Get();
  ASSERT_TRUE(pinged.ok()) << pinged.status();
  EXPECT_EQ(pinged->getToken(), 42u);
  auto right = stub.right("four").Get();
  ASSERT_TRUE(right.ok()) << right.status();
  EXPECT_EQ(right->getLength(), 4u);
}

// How many streamed calls the streaming tests send: a million, fewer under
// the sanitizers (WEFT_STRESS_CALLS, which the tsan config sets; asan's
// slowdown is smaller).
uint64_t StreamCount() {
  const char* env = std::getenv("WEFT_STRESS_CALLS");
  return env != nullptr ? std::strtoull(env, nullptr, 10) : 1'000'000;
}

// Streamed calls: all arrive, in order (the worker fails a call that comes
// out of order, and that failure would surface at Flush).
TEST_P(TortureTest, StreamedCallsArriveInOrder) {
  weft::Pool<torture::Torture> pool = TorturePool(GetParam());
  weft::Stub<torture::Torture> stub = pool.stub();
  const uint64_t count =
      GetParam() == weft::WorkerRuntime::kThread ? StreamCount() : StreamCount() / 10;
  std::atomic<uint64_t> sent{0};
  Watchdog watchdog("the streamed calls", kHangBound, [&] { return sent.load(); });
  const kj::byte byte = 1;
  for (uint64_t i = 0; i < count; ++i) {
    absl::Status queued = stub.push(i, capnp::Data::Reader(&byte, 1));
    ASSERT_TRUE(queued.ok()) << "call " << i << ": " << queued;
    sent.store(i + 1, std::memory_order_relaxed);  // Relaxed: the watchdog's progress hint
  }
  ASSERT_TRUE(stub.Flush().ok());
  // The worker saw exactly `count` calls: the next seq it expects is count.
  const kj::byte refuse = 0xff;
  ASSERT_TRUE(stub.push(count, capnp::Data::Reader(&refuse, 1)).ok());
  absl::Status flushed = stub.Flush();
  EXPECT_EQ(flushed.code(), absl::StatusCode::kInvalidArgument) << flushed;
  EXPECT_NE(flushed.message().find(absl::StrCat("push ", count, " refused")), std::string::npos)
      << flushed;
}

// A worker error surfaces once: at the next Flush, or at the next streamed
// call (which is then not sent).
TEST_P(TortureTest, StreamedCallErrorSurfacesOnce) {
  Watchdog watchdog("the streamed calls", kHangBound);
  weft::Pool<torture::Torture> pool = TorturePool(GetParam());
  weft::Stub<torture::Torture> stub = pool.stub();
  const kj::byte ok = 1, refuse = 0xff;
  ASSERT_TRUE(stub.push(0, capnp::Data::Reader(&refuse, 1)).ok());  // queued; fails later
  absl::Status flushed = stub.Flush();
  EXPECT_EQ(flushed.code(), absl::StatusCode::kInvalidArgument) << flushed;
  EXPECT_TRUE(stub.Flush().ok()) << "reported once";

  ASSERT_TRUE(stub.push(1, capnp::Data::Reader(&refuse, 1)).ok());
  ASSERT_TRUE(stub.ping(1).Get().ok());  // the worker served push 1 before this
  absl::Status next = stub.push(2, capnp::Data::Reader(&ok, 1));
  EXPECT_EQ(next.code(), absl::StatusCode::kInvalidArgument) << next;
  EXPECT_TRUE(stub.push(2, capnp::Data::Reader(&ok, 1)).ok());
  EXPECT_TRUE(stub.Flush().ok());
}

// Backpressure: while the worker is stuck, a caller can queue no more than
// the lane's slots (with queue_full = kFail the next call says so at once
// and is not sent; nothing overflows); once it moves, everything queued is
// served in order.
TEST(TortureStreaming, BackpressureBoundsWhatIsQueued) {
  Watchdog watchdog("the gated streamed calls", kHangBound);
  std::atomic<bool> gate{false};
  weft::PoolOptions options;
  options.workers = 1;
  options.slots_per_lane = 4;
  options.queue_full = weft::QueueFull::kFail;
  auto pool = weft::Pool<torture::Torture>::Create(
      options, [&gate] { return std::make_unique<TortureImpl>(&gate); });
  ASSERT_TRUE(pool.ok()) << pool.status();
  auto stub = pool->stub();
  const kj::byte byte = 1;
  uint64_t queued = 0;
  absl::Status refused;
  for (; queued < 100; ++queued) {
    refused = stub.push(queued, capnp::Data::Reader(&byte, 1));
    if (!refused.ok()) break;
  }
  EXPECT_EQ(queued, 4u) << "calls queued beyond the lane's 4 slots";
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted) << refused;
  // Release: pairs with the worker's acquire load in TortureImpl::push.
  gate.store(true, std::memory_order_release);
  EXPECT_TRUE(stub.Flush().ok());
  EXPECT_TRUE(stub.push(queued, capnp::Data::Reader(&byte, 1)).ok()) << "seq continues at 4";
  EXPECT_TRUE(stub.Flush().ok());
}

// With queue_full = kWait a caller faster than the worker waits for room
// instead: a worker that is held back at first still sees every call, in
// order.
TEST(TortureStreaming, SlowWorkerHoldsTheCallerBack) {
  std::atomic<bool> gate{false};
  weft::PoolOptions options;
  options.workers = 1;
  options.slots_per_lane = 4;
  auto pool = weft::Pool<torture::Torture>::Create(
      options, [&gate] { return std::make_unique<TortureImpl>(&gate); });
  ASSERT_TRUE(pool.ok()) << pool.status();
  auto stub = pool->stub();
  std::atomic<uint64_t> sent{0};
  Watchdog watchdog("the held-back streamed calls", kHangBound, [&] { return sent.load(); });
  std::thread opener([&] {
    // Waits until the caller filled the slots (it blocks on the fifth).
    while (sent.load(std::memory_order_relaxed) < 4) std::this_thread::yield();
    // Release: pairs with the worker's acquire load in TortureImpl::push.
    gate.store(true, std::memory_order_release);
  });
  const kj::byte byte = 1;
  for (uint64_t i = 0; i < 10'000; ++i) {
    ASSERT_TRUE(stub.push(i, capnp::Data::Reader(&byte, 1)).ok()) << i;
    sent.store(i + 1, std::memory_order_relaxed);  // Relaxed: a progress hint
  }
  opener.join();
  EXPECT_TRUE(stub.Flush().ok());
}

// Two brands of one generic interface, a pool each.
TEST_P(TortureTest, TwoBrandsOfBoxEachInAPool) {
  Watchdog watchdog("the Box calls", kHangBound);
  auto texts = PoolOf<torture::Box<capnp::Text>, BoxImpl<capnp::Text>>(GetParam(), "box_text");
  auto blobs = PoolOf<torture::Box<capnp::Data>, BoxImpl<capnp::Data>>(GetParam(), "box_data");
  weft::Stub<torture::Box<capnp::Text>> text_box = texts.stub();
  weft::Stub<torture::Box<capnp::Data>> data_box = blobs.stub();

  auto put_text = text_box.put([](auto p) { p.setValue("hello"); }).Get();
  ASSERT_TRUE(put_text.ok()) << put_text.status();
  EXPECT_EQ(put_text->getSize(), 5u);
  const kj::byte bytes[] = {9, 8, 7};
  auto put_data = data_box.put([&](auto p) { p.setValue(capnp::Data::Reader(bytes, 3)); }).Get();
  ASSERT_TRUE(put_data.ok()) << put_data.status();
  EXPECT_EQ(put_data->getSize(), 3u);

  auto text = text_box.get().Get();
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(std::string(text->getValue().cStr()), "hello");
  auto data = data_box.get().Get();
  ASSERT_TRUE(data.ok()) << data.status();
  ASSERT_EQ(data->getValue().size(), 3u);
  EXPECT_EQ(data->getValue()[2], 7);

  auto pair = text_box
                  .pair([](auto p) {
                    p.initP().setFirst("x");
                    p.getP().setSecond("y");
                  })
                  .Get();
  ASSERT_TRUE(pair.ok()) << pair.status();
  EXPECT_EQ(std::string(pair->getP().getFirst().cStr()), "y");
  EXPECT_EQ(std::string(pair->getP().getSecond().cStr()), "x");
  auto count = data_box.count().Get();  // the flat form of a generic interface
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(count->getN(), 1u);
}

// Box(Text)'s methods through a branded `extends`, then the subclass's own.
TEST_P(TortureTest, BrandedSuperclass) {
  Watchdog watchdog("the TextBox calls", kHangBound);
  auto pool = PoolOf<torture::TextBox, TextBoxImpl>(GetParam(), "text_box");
  auto stub = pool.stub();
  ASSERT_TRUE(stub.put([](auto p) { p.setValue("kept"); }).Get().ok());
  auto got = stub.get().Get();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(std::string(got->getValue().cStr()), "kept");
  ASSERT_TRUE(stub.clear().Get().ok());
  EXPECT_EQ(stub.get().Get().status().code(), absl::StatusCode::kNotFound);
}

TEST_P(TortureTest, RenamedAndDeeplyNestedInterfaces) {
  Watchdog watchdog("the nested calls", kHangBound);
  auto renamed = PoolOf<torture::Renamed, RenamedImpl>(GetParam(), "renamed");
  auto hello = renamed.stub().hello("you").Get();
  ASSERT_TRUE(hello.ok()) << hello.status();
  EXPECT_EQ(std::string(hello->getGreeting().cStr()), "hello, you");

  auto deep = PoolOf<torture::Level1::Level2::Level3::Deep, DeepImpl>(GetParam(), "deep");
  auto down = deep.stub().down(3).Get();
  ASSERT_TRUE(down.ok()) << down.status();
  EXPECT_EQ(down->getDepth(), 4);
}

// Every one of 210 methods reaches its own implementation.
TEST_P(TortureTest, WideInterfaceDispatchesEveryMethod) {
  Watchdog watchdog("the wide calls", kHangBound);
  auto pool = PoolOf<torture::wide::Wide, WideImpl>(GetParam(), "wide");
  using Traits = weft::InterfaceTraits<torture::wide::Wide>;
  static_assert(Traits::kMethodCount == 210);
  auto stub = pool.stub();
  // Every method through its stub form; each answers x + its own number, so
  // a dispatch to any other method shows.
  int checked = 0;
#define WEFT_WIDE_CALL(n)                             \
  {                                                   \
    auto r = stub.m##n(5).Get();                      \
    ASSERT_TRUE(r.ok()) << "m" #n ": " << r.status(); \
    EXPECT_EQ(r->getY(), 5u + n) << "m" #n;           \
    ++checked;                                        \
  }
#define WEFT_WIDE_CALLS_OF_TEN(d) \
  WEFT_WIDE_CALL(d##0)            \
  WEFT_WIDE_CALL(d##1)            \
  WEFT_WIDE_CALL(d##2)            \
  WEFT_WIDE_CALL(d##3)            \
  WEFT_WIDE_CALL(d##4)            \
  WEFT_WIDE_CALL(d##5)            \
  WEFT_WIDE_CALL(d##6)            \
  WEFT_WIDE_CALL(d##7)            \
  WEFT_WIDE_CALL(d##8)            \
  WEFT_WIDE_CALL(d##9)
  WEFT_WIDE_CALL(0)
  WEFT_WIDE_CALL(1)
  WEFT_WIDE_CALL(2)
  WEFT_WIDE_CALL(3)
  WEFT_WIDE_CALL(4)
  WEFT_WIDE_CALL(5)
  WEFT_WIDE_CALL(6)
  WEFT_WIDE_CALL(7)
  WEFT_WIDE_CALL(8)
  WEFT_WIDE_CALL(9)
  WEFT_WIDE_CALLS_OF_TEN(1)
  WEFT_WIDE_CALLS_OF_TEN(2)
  WEFT_WIDE_CALLS_OF_TEN(3)
  WEFT_WIDE_CALLS_OF_TEN(4)
  WEFT_WIDE_CALLS_OF_TEN(5)
  WEFT_WIDE_CALLS_OF_TEN(6)
  WEFT_WIDE_CALLS_OF_TEN(7)
  WEFT_WIDE_CALLS_OF_TEN(8)
  WEFT_WIDE_CALLS_OF_TEN(9)
  WEFT_WIDE_CALLS_OF_TEN(10)
  WEFT_WIDE_CALLS_OF_TEN(11)
  WEFT_WIDE_CALLS_OF_TEN(12)
  WEFT_WIDE_CALLS_OF_TEN(13)
  WEFT_WIDE_CALLS_OF_TEN(14)
  WEFT_WIDE_CALLS_OF_TEN(15)
  WEFT_WIDE_CALLS_OF_TEN(16)
  WEFT_WIDE_CALLS_OF_TEN(17)
  WEFT_WIDE_CALLS_OF_TEN(18)
  WEFT_WIDE_CALLS_OF_TEN(19)
  WEFT_WIDE_CALLS_OF_TEN(20)
#undef WEFT_WIDE_CALLS_OF_TEN
#undef WEFT_WIDE_CALL
  EXPECT_EQ(checked, 210);
  // And one through the builder form.
  auto middle = stub.m104([](auto p) { p.setX(1); }).Get();
  ASSERT_TRUE(middle.ok()) << middle.status();
  EXPECT_EQ(middle->getY(), 105u);
}

}  // namespace
}  // namespace weft_test
