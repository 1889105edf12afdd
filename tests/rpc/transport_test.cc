// The RPC transport (runtime/internal/rpc_transport.h): address parsing, the
// listening policy, Unix socket files, and plaintext and TLS round trips.
// Everything runs on one KJ event loop on the test thread: both ends of a
// connection are promises on it, and every wait is on an explicit promise.
// Only loopback and Unix-socket addresses are ever bound; each test's
// watchdog turns a hang into a failure.
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kj/async-io.h"
#include "kj/io.h"
#include "runtime/internal/rpc_transport.h"
#include "tests/testing/test_certs.h"
#include "tests/testing/watchdog.h"

namespace weft::internal {
namespace {

using Stream = kj::Own<kj::AsyncIoStream>;
using ::testing::HasSubstr;

// How a connection attempt ended: a stream, or the rejection's description.
struct Outcome {
  Stream stream;      // null if it rejected
  std::string error;  // empty if it resolved
};

// Evaluated eagerly: both ends of a connection make progress while the test
// waits on either.
kj::Promise<Outcome> Settle(kj::Promise<Stream> promise) {
  return promise
      .then(
          [](Stream s) {
            return Outcome{kj::mv(s), ""};
          },
          [](kj::Exception&& e) {
            return Outcome{Stream(), e.getDescription().cStr()};
          })
      .eagerlyEvaluate(nullptr);
}

// A directory for socket files, removed at the end. Under /tmp, not
// $TEST_TMPDIR: Bazel's is too long for a Unix socket path (107 bytes).
class SocketDir {
 public:
  SocketDir() {
    std::string tmpl = "/tmp/weft-rpc-XXXXXX";
    EXPECT_NE(mkdtemp(tmpl.data()), nullptr) << std::strerror(errno);
    path_ = tmpl;
  }
  ~SocketDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string Path(absl::string_view name) const { return absl::StrCat(path_, "/", name); }

 private:
  std::string path_;
};

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

// Every test runs on a fresh event loop, under a watchdog.
class Transport : public ::testing::Test {
 protected:
  absl::StatusOr<std::unique_ptr<Listener>> Listen(absl::string_view address,
                                                   const std::optional<TlsOptions>& tls,
                                                   bool insecure_plaintext = false) {
    absl::StatusOr<Endpoint> at = ParseEndpoint(address);
    if (!at.ok()) return at.status();
    return Listener::Listen(io_, *at, tls, insecure_plaintext, &warning_);
  }

  // A connector to the listener's bound address.
  std::unique_ptr<Connector> ConnectorTo(const Listener& listener,
                                         const std::optional<TlsOptions>& tls) {
    absl::StatusOr<Endpoint> at = ParseEndpoint(listener.address());
    EXPECT_TRUE(at.ok()) << at.status();
    if (!at.ok()) return nullptr;
    absl::StatusOr<std::unique_ptr<Connector>> connector = Connector::Make(*at, tls);
    EXPECT_TRUE(connector.ok()) << connector.status();
    return connector.ok() ? *std::move(connector) : nullptr;
  }

  // One connection, both ends: the client's Connect and the server's
  // Accept then Secure. Waits for the client first, then the server.
  std::pair<Outcome, Outcome> ConnectPair(Listener& listener, Connector& connector) {
    kj::Promise<Outcome> server = Settle(
        listener.Accept().then([&listener](Stream raw) { return listener.Secure(kj::mv(raw)); }));
    kj::Promise<Outcome> client = Settle(connector.Connect(io_));
    Outcome c = client.wait(io_.waitScope);
    Outcome s = server.wait(io_.waitScope);
    return {kj::mv(c), kj::mv(s)};
  }

  // The end of a connection whose peer refused it: no stream, or one whose
  // first read ends (EOF or an error) without data.
  void ExpectNothingFrom(Outcome& end) {
    if (end.stream.get() == nullptr) return;
    char byte;
    kj::Promise<size_t> read =
        end.stream->tryRead(&byte, 1, 1).catch_([](kj::Exception&&) { return size_t{0}; });
    EXPECT_EQ(read.wait(io_.waitScope), 0u) << "data on a refused connection";
  }

