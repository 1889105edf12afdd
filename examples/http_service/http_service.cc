// http_service: an HTTP server on KJ's HTTP library (kj/compat/http.h)
// whose CPU-heavy endpoint, counting the primes up to n, runs three ways so
// that they can be compared under load:
//
//   GET /weft?n=N     on a weft pool of thread workers, through weft::ToPromise
//   GET /inline?n=N   on the event loop itself, which serves nothing else meanwhile
//   GET /threads?n=N  on a plain std::thread pool (thread_pool.h), completing
//                     back to the loop through a cross-thread fulfiller
//   GET /healthz      "ok"
//
//   tools/bazel run //examples/http_service                # 127.0.0.1:8080
//   tools/bazel run //examples/http_service -- --port=0    # a free port, printed
//   curl 'http://127.0.0.1:8080/weft?n=200000'
//   {"n":200000,"count":17984,"last":199999}
//
// The three answer with the same body. A missing, non-numeric or too large
// n is a 400 whose body says what to ask for instead. One thread runs the
// event loop; the weft pool and the thread pool have --workers threads each.
// SIGINT and SIGTERM (or --requests answered) stop it: it stops accepting,
// finishes the requests in flight, and exits 0. benchmarks/http_load.sh
// loads it with wrk.
#include <sched.h>
#include <signal.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "examples/http_service/primes.h"
#include "examples/http_service/sieve.weft.h"
#include "examples/http_service/sieve_impl.h"
#include "examples/http_service/thread_pool.h"
#include "kj/async-io.h"
#include "kj/async-unix.h"
#include "kj/compat/http.h"
#include "kj/compat/url.h"
#include "kj/debug.h"
#include "runtime/kj/promise.h"
#include "runtime/weft.h"

ABSL_FLAG(int32_t, port, 8080, "TCP port on 127.0.0.1 to listen on; 0 picks a free one");
ABSL_FLAG(int32_t, workers, 0,
          "threads of the weft pool, and of the plain thread pool; 0: one fewer than the CPUs "
          "this process may run on (taskset), at least 1");
ABSL_FLAG(uint32_t, n, 200'000,
          "the n the start line and the 400 bodies suggest (benchmarks/http_load.sh loads "
          "with it)");
ABSL_FLAG(int64_t, requests, 0,
          "answer this many requests, then stop and exit 0; 0: serve until SIGINT or SIGTERM");

namespace http_service {
namespace {

enum class Endpoint { kWeft, kInline, kThreads, kHealthz };

struct Route {
  Endpoint endpoint;
  absl::string_view name;
};

constexpr Route kRoutes[] = {
    {Endpoint::kWeft, "weft"},
    {Endpoint::kInline, "inline"},
    {Endpoint::kThreads, "threads"},
    {Endpoint::kHealthz, "healthz"},
};

constexpr kj::StringPtr kJson = "application/json"_kj;
constexpr kj::StringPtr kText = "text/plain; charset=utf-8"_kj;

// What a bad request should ask for instead, e.g. "/weft?n=200000".
std::string Suggestion(absl::string_view endpoint, uint32_t example_n) {
  return absl::StrCat("/", endpoint, "?n=", example_n);
}

// The n of a query: decimal digits only, at most kMaxLimit. The
// error's message is the 400's body: it names the fix.
absl::StatusOr<uint32_t> ParseN(const kj::Url& url, absl::string_view endpoint,
                                uint32_t example_n) {
  const std::string fix = absl::StrCat("ask for ", Suggestion(endpoint, example_n),
                                       " (n a whole number from 0 to ", kMaxLimit, ")");
  for (const kj::Url::QueryParam& param : url.query) {
    if (param.name != "n") continue;
    const absl::string_view text(param.value.cStr(), param.value.size());
    // Quoted and shortened: the body echoes what the client sent.
    const std::string shown = absl::StrCat("\"", absl::CHexEscape(text.substr(0, 24)),
                                           text.size() > 24 ? "..." : "", "\"");
    bool digits = !text.empty();
    for (char c : text) digits = digits && absl::ascii_isdigit(static_cast<unsigned char>(c));
    if (!digits) {
      return absl::InvalidArgumentError(absl::StrCat("n=", shown, " is not a whole number: ", fix));
    }
    // More than ten digits is over kMaxLimit whatever they are.
    uint64_t n = 0;
    if (text.size() > 10 || !absl::SimpleAtoi(text, &n) || n > kMaxLimit) {
      return absl::InvalidArgumentError(
          absl::StrCat("n=", shown, " is over the maximum of ", kMaxLimit, ": ", fix));
    }
    return static_cast<uint32_t>(n);
  }
  return absl::InvalidArgumentError(absl::StrCat("missing n: ", fix));
}

// The body of an answer, the same from every endpoint.
kj::String Answer(uint32_t n, PrimeCount r) {
  const std::string text =
      absl::StrCat("{\"n\":", n, ",\"count\":", r.count, ",\"last\":", r.last, "}\n");
  return kj::heapString(text.data(), text.size());
}

kj::String Text(absl::string_view text) {
  const std::string line = absl::StrCat(text, "\n");
  return kj::heapString(line.data(), line.size());
}

// Serves the endpoints above.
//
// Thread safety: thread-compatible; it lives on the event loop's thread,
// which is the only one that calls it. `table` and `threads` are kept for
// its lifetime.
class SieveService final : public kj::HttpService {
 public:
  SieveService(const kj::HttpHeaderTable& table, weft::Stub<Sieve> sieve, ThreadPool& threads,
               uint32_t example_n)
      : table_(table), sieve_(std::move(sieve)), threads_(threads), example_n_(example_n) {}

