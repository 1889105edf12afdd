// weft::RpcService<I> (x.weft-rpc.h) for the torture and shapes schemas.
//
// At compile time: for every interface x.weft.h has a Stub for, generic
// brands and interfaces from other files included, it is a final I::Server
// (what weft::RpcServer hands out as the bootstrap capability) made from an
// internal::RpcTarget, explicitly; skipped interfaces have none.
//
// Served: pools of the torture skeletons behind an RpcServer, called by a
// plain Cap'n Proto client. Every kind of override is reached by the name
// capnpc-c++ gives it (keywords, $Cxx.name, an implicit method parameter, a
// stream, a diamond's shared base, a generic interface and a branded
// superclass), and a method capnpc-weft skipped answers UNIMPLEMENTED.
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/statusor.h"
#include "capnp/ez-rpc.h"
#include "gtest/gtest.h"
#include "kj/async.h"
#include "kj/exception.h"
#include "runtime/rpc_server.h"
#include "tests/codegen/common.weft-rpc.h"
#include "tests/codegen/shapes.weft-rpc.h"
#include "tests/schemas/plain.weft-rpc.h"
#include "tests/schemas/torture.weft-rpc.h"
#include "tests/schemas/torture_impl.h"
#include "tests/schemas/wide.weft-rpc.h"
#include "tests/testing/watchdog.h"