  // Bytes both ways: 256 KiB from the client (many TLS records), a reply
  // from the server.
  void ExpectRoundTrip(kj::AsyncIoStream& client, kj::AsyncIoStream& server) {
    std::string request(256 * 1024, '\0');
    for (size_t i = 0; i < request.size(); ++i) request[i] = static_cast<char>(i * 7 + i / 251);
    kj::Promise<void> sent = client.write(request.data(), request.size()).eagerlyEvaluate(nullptr);
    std::string got(request.size(), '\0');
    server.read(got.data(), got.size()).wait(io_.waitScope);
    sent.wait(io_.waitScope);
    EXPECT_TRUE(got == request) << "the request arrived changed";
    const std::string reply = "pong";
    kj::Promise<void> replied = server.write(reply.data(), reply.size()).eagerlyEvaluate(nullptr);
    std::string back(reply.size(), '\0');
    client.read(back.data(), back.size()).wait(io_.waitScope);
    replied.wait(io_.waitScope);
    EXPECT_EQ(back, reply);
  }

  weft_test::Watchdog watchdog_{
      absl::StrCat("transport test ",
                   ::testing::UnitTest::GetInstance()->current_test_info()->name()),
      weft_test::kHangBound};
  // Held by pointer: ~AsyncIoContext may throw, and a gtest fixture's
  // destructor must not.
  std::unique_ptr<kj::AsyncIoContext> io_holder_ =
      std::make_unique<kj::AsyncIoContext>(kj::setupAsyncIo());
  kj::AsyncIoContext& io_ = *io_holder_;
  std::string warning_;
};

// ---------------------------------------------------------------------------
// ParseEndpoint

TEST(ParseEndpoint, UnixForm) {
  absl::StatusOr<Endpoint> at = ParseEndpoint("unix:/run/weft/math.sock");
  ASSERT_TRUE(at.ok()) << at.status();
  EXPECT_EQ(at->kind, Endpoint::Kind::kUnix);
  EXPECT_EQ(at->path, "/run/weft/math.sock");
  EXPECT_TRUE(at->loopback);
  EXPECT_EQ(at->ToString(), "unix:/run/weft/math.sock");
}

TEST(ParseEndpoint, TcpForms) {
  struct Case {
    const char* address;
    const char* host;
    uint16_t port;
  };
  for (const Case& c :
       {Case{"tcp:127.0.0.1:8080", "127.0.0.1", 8080}, Case{"tcp:[::1]:0", "::1", 0},
        Case{"tcp:localhost:65535", "localhost", 65535}}) {
    absl::StatusOr<Endpoint> at = ParseEndpoint(c.address);
    ASSERT_TRUE(at.ok()) << c.address << ": " << at.status();
    EXPECT_EQ(at->kind, Endpoint::Kind::kTcp);
    EXPECT_EQ(at->host, c.host);
    EXPECT_EQ(at->port, c.port);
    EXPECT_EQ(at->ToString(), c.address);
  }
}

TEST(ParseEndpoint, BadFormsAreInvalidArgumentNamingBothForms) {
  for (const std::string& bad : {
           std::string(""),
           std::string("127.0.0.1:80"),
           std::string("http://localhost:80"),
           std::string("tcp:"),
           std::string("tcp:127.0.0.1"),
           std::string("tcp:127.0.0.1:"),
           std::string("tcp:127.0.0.1:65536"),
           std::string("tcp:127.0.0.1:123456"),
           std::string("tcp:127.0.0.1:-1"),
           std::string("tcp:127.0.0.1:8o"),
           std::string("tcp::80"),
           std::string("tcp:::1:80"),
           std::string("tcp:[::1]"),
           std::string("tcp:[::1:80"),
           std::string("tcp:[127.0.0.1]:80"),
           std::string("unix:"),
           std::string("unix:relative.sock"),
           "unix:/" + std::string(200, 'a'),
       }) {
    absl::StatusOr<Endpoint> at = ParseEndpoint(bad);
    ASSERT_FALSE(at.ok()) << "\"" << bad << "\" parsed";
    EXPECT_EQ(at.status().code(), absl::StatusCode::kInvalidArgument) << at.status();
    EXPECT_THAT(at.status().message(), HasSubstr("\"unix:/absolute/path\"")) << bad;
    EXPECT_THAT(at.status().message(), HasSubstr("\"tcp:host:port\"")) << bad;
  }
}

TEST(ParseEndpoint, AnUnresolvableHostIsNotFound) {
  // .invalid never resolves (RFC 6761). Where no DNS server answers at all
  // (a sandbox), getaddrinfo says "try again": Unavailable.
  absl::StatusOr<Endpoint> at = ParseEndpoint("tcp:no-such-host.invalid:80");
  ASSERT_FALSE(at.ok());
  EXPECT_TRUE(absl::IsNotFound(at.status()) || absl::IsUnavailable(at.status())) << at.status();
  EXPECT_THAT(at.status().message(), HasSubstr("no-such-host.invalid"));
}

TEST(ParseEndpoint, LoopbackIsDecidedByWhatTheHostResolvesTo) {
  for (const char* loopback :
       {"tcp:127.0.0.1:1", "tcp:127.1.2.3:1", "tcp:localhost:1", "tcp:[::1]:1"}) {
    absl::StatusOr<Endpoint> at = ParseEndpoint(loopback);
    ASSERT_TRUE(at.ok()) << loopback << ": " << at.status();
    EXPECT_TRUE(at->loopback) << loopback;
  }
  // 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never a real host's.
  for (const char* other : {"tcp:192.0.2.1:1", "tcp:0.0.0.0:1", "tcp:[::]:1"}) {
    absl::StatusOr<Endpoint> at = ParseEndpoint(other);
    ASSERT_TRUE(at.ok()) << other << ": " << at.status();
    EXPECT_FALSE(at->loopback) << other;
  }
}

// ---------------------------------------------------------------------------
// Listener: the policy and the socket files

TEST_F(Transport, NonLoopbackPlaintextIsRefusedNamingBothFixes) {
  absl::StatusOr<std::unique_ptr<Listener>> listener = Listen("tcp:192.0.2.1:0", std::nullopt);
  ASSERT_FALSE(listener.ok());
  // InvalidArgument, not the bind's error: it is refused before binding.
  EXPECT_EQ(listener.status().code(), absl::StatusCode::kInvalidArgument) << listener.status();
  EXPECT_THAT(listener.status().message(), HasSubstr("RpcServerOptions.tls"));
  EXPECT_THAT(listener.status().message(), HasSubstr("insecure_plaintext = true"));
  EXPECT_EQ(warning_, "");
}

bool MachineHasAddress(const char* address) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return true;  // cannot tell: say yes, the test skips
  bool found = false;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr != nullptr && i->ifa_addr->sa_family == AF_INET) {
      char text[INET_ADDRSTRLEN] = {};
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, text,
                sizeof(text));
      found = found || std::strcmp(text, address) == 0;
    }
  }
  freeifaddrs(list);
  return found;
}

