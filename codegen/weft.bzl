"""Cap'n Proto schemas to C++: capnpc-c++ types plus weft stubs and skeletons.

    load("//codegen:weft.bzl", "weft_capnp_library")

    weft_capnp_library(name = "math", srcs = ["math.capnp"])
    cc_binary(name = "math_worker", srcs = ["math_worker.cc"], deps = [":math"])

For each `dir/x.capnp` in `srcs` the library `name` provides `dir/x.capnp.h`
(capnpc-c++), `dir/x.weft.h` (capnpc-weft: weft::InterfaceTraits,
weft::Skeleton and weft::Stub for every interface), included as
`#include "dir/x.weft.h"`, and `dir/x.weft-rpc.h` (capnpc-weft:
weft::RpcService for every interface, what weft::RpcServer serves a pool as;
it includes `dir/x.weft.h`). Schemas import each other by workspace-absolute
path (`import "/dir/y.capnp"`, put the library of `y.capnp` in `deps`) or
relative path, and can always import `/schema/weft.capnp` and
`/capnp/c++.capnp`.
"""

_PLUGIN = str(Label("//codegen:capnpc-weft"))
_WEFT_SCHEMA = str(Label("//schema:weft_capnp"))
_RUNTIME = str(Label("//runtime:weft"))
# capnpc-c++'s code for interfaces (I::Client, I::Server) needs the RPC library.
_CAPNP = ["@system//:capnp", "@system//:capnp_rpc"]

def _capnp_files(dep):
    """The `<lib>_capnp_files` filegroup next to the library label `dep`."""
    if ":" in dep:
        return dep + "_capnp_files"
    return dep + ":" + dep.rpartition("/")[2] + "_capnp_files"

def _capnp_cc_library(name, srcs, deps, weft, visibility, strict = False, **kwargs):
    for src in srcs:
        if not src.endswith(".capnp"):
            fail("%s: srcs must be .capnp files, got %s" % (name, src))
    implicit = [_WEFT_SCHEMA] if weft else []
    all_deps = deps + implicit

    # Every schema a src may import must be an input of the genrule.
    native.filegroup(
        name = name + "_capnp_files",
        srcs = srcs + [_capnp_files(d) for d in all_deps],
        visibility = visibility,
        **kwargs
    )

    headers = []
    sources = []
    for src in srcs:
        headers.append(src + ".h")
        sources.append(src + ".c++")
        if weft:
            headers.append(src[:-len(".capnp")] + ".weft.h")
            headers.append(src[:-len(".capnp")] + ".weft-rpc.h")

    # capnp names outputs by the schema's path from the workspace root, so
    # writing them under $(GENDIR) puts them where Bazel expects this
    # package's outputs.
    cmd = "capnp compile -I/usr/include -I. -oc++:$(GENDIR)"
    if strict:
        # capnpc-weft's warnings (methods it skips) become errors.
        cmd = "WEFT_STRICT=1 " + cmd
    tools = []
    if weft:
        cmd += " -o$(location %s):$(GENDIR)" % _PLUGIN
        tools.append(_PLUGIN)
    cmd += " " + " ".join(["$(execpath %s)" % src for src in srcs])

    native.genrule(
        name = name + "_capnp_gen",
        srcs = srcs + [":" + name + "_capnp_files"],
        outs = headers + sources,
        cmd = cmd,
        tools = tools,
        message = "Compiling Cap'n Proto schemas of %s" % name,
        visibility = ["//visibility:private"],
        **kwargs
    )

    # capnpc-c++ includes a workspace-absolute import `/dir/y.capnp` as
    # <dir/y.capnp.h>; angle brackets only search -I directories, so the
    # headers are also offered under their workspace path through a virtual
    # include directory. `#include "dir/x.weft.h"` keeps working as usual.
    package = native.package_name()
    prefix_args = {}
    if package:
        prefix_args = {
            "include_prefix": package,
            "strip_include_prefix": "/" + package,
        }

    native.cc_library(
        name = name,
        srcs = sources,
        hdrs = headers,
        deps = all_deps + ([_RUNTIME] if weft else []) + _CAPNP,
        visibility = visibility,
        **dict(prefix_args, **kwargs)
    )

def weft_capnp_library(name, srcs, deps = [], visibility = None, strict = False, **kwargs):
    """C++ for Cap'n Proto schemas: capnpc-c++ types, weft stubs, skeletons, RpcServices.

    Args:
      name: the cc_library (`x.capnp.h`, `x.weft.h` and `x.weft-rpc.h` per
        schema; it depends on //runtime:weft, which links capnp-rpc); also
        defines `<name>_capnp_files` (the schemas, for dependents' imports)
        and `<name>_capnp_gen` (the genrule).
      srcs: the .capnp files, in this package.
      deps: weft_capnp_library (or capnp_cc_library) targets whose schemas
        the srcs import. //schema:weft_capnp is always a dependency.
      visibility: of the library and its filegroup.
      strict: capnpc-weft skips what weft cannot carry (a capability in a
        signature, a clashing C++ name) with a warning; strict = True makes
        each such warning an error. Skips marked $Weft.skip never warn.
      **kwargs: common attributes (testonly, tags, ...).
    """
    _capnp_cc_library(name, srcs, deps, True, visibility, strict, **kwargs)

def capnp_cc_library(name, srcs, deps = [], visibility = None, **kwargs):
    """Like weft_capnp_library but capnpc-c++ only: no .weft.h/.weft-rpc.h, no runtime dep.

    For weft's own schemas (the runtime depends on them, so they cannot
    depend on the runtime).
    """
    _capnp_cc_library(name, srcs, deps, False, visibility, **kwargs)
