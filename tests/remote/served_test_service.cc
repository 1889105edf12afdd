#include "tests/remote/served_test_service.h"

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "runtime/rpc_server.h"
#include "tests/pool/test_service.weft-rpc.h"
#include "tests/pool/test_service_impl.h"

namespace weft_test {
namespace {

class Served final : public ServedTestService {
 public:
  explicit Served(int workers) {
    char dir[] = "/tmp/weft-rpc-XXXXXX";
    if (mkdtemp(dir) == nullptr) std::abort();
    dir_ = dir;
    weft::PoolOptions options;
    options.workers = workers;
    uint32_t next = 0;
    auto pool = weft::Pool<TestService>::Create(
        options, [this, &next] { return std::make_unique<TestServiceImpl>(next++, &gate_); });
    if (!pool.ok()) Fail(pool.status().ToString());
    pool_ = std::make_unique<weft::Pool<TestService>>(*std::move(pool));
    weft::RpcServerOptions serve;
    serve.address = "unix:" + dir_ + "/s";
    auto server = weft::RpcServer::Serve(*pool_, serve);
    if (!server.ok()) Fail(server.status().ToString());
    server_ = *std::move(server);
  }
  ~Served() override {
    gate_.Open();  // no call left waiting
    server_.reset();
    pool_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string address() const override { return server_->address(); }
  void WaitEntered(int n) override { gate_.WaitEntered(n); }
  int entered() override { return gate_.entered_count(); }
  void WaitAborted(int n) override { gate_.WaitAborted(n); }
  void OpenGate() override { gate_.Open(); }

 private:
  static void Fail(const std::string& why) {
    std::fprintf(stderr, "ServedTestService: %s\n", why.c_str());
    std::abort();
  }

  std::string dir_;
  Gate gate_;
  std::unique_ptr<weft::Pool<TestService>> pool_;
  std::unique_ptr<weft::RpcServer> server_;
};

}  // namespace

std::unique_ptr<ServedTestService> ServedTestService::Start(int workers) {
  return std::make_unique<Served>(workers);
}

}  // namespace weft_test
