// The byte streams weft's RPC runs on: parsing an address, listening safely
// (loopback unless TLS or insecure_plaintext, Unix sockets 0600), connecting,
// and KJ's TLS on both ends.
//
//   WEFT_ASSIGN_OR_RETURN(Endpoint at, ParseEndpoint("tcp:127.0.0.1:0"));
//   WEFT_ASSIGN_OR_RETURN(auto listener, Listener::Listen(io, at, tls, false));
//   kj::Own<kj::AsyncIoStream> raw = co_await listener->Accept();
//   kj::Own<kj::AsyncIoStream> stream = co_await listener->Secure(kj::mv(raw));
//
//   WEFT_ASSIGN_OR_RETURN(auto connector, Connector::Make(at, tls));
//   kj::Own<kj::AsyncIoStream> stream = connector->Connect(io).wait(ws);
//
// Thread safety: a Listener or Connector belongs to the thread whose KJ event
// loop made it; ParseEndpoint is a pure function.
#ifndef WEFT_RUNTIME_INTERNAL_RPC_TRANSPORT_H_
#define WEFT_RUNTIME_INTERNAL_RPC_TRANSPORT_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kj/async-io.h"
#include "kj/compat/tls.h"
#include "runtime/rpc_options.h"

namespace weft {
namespace internal {

struct Endpoint {
  enum class Kind { kUnix, kTcp };
  Kind kind = Kind::kTcp;
  std::string path;   // kUnix: the socket's path
  std::string host;   // kTcp: a name or a numeric address, without brackets
  uint16_t port = 0;  // kTcp; 0 picks a free port when listening
  // kTcp: every address `host` resolves to is a loopback one (127.0.0.0/8,
  // ::1); always true for kUnix.
  bool loopback = true;

  // "unix:/path" or "tcp:host:port" ("tcp:[::1]:port" for IPv6).
  std::string ToString() const;
};

// Parses "unix:/path" or "tcp:host:port" (host may be a name, an IPv4
// address, or [IPv6]). InvalidArgument naming both forms otherwise. Resolves
// a TCP host (getaddrinfo) to decide `loopback`; NotFound if it does not
// resolve.
absl::StatusOr<Endpoint> ParseEndpoint(absl::string_view address);

class Listener {
 public:
  // Listens on `at`:
  // - kTcp not loopback: needs `tls`, or `insecure_plaintext` (then
  //   *warning says so, for the caller to log); else InvalidArgument naming
  //   both fixes.
  // - kUnix: the socket file is created with mode 0600. A socket file left
  //   at the path by a process that died (connect refused) is replaced; a
  //   live one, or a path that is not a socket, is AlreadyExists.
  // - tls: certificate_chain_pem and private_key_pem required
  //   (InvalidArgument), and checked now (a bad PEM is InvalidArgument naming
  //   the field); trusted_certificates_pem non-empty requires client
  //   certificates.
  // `io` must outlive the listener.
  static absl::StatusOr<std::unique_ptr<Listener>> Listen(kj::AsyncIoContext& io,
                                                          const Endpoint& at,
                                                          const std::optional<TlsOptions>& tls,
                                                          bool insecure_plaintext,
                                                          std::string* warning);
  ~Listener();  // closes the socket; unlinks a Unix socket's file it created

  // The address bound, with the port picked: "tcp:127.0.0.1:40123".
  const std::string& address() const { return address_; }
  // The next connection, as accepted (no TLS handshake yet).
  kj::Promise<kj::Own<kj::AsyncIoStream>> Accept();
  // The connection ready for RPC: the TLS handshake when the listener has
  // TLS (rejects on a failed handshake: a plaintext or untrusted client),
  // else `raw` as it is.
  kj::Promise<kj::Own<kj::AsyncIoStream>> Secure(kj::Own<kj::AsyncIoStream> raw);

 private:
  Listener() = default;
  kj::Own<kj::ConnectionReceiver> receiver_;
  kj::Own<kj::TlsContext> tls_;  // null: plaintext
  std::string address_;
  std::string unlink_path_;  // kUnix: the file to remove at the end
};

class Connector {
 public:
  // tls: trusted_certificates_pem required (InvalidArgument); a client
  // certificate optional (both certificate_chain_pem and private_key_pem,
  // or neither). PEM checked now.
  static absl::StatusOr<std::unique_ptr<Connector>> Make(const Endpoint& at,
                                                         const std::optional<TlsOptions>& tls);
  // One connection (TLS handshake done when configured). Rejects with the
  // connect or handshake error. `io` must outlive the returned stream.
  kj::Promise<kj::Own<kj::AsyncIoStream>> Connect(kj::AsyncIoContext& io);
  const Endpoint& endpoint() const { return at_; }

 private:
  Connector() = default;
  Endpoint at_;
  kj::Own<kj::TlsContext> tls_;  // null: plaintext
  std::string server_name_;
};

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_INTERNAL_RPC_TRANSPORT_H_