TEST_F(Transport, InsecurePlaintextLiftsTheRefusal) {
  // The bind is then attempted, and fails: no interface has a TEST-NET
  // address (checked first, so that nothing but loopback is ever bound).
  if (MachineHasAddress("192.0.2.1")) GTEST_SKIP() << "this machine has 192.0.2.1";
  absl::StatusOr<std::unique_ptr<Listener>> listener =
      Listen("tcp:192.0.2.1:0", std::nullopt, /*insecure_plaintext=*/true);
  ASSERT_FALSE(listener.ok());
  EXPECT_EQ(listener.status().code(), absl::StatusCode::kFailedPrecondition) << listener.status();
  EXPECT_THAT(listener.status().message(), HasSubstr("tcp:192.0.2.1:0"));
  EXPECT_EQ(warning_, "") << "a warning for a listener that does not exist";
}

TEST_F(Transport, TcpAddressNamesThePortPicked) {
  absl::StatusOr<std::unique_ptr<Listener>> listener = Listen("tcp:127.0.0.1:0", std::nullopt);
  ASSERT_TRUE(listener.ok()) << listener.status();
  EXPECT_EQ(warning_, "");
  const std::string& address = (*listener)->address();
  ASSERT_TRUE(absl::StartsWith(address, "tcp:127.0.0.1:")) << address;
  absl::StatusOr<Endpoint> at = ParseEndpoint(address);
  ASSERT_TRUE(at.ok()) << at.status();
  EXPECT_NE(at->port, 0);

  // The same port again: in use.
  absl::StatusOr<std::unique_ptr<Listener>> second = Listen(address, std::nullopt);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAlreadyExists) << second.status();
  EXPECT_THAT(second.status().message(), HasSubstr(address));
}

