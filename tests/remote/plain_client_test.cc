// A plain Cap'n Proto client calling a weft-served skeleton. This file
// includes nothing of weft: capnpc-c++'s header, Cap'n Proto's EzRpcClient,
// and the test's own server handle (served_test_service.h names nothing of
// weft either). Whatever works here works for any Cap'n Proto user.
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "capnp/ez-rpc.h"
#include "gtest/gtest.h"
#include "kj/async.h"
#include "kj/exception.h"
#include "tests/pool/test_service.capnp.h"
#include "tests/remote/served_test_service.h"
#include "tests/testing/watchdog.h"

// Proof of the claim above: none of weft's runtime headers came in (the
// schema's capnpc-c++ header imports only the annotations' schema).
#if defined(WEFT_RUNTIME_INTERFACE_H_) || defined(WEFT_RUNTIME_POOL_H_) || \
    defined(WEFT_RUNTIME_RPC_SERVER_H_) || defined(WEFT_RUNTIME_STUB_H_)
#error "a weft runtime header reached the plain client's translation unit"
#endif

namespace weft_test {
namespace {

class PlainClientTest : public ::testing::Test {
 protected:
  PlainClientTest()
      : served_(ServedTestService::Start(2)),
        client_(served_->address()),
        service_(client_.getMain<TestService>()) {}
  // KJ's destructors may throw (noexcept(false)); gtest's may not.
  ~PlainClientTest() noexcept override {}

  // The outcome of fail(code, message) as the client sees it.
  kj::Exception Fail(uint32_t code, const char* message) {
    auto request = service_.failRequest();
    request.setCode(code);
    request.setMessage(message);
    kj::Maybe<kj::Exception> thrown =
        kj::runCatchingExceptions([&] { request.send().wait(client_.getWaitScope()); });
    KJ_IF_MAYBE (e, thrown) {
      return *e;
    }
    ADD_FAILURE() << "fail(" << code << ") succeeded";
    return kj::Exception(kj::Exception::Type::FAILED, __FILE__, __LINE__, kj::str("none"));
  }

  std::unique_ptr<ServedTestService> served_;
  capnp::EzRpcClient client_;
  TestService::Client service_;
  Watchdog watchdog_{"a plain Cap'n Proto client's test", kHangBound};
};

TEST_F(PlainClientTest, CallsReturnTheSkeletonsValues) {
  auto square = service_.squareRequest();
  square.setValue(-12);
  EXPECT_EQ(square.send().wait(client_.getWaitScope()).getResult(), 144);

  auto echo = service_.echoRequest();
  const std::string bytes(3000, 'x');  // spills past the inline area
  echo.setData(kj::arrayPtr(reinterpret_cast<const kj::byte*>(bytes.data()), bytes.size()));
  auto echoed = echo.send().wait(client_.getWaitScope());
  ASSERT_EQ(echoed.getData().size(), bytes.size());
  EXPECT_EQ(
      std::string(reinterpret_cast<const char*>(echoed.getData().begin()), echoed.getData().size()),
      bytes);

  auto texts = service_.manyTextsRequest();
  texts.setCount(3);
  auto items = texts.send().wait(client_.getWaitScope());
  ASSERT_EQ(items.getItems().size(), 3u);
  EXPECT_EQ(std::string(items.getItems()[2].cStr()), "item 2");
}

TEST_F(PlainClientTest, StatusesBecomeExceptionsWithAStableMapping) {
  struct Case {
    uint32_t code;  // absl::StatusCode
    kj::Exception::Type type;
    const char* description;
  };
  const std::vector<Case> cases = {
      {14, kj::Exception::Type::DISCONNECTED, "UNAVAILABLE: down for a moment"},
      {8, kj::Exception::Type::OVERLOADED, "RESOURCE_EXHAUSTED: down for a moment"},
      {12, kj::Exception::Type::UNIMPLEMENTED, "UNIMPLEMENTED: down for a moment"},
      {5, kj::Exception::Type::FAILED, "NOT_FOUND: down for a moment"},
      {3, kj::Exception::Type::FAILED, "INVALID_ARGUMENT: down for a moment"},
      {9, kj::Exception::Type::FAILED, "FAILED_PRECONDITION: down for a moment"},
  };
  for (const Case& c : cases) {
    kj::Exception e = Fail(c.code, "down for a moment");
    EXPECT_EQ(e.getType(), c.type) << c.description;
    EXPECT_EQ(std::string(e.getDescription().cStr()),
              std::string("remote exception: ") + c.description);
  }
  // A skeleton that throws is an internal error, named.
  auto thrown = service_.throwErrorRequest();
  thrown.setMessage("boom");
  kj::Maybe<kj::Exception> e =
      kj::runCatchingExceptions([&] { thrown.send().wait(client_.getWaitScope()); });
  KJ_IF_MAYBE (exception, e) {
    EXPECT_EQ(exception->getType(), kj::Exception::Type::FAILED);
    EXPECT_NE(std::string(exception->getDescription().cStr()).find("INTERNAL: "), std::string::npos)
        << exception->getDescription().cStr();
  } else {
    ADD_FAILURE() << "throwError succeeded";
  }
  // And the server goes on serving.
  auto square = service_.squareRequest();
  square.setValue(3);
  EXPECT_EQ(square.send().wait(client_.getWaitScope()).getResult(), 9);
}

TEST_F(PlainClientTest, AThousandPipelinedCallsAllResolve) {
  constexpr int kCalls = 1000;
  kj::Vector<kj::Promise<int64_t>> results;
  for (int i = 0; i < kCalls; ++i) {
    auto request = service_.squareRequest();
    request.setValue(i);
    results.add(request.send().then([](auto response) { return response.getResult(); }));
  }
  kj::Array<int64_t> squares =
      kj::joinPromises(results.releaseAsArray()).wait(client_.getWaitScope());
  ASSERT_EQ(squares.size(), static_cast<size_t>(kCalls));
  for (int i = 0; i < kCalls; ++i) EXPECT_EQ(squares[i], int64_t{i} * i) << i;
}

TEST_F(PlainClientTest, CancellingACallReachesTheWorkersAborted) {
  {
    kj::Promise<void> held = service_.gatedRequest().send().ignoreResult().eagerlyEvaluate(nullptr);
    // Until the worker is inside the method: the loop must run to send it.
    while (served_->entered() < 1) {
      client_.getWaitScope().poll();
      std::this_thread::yield();
    }
  }  // dropped: Cap'n Proto sends Finish, the server drops the pool's call
  // A call after the drop: the Finish went out before its request.
  auto square = service_.squareRequest();
  square.setValue(2);
  EXPECT_EQ(square.send().wait(client_.getWaitScope()).getResult(), 4);
  served_->WaitAborted(1);  // the method saw call.aborted(); a hang is the watchdog's
}

}  // namespace
}  // namespace weft_test