namespace {

using ::weft::RpcService;
using ::weft::internal::RpcTarget;

template <typename I>
constexpr bool kServes =
    std::is_base_of_v<typename I::Server, RpcService<I>>&& std::is_final_v<RpcService<I>>&&
        std::is_constructible_v<RpcService<I>, RpcTarget> &&
    !std::is_convertible_v<RpcTarget, RpcService<I>> &&
    std::is_same_v<typename RpcService<I>::Traits, weft::InterfaceTraits<I>>;

// torture.capnp: keywords, renames, a diamond across packages, an implicit
// method parameter, a stream, skipped methods, a branded superclass.
static_assert(kServes<torture::Callback>);
static_assert(kServes<torture::Torture>);
static_assert(kServes<torture::Box<capnp::Text>>);
static_assert(kServes<torture::Box<capnp::Data>>);
static_assert(kServes<torture::Box<torture::base::Pair<capnp::Text, capnp::Data>>>);
static_assert(kServes<torture::TextBox>);
static_assert(kServes<torture::Renamed>);
static_assert(kServes<torture::Level1::Level2::Level3::Deep>);
static_assert(kServes<torture::wide::Wide>);
// The diamond's shared base is one Server, reached through both sides.
static_assert(std::is_base_of_v<torture::base::Root::Server, RpcService<torture::Torture>>);
static_assert(std::is_base_of_v<torture::Box<capnp::Text>::Server, RpcService<torture::TextBox>>);

// shapes.capnp (and the common.capnp it extends from).
namespace shapes = ::weft_test::shapes;
static_assert(kServes<weft_test::common::Pingable>);
static_assert(kServes<shapes::Named>);
static_assert(kServes<shapes::Shape>);
static_assert(kServes<shapes::Colored>);
static_assert(kServes<shapes::ColoredShape>);
static_assert(kServes<shapes::Marker>);
static_assert(kServes<shapes::Marked>);
static_assert(kServes<shapes::Keywords>);
static_assert(kServes<shapes::Canvas::Layer>);
static_assert(kServes<shapes::Canvas::Inner::Brush>);

// Interfaces without a Stub have no RpcService either: the primary template
// is declared only.
template <typename T>
concept Complete = requires {
  sizeof(T);
};
static_assert(!Complete<RpcService<torture::Skipped>>);
static_assert(!Complete<RpcService<torture::Outer<capnp::Text>::Inner>>);

TEST(RpcService, CompileTimeChecksHold) { SUCCEED(); }

// A thread pool of `Impl` served at a Unix socket in a directory of its own
// (under /tmp: a socket path has at most 107 bytes), and a plain Cap'n Proto
// client of it. Thread-compatible; one test's.
template <typename I, typename Impl>
class Served {
 public:
  Served() {
    char dir[] = "/tmp/weft-rpc-service-XXXXXX";
    if (mkdtemp(dir) == nullptr) return;
    dir_ = dir;
    weft::PoolOptions options;
    options.workers = 1;
    absl::StatusOr<weft::Pool<I>> pool =
        weft::Pool<I>::Create(options, [] { return std::make_unique<Impl>(); });
    if (!pool.ok()) {
      ADD_FAILURE() << pool.status();
      return;
    }
    pool_ = std::make_unique<weft::Pool<I>>(*std::move(pool));
    weft::RpcServerOptions serve;
    serve.address = "unix:" + dir_ + "/s";
    absl::StatusOr<std::unique_ptr<weft::RpcServer>> server = weft::RpcServer::Serve(*pool_, serve);
    if (!server.ok()) {
      ADD_FAILURE() << server.status();
      return;
    }
    server_ = *std::move(server);
    client_.emplace(server_->address());
  }
  // KJ's destructors may throw (noexcept(false)); gtest's may not.
  ~Served() noexcept {
    client_.reset();
    server_.reset();
    pool_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  bool ok() const { return client_.has_value(); }
  typename I::Client main() { return client_->template getMain<I>(); }
  kj::WaitScope& wait_scope() { return client_->getWaitScope(); }

 private:
  std::string dir_;
  std::unique_ptr<weft::Pool<I>> pool_;
  std::unique_ptr<weft::RpcServer> server_;
  std::optional<capnp::EzRpcClient> client_;
};

// The exception `send` (which waits for a call) throws; nullopt if none.
template <typename Send>
std::optional<kj::Exception> Thrown(Send&& send) {
  kj::Maybe<kj::Exception> thrown = kj::runCatchingExceptions(std::forward<Send>(send));
  KJ_IF_MAYBE (e, thrown) {
    return *e;
  }
  return std::nullopt;
}

TEST(RpcService, ServesEveryKindOfTortureMethod) {
  weft_test::Watchdog watchdog("the torture RPC calls", weft_test::kHangBound);
  Served<torture::Torture, weft_test::TortureImpl> served;
  ASSERT_TRUE(served.ok());
  torture::Torture::Client torture = served.main();
  kj::WaitScope& ws = served.wait_scope();

  auto del = torture.deleteRequest();  // `delete_` on both sides
  del.setClass("c");
  del.setNew(true);
  del.setThis(7);
  EXPECT_EQ(std::string(del.send().wait(ws).getNamespace().cStr()), "c+7");

  auto renamed = torture.renamedRequest();  // $Cxx.name on the method and the param
  renamed.setRenamedValue(5);
  EXPECT_EQ(renamed.send().wait(ws).getValue(), -5);

  auto pair_up = torture.pairUpRequest();  // a branded struct as the whole params
  pair_up.setFirst("a");
  pair_up.setSecond("b");
  auto paired = pair_up.send().wait(ws);
  EXPECT_EQ(std::string(paired.getFirst().cStr()), "b");
  EXPECT_EQ(std::string(paired.getSecond().cStr()), "a");

  auto echo = torture.echoRequest<capnp::Text>();  // AnyPointer on the server
  echo.setValue("round trip");
  EXPECT_EQ(std::string(echo.send().wait(ws).getValue().cStr()), "round trip");

  for (uint64_t seq = 0; seq < 3; ++seq) {  // a stream, in order
    auto push = torture.pushRequest();
    push.setSeq(seq);
    push.send().wait(ws);
  }
  torture.leftRequest().send().wait(ws);  // ping2, $Cxx.name("left")

  auto ping = torture.pingRequest();  // the diamond's shared base
  ping.setToken(41);
  EXPECT_EQ(ping.send().wait(ws).getToken(), 42u);
  auto right = torture.rightRequest();
  right.setText("four");
  EXPECT_EQ(right.send().wait(ws).getLength(), 4u);

  // Skipped by capnpc-weft: not overridden, so Cap'n Proto's default.
  std::optional<kj::Exception> watch = Thrown([&] { torture.watchRequest().send().wait(ws); });
  ASSERT_TRUE(watch.has_value());
  EXPECT_EQ(watch->getType(), kj::Exception::Type::UNIMPLEMENTED);
  auto left = torture.castAs<torture::base::Left>().leftRequest();  // lost its name to ping2
  std::optional<kj::Exception> lost = Thrown([&] { left.send().wait(ws); });
  ASSERT_TRUE(lost.has_value());
  EXPECT_EQ(lost->getType(), kj::Exception::Type::UNIMPLEMENTED);

  // A streamed call the skeleton fails: its status comes back as the
  // exception, on that call or (Cap'n Proto's streaming rule: the failure
  // breaks the capability) the next one. Last, for that reason.
  auto refused = torture.pushRequest();  // TortureImpl refuses a 0xff chunk
  refused.setSeq(3);
  const kj::byte refuse[] = {0xff};
  refused.setChunk(kj::arrayPtr(refuse, 1));
  std::optional<kj::Exception> stream_error = Thrown([&] {
    refused.send().wait(ws);
    torture.pingRequest().send().wait(ws);
  });
  ASSERT_TRUE(stream_error.has_value());
  EXPECT_NE(std::string(stream_error->getDescription().cStr()).find("INVALID_ARGUMENT: push 3"),
            std::string::npos)
      << stream_error->getDescription().cStr();
}

TEST(RpcService, ServesAGenericInterfaceAndABrandedSuperclass) {
  weft_test::Watchdog watchdog("the Box RPC calls", weft_test::kHangBound);
  Served<torture::Box<capnp::Data>, weft_test::BoxImpl<capnp::Data>> box;
  ASSERT_TRUE(box.ok());
  torture::Box<capnp::Data>::Client data = box.main();
  const kj::byte bytes[] = {1, 2, 3};
  auto put = data.putRequest();
  put.setValue(kj::arrayPtr(bytes, 3));
  EXPECT_EQ(put.send().wait(box.wait_scope()).getSize(), 3u);
  auto got = data.getRequest().send().wait(box.wait_scope());
  EXPECT_EQ(got.getValue(), kj::arrayPtr(bytes, 3));
  EXPECT_EQ(data.countRequest().send().wait(box.wait_scope()).getN(), 1u);

  Served<torture::TextBox, weft_test::TextBoxImpl> text_box;
  ASSERT_TRUE(text_box.ok());
  torture::TextBox::Client text = text_box.main();
  kj::WaitScope& ws = text_box.wait_scope();
  auto put_text = text.putRequest();  // Box(Text)'s, through `extends`
  put_text.setValue("kept");
  EXPECT_EQ(put_text.send().wait(ws).getSize(), 4u);
  EXPECT_EQ(std::string(text.getRequest().send().wait(ws).getValue().cStr()), "kept");
  text.clearRequest().send().wait(ws);  // the subclass's own
  std::optional<kj::Exception> cleared = Thrown([&] { text.getRequest().send().wait(ws); });
  ASSERT_TRUE(cleared.has_value());
  EXPECT_NE(std::string(cleared->getDescription().cStr()).find("NOT_FOUND: cleared"),
            std::string::npos)
      << cleared->getDescription().cStr();
}

}  // namespace
