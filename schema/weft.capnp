# weft's schema annotations.
#
# Import from any schema built with weft_capnp_library (//codegen:weft.bzl):
#
#   using Weft = import "/schema/weft.capnp";
#
#   interface Math {
#     countTo @0 (limit :UInt64) -> (reached :UInt64) $Weft.abortable $Weft.timeoutMs(500);
#   }
#
# capnpc-weft reads these by id into weft::InterfaceTraits<I>::kMethods (see
# runtime/interface.h). The ids are fixed: changing one silently drops the
# annotation from every generated header, so never do it.

@0x9f2187f40f760580;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("weft::schema");

annotation abortable @0x9df0aa79230e8d3e (method) :Void;
# The call reserves an abort slot, so the worker's `call.aborted()` becomes
# true when the caller aborts or the deadline passes. Without it the caller can
# still abort or time out, but the worker is not told and its late result is
# dropped.

annotation timeoutMs @0xd56cefed1852b481 (method) :UInt32;
# The method's default deadline in milliseconds, counted from the stub call.
# A call's own `CallOptions.timeout` overrides it; it overrides the pool's
# `default_timeout`.

annotation defaultOnTimeout @0xe3a4c7b19d2f6051 (method) :Void;
# When the deadline passes, the caller gets the method's default (empty)
# results instead of DeadlineExceeded. A call's `CallOptions.on_timeout`
# overrides it.

annotation skip @0xc4a1f3e9b2d80657 (method, interface) :Void;
# capnpc-weft generates nothing for this method (on every interface that
# inherits it) or this interface, and prints no warning for it; the generated
# header still lists it as skipped. For constructs weft cannot carry (a
# capability in the signature, ...), which are skipped anyway, it silences
# the warning.
