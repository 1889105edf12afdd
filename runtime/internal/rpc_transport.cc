#include "runtime/internal/rpc_transport.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "kj/exception.h"
#include "kj/io.h"
#include "runtime/internal/rpc_tls.h"
#include "runtime/internal/status_macros.h"

namespace weft {
namespace internal {
namespace {

using StreamPromise = kj::Promise<kj::Own<kj::AsyncIoStream>>;

constexpr absl::string_view kForms =
    "the accepted forms are \"unix:/absolute/path\" and \"tcp:host:port\" "
    "(\"tcp:[::1]:port\" for IPv6; port 0 picks a free port when listening)";

absl::Status BadAddress(absl::string_view address, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("weft: address \"", absl::CHexEscape(address), "\": ", why, "; ", kForms));
}

bool IsIpv6Literal(const std::string& host) {
  in6_addr unused;
  return inet_pton(AF_INET6, host.c_str(), &unused) == 1;
}

bool IsIpLiteral(const std::string& host) {
  in_addr unused;
  return inet_pton(AF_INET, host.c_str(), &unused) == 1 || IsIpv6Literal(host);
}

// 127.0.0.0/8, ::1, and 127.0.0.0/8 mapped into IPv6 (::ffff:127.x.y.z,
// which reaches the same IPv4 loopback interface).
bool IsLoopback(const sockaddr* sa) {
  if (sa->sa_family == AF_INET) {
    const uint32_t a = ntohl(reinterpret_cast<const sockaddr_in*>(sa)->sin_addr.s_addr);
    return (a >> 24) == 127;
  }
  if (sa->sa_family == AF_INET6) {
    const in6_addr& a = reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(&a) || (IN6_IS_ADDR_V4MAPPED(&a) && a.s6_addr[12] == 127);
  }
  return false;
}

struct AddrInfoDeleter {
  void operator()(addrinfo* ai) const { freeaddrinfo(ai); }
};
using AddrInfoList = std::unique_ptr<addrinfo, AddrInfoDeleter>;

// getaddrinfo for a TCP host (a name or a numeric address), every family.
// No AI_ADDRCONFIG: it would hide ::1 on a machine whose only IPv6 address
// is the loopback one.
absl::StatusOr<AddrInfoList> Resolve(const std::string& host, uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  const std::string service = absl::StrCat(port);
  addrinfo* list = nullptr;
  const int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &list);
  if (rc == 0 && list == nullptr)
    return absl::NotFoundError(absl::StrCat("weft: host \"", host, "\" resolves to no address"));
  if (rc == 0) return AddrInfoList(list);
  const std::string base = absl::StrCat(
      "weft: host \"", absl::CHexEscape(host),
      "\" does not resolve: ", rc == EAI_SYSTEM ? std::strerror(errno) : gai_strerror(rc));
  switch (rc) {
    case EAI_AGAIN:
      return absl::UnavailableError(
          absl::StrCat(base, " (a temporary failure of name resolution: try again later)"));
    case EAI_MEMORY:
      return absl::ResourceExhaustedError(base);
    case EAI_NONAME:
    case EAI_FAIL:
#ifdef EAI_NODATA
    case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY:
#endif
      return absl::NotFoundError(
          absl::StrCat(base, "; check the name, or give a numeric address (tcp:127.0.0.1:port)"));
    default:
      return absl::InternalError(base);
  }
}

bool AllLoopback(const addrinfo* list) {
  for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    if (!IsLoopback(ai->ai_addr)) return false;
  }
  return list != nullptr;
}

