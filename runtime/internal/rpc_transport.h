// The byte streams weft's RPC runs on: parsing an address, listening safely
// (loopback unless TLS or insecure_plaintext, Unix sockets 0600), connecting,
// and KJ's TLS on both ends.
//
//   WEFT_ASSIGN_OR_RETURN(Endpoint at, ParseEndpoint("tcp:127.0.0.1:0"));
//   std::string warning;
//   WEFT_ASSIGN_OR_RETURN(auto listener, Listener::Listen(io, at, tls, false, &warning));
//   // (KJ 0.9.2 has no co_await: chain with .then(), or .wait() outside callbacks)
//   kj::Own<kj::AsyncIoStream> raw = listener->Accept().wait(io.waitScope);
//   kj::Own<kj::AsyncIoStream> stream = listener->Secure(kj::mv(raw)).wait(io.waitScope);
//
//   WEFT_ASSIGN_OR_RETURN(auto connector, Connector::Make(at, tls));
//   kj::Own<kj::AsyncIoStream> stream = connector->Connect(io).wait(io.waitScope);
//
// Errors: every failure is an absl::Status (from ParseEndpoint, Listen, Make)
// or a rejected promise (Accept, Secure, Connect; the kj::Exception keeps
// KJ's type, e.g. DISCONNECTED, and its description says what to check),
// with a message that names the fix where there is one.
//
// Thread safety: a Listener or Connector belongs to the thread whose KJ event
// loop made it (thread-compatible; Connector::Make needs no loop);
// ParseEndpoint only reads its argument (it resolves names: it may block on
// DNS).
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
// address, or [IPv6]). InvalidArgument naming both forms otherwise: an empty
// address, no or a bad port (not 0..65535), an unbracketed IPv6 address, a
// relative or too long (> 107 bytes) Unix path. Relative Unix paths are
// refused because each process would resolve one against its own working
// directory. Resolves a TCP host (getaddrinfo) to decide `loopback`;
// NotFound if it does not resolve (Unavailable for a temporary DNS failure,
// EAI_AGAIN, which is worth retrying).
absl::StatusOr<Endpoint> ParseEndpoint(absl::string_view address);

class Listener {
 public:
  // Listens on `at`:
  // - kTcp not loopback: needs `tls`, or `insecure_plaintext` (then
  //   *warning says so, for the caller to log); else InvalidArgument naming
  //   both fixes, before anything is bound. The host is resolved again here
  //   and every address must still be loopback. The first of its addresses
  //   that binds is used.
  // - kUnix: the socket file is created with mode 0600. A socket file left
  //   at the path by a process that died (connect refused) is replaced; a
  //   live one, or a path that is not a socket, is AlreadyExists. (The
  //   probe is a connect(): a live server sees one connection that closes
  //   at once.)
  // - tls: certificate_chain_pem and private_key_pem required
  //   (InvalidArgument), and checked now (a bad PEM is InvalidArgument naming
  //   the field); trusted_certificates_pem non-empty requires client
  //   certificates. A key that does not belong to the certificate is not
  //   detected here (KJ's TLS API offers no check): handshakes fail.
  // Bind errors follow errno: EADDRINUSE AlreadyExists, EACCES
  // PermissionDenied, EADDRNOTAVAIL FailedPrecondition, a missing directory
  // NotFound, out of descriptors ResourceExhausted.
  // `warning` may be null (nothing to log then); it is not kept. `io` must
  // outlive the listener.
  static absl::StatusOr<std::unique_ptr<Listener>> Listen(kj::AsyncIoContext& io,
                                                          const Endpoint& at,
                                                          const std::optional<TlsOptions>& tls,
                                                          bool insecure_plaintext,
                                                          std::string* warning);
  // Closes the socket; unlinks a Unix socket's file it created (unless
  // another file has replaced it). Promises from Accept() and Secure() must
  // be destroyed first; the streams they yielded may live on.
  ~Listener();

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
  // Carries the keypair and trusted certificates it was made from as
  // attachments (destroyed after it: TlsContext::Options refers to them).
  kj::Own<kj::TlsContext> tls_;  // null: plaintext
  bool verify_clients_ = false;  // tls_ requires client certificates
  kj::Own<kj::ConnectionReceiver> receiver_;
  std::string address_;
  std::string unlink_path_;  // kUnix: the file to remove at the end
  // The file's identity when bound: only that file is removed.
  uint64_t unlink_dev_ = 0;
  uint64_t unlink_ino_ = 0;
};

class Connector {
 public:
  // tls: trusted_certificates_pem required (InvalidArgument); a client
  // certificate optional (both certificate_chain_pem and private_key_pem,
  // or neither). PEM checked now. A kTcp endpoint with port 0 is
  // InvalidArgument. The server name is tls->server_name, else the host
  // (kTcp) or "localhost" (kUnix); KJ checks it against the certificate's
  // DNS names only, so a numeric host needs server_name set to a DNS name
  // the server's certificate carries.
  static absl::StatusOr<std::unique_ptr<Connector>> Make(const Endpoint& at,
                                                         const std::optional<TlsOptions>& tls);
  // One connection (TLS handshake done when configured). Rejects with the
  // connect or handshake error. `io` must outlive the returned stream; the
  // promise must not outlive the connector (the stream may).
  kj::Promise<kj::Own<kj::AsyncIoStream>> Connect(kj::AsyncIoContext& io);
  const Endpoint& endpoint() const { return at_; }

 private:
  Connector() = default;
  Endpoint at_;
  kj::Own<kj::TlsContext> tls_;  // null: plaintext; see Listener::tls_
  std::string server_name_;
};

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_INTERNAL_RPC_TRANSPORT_H_
