"""weft_fuzz_target: a libFuzzer target and the replay test of its corpus.

    load("//tests/fuzz:fuzz.bzl", "weft_fuzz_target")

    weft_fuzz_target(name = "segments_fuzz", deps = ["//runtime:internal"])

For `name` (source `name.cc`, defining LLVMFuzzerTestOneInput; corpus in
`corpus/name/`) this defines:

  name         the fuzzer. With --config=fuzz (--define=weft_fuzz=1) it links
               libFuzzer's main (-fsanitize=fuzzer); otherwise the replay
               main (replay_main.cc), which runs each file it is given once.
  name_test    runs every file of corpus/name/ once through the target: a
               regression test under any configuration (gcc, --config=asan).
  name_corpus  the corpus files (a filegroup).
"""

def weft_fuzz_target(name, deps = [], **kwargs):
    native.cc_library(
        name = name + "_lib",
        testonly = True,
        srcs = [name + ".cc"],
        deps = deps + [":fuzz_util"],
        # Nothing references LLVMFuzzerTestOneInput but the main.
        alwayslink = True,
        **kwargs
    )

    native.cc_binary(
        name = name,
        testonly = True,
        deps = [":" + name + "_lib"] + select({
            ":fuzzing": [],
            "//conditions:default": [":replay_main"],
        }),
        linkopts = select({
            ":fuzzing": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
        **kwargs
    )

    native.filegroup(
        name = name + "_corpus",
        srcs = native.glob(["corpus/" + name + "/*"]),
        **kwargs
    )

    native.cc_test(
        name = name + "_test",
        size = "small",
        deps = [":" + name + "_lib", ":replay_main"],
        data = [":" + name + "_corpus"],
        # The test's working directory is the workspace root in its runfiles.
        args = [native.package_name() + "/corpus/" + name],
        linkstatic = True,
        **kwargs
    )