// A failed socket call on `where` as a Status: the code follows errno, the
// message names the fix where there is one.
absl::Status SocketError(int err, absl::string_view call, const std::string& where,
                         Endpoint::Kind kind) {
  const std::string base = absl::StrCat("weft: ", call, " ", where, ": ", std::strerror(err));
  const bool tcp = kind == Endpoint::Kind::kTcp;
  switch (err) {
    case EADDRINUSE:
      return absl::AlreadyExistsError(
          absl::StrCat(base, "; another socket is bound there: stop it, or choose another ",
                       tcp ? "port (0 picks a free one)" : "path"));
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(absl::StrCat(
          base, tcp ? "; ports below 1024 need CAP_NET_BIND_SERVICE: choose a port from 1024 up"
                    : "; the process needs write permission on the socket's directory (and on "
                      "the socket, to connect): choose a path it may use"));
    case EADDRNOTAVAIL:
      return absl::FailedPreconditionError(absl::StrCat(
          base, "; no interface of this machine has that address: use one of its own addresses"));
    case EAFNOSUPPORT:
      return absl::FailedPreconditionError(
          absl::StrCat(base,
                       "; this machine does not support that address family: use an "
                       "address of the other (IPv4 or IPv6)"));
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(
          absl::StrCat(base, "; the socket's directory does not exist: create it first"));
    case EROFS:
      return absl::FailedPreconditionError(
          absl::StrCat(base, "; the file system is read-only: choose a path on a writable one"));
    case ENAMETOOLONG:
      return absl::InvalidArgumentError(absl::StrCat(base, "; choose a shorter path"));
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
      return absl::ResourceExhaustedError(
          absl::StrCat(base,
                       "; out of descriptors or kernel memory: raise the open-file limit "
                       "(ulimit -n) or close descriptors"));
    default:
      return absl::InternalError(base);
  }
}

std::string TcpAddress(absl::string_view host, uint16_t port) {
  const bool v6 = absl::StrContains(host, ':');
  return absl::StrCat(v6 ? "[" : "", host, v6 ? "]" : "", ":", port);
}

// "tcp:127.0.0.1:40123" / "tcp:[::1]:40123" from a bound socket.
absl::StatusOr<std::string> BoundTcpAddress(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return absl::InternalError(absl::StrCat("weft: getsockname: ", std::strerror(errno)));
  }
  char text[INET6_ADDRSTRLEN] = {};
  uint16_t port = 0;
  if (ss.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(ss);
    inet_ntop(AF_INET, &in.sin_addr, text, sizeof(text));
    port = ntohs(in.sin_port);
  } else {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(ss);
    inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof(text));
    port = ntohs(in6.sin6_port);
  }
  return absl::StrCat("tcp:", TcpAddress(text, port));
}

// Makes room for a Unix socket at `path`: nothing there is fine; a socket
// nobody listens on (connect refused: its process died) is removed; a live
// socket or any other file is AlreadyExists.
absl::Status ClearStaleUnixSocket(const std::string& path, const std::string& where) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return SocketError(errno, "checking the path of", where, Endpoint::Kind::kUnix);
  }
  if (!S_ISSOCK(st.st_mode)) {
    return absl::AlreadyExistsError(
        absl::StrCat("weft: listening on ", where,
                     ": the path exists and is not a socket: remove it, or choose another path"));
  }
  kj::AutoCloseFd probe(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (probe.get() < 0) return SocketError(errno, "socket() for", where, Endpoint::Kind::kUnix);
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  std::memcpy(sun.sun_path, path.data(), path.size());  // ParseEndpoint checked the length
  int rc;
  do {
    rc = connect(probe.get(), reinterpret_cast<const sockaddr*>(&sun), sizeof(sun));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0 && errno == ECONNREFUSED) {
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
      return SocketError(errno, "removing the stale socket file of", where, Endpoint::Kind::kUnix);
    }
    return absl::OkStatus();
  }
  // Connected, or EAGAIN (its backlog is full), or EPROTOTYPE (a datagram
  // socket): something lives there.
  if (rc == 0 || errno == EAGAIN || errno == EINPROGRESS || errno == EPROTOTYPE) {
    return absl::AlreadyExistsError(
        absl::StrCat("weft: listening on ", where,
                     ": another process is listening on that socket: stop it, or choose "
                     "another path"));
  }
  return SocketError(errno, "probing the existing socket at", where, Endpoint::Kind::kUnix);
}

// A kj::Exception's description on one line (OpenSSL's errors come one per line).
std::string Describe(const kj::Exception& e) {
  return absl::StrReplaceAll(e.getDescription().cStr(), {{"\n", "; "}});
}

