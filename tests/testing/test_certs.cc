#include "tests/testing/test_certs.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

extern char** environ;

namespace weft_test {
namespace {

// One config for every request and signing: no dependence on the system's
// openssl.cnf. Each *_ext section is what one kind of certificate carries.
constexpr char kConfig[] = R"([req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
)";

// Removes the directory (and what is in it) when it goes out of scope.
class TempDir {
 public:
  static absl::StatusOr<TempDir> Make() {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string tmpl =
        absl::StrCat(base != nullptr && *base != '\0' ? base : "/tmp", "/weft-certs-XXXXXX");
    if (mkdtemp(tmpl.data()) == nullptr) {
      return absl::InternalError(absl::StrCat("mkdtemp ", tmpl, ": ", std::strerror(errno)));
    }
    return TempDir(tmpl);
  }
  TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  TempDir& operator=(TempDir&&) = delete;
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  std::string File(absl::string_view name) const { return absl::StrCat(path_, "/", name); }

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InternalError(absl::StrCat("cannot read ", path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::Status WriteFile(const std::string& path, absl::string_view text) {
  std::ofstream out(path, std::ios::binary);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

// Runs `openssl args...` with its output in `log`; an exit status other
// than 0 is an error carrying the command and that output.
absl::Status Openssl(const TempDir& dir, std::initializer_list<std::string> args) {
  std::vector<std::string> argv_strings = {"openssl"};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string log = dir.File("openssl.log");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, "openssl", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  const std::string command = absl::StrJoin(argv_strings, " ");
  if (rc == ENOENT) {
    return absl::NotFoundError(
        "no `openssl` on PATH: install Debian's openssl package (tools/bazel does)");
  }
  if (rc != 0) return absl::InternalError(absl::StrCat(command, ": ", std::strerror(rc)));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      return absl::InternalError(absl::StrCat("waitpid for ", command, ": ", std::strerror(errno)));
    }
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return absl::OkStatus();
  absl::StatusOr<std::string> output = ReadFile(log);
  return absl::InternalError(absl::StrCat(command, ": ",
                                          WIFEXITED(status)
                                              ? absl::StrCat("exit status ", WEXITSTATUS(status))
                                              : absl::StrCat("killed by signal ", WTERMSIG(status)),
                                          "\n", output.ok() ? *output : ""));
}

absl::Status MakeKey(const TempDir& dir, const std::string& name) {
  return Openssl(dir, {"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
                       dir.File(name + ".key")});
}

absl::Status MakeCa(const TempDir& dir, const std::string& name, const std::string& cn) {
  if (absl::Status s = MakeKey(dir, name); !s.ok()) return s;
  return Openssl(dir, {"req", "-config", dir.File("openssl.cnf"), "-new", "-x509", "-key",
                       dir.File(name + ".key"), "-subj", "/CN=" + cn, "-days", "2", "-extensions",
                       "ca_ext", "-out", dir.File(name + ".pem")});
}

// A leaf certificate for `name`, signed by the CA "ca", with `ext`.
absl::Status MakeLeaf(const TempDir& dir, const std::string& name, const std::string& cn,
                      const std::string& ext, const std::string& serial) {
  if (absl::Status s = MakeKey(dir, name); !s.ok()) return s;
  if (absl::Status s = Openssl(
          dir, {"req", "-config", dir.File("openssl.cnf"), "-new", "-key", dir.File(name + ".key"),
                "-subj", "/CN=" + cn, "-out", dir.File(name + ".csr")});
      !s.ok()) {
    return s;
  }
  return Openssl(
      dir, {"x509", "-req", "-in", dir.File(name + ".csr"), "-CA", dir.File("ca.pem"), "-CAkey",
            dir.File("ca.key"), "-set_serial", serial, "-days", "2", "-extfile",
            dir.File("openssl.cnf"), "-extensions", ext, "-out", dir.File(name + ".pem")});
}

}  // namespace

absl::StatusOr<TestCerts> MakeTestCerts() {
  absl::StatusOr<TempDir> dir = TempDir::Make();
  if (!dir.ok()) return dir.status();
  // In order, stopping at the first failure (each step needs the ones before).
  absl::Status s = WriteFile(dir->File("openssl.cnf"), kConfig);
  if (s.ok()) s = MakeCa(*dir, "ca", "weft test CA");
  if (s.ok()) s = MakeLeaf(*dir, "server", "localhost", "server_ext", "2");
  if (s.ok()) s = MakeLeaf(*dir, "client", "weft test client", "client_ext", "3");
  if (s.ok()) s = MakeCa(*dir, "other_ca", "weft unrelated test CA");
  if (!s.ok()) return s;
  TestCerts certs;
  for (auto [field, file] : std::initializer_list<std::pair<std::string*, const char*>>{
           {&certs.ca_pem, "ca.pem"},
           {&certs.server_chain_pem, "server.pem"},
           {&certs.server_key_pem, "server.key"},
           {&certs.client_chain_pem, "client.pem"},
           {&certs.client_key_pem, "client.key"},
           {&certs.other_ca_pem, "other_ca.pem"},
       }) {
    absl::StatusOr<std::string> text = ReadFile(dir->File(file));
    if (!text.ok()) return text.status();
    *field = *std::move(text);
  }
  return certs;
}

}  // namespace weft_test
