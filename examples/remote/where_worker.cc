// The RPC server's process workers.
#include "examples/remote/where_impl.h"

WEFT_WORKER_MAIN(remote_demo::WhereWorker);