TEST_F(Transport, UnixSocketFileIsCreated0600) {
  SocketDir dir;
  const std::string path = dir.Path("s.sock");
  // With no umask at all, 0600 can only come from the listener.
  const mode_t old_umask = umask(0);
  absl::StatusOr<std::unique_ptr<Listener>> listener = Listen("unix:" + path, std::nullopt);
  umask(old_umask);
  ASSERT_TRUE(listener.ok()) << listener.status();
  EXPECT_EQ((*listener)->address(), "unix:" + path);
  struct stat st;
  ASSERT_EQ(lstat(path.c_str(), &st), 0) << std::strerror(errno);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u) << std::oct << (st.st_mode & 07777);
}

TEST_F(Transport, ListenerUnlinksItsSocketFileAtTheEnd) {
  SocketDir dir;
  const std::string path = dir.Path("s.sock");
  {
    absl::StatusOr<std::unique_ptr<Listener>> listener = Listen("unix:" + path, std::nullopt);
    ASSERT_TRUE(listener.ok()) << listener.status();
    ASSERT_TRUE(Exists(path));
  }
  EXPECT_FALSE(Exists(path));
}

TEST_F(Transport, StaleSocketFileIsReplaced) {
  SocketDir dir;
  const std::string path = dir.Path("s.sock");
  {
    // Bound, never listening, closed: what a process that died leaves.
    kj::AutoCloseFd stale(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::memcpy(sun.sun_path, path.data(), path.size());
    ASSERT_EQ(bind(stale.get(), reinterpret_cast<sockaddr*>(&sun), sizeof(sun)), 0)
        << std::strerror(errno);
  }
  struct stat before;
  ASSERT_EQ(lstat(path.c_str(), &before), 0);
  ASSERT_NE(before.st_mode & 07777, 0600u) << "the umask makes the stale file look new";
  absl::StatusOr<std::unique_ptr<Listener>> listener = Listen("unix:" + path, std::nullopt);
  ASSERT_TRUE(listener.ok()) << listener.status();
  struct stat after;
  ASSERT_EQ(lstat(path.c_str(), &after), 0);
  // A new file (the inode number may well be reused): the listener's mode,
  // and it accepts, where the stale one refused.
  EXPECT_EQ(after.st_mode & 07777, 0600u) << "the stale file is still there";
  std::unique_ptr<Connector> connector = ConnectorTo(**listener, std::nullopt);
  ASSERT_NE(connector, nullptr);
  auto [client, server] = ConnectPair(**listener, *connector);
  ASSERT_NE(client.stream.get(), nullptr) << client.error;
  ASSERT_NE(server.stream.get(), nullptr) << server.error;
  ExpectRoundTrip(*client.stream, *server.stream);
}

TEST_F(Transport, LiveSocketIsAlreadyExists) {
  SocketDir dir;
  const std::string path = dir.Path("s.sock");
  absl::StatusOr<std::unique_ptr<Listener>> first = Listen("unix:" + path, std::nullopt);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<std::unique_ptr<Listener>> second = Listen("unix:" + path, std::nullopt);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAlreadyExists) << second.status();
  EXPECT_THAT(second.status().message(), HasSubstr("another process is listening"));
  EXPECT_THAT(second.status().message(), HasSubstr(path));
  // The refused listener left the first one's file alone, and it still
  // serves. Its probe was a connection, which the live listener sees
  // close at once.
  second = absl::UnknownError("destroyed");
  ASSERT_TRUE(Exists(path));
  Outcome probe = Settle((*first)->Accept()).wait(io_.waitScope);
  ASSERT_NE(probe.stream.get(), nullptr) << probe.error;
  ExpectNothingFrom(probe);
  std::unique_ptr<Connector> connector = ConnectorTo(**first, std::nullopt);
  ASSERT_NE(connector, nullptr);
  auto [client, server] = ConnectPair(**first, *connector);
  ASSERT_NE(client.stream.get(), nullptr) << client.error;
  ASSERT_NE(server.stream.get(), nullptr) << server.error;
  ExpectRoundTrip(*client.stream, *server.stream);
}

