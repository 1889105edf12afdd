// Linked into every test here. Debian's libkj-async is not built with TSan:
// the lock that orders a cross-thread fulfiller's write of its result before
// the loop's read (kj::Executor's mutex) is invisible to it, so it reports
// the hand-off itself as a race (see tests/pool/kj_promise_test.cc, and
// runtime/kj/promise.h). RpcServer hands every resolved call to its loop
// that way; only that hand-off is suppressed.
#if defined(__SANITIZE_THREAD__)
extern "C" const char* __tsan_default_suppressions() {
  return "race:kj::_::XThreadPafImpl\n"
         "race:kj::_::XThreadFulfiller\n";
}
#endif