  kj::Promise<void> request(kj::HttpMethod method, kj::StringPtr url, const kj::HttpHeaders&,
                            kj::AsyncInputStream&, Response& response) override {
    return Serve(method, url, response).then([this] { NoteAnswered(); });
  }

  // Resolves once `count` requests have been answered.
  kj::Promise<void> AfterRequests(uint64_t count) {
    auto paf = kj::newPromiseAndFulfiller<void>();
    stop_after_ = count;
    enough_ = kj::mv(paf.fulfiller);
    return kj::mv(paf.promise);
  }

 private:
  kj::Promise<void> Serve(kj::HttpMethod method, kj::StringPtr url, Response& response) {
    if (method != kj::HttpMethod::GET) {
      return Reply(response, 405, "Method Not Allowed", kText, Text("only GET is served"));
    }
    const kj::Maybe<kj::Url> parsed = kj::Url::tryParse(url, kj::Url::HTTP_REQUEST);
    const kj::Url* request_url = nullptr;
    const Route* route = nullptr;
    KJ_IF_MAYBE (u, parsed) {
      request_url = u;
      for (const Route& r : kRoutes) {
        if (u->path.size() == 1 &&
            absl::string_view(u->path[0].cStr(), u->path[0].size()) == r.name) {
          route = &r;
        }
      }
    }
    if (route == nullptr) {
      return Reply(response, 404, "Not Found", kText,
                   Text(absl::StrCat("no such endpoint; try ", Suggestion("weft", example_n_), ", ",
                                     Suggestion("inline", example_n_), ", ",
                                     Suggestion("threads", example_n_), " or /healthz")));
    }
    if (route->endpoint == Endpoint::kHealthz) {
      return Reply(response, 200, "OK", kText, Text("ok"));
    }

    // A route was found, so the URL parsed.
    const absl::StatusOr<uint32_t> n = ParseN(*request_url, route->name, example_n_);
    if (!n.ok()) return Reply(response, 400, "Bad Request", kText, Text(n.status().message()));
    const uint32_t limit = *n;
    // Moved into the promise they continue: KJ keeps a continuation given
    // as an lvalue by reference, which would dangle once Serve returns.
    auto answer = [this, &response, limit](PrimeCount r) {
      return Reply(response, 200, "OK", kJson, Answer(limit, r));
    };
    auto failed = [this, &response](kj::Exception&& e) { return ReplyFailure(response, e); };

    switch (route->endpoint) {
      case Endpoint::kInline:
        return answer(CountPrimes(limit));
      case Endpoint::kWeft:
        return weft::ToPromise(sieve_.primes(limit))
            .then(
                [answer = kj::mv(answer)](weft::Response<Sieve::PrimesResults> r) {
                  return answer(PrimeCount{r.getCount(), r.getLast()});
                },
                kj::mv(failed));
      case Endpoint::kThreads:
        return threads_.Run([limit] { return CountPrimes(limit); })
            .then(kj::mv(answer), kj::mv(failed));
      case Endpoint::kHealthz:
        break;
    }
    KJ_UNREACHABLE;
  }