TEST_F(Transport, NonSocketFileIsAlreadyExistsAndLeftAlone) {
  SocketDir dir;
  const std::string path = dir.Path("not-a-socket");
  std::ofstream(path) << "precious";
  absl::StatusOr<std::unique_ptr<Listener>> listener = Listen("unix:" + path, std::nullopt);
  ASSERT_FALSE(listener.ok());
  EXPECT_EQ(listener.status().code(), absl::StatusCode::kAlreadyExists) << listener.status();
  EXPECT_THAT(listener.status().message(), HasSubstr("not a socket"));
  std::ifstream in(path);
  std::string text;
  in >> text;
  EXPECT_EQ(text, "precious");
}

TEST_F(Transport, MissingDirectoryIsNotFound) {
  SocketDir dir;
  absl::StatusOr<std::unique_ptr<Listener>> listener =
      Listen("unix:" + dir.Path("no/such/dir/s.sock"), std::nullopt);
  ASSERT_FALSE(listener.ok());
  EXPECT_EQ(listener.status().code(), absl::StatusCode::kNotFound) << listener.status();
  EXPECT_THAT(listener.status().message(), HasSubstr("create it"));
}

// ---------------------------------------------------------------------------
// Plaintext streams

TEST_F(Transport, PlaintextRoundTripOverLoopbackTcp) {
  absl::StatusOr<std::unique_ptr<Listener>> listener = Listen("tcp:127.0.0.1:0", std::nullopt);
  ASSERT_TRUE(listener.ok()) << listener.status();
  std::unique_ptr<Connector> connector = ConnectorTo(**listener, std::nullopt);
  ASSERT_NE(connector, nullptr);
  for (int i = 0; i < 2; ++i) {  // the listener serves one connection after another
    auto [client, server] = ConnectPair(**listener, *connector);
    ASSERT_NE(client.stream.get(), nullptr) << client.error;
    ASSERT_NE(server.stream.get(), nullptr) << server.error;
    ExpectRoundTrip(*client.stream, *server.stream);
  }
}

TEST_F(Transport, PlaintextRoundTripOverIpv6Loopback) {
  absl::StatusOr<std::unique_ptr<Listener>> listener = Listen("tcp:[::1]:0", std::nullopt);
  if (!listener.ok() && (absl::IsFailedPrecondition(listener.status()))) {
    GTEST_SKIP() << "no IPv6 loopback here: " << listener.status();
  }
  ASSERT_TRUE(listener.ok()) << listener.status();
  EXPECT_TRUE(absl::StartsWith((*listener)->address(), "tcp:[::1]:")) << (*listener)->address();
  std::unique_ptr<Connector> connector = ConnectorTo(**listener, std::nullopt);
  ASSERT_NE(connector, nullptr);
  auto [client, server] = ConnectPair(**listener, *connector);
  ASSERT_NE(client.stream.get(), nullptr) << client.error;
  ASSERT_NE(server.stream.get(), nullptr) << server.error;
  ExpectRoundTrip(*client.stream, *server.stream);
}

TEST_F(Transport, PlaintextRoundTripOverUnixSocket) {
  SocketDir dir;
  absl::StatusOr<std::unique_ptr<Listener>> listener =
      Listen("unix:" + dir.Path("s.sock"), std::nullopt);
  ASSERT_TRUE(listener.ok()) << listener.status();
  std::unique_ptr<Connector> connector = ConnectorTo(**listener, std::nullopt);
  ASSERT_NE(connector, nullptr);
  auto [client, server] = ConnectPair(**listener, *connector);
  ASSERT_NE(client.stream.get(), nullptr) << client.error;
  ASSERT_NE(server.stream.get(), nullptr) << server.error;
  ExpectRoundTrip(*client.stream, *server.stream);
}

