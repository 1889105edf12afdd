// TLS certificates for tests, made fresh at test time with the `openssl`
// command (Debian's `openssl` package; tools/bazel installs it) in a
// temporary directory that is removed before MakeTestCerts returns. Nothing
// is checked in, so nothing expires in the tree.
//
//   absl::StatusOr<weft_test::TestCerts> certs = weft_test::MakeTestCerts();
//   ASSERT_TRUE(certs.ok()) << certs.status();
//   weft::TlsOptions server{.certificate_chain_pem = certs->server_chain_pem,
//                           .private_key_pem = certs->server_key_pem};
//   weft::TlsOptions client{.trusted_certificates_pem = certs->ca_pem,
//                           .server_name = "localhost"};
//
// The keys are ECDSA P-256 (fast to make: a call takes a few openssl runs,
// well under a second); certificates are valid from now for two days. Make
// them once per test suite (SetUpTestSuite) where many tests need them.
//
// Thread safety: MakeTestCerts may run on several threads at once (each
// call has its own directory); it forks, so call it before starting
// threads that hold locks a child could need (posix_spawn is used, which
// execs at once).
#ifndef WEFT_TESTS_TESTING_TEST_CERTS_H_
#define WEFT_TESTS_TESTING_TEST_CERTS_H_

#include <string>

#include "absl/status/statusor.h"

namespace weft_test {

// PEM texts, as weft::TlsOptions takes them.
struct TestCerts {
  std::string ca_pem;            // a self-signed CA ("weft test CA")
  std::string server_chain_pem;  // signed by ca_pem: CN and DNS SAN localhost, IP SAN 127.0.0.1
  std::string server_key_pem;
  std::string client_chain_pem;  // signed by ca_pem: CN "weft test client", for client auth
  std::string client_key_pem;
  std::string other_ca_pem;  // a second self-signed CA that signed nothing here
};

// Runs openssl in a fresh directory under $TEST_TMPDIR (else /tmp).
// Internal naming the command that failed and its output; NotFound if
// there is no `openssl` on PATH (install Debian's `openssl`).
absl::StatusOr<TestCerts> MakeTestCerts();

}  // namespace weft_test

#endif  // WEFT_TESTS_TESTING_TEST_CERTS_H_