  // A call that failed: 503 if retrying later may help (the pool is full or
  // shutting down), else 500; the body is the exception's text.
  kj::Promise<void> ReplyFailure(Response& response, const kj::Exception& e) {
    const bool retry = e.getType() == kj::Exception::Type::OVERLOADED ||
                       e.getType() == kj::Exception::Type::DISCONNECTED;
    return Reply(response, retry ? 503 : 500,
                 retry ? "Service Unavailable" : "Internal Server Error", kText,
                 Text(absl::StrCat("the computation failed: ", e.getDescription().cStr())));
  }

  // Sends the whole response; `response` must stay valid until the promise
  // resolves (it does: it is the request's).
  kj::Promise<void> Reply(Response& response, uint status, kj::StringPtr status_text,
                          kj::StringPtr content_type, kj::String body) {
    kj::HttpHeaders headers(table_);
    headers.set(kj::HttpHeaderId::CONTENT_TYPE, content_type);
    kj::Own<kj::AsyncOutputStream> stream =
        response.send(status, status_text, headers, static_cast<uint64_t>(body.size()));
    kj::Promise<void> written = stream->write(body.begin(), body.size());
    // The stream and the bytes it is writing live until the write is done.
    return written.attach(kj::mv(stream), kj::mv(body)).catch_([](kj::Exception&& e) {
      // The client went away mid-answer (wrk does so at the end of a run).
      // Resolving, rather than rejecting, lets the server see the unfinished
      // body and close the connection quietly; a rejection would make KJ
      // 0.9.2 log "unhandled exception in HTTP server" for each one.
      if (e.getType() != kj::Exception::Type::DISCONNECTED) kj::throwFatalException(kj::mv(e));
    });
  }

  void NoteAnswered() {
    ++answered_;
    if (answered_ == stop_after_) {
      KJ_IF_MAYBE (enough, enough_) {
        (*enough)->fulfill();
      }
    }
  }

