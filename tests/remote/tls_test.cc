// TLS between a pool and its remote worker, and the listener's safety rules:
// certificates made at test time (tests/testing/test_certs.h), loopback only.
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "capnp/ez-rpc.h"
#include "gtest/gtest.h"
#include "runtime/rpc_server.h"
#include "runtime/weft.h"
#include "tests/pool/test_service.weft-rpc.h"
#include "tests/pool/test_service_impl.h"
#include "tests/testing/test_certs.h"
#include "tests/testing/watchdog.h"

namespace weft_test {
namespace {

using Pool = weft::Pool<TestService>;

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<TestCerts> made = MakeTestCerts();
    ASSERT_TRUE(made.ok()) << made.status();
    certs_ = new TestCerts(*std::move(made));
  }
  static void TearDownTestSuite() { delete certs_; }

  // A TLS listener on loopback serving a thread pool; `verify_clients`
  // requires client certificates signed by the test CA.
  std::unique_ptr<weft::RpcServer> Serve(bool verify_clients = false) {
    weft::PoolOptions pool;
    pool.workers = 1;
    weft::RpcServerOptions options;
    options.address = "tcp:127.0.0.1:0";
    options.tls.emplace();
    options.tls->certificate_chain_pem = certs_->server_chain_pem;
    options.tls->private_key_pem = certs_->server_key_pem;
    if (verify_clients) options.tls->trusted_certificates_pem = certs_->ca_pem;
    auto server = weft::RpcServer::Serve<TestService>(
        [this] { return std::make_unique<TestServiceImpl>(5, &gate_); }, pool, options);
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? *std::move(server) : nullptr;
  }
  // A pool whose one worker is `server`, over TLS trusting `ca`.
  absl::StatusOr<Pool> Connect(const weft::RpcServer& server, const std::string& ca,
                               bool client_certificate = false) {
    weft::PoolOptions options;
    options.workers = 0;
    weft::TlsOptions tls;
    tls.trusted_certificates_pem = ca;
    tls.server_name = "localhost";
    if (client_certificate) {
      tls.certificate_chain_pem = certs_->client_chain_pem;
      tls.private_key_pem = certs_->client_key_pem;
    }
    options.remote_workers.push_back(weft::RemoteWorker{server.address(), tls});
    options.log_level = weft::LogLevel::kOff;
    return Pool::Create(options, nullptr);
  }
  static int64_t Square(Pool& pool, int64_t v) {
    auto r = pool.stub().square(v).Get();
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->getResult() : -1;
  }

  static TestCerts* certs_;
  Gate gate_;
  Watchdog watchdog_{"a TLS test", kHangBound};
};

TestCerts* TlsTest::certs_ = nullptr;

TEST_F(TlsTest, APoolCallsItsRemoteWorkerOverTls) {
  auto server = Serve();
  ASSERT_NE(server, nullptr);
  auto pool = Connect(*server, certs_->ca_pem);
  ASSERT_TRUE(pool.ok()) << pool.status();
  EXPECT_EQ(Square(*pool, 12), 144);
  auto who = pool->stub().whoAmI().Get();
  ASSERT_TRUE(who.ok()) << who.status();
  EXPECT_EQ(who->getWorker(), 5u);
}

TEST_F(TlsTest, APlaintextClientAgainstTheTlsListenerFailsCleanly) {
  auto server = Serve();
  ASSERT_NE(server, nullptr);
  {
    // A plain Cap'n Proto client, no TLS: the handshake fails on the
    // server's side, which drops the connection; the client's call fails.
    std::string host_port = server->address().substr(std::string("tcp:").size());
    capnp::EzRpcClient plain(host_port);
    auto request = plain.getMain<TestService>().squareRequest();
    request.setValue(3);
    kj::Maybe<kj::Exception> failed =
        kj::runCatchingExceptions([&] { request.send().wait(plain.getWaitScope()); });
    KJ_IF_MAYBE (e, failed) {
      EXPECT_EQ(e->getType(), kj::Exception::Type::DISCONNECTED) << e->getDescription().cStr();
    } else {
      ADD_FAILURE() << "a plaintext call through a TLS listener succeeded";
    }
  }
  // The listener goes on serving TLS clients.
  auto pool = Connect(*server, certs_->ca_pem);
  ASSERT_TRUE(pool.ok()) << pool.status();
  EXPECT_EQ(Square(*pool, 4), 16);
}

TEST_F(TlsTest, AServerSignedByAnotherCaIsRefusedAtCreate) {
  auto server = Serve();
  ASSERT_NE(server, nullptr);
  auto pool = Connect(*server, certs_->other_ca_pem);
  ASSERT_FALSE(pool.ok());
  EXPECT_EQ(pool.status().code(), absl::StatusCode::kUnavailable) << pool.status();
  EXPECT_NE(pool.status().message().find(server->address()), std::string::npos) << pool.status();
}

TEST_F(TlsTest, ClientCertificatesWhenTheServerTrustsACa) {
  auto server = Serve(/*verify_clients=*/true);
  ASSERT_NE(server, nullptr);
  auto with = Connect(*server, certs_->ca_pem, /*client_certificate=*/true);
  ASSERT_TRUE(with.ok()) << with.status();
  EXPECT_EQ(Square(*with, 5), 25);
  // Without one, the server refuses the handshake: the connection is gone,
  // and the call fails Unavailable (or Create does, if the refusal comes
  // first).
  auto without = Connect(*server, certs_->ca_pem, /*client_certificate=*/false);
  if (without.ok()) {
    auto r = without->stub().square(5).Get();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  } else {
    EXPECT_EQ(without.status().code(), absl::StatusCode::kUnavailable) << without.status();
  }
}

TEST_F(TlsTest, ANonLoopbackPlaintextListenerIsRefused) {
  weft::PoolOptions pool;
  pool.workers = 1;
  weft::RpcServerOptions options;
  options.address = "tcp:0.0.0.0:0";  // refused before anything binds
  auto server = weft::RpcServer::Serve<TestService>(
      [this] { return std::make_unique<TestServiceImpl>(0, &gate_); }, pool, options);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument) << server.status();
  EXPECT_NE(server.status().message().find("insecure_plaintext"), std::string::npos)
      << server.status();
  EXPECT_NE(server.status().message().find("tls"), std::string::npos) << server.status();
}

TEST_F(TlsTest, BadTlsMaterialIsInvalidArgument) {
  weft::PoolOptions pool;
  pool.workers = 1;
  weft::RpcServerOptions options;
  options.tls.emplace();
  options.tls->certificate_chain_pem = "not a certificate";
  options.tls->private_key_pem = certs_->server_key_pem;
  auto server = weft::RpcServer::Serve<TestService>(
      [this] { return std::make_unique<TestServiceImpl>(0, &gate_); }, pool, options);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument) << server.status();
  EXPECT_NE(server.status().message().find("certificate_chain_pem"), std::string::npos)
      << server.status();
}

}  // namespace
}  // namespace weft_test
