// A weft RpcServer serving tests/pool's TestService over a thread pool, in
// this process, behind a header that names nothing of weft: the plain
// Cap'n Proto client tests include only this and capnpc-c++'s header, to
// show a client needs nothing of weft.
//
//   auto served = ServedTestService::Start(2);
//   capnp::EzRpcClient client(served->address());   // "unix:/tmp/.../s"
//   auto service = client.getMain<weft_test::TestService>();
//
// Thread safety: the gate's methods from any thread.
#ifndef WEFT_TESTS_REMOTE_SERVED_TEST_SERVICE_H_
#define WEFT_TESTS_REMOTE_SERVED_TEST_SERVICE_H_

#include <memory>
#include <string>

namespace weft_test {

class ServedTestService {
 public:
  // `workers` thread workers behind a Unix socket in a fresh temporary
  // directory (removed at the end). Aborts the test binary on failure.
  static std::unique_ptr<ServedTestService> Start(int workers);
  virtual ~ServedTestService() = default;

  // "unix:/path", as capnp::EzRpcClient takes it.
  virtual std::string address() const = 0;
  // The gate of the `gated` method (tests/pool/test_service_impl.h).
  virtual void WaitEntered(int n) = 0;
  virtual int entered() = 0;
  virtual void WaitAborted(int n) = 0;
  virtual void OpenGate() = 0;
};

}  // namespace weft_test

#endif  // WEFT_TESTS_REMOTE_SERVED_TEST_SERVICE_H_