  const kj::HttpHeaderTable& table_;
  weft::Stub<Sieve> sieve_;
  ThreadPool& threads_;
  const uint32_t example_n_;
  uint64_t answered_ = 0;
  uint64_t stop_after_ = 0;  // 0: never
  kj::Maybe<kj::Own<kj::PromiseFulfiller<void>>> enough_;
};

// One fewer than the CPUs this process may run on, at least 1: the event
// loop keeps one.
int DefaultWorkers() {
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  if (sched_getaffinity(0, sizeof(cpus), &cpus) != 0) return 1;
  return std::max(CPU_COUNT(&cpus) - 1, 1);
}

int Run() {
  const int32_t port = absl::GetFlag(FLAGS_port);
  const uint32_t example_n = absl::GetFlag(FLAGS_n);
  const int64_t requests = absl::GetFlag(FLAGS_requests);
  const int workers =
      absl::GetFlag(FLAGS_workers) > 0 ? absl::GetFlag(FLAGS_workers) : DefaultWorkers();
  if (port < 0 || port > 65535) {
    std::fprintf(stderr, "http_service: --port=%d: give a port from 0 to 65535\n", port);
    return EXIT_FAILURE;
  }
  if (example_n > kMaxLimit) {
    std::fprintf(stderr, "http_service: --n=%u: give an n from 0 to %u\n", example_n, kMaxLimit);
    return EXIT_FAILURE;
  }
  if (requests < 0) {
    std::fprintf(stderr, "http_service: --requests=%lld: give 0 or more\n",
                 static_cast<long long>(requests));
    return EXIT_FAILURE;
  }

  // Before any thread exists: the pools' threads inherit the signals
  // blocked, so only the event loop takes them.
  kj::UnixEventPort::captureSignal(SIGINT);
  kj::UnixEventPort::captureSignal(SIGTERM);

  weft::PoolOptions options;
  options.workers = workers;
  options.balancer = weft::BalancerKind::kLeastBusy;
  // A full lane fails the call (a 503) instead of blocking the event loop.
  options.queue_full = weft::QueueFull::kFail;
  absl::StatusOr<weft::Pool<Sieve>> pool =
      weft::Pool<Sieve>::Create(options, [] { return std::make_unique<SieveImpl>(); });
  if (!pool.ok()) {
    std::fprintf(stderr, "http_service: could not start the weft pool: %s\n",
                 pool.status().ToString().c_str());
    return EXIT_FAILURE;
  }
  ThreadPool threads(workers);

  // Destroyed in reverse: the server and every request promise (and so
  // every weft call and thread-pool promise) before the loop, the loop
  // before the pools.
  kj::AsyncIoContext io = kj::setupAsyncIo();
  kj::HttpHeaderTable table;
  SieveService service(table, pool->stub(), threads, example_n);
  kj::HttpServer server(io.provider->getTimer(), table, service);

  kj::Own<kj::ConnectionReceiver> listener;
  KJ_IF_MAYBE (e, kj::runCatchingExceptions([&] {
                 listener = io.provider->getNetwork()
                                .parseAddress("127.0.0.1", static_cast<uint>(port))
                                .wait(io.waitScope)
                                ->listen();
               })) {
    std::fprintf(stderr, "http_service: could not listen on 127.0.0.1:%d: %s\n", port,
                 e->getDescription().cStr());
    return EXIT_FAILURE;
  }
  const std::string base = absl::StrCat("http://127.0.0.1:", listener->getPort());
  std::printf(
      "http_service: listening on %s (GET %s, %s, %s, /healthz; %d weft worker%s, %d "
      "pool thread%s)\n",
      base.c_str(), Suggestion("weft", example_n).c_str(), Suggestion("inline", example_n).c_str(),
      Suggestion("threads", example_n).c_str(), workers, workers == 1 ? "" : "s", workers,
      workers == 1 ? "" : "s");
  std::fflush(stdout);

  kj::Promise<void> stop =
      io.unixEventPort.onSignal(SIGINT)
          .exclusiveJoin(io.unixEventPort.onSignal(SIGTERM))
          .then([](siginfo_t signal) {
            std::fprintf(stderr, "http_service: %s, stopping\n", strsignal(signal.si_signo));
          });
  if (requests > 0) {
    stop =
        stop.exclusiveJoin(service.AfterRequests(static_cast<uint64_t>(requests)).then([requests] {
          std::fprintf(stderr, "http_service: answered %lld requests, stopping\n",
                       static_cast<long long>(requests));
        }));
  }
  // Serving ends only by `stop`; dropping the listen promise stops accepting.
  server.listenHttp(*listener).exclusiveJoin(kj::mv(stop)).wait(io.waitScope);
  // Finish what is in flight and close the connections, bounded in case a
  // client never reads its answer.
  server.drain()
      .exclusiveJoin(io.provider->getTimer().afterDelay(10 * kj::SECONDS).then([] {
        std::fprintf(stderr, "http_service: requests still in flight after 10 s; dropping them\n");
      }))
      .wait(io.waitScope);
  return EXIT_SUCCESS;
}

}  // namespace
}  // namespace http_service

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "an HTTP server whose prime-counting endpoint runs on a weft pool (/weft), on the event "
      "loop (/inline) or on a plain thread pool (/threads).\n  http_service [--port=8080] "
      "[--workers=N] [--n=200000] [--requests=N]");
  absl::ParseCommandLine(argc, argv);
  return http_service::Run();
}