TEST_F(Transport, ConnectingToNothingRejectsNamingTheAddress) {
  // A port bound but not listening refuses connections, and is ours alone.
  kj::AutoCloseFd held(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(held.get(), reinterpret_cast<sockaddr*>(&sin), sizeof(sin)), 0);
  socklen_t len = sizeof(sin);
  ASSERT_EQ(getsockname(held.get(), reinterpret_cast<sockaddr*>(&sin), &len), 0);
  const std::string address = absl::StrCat("tcp:127.0.0.1:", ntohs(sin.sin_port));
  SocketDir dir;
  for (const std::string& where : {address, "unix:" + dir.Path("nobody.sock")}) {
    absl::StatusOr<Endpoint> at = ParseEndpoint(where);
    ASSERT_TRUE(at.ok()) << at.status();
    absl::StatusOr<std::unique_ptr<Connector>> connector = Connector::Make(*at, std::nullopt);
    ASSERT_TRUE(connector.ok()) << connector.status();
    Outcome client = Settle((*connector)->Connect(io_)).wait(io_.waitScope);
    EXPECT_EQ(client.stream.get(), nullptr);
    EXPECT_THAT(client.error, HasSubstr(where));
    EXPECT_THAT(client.error, HasSubstr("is a server listening there?"));
  }
}

TEST_F(Transport, ConnectorRefusesPortZero) {
  absl::StatusOr<Endpoint> at = ParseEndpoint("tcp:127.0.0.1:0");
  ASSERT_TRUE(at.ok()) << at.status();
  absl::StatusOr<std::unique_ptr<Connector>> connector = Connector::Make(*at, std::nullopt);
  ASSERT_FALSE(connector.ok());
  EXPECT_EQ(connector.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(connector.status().message(), HasSubstr("address()"));
}

// ---------------------------------------------------------------------------
// TLS

class Tls : public Transport {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<weft_test::TestCerts> made = weft_test::MakeTestCerts();
    certs_status_ = new absl::Status(made.status());
    if (made.ok()) certs_ = new weft_test::TestCerts(*std::move(made));
  }
  static void TearDownTestSuite() {
    delete certs_;
    delete certs_status_;
    certs_ = nullptr;
    certs_status_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(certs_, nullptr) << *certs_status_; }

  static TlsOptions Server() {
    TlsOptions tls;
    tls.certificate_chain_pem = certs_->server_chain_pem;
    tls.private_key_pem = certs_->server_key_pem;
    return tls;
  }
  static TlsOptions ServerRequiringClientCerts() {
    TlsOptions tls = Server();
    tls.trusted_certificates_pem = certs_->ca_pem;
    return tls;
  }
  static TlsOptions Client(std::string trusted = certs_->ca_pem) {
    TlsOptions tls;
    tls.trusted_certificates_pem = std::move(trusted);
    tls.server_name = "localhost";
    return tls;
  }
  static TlsOptions ClientWithCert() {
    TlsOptions tls = Client();
    tls.certificate_chain_pem = certs_->client_chain_pem;
    tls.private_key_pem = certs_->client_key_pem;
    return tls;
  }

  static inline weft_test::TestCerts* certs_ = nullptr;
  static inline absl::Status* certs_status_ = nullptr;
};

TEST_F(Tls, RoundTripOverLoopbackTcp) {
  absl::StatusOr<std::unique_ptr<Listener>> listener = Listen("tcp:127.0.0.1:0", Server());
  ASSERT_TRUE(listener.ok()) << listener.status();
  std::unique_ptr<Connector> connector = ConnectorTo(**listener, Client());
  ASSERT_NE(connector, nullptr);
  auto [client, server] = ConnectPair(**listener, *connector);
  ASSERT_NE(client.stream.get(), nullptr) << client.error;
  ASSERT_NE(server.stream.get(), nullptr) << server.error;
  ExpectRoundTrip(*client.stream, *server.stream);
}

