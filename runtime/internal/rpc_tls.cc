#include "runtime/internal/rpc_tls.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "kj/exception.h"
#include "kj/vector.h"
#include "runtime/internal/status_macros.h"

namespace weft {
namespace internal {
namespace {

kj::StringPtr Kj(const std::string& s) { return kj::StringPtr(s.c_str(), s.size()); }

// On one line: OpenSSL's errors come one per line.
std::string Describe(const kj::Exception& e) {
  return absl::StrReplaceAll(e.getDescription().cStr(), {{"\n", "; "}});
}

absl::Status BadPem(absl::string_view field, const std::string& pem, absl::string_view what,
                    const kj::Exception* e) {
  std::string hint;
  if (!absl::StrContains(pem, "-----BEGIN ")) {
    hint = "; it holds no PEM block: give the PEM text itself (\"-----BEGIN ...\"), not a path";
  } else if (absl::StrContains(pem, "ENCRYPTED")) {
    hint = "; an encrypted key must be decrypted first";
  }
  return absl::InvalidArgumentError(
      absl::StrCat("weft: TlsOptions.", field, " is not ", what, e != nullptr ? " (" : "",
                   e != nullptr ? Describe(*e) : "", e != nullptr ? ")" : "", hint));
}

template <typename T>
absl::StatusOr<kj::Own<T>> ParsePem(absl::string_view field, const std::string& pem,
                                    absl::string_view what) {
  kj::Own<T> parsed;
  KJ_IF_MAYBE (e, kj::runCatchingExceptions([&] { parsed = kj::heap<T>(Kj(pem)); })) {
    return BadPem(field, pem, what, e);
  }
  return parsed;
}

// KJ trusts only the first certificate of each TlsCertificate it is given
// (and parses at most 10 into one), so a bundle is split into one per PEM
// block.
absl::StatusOr<kj::Array<kj::TlsCertificate>> ParseTrusted(const std::string& pem) {
  constexpr char kBegin[] = "-----BEGIN ";
  std::vector<size_t> starts;
  for (size_t at = pem.find(kBegin); at != std::string::npos; at = pem.find(kBegin, at + 1)) {
    starts.push_back(at);
  }
  if (starts.empty()) {
    return BadPem("trusted_certificates_pem", pem, "PEM certificates", nullptr);
  }
  kj::Vector<kj::TlsCertificate> certs;
  for (size_t i = 0; i < starts.size(); ++i) {
    const size_t end = i + 1 < starts.size() ? starts[i + 1] : pem.size();
    const std::string block = pem.substr(starts[i], end - starts[i]);
    KJ_IF_MAYBE (e, kj::runCatchingExceptions([&] { certs.add(Kj(block)); })) {
      return BadPem("trusted_certificates_pem", block,
                    absl::StrCat("a PEM certificate in its block ", i + 1), e);
    }
  }
  return certs.releaseAsArray();
}

}  // namespace

absl::StatusOr<kj::Own<kj::TlsContext>> MakeTlsContext(const TlsOptions& tls, bool server) {
  const bool has_chain = !tls.certificate_chain_pem.empty();
  const bool has_key = !tls.private_key_pem.empty();
  if (server && (!has_chain || !has_key)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "weft: TlsOptions.", has_chain ? "private_key_pem" : "certificate_chain_pem",
        " is empty: a TLS server needs both certificate_chain_pem (its certificate, leaf "
        "first) and private_key_pem (its key)"));
  }
  if (!server && has_chain != has_key) {
    return absl::InvalidArgumentError(absl::StrCat(
        "weft: TlsOptions.", has_chain ? "private_key_pem" : "certificate_chain_pem",
        " is empty: a client certificate needs both certificate_chain_pem and private_key_pem "
        "(set both, or neither to present none)"));
  }
  if (!server && tls.trusted_certificates_pem.empty()) {
    return absl::InvalidArgumentError(
        "weft: TlsOptions.trusted_certificates_pem is empty: a TLS client verifies the server's "
        "certificate against it (the system trust store is not used): give the PEM of the CA "
        "that signed the server's certificate");
  }
  kj::TlsContext::Options options;
  options.useSystemTrustStore = false;
  // TLS 1.0 and 1.1 are deprecated (RFC 8996); KJ's default allows them.
  options.minVersion = kj::TlsVersion::TLS_1_2;
  kj::Own<kj::TlsKeypair> keypair;
  if (has_chain) {
    WEFT_ASSIGN_OR_RETURN(
        kj::Own<kj::TlsCertificate> chain,
        ParsePem<kj::TlsCertificate>("certificate_chain_pem", tls.certificate_chain_pem,
                                     "a PEM certificate chain"));
    WEFT_ASSIGN_OR_RETURN(
        kj::Own<kj::TlsPrivateKey> key,
        ParsePem<kj::TlsPrivateKey>("private_key_pem", tls.private_key_pem, "a PEM private key"));
    keypair = kj::heap<kj::TlsKeypair>(kj::TlsKeypair{kj::mv(*key), kj::mv(*chain)});
    options.defaultKeypair = *keypair;
  }
  kj::Array<kj::TlsCertificate> trusted;
  if (!tls.trusted_certificates_pem.empty()) {
    WEFT_ASSIGN_OR_RETURN(trusted, ParseTrusted(tls.trusted_certificates_pem));
    options.trustedCertificates = trusted;
    // A server given CAs requires each client to present a certificate they signed.
    options.verifyClients = server;
  }
  kj::Own<kj::TlsContext> context;
  KJ_IF_MAYBE (e, kj::runCatchingExceptions([&] { context = kj::heap<kj::TlsContext>(options); })) {
    return absl::InvalidArgumentError(
        absl::StrCat("weft: the TLS context refused the TlsOptions (", Describe(*e),
                     "); check that private_key_pem is the key of certificate_chain_pem's "
                     "first certificate"));
  }
  return context.attach(kj::mv(keypair), kj::mv(trusted));
}

}  // namespace internal
}  // namespace weft
