// weft's public API in one include. Generated *.weft.h files include this,
// so a user normally includes only their schema's header:
//
//   #include "examples/quickstart/math.weft.h"   // Stub, Skeleton, Pool, ...
//
// Everything here is public; what lives under runtime/internal/ is not, and
// none of these headers includes it. docs/architecture.md maps the code.
#ifndef WEFT_RUNTIME_WEFT_H_
#define WEFT_RUNTIME_WEFT_H_

#include "runtime/call.h"
#include "runtime/call_options.h"
#include "runtime/completion_queue.h"
#include "runtime/future.h"
#include "runtime/interface.h"
#include "runtime/log.h"
#include "runtime/pool.h"
#include "runtime/pool_options.h"
#include "runtime/signals.h"
#include "runtime/skeleton.h"
#include "runtime/stub.h"
#include "runtime/task.h"
#include "runtime/worker_main.h"

#endif  // WEFT_RUNTIME_WEFT_H_
