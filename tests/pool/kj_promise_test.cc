// weft::ToPromise (runtime/kj/promise.h) on a real KJ event loop.
#include "gtest/gtest.h"
#include "kj/async.h"
#include "kj/debug.h"
#include "runtime/kj/promise.h"
#include "runtime/pool.h"
#include "tests/pool/test_service.weft.h"
#include "tests/pool/test_service_impl.h"
#include "tests/testing/watchdog.h"

#if defined(__SANITIZE_THREAD__)
// Debian's libkj-async is not built with TSan: the lock that orders a
// cross-thread fulfiller's write of its result before the loop's read
// (kj::Executor's mutex) is invisible to it, so it reports the hand-off
// itself as a race. Only that hand-off is suppressed: both of its frames
// are KJ's cross-thread promise internals. A TSan build of a program using
// weft::ToPromise needs the same two lines.
extern "C" const char* __tsan_default_suppressions() {
  return "race:kj::_::XThreadPafImpl\n"
         "race:kj::_::XThreadFulfiller\n";
}
#endif

namespace weft_test {
namespace {

using Pool = weft::Pool<TestService>;

TEST(KjPromise, ResolvesOnTheLoop) {
  Gate gate;
  Pool pool = MakeWorkerPool(gate, 2);
  kj::EventLoop loop;
  kj::WaitScope wait_scope(loop);
  weft::Stub<TestService> stub = pool.stub();
  kj::Promise<int64_t> sum =
      weft::ToPromise(stub.square(3)).then([&](weft::Response<TestService::SquareResults> a) {
        const int64_t first = a.getResult();
        return weft::ToPromise(stub.square(4))
            .then([first](weft::Response<TestService::SquareResults> b) {
              return first + b.getResult();
            });
      });
  Watchdog dog("the KJ promises resolved", kHangBound);
  EXPECT_EQ(sum.wait(wait_scope), 25);
  dog.Done();
}

TEST(KjPromise, ManyAtOnce) {
  Gate gate;
  Pool pool = MakeWorkerPool(gate, 2);
  kj::EventLoop loop;
  kj::WaitScope wait_scope(loop);
  weft::Stub<TestService> stub = pool.stub();
  kj::Vector<kj::Promise<int64_t>> all;
  for (int64_t i = 0; i < 500; ++i) {
    all.add(weft::ToPromise(stub.square(i)).then([](weft::Response<TestService::SquareResults> r) {
      return r.getResult();
    }));
  }
  Watchdog dog("500 KJ promises resolved", kHangBound);
  kj::Array<int64_t> results = kj::joinPromises(all.releaseAsArray()).wait(wait_scope);
  dog.Done();
  ASSERT_EQ(results.size(), 500u);
  for (int64_t i = 0; i < 500; ++i) EXPECT_EQ(results[i], i * i);
}

TEST(KjPromise, AFailedCallRejectsWithTheStatus) {
  Gate gate;
  Pool pool = MakeWorkerPool(gate, 1);
  kj::EventLoop loop;
  kj::WaitScope wait_scope(loop);
  weft::Stub<TestService> stub = pool.stub();
  auto failed = weft::ToPromise(
      stub.fail(static_cast<uint32_t>(absl::StatusCode::kNotFound), "no such thing"));
  kj::Maybe<kj::Exception> e = kj::runCatchingExceptions([&] { failed.wait(wait_scope); });
  KJ_IF_MAYBE (exception, e) {
    EXPECT_EQ(exception->getType(), kj::Exception::Type::FAILED);
    const std::string text = exception->getDescription().cStr();
    EXPECT_NE(text.find("NOT_FOUND"), std::string::npos) << text;
    EXPECT_NE(text.find("no such thing"), std::string::npos) << text;
  } else {
    ADD_FAILURE() << "the promise of a failed call resolved";
  }
  // Unavailable is DISCONNECTED.
  ASSERT_TRUE(pool.Shutdown().ok());
  auto closed = weft::ToPromise(stub.square(1));
  kj::Maybe<kj::Exception> c = kj::runCatchingExceptions([&] { closed.wait(wait_scope); });
  KJ_IF_MAYBE (exception, c) {
    EXPECT_EQ(exception->getType(), kj::Exception::Type::DISCONNECTED)
        << exception->getDescription().cStr();
  } else {
    ADD_FAILURE() << "a call to a shut-down pool resolved";
  }
}

TEST(KjPromise, DroppingThePromiseAbortsTheCall) {
  Gate gate;
  Pool pool = MakeWorkerPool(gate, 1);
  kj::EventLoop loop;
  kj::WaitScope wait_scope(loop);
  weft::Stub<TestService> stub = pool.stub();
  {
    auto p = weft::ToPromise(stub.gated());
    gate.WaitEntered(1);
  }  // dropped unresolved
  ASSERT_TRUE(PollUntil([&] { return gate.aborted_count() == 1; }, kHangBound))
      << "the worker never saw aborted()";
  // The loop and the pool keep working.
  EXPECT_EQ(weft::ToPromise(stub.square(6)).wait(wait_scope).getResult(), 36);
}

}  // namespace
}  // namespace weft_test