TEST_F(Tls, RoundTripOverUnixSocketWithTheDefaultServerName) {
  SocketDir dir;
  absl::StatusOr<std::unique_ptr<Listener>> listener =
      Listen("unix:" + dir.Path("tls.sock"), Server());
  ASSERT_TRUE(listener.ok()) << listener.status();
  TlsOptions client_tls = Client();
  client_tls.server_name = "";  // "localhost" for unix: addresses
  std::unique_ptr<Connector> connector = ConnectorTo(**listener, client_tls);
  ASSERT_NE(connector, nullptr);
  auto [client, server] = ConnectPair(**listener, *connector);
  ASSERT_NE(client.stream.get(), nullptr) << client.error;
  ASSERT_NE(server.stream.get(), nullptr) << server.error;
  ExpectRoundTrip(*client.stream, *server.stream);
}

TEST_F(Tls, TheDefaultServerNameOfANumericHostNamesTheFix) {
  // The certificate carries IP:127.0.0.1, but KJ matches DNS names only.
  absl::StatusOr<std::unique_ptr<Listener>> listener = Listen("tcp:127.0.0.1:0", Server());
  ASSERT_TRUE(listener.ok()) << listener.status();
  TlsOptions client_tls = Client();
  client_tls.server_name = "";
  std::unique_ptr<Connector> connector = ConnectorTo(**listener, client_tls);
  ASSERT_NE(connector, nullptr);
  auto [client, server] = ConnectPair(**listener, *connector);
  EXPECT_EQ(client.stream.get(), nullptr);
  EXPECT_THAT(client.error, HasSubstr("set TlsOptions.server_name"));
  // KJ's client checks the name after OpenSSL's handshake completed, so the
  // server may have a stream: one that ends.
  ExpectNothingFrom(server);
}

TEST_F(Tls, PlaintextClientIsRejectedAndTheListenerServesOn) {
  absl::StatusOr<std::unique_ptr<Listener>> listener = Listen("tcp:127.0.0.1:0", Server());
  ASSERT_TRUE(listener.ok()) << listener.status();
  {
    std::unique_ptr<Connector> plaintext = ConnectorTo(**listener, std::nullopt);
    ASSERT_NE(plaintext, nullptr);
    kj::Promise<Outcome> server = Settle(
        (*listener)->Accept().then([&](Stream raw) { return (*listener)->Secure(kj::mv(raw)); }));
    Outcome client = Settle(plaintext->Connect(io_)).wait(io_.waitScope);
    ASSERT_NE(client.stream.get(), nullptr) << client.error;
    const std::string hello = "hello, this is not TLS\r\n";
    kj::Promise<void> sent =
        client.stream->write(hello.data(), hello.size()).eagerlyEvaluate(nullptr);
    Outcome secured = server.wait(io_.waitScope);
    EXPECT_EQ(secured.stream.get(), nullptr);
    EXPECT_THAT(secured.error, HasSubstr("TLS handshake with a client of"));
    EXPECT_THAT(secured.error, HasSubstr("must speak TLS"));
  }
  std::unique_ptr<Connector> connector = ConnectorTo(**listener, Client());
  ASSERT_NE(connector, nullptr);
  auto [client, server] = ConnectPair(**listener, *connector);
  ASSERT_NE(client.stream.get(), nullptr) << client.error;
  ASSERT_NE(server.stream.get(), nullptr) << server.error;
  ExpectRoundTrip(*client.stream, *server.stream);
}

TEST_F(Tls, ClientTrustingAnotherCaFailsTheHandshake) {
  absl::StatusOr<std::unique_ptr<Listener>> listener = Listen("tcp:127.0.0.1:0", Server());
  ASSERT_TRUE(listener.ok()) << listener.status();
  std::unique_ptr<Connector> connector = ConnectorTo(**listener, Client(certs_->other_ca_pem));
  ASSERT_NE(connector, nullptr);
  auto [client, server] = ConnectPair(**listener, *connector);
  EXPECT_EQ(client.stream.get(), nullptr);
  EXPECT_THAT(client.error, HasSubstr("TlsOptions.trusted_certificates_pem holds the CA"));
  ExpectNothingFrom(server);  // as above: the server may have seen a complete handshake
}