// A rejection becomes "<what>: <its description>; <fix>", of the same type
// (DISCONNECTED stays a retry class).
StreamPromise WithContext(StreamPromise promise, std::string what, std::string fix) {
  return promise.catch_([what = std::move(what), fix = std::move(fix)](kj::Exception&& e) {
    return StreamPromise(kj::Exception(
        e.getType(), __FILE__, __LINE__,
        kj::str(absl::StrCat(what, ": ", Describe(e), fix.empty() ? "" : "; ", fix).c_str())));
  });
}

kj::StringPtr Kj(const std::string& s) { return kj::StringPtr(s.c_str(), s.size()); }

}  // namespace

std::string Endpoint::ToString() const {
  if (kind == Kind::kUnix) return absl::StrCat("unix:", path);
  return absl::StrCat("tcp:", TcpAddress(host, port));
}

absl::StatusOr<Endpoint> ParseEndpoint(absl::string_view address) {
  Endpoint at;
  const absl::string_view original = address;
  if (absl::ConsumePrefix(&address, "unix:")) {
    at.kind = Endpoint::Kind::kUnix;
    at.path = std::string(address);
    if (at.path.empty()) return BadAddress(original, "no socket path after \"unix:\"");
    if (at.path.find('\0') != std::string::npos) {
      return BadAddress(original, "the path holds a NUL byte");
    }
    // Relative paths are refused: each process would resolve one against
    // its own working directory, so a server and its clients could
    // disagree on which socket is meant.
    if (at.path[0] != '/') {
      return BadAddress(original,
                        "a Unix socket's path must be absolute (a relative one resolves against "
                        "each process's working directory): prefix it with the directory");
    }
    if (at.path.size() >= sizeof(sockaddr_un{}.sun_path)) {
      return BadAddress(
          original,
          absl::StrCat("the path is ", at.path.size(), " bytes; a Unix socket's is at most ",
                       sizeof(sockaddr_un{}.sun_path) - 1, ": choose a shorter path"));
    }
    at.loopback = true;
    return at;
  }
  if (!absl::ConsumePrefix(&address, "tcp:")) {
    return BadAddress(original, address.empty() ? "empty" : "unknown scheme");
  }
  at.kind = Endpoint::Kind::kTcp;
  absl::string_view port;
  if (absl::ConsumePrefix(&address, "[")) {
    const size_t close = address.find(']');
    if (close == absl::string_view::npos) return BadAddress(original, "no ']' after \"[\"");
    at.host = std::string(address.substr(0, close));
    absl::string_view rest = address.substr(close + 1);
    if (!absl::ConsumePrefix(&rest, ":")) return BadAddress(original, "no \":port\" after ']'");
    if (!IsIpv6Literal(at.host)) {
      return BadAddress(original, "brackets hold an IPv6 address, and this is not one");
    }
    port = rest;
  } else {
    const size_t colon = address.rfind(':');
    if (colon == absl::string_view::npos) return BadAddress(original, "no \":port\"");
    at.host = std::string(address.substr(0, colon));
    port = address.substr(colon + 1);
    if (absl::StrContains(at.host, ':')) {
      return BadAddress(original, "an IPv6 address goes in brackets: \"tcp:[::1]:port\"");
    }
  }
  if (at.host.empty()) return BadAddress(original, "no host (e.g. 127.0.0.1 or localhost)");
  if (at.host.find('\0') != std::string::npos) return BadAddress(original, "a NUL in the host");
  uint32_t value = 0;
  bool digits = !port.empty() && port.size() <= 5;
  for (char c : port) {
    if (c < '0' || c > '9') digits = false;
    if (digits) value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (!digits || value > 65535) {
    return BadAddress(original, "the port must be a number from 0 to 65535");
  }
  at.port = static_cast<uint16_t>(value);
  WEFT_ASSIGN_OR_RETURN(AddrInfoList resolved, Resolve(at.host, at.port));
  at.loopback = AllLoopback(resolved.get());
  return at;
}

absl::StatusOr<std::unique_ptr<Listener>> Listener::Listen(kj::AsyncIoContext& io,
                                                           const Endpoint& at,
                                                           const std::optional<TlsOptions>& tls,
                                                           bool insecure_plaintext,
                                                           std::string* warning) {
  if (warning != nullptr) warning->clear();
  std::unique_ptr<Listener> listener(new Listener());
  const std::string where = at.ToString();
  if (tls.has_value()) {
    WEFT_ASSIGN_OR_RETURN(listener->tls_, MakeTlsContext(*tls, /*server=*/true));
    listener->verify_clients_ = !tls->trusted_certificates_pem.empty();
  }
  kj::AutoCloseFd fd;
  std::string plaintext_warning;  // given to the caller only once listening
  if (at.kind == Endpoint::Kind::kTcp) {
    // Resolved again, and the policy decided on what is bound now: a name
    // that resolved to loopback in ParseEndpoint may not any more.
    WEFT_ASSIGN_OR_RETURN(AddrInfoList resolved, Resolve(at.host, at.port));
    const bool loopback = at.loopback && AllLoopback(resolved.get());
    if (!loopback && !tls.has_value()) {
      if (!insecure_plaintext) {
        return absl::InvalidArgumentError(absl::StrCat(
            "weft: ", where,
            " is not a loopback address, and plaintext there lets anyone who can reach it call "
            "the pool: set RpcServerOptions.tls to serve it over TLS, or set "
            "RpcServerOptions.insecure_plaintext = true if plaintext on the network is meant"));
      }
      plaintext_warning = absl::StrCat(
          "weft: serving ", where,
          " in plaintext (insecure_plaintext is set): anyone who can reach it can call the "
          "pool; set RpcServerOptions.tls to prevent that");
    }
    // The first of the host's addresses that binds (a name may resolve to
    // ::1 on a machine without IPv6, then to 127.0.0.1).
    absl::Status first_error;
    for (const addrinfo* ai = resolved.get(); ai != nullptr; ai = ai->ai_next) {
      kj::AutoCloseFd s(socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
      int err = 0;
      const int one = 1;
      if (s.get() < 0) {
        err = errno;
      } else if (setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
                 bind(s.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
        err = errno;
      }
      if (err == 0) {
        fd = kj::mv(s);
        break;
      }
      if (first_error.ok()) first_error = SocketError(err, "binding", where, at.kind);
    }
    if (fd.get() < 0) return first_error;
  } else {
    // An Endpoint made by hand, not by ParseEndpoint: sun_path must hold it.
    if (at.path.empty() || at.path.size() >= sizeof(sockaddr_un{}.sun_path)) {
      return absl::InvalidArgumentError(
          absl::StrCat("weft: ", where, ": not a Unix socket path; make it with ParseEndpoint"));
    }
    WEFT_RETURN_IF_ERROR(ClearStaleUnixSocket(at.path, where));
    fd = kj::AutoCloseFd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) return SocketError(errno, "socket() for", where, at.kind);
    // On Linux the socket file takes the socket's mode (less the umask) at
    // bind(): 0600 before bind means the file is never more open than that.
    if (fchmod(fd.get(), 0600) != 0) return SocketError(errno, "fchmod 0600 of", where, at.kind);
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::memcpy(sun.sun_path, at.path.data(), at.path.size());
    if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&sun), sizeof(sun)) != 0) {
      return SocketError(errno, "binding", where, at.kind);
    }
    struct stat st;
    if (lstat(at.path.c_str(), &st) == 0) {
      listener->unlink_path_ = at.path;  // from here on the destructor removes it
      listener->unlink_dev_ = st.st_dev;
      listener->unlink_ino_ = st.st_ino;
    }
  }
  if (listen(fd.get(), SOMAXCONN) != 0) return SocketError(errno, "listening on", where, at.kind);
  if (at.kind == Endpoint::Kind::kTcp) {
    WEFT_ASSIGN_OR_RETURN(listener->address_, BoundTcpAddress(fd.get()));
  } else {
    listener->address_ = where;
  }
  const int raw_fd = fd.get();
  KJ_IF_MAYBE (e, kj::runCatchingExceptions([&] {
                 listener->receiver_ = io.lowLevelProvider->wrapListenSocketFd(
                     raw_fd, kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP |
                                 kj::LowLevelAsyncIoProvider::ALREADY_CLOEXEC);
               })) {
    return absl::InternalError(absl::StrCat("weft: listening on ", where, ": ", Describe(*e)));
  }
  fd.release();  // the receiver owns it now
  if (warning != nullptr) *warning = std::move(plaintext_warning);
  return listener;
}

