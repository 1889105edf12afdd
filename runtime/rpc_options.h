// Options for weft over Cap'n Proto two-party RPC: serving a pool
// (RpcServer, rpc_server.h) and a pool's remote workers
// (PoolOptions::remote_workers).
//
// Addresses are "unix:/path/to/socket" or "tcp:host:port" ("tcp:127.0.0.1:0"
// picks a free port; RpcServer::address() says which):
//
//   weft::RpcServerOptions serve;
//   serve.address = "unix:/run/math.sock";          // created 0600
//   auto server = weft::RpcServer::Serve(pool, serve);
//
//   weft::PoolOptions options;
//   options.remote_workers.push_back({"unix:/run/math.sock", std::nullopt});
//
// Safe by default: a TCP listener must be on a loopback address unless it
// has TLS, or `insecure_plaintext` says plaintext on the network is meant
// (a warning is logged); a Unix socket is created with mode 0600.
//
// Thread safety: plain values (thread-compatible); copied by their users.
#ifndef WEFT_RUNTIME_RPC_OPTIONS_H_
#define WEFT_RUNTIME_RPC_OPTIONS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"

namespace weft {

// TLS over KJ's TLS (libkj-tls, OpenSSL). Every field is PEM text, not a
// path (read the files yourself; nothing here touches the file system).
struct TlsOptions {
  // A server: its certificate chain (leaf first) and private key; both
  // required. A client: a client certificate and key to present, optional
  // (both or neither).
  std::string certificate_chain_pem;
  std::string private_key_pem;
  // The certificates to trust, besides none (the system store is not used):
  // a client verifies the server's chain against them (required for a
  // client); a server given any requires every client to present a
  // certificate signed by one of them.
  std::string trusted_certificates_pem;
  // A client: the name the server's certificate must carry; empty uses the
  // address's host ("localhost" for unix: addresses).
  std::string server_name;
};

// Serving a pool over RPC (rpc_server.h).
struct RpcServerOptions {
  std::string address = "tcp:127.0.0.1:0";
  std::optional<TlsOptions> tls;
  // Allows a TCP listener on a non-loopback address without TLS. Off: such
  // a listener is refused with InvalidArgument. On: it listens, and logs a
  // warning saying that anyone who can reach it can call the pool.
  bool insecure_plaintext = false;
  // The largest request message a client may send (Cap'n Proto's traversal
  // limit, in bytes); 0 takes the pool's max_payload_bytes.
  uint64_t max_message_bytes = 0;
};

// One remote worker of a pool: a weft RpcServer (or any Cap'n Proto server
// of the interface) at `address`.
struct RemoteWorker {
  std::string address;
  std::optional<TlsOptions> tls;
};

}  // namespace weft

#endif  // WEFT_RUNTIME_RPC_OPTIONS_H_
