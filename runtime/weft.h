// weft's public API in one include. Generated *.weft.h files include this.
#ifndef WEFT_RUNTIME_WEFT_H_
#define WEFT_RUNTIME_WEFT_H_

#include "runtime/call.h"
#include "runtime/call_options.h"
#include "runtime/future.h"
#include "runtime/interface.h"
#include "runtime/pool.h"
#include "runtime/pool_options.h"
#include "runtime/skeleton.h"
#include "runtime/stub.h"
#include "runtime/worker_main.h"

#endif  // WEFT_RUNTIME_WEFT_H_