Listener::~Listener() {
  receiver_ = nullptr;  // closes the socket
  // Only the file this listener bound: one that replaced it (after someone
  // removed ours) belongs to someone else.
  struct stat st;
  if (!unlink_path_.empty() && lstat(unlink_path_.c_str(), &st) == 0 && st.st_dev == unlink_dev_ &&
      st.st_ino == unlink_ino_) {
    unlink(unlink_path_.c_str());
  }
}

kj::Promise<kj::Own<kj::AsyncIoStream>> Listener::Accept() {
  return WithContext(kj::evalNow([&] { return receiver_->accept(); }),
                     absl::StrCat("weft: accepting a connection on ", address_), "");
}

kj::Promise<kj::Own<kj::AsyncIoStream>> Listener::Secure(kj::Own<kj::AsyncIoStream> raw) {
  if (tls_.get() == nullptr) return kj::mv(raw);
  return WithContext(
      kj::evalNow([&] { return tls_->wrapServer(kj::mv(raw)); }),
      absl::StrCat("weft: TLS handshake with a client of ", address_, " failed"),
      absl::StrCat("the client must speak TLS and trust the CA that signed this server's "
                   "certificate",
                   verify_clients_ ? ", and present a certificate signed by one of "
                                     "TlsOptions.trusted_certificates_pem"
                                   : ""));
}

