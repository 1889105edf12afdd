// The kj::TlsContext of one end of weft's RPC transport, made from
// weft::TlsOptions (PEM texts): what rpc_transport.cc's Listener and
// Connector use.
//
//   WEFT_ASSIGN_OR_RETURN(kj::Own<kj::TlsContext> tls, MakeTlsContext(options, /*server=*/true));
//
// - server: certificate_chain_pem and private_key_pem required;
//   trusted_certificates_pem non-empty requires client certificates signed
//   by one of them.
// - client: trusted_certificates_pem required; a client certificate is
//   optional (both certificate_chain_pem and private_key_pem, or neither).
// The system trust store is never used; TLS 1.2 is the oldest version
// allowed. Every PEM is parsed now: a bad one is InvalidArgument naming its
// TlsOptions field. A key that does not belong to the certificate is not
// detected (KJ's API has no check): the handshakes fail.
//
// Thread safety: MakeTlsContext is thread-safe; the context it makes is
// used on one thread.
#ifndef WEFT_RUNTIME_INTERNAL_RPC_TLS_H_
#define WEFT_RUNTIME_INTERNAL_RPC_TLS_H_

#include "absl/status/statusor.h"
#include "kj/compat/tls.h"
#include "kj/memory.h"
#include "runtime/rpc_options.h"

namespace weft {
namespace internal {

// The keypair and trusted certificates it was made from are attached to the
// returned context (destroyed after it: TlsContext::Options refers to them).
absl::StatusOr<kj::Own<kj::TlsContext>> MakeTlsContext(const TlsOptions& tls, bool server);

}  // namespace internal
}  // namespace weft

#endif  // WEFT_RUNTIME_INTERNAL_RPC_TLS_H_