TEST_F(Tls, ServerWithTrustedCertificatesRequiresAClientCertificate) {
  absl::StatusOr<std::unique_ptr<Listener>> listener =
      Listen("tcp:127.0.0.1:0", ServerRequiringClientCerts());
  ASSERT_TRUE(listener.ok()) << listener.status();
  {
    std::unique_ptr<Connector> anonymous = ConnectorTo(**listener, Client());
    ASSERT_NE(anonymous, nullptr);
    auto [client, server] = ConnectPair(**listener, *anonymous);
    EXPECT_EQ(server.stream.get(), nullptr);
    EXPECT_THAT(server.error, HasSubstr("present a certificate signed by one of"));
    // With TLS 1.3 the client finishes its side of the handshake before the
    // server checks its certificate: it learns of the refusal on reading.
    ExpectNothingFrom(client);
  }
  std::unique_ptr<Connector> connector = ConnectorTo(**listener, ClientWithCert());
  ASSERT_NE(connector, nullptr);
  auto [client, server] = ConnectPair(**listener, *connector);
  ASSERT_NE(client.stream.get(), nullptr) << client.error;
  ASSERT_NE(server.stream.get(), nullptr) << server.error;
  ExpectRoundTrip(*client.stream, *server.stream);
}

TEST_F(Tls, BadOrMissingPemIsInvalidArgumentNamingTheField) {
  const std::string garbage =
      "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
  struct Case {
    const char* what;
    TlsOptions tls;
    bool server;
    const char* field;
  };
  auto with = [](TlsOptions tls, std::string TlsOptions::*field, std::string value) {
    tls.*field = std::move(value);
    return tls;
  };
  const Case cases[] = {
      {"garbage chain", with(Server(), &TlsOptions::certificate_chain_pem, garbage), true,
       "certificate_chain_pem"},
      {"garbage key", with(Server(), &TlsOptions::private_key_pem, garbage), true,
       "private_key_pem"},
      {"a path for the chain",
       with(Server(), &TlsOptions::certificate_chain_pem, "/etc/weft/server.pem"), true,
       "certificate_chain_pem"},
      {"no key", with(Server(), &TlsOptions::private_key_pem, ""), true, "private_key_pem"},
      {"no chain", with(Server(), &TlsOptions::certificate_chain_pem, ""), true,
       "certificate_chain_pem"},
      {"garbage trusted", with(Server(), &TlsOptions::trusted_certificates_pem, garbage), true,
       "trusted_certificates_pem"},
      {"client: nothing trusted", with(Client(), &TlsOptions::trusted_certificates_pem, ""), false,
       "trusted_certificates_pem"},
      {"client: garbage trusted",
       with(Client(), &TlsOptions::trusted_certificates_pem, certs_->ca_pem + garbage), false,
       "trusted_certificates_pem"},
      {"client: a chain, no key", with(ClientWithCert(), &TlsOptions::private_key_pem, ""), false,
       "private_key_pem"},
      {"client: garbage key", with(ClientWithCert(), &TlsOptions::private_key_pem, garbage), false,
       "private_key_pem"},
  };
  SocketDir dir;
  const std::string path = dir.Path("never.sock");
  for (const Case& c : cases) {
    absl::Status status;
    if (c.server) {
      status = Listen("unix:" + path, c.tls).status();
      EXPECT_FALSE(Exists(path)) << c.what << ": bound although its TLS is bad";
    } else {
      status = Connector::Make(*ParseEndpoint("unix:" + path), c.tls).status();
    }
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.what << ": " << status;
    EXPECT_THAT(status.message(), HasSubstr(absl::StrCat("TlsOptions.", c.field)))
        << c.what << ": " << status;
  }
  EXPECT_THAT(Listen("unix:" + path, cases[2].tls).status().message(), HasSubstr("not a path"));
}

TEST_F(Tls, NonLoopbackWithTlsNeedsNoInsecurePlaintext) {
  // The policy passes (and the bind then fails: no interface has TEST-NET).
  if (MachineHasAddress("192.0.2.1")) GTEST_SKIP() << "this machine has 192.0.2.1";
  absl::StatusOr<std::unique_ptr<Listener>> listener = Listen("tcp:192.0.2.1:0", Server());
  ASSERT_FALSE(listener.ok());
  EXPECT_EQ(listener.status().code(), absl::StatusCode::kFailedPrecondition) << listener.status();
  EXPECT_EQ(warning_, "");
}

}  // namespace
}  // namespace weft::internal