absl::StatusOr<std::unique_ptr<Connector>> Connector::Make(const Endpoint& at,
                                                           const std::optional<TlsOptions>& tls) {
  if (at.kind == Endpoint::Kind::kTcp && at.port == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("weft: cannot connect to ", at.ToString(),
                     ": port 0 only means \"pick one\" when listening; give the server's port "
                     "(its address() says which it picked)"));
  }
  std::unique_ptr<Connector> connector(new Connector());
  connector->at_ = at;
  if (tls.has_value()) {
    WEFT_ASSIGN_OR_RETURN(connector->tls_, MakeTlsContext(*tls, /*server=*/false));
    connector->server_name_ = !tls->server_name.empty()         ? tls->server_name
                              : at.kind == Endpoint::Kind::kTcp ? at.host
                                                                : std::string("localhost");
  }
  return connector;
}

kj::Promise<kj::Own<kj::AsyncIoStream>> Connector::Connect(kj::AsyncIoContext& io) {
  const std::string where = at_.ToString();
  // KJ's forms: "unix:/path", "host:port", "[v6]:port".
  const std::string kj_address =
      at_.kind == Endpoint::Kind::kUnix ? where : TcpAddress(at_.host, at_.port);
  StreamPromise connected = kj::evalNow([&] {
                              return io.provider->getNetwork().parseAddress(Kj(kj_address));
                            }).then([](kj::Own<kj::NetworkAddress> address) {
    StreamPromise stream = address->connect();
    return stream.attach(kj::mv(address));
  });
  connected = WithContext(kj::mv(connected), absl::StrCat("weft: connecting to ", where),
                          "is a server listening there?");
  if (tls_.get() == nullptr) return connected;
  std::string hint = absl::StrCat(
      "check that TlsOptions.trusted_certificates_pem holds the CA that signed the server's "
      "certificate, that the certificate carries the name \"",
      server_name_, "\" (TlsOptions.server_name), and that the server speaks TLS");
  if (IsIpLiteral(server_name_)) {
    absl::StrAppend(&hint,
                    "; KJ matches the name against the certificate's DNS names only, never its "
                    "IP addresses: set TlsOptions.server_name to a DNS name the certificate "
                    "carries (e.g. \"localhost\")");
  }
  return connected.then([this, what = absl::StrCat("weft: TLS handshake with ", where, " failed"),
                         hint = std::move(hint)](kj::Own<kj::AsyncIoStream> stream) mutable {
    return WithContext(
        kj::evalNow([&] { return tls_->wrapClient(kj::mv(stream), Kj(server_name_)); }),
        std::move(what), std::move(hint));
  });
}

}  // namespace internal
}  // namespace weft
