#!/usr/bin/env bash
# Checks the source layout rules; prints each violation with its rule and
# exits non-zero if there is any:
#
#   size      no C++ source file under runtime/ or codegen/ is over 600 lines;
#   cycles    no #include cycle between files under runtime/;
#   public    runtime/pool.h and runtime/weft.h (the users' headers) do not
#             reach any header under runtime/internal/ through the project's
#             #include "..." lines, directly or through other headers.
#
#   tools/check_layering.sh          # this checkout
#   tools/check_layering.sh DIR      # another tree with the same layout
#
# Includes are read textually (`#include "..."` at the start of a line,
# conditional compilation ignored) and resolved like the compiler does with
# Bazel's `-iquote .`: first next to the including file, then from the tree's
# root. Headers that are not in the tree (system, generated *.capnp.h) are
# not followed.
set -euo pipefail

root="${1:-$(cd "$(dirname "$0")/.." && pwd -P)}"
exec python3 - "$root" <<'PYTHON'
import collections
import os
import re
import sys

MAX_LINES = 600
SIZE_DIRS = ("runtime", "codegen")
CYCLE_DIR = "runtime/"
PUBLIC_ROOTS = ("runtime/pool.h", "runtime/weft.h")
INTERNAL_DIR = "runtime/internal/"
CXX_SUFFIXES = (".h", ".hh", ".hpp", ".inc", ".cc", ".cpp", ".cxx")
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')

root = os.path.abspath(sys.argv[1])


def rel(path):
    return os.path.relpath(path, root).replace(os.sep, "/")


def sources_under(top):
    found = []
    for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith(CXX_SUFFIXES):
                found.append(rel(os.path.join(dirpath, name)))
    return found


def read_lines(path):
    with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
        return f.read().splitlines()


_includes = {}


def includes(path):
    """The files in the tree that `path` includes with #include "..."."""
    if path not in _includes:
        found = []
        for line in read_lines(path):
            m = INCLUDE.match(line)
            if not m:
                continue
            target = m.group(1)
            for candidate in (os.path.join(os.path.dirname(path), target), target):
                full = os.path.normpath(os.path.join(root, candidate))
                if full.startswith(root + os.sep) and os.path.isfile(full):
                    found.append(rel(full))
                    break
        _includes[path] = found
    return _includes[path]


problems = []  # (rule, lines)

# size
for top in SIZE_DIRS:
    for path in sources_under(top):
        n = len(read_lines(path))
        if n > MAX_LINES:
            problems.append(("size", [f"{path}: {n} lines (limit {MAX_LINES})"]))

# cycles: strongly connected components of the include graph (Tarjan's
# algorithm, iterative), then one shortest cycle through each.
runtime_files = sources_under(CYCLE_DIR.rstrip("/"))
graph = {
    f: sorted({g for g in includes(f) if g.startswith(CYCLE_DIR)}) for f in runtime_files
}
for f in list(graph):
    for g in graph[f]:
        graph.setdefault(g, [])

index, low, on_stack, stack, sccs = {}, {}, set(), [], []
counter = 0
for start in sorted(graph):
    if start in index:
        continue
    work = [(start, 0)]
    while work:
        node, i = work.pop()
        if i == 0:
            index[node] = low[node] = counter
            counter += 1
            stack.append(node)
            on_stack.add(node)
        recursed = False
        for j in range(i, len(graph[node])):
            nxt = graph[node][j]
            if nxt not in index:
                work.append((node, j + 1))
                work.append((nxt, 0))
                recursed = True
                break
            if nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if recursed:
            continue
        if low[node] == index[node]:
            scc = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                scc.append(w)
                if w == node:
                    break
            sccs.append(sorted(scc))
        if work:
            parent = work[-1][0]
            low[parent] = min(low[parent], low[node])


def shortest_cycle(start, members):
    # Breadth-first from start's successors back to start, inside the SCC.
    parent = {}
    queue = collections.deque()
    for nxt in graph[start]:
        if nxt in members and nxt not in parent:
            parent[nxt] = start
            queue.append(nxt)
    while queue:
        node = queue.popleft()
        if node == start:
            break
        for nxt in graph[node]:
            if nxt in members and nxt not in parent:
                parent[nxt] = node
                queue.append(nxt)
    path = [start]
    node = parent[start]
    while node != start:
        path.append(node)
        node = parent[node]
    path.append(start)
    return list(reversed(path))


for scc in sccs:
    members = set(scc)
    if len(scc) == 1 and scc[0] not in graph[scc[0]]:
        continue
    cycle = shortest_cycle(scc[0], members)
    lines = [" -> ".join(cycle)]
    if len(scc) > len(cycle) - 1:
        lines.append(f"(the cycle is part of a knot of {len(scc)} files: {', '.join(scc)})")
    problems.append(("cycles", lines))

# public
for public in PUBLIC_ROOTS:
    if not os.path.isfile(os.path.join(root, public)):
        problems.append(("public", [f"{public} does not exist, so this rule checks nothing; "
                                    "update PUBLIC_ROOTS in tools/check_layering.sh"]))
        continue
    # Breadth-first through the headers outside runtime/internal/ only, so
    # that every include chain printed runs through public headers up to the
    # point where it enters runtime/internal/.
    parent = {public: None}
    queue = collections.deque([public])
    entries = []  # (public header, internal header it includes)
    while queue:
        node = queue.popleft()
        for nxt in includes(node):
            if nxt.startswith(INTERNAL_DIR):
                entries.append((node, nxt))
            elif nxt not in parent:
                parent[nxt] = node
                queue.append(nxt)
    if not entries:
        continue
    # Everything behind those entries, for the count.
    reached = set()
    queue = collections.deque(header for _, header in entries)
    while queue:
        node = queue.popleft()
        if node in reached:
            continue
        reached.add(node)
        queue.extend(includes(node))
    reached = sorted(h for h in reached if h.startswith(INTERNAL_DIR))
    lines = []
    for via, header in entries:
        chain = [via]
        while parent[chain[-1]] is not None:
            chain.append(parent[chain[-1]])
        lines.append(" -> ".join(list(reversed(chain)) + [header]))
    lines.append(f"({len(reached)} internal headers in all: {', '.join(reached)})")
    problems.append(("public", lines))

RULES = {
    "size": f"Rule: no C++ source file under {' or '.join(d + '/' for d in SIZE_DIRS)} is over "
    f"{MAX_LINES} lines. Split it by responsibility.",
    "cycles": f"Rule: files under {CYCLE_DIR} must not #include each other in a cycle. "
    "Move what both sides need into a third header, or forward-declare.",
    "public": f"Rule: the public headers {' and '.join(PUBLIC_ROOTS)} must not reach "
    f"{INTERNAL_DIR} through #include, directly or through other headers: the implementation "
    "is not part of :weft's interface. Hide it behind a declaration (pimpl, an opaque "
    "pointer, a forward-declared class) or move what users need into a public header.",
}

if not problems:
    print(f"check_layering: PASS ({len(runtime_files)} files under {CYCLE_DIR}; "
          f"size, cycles and public rules hold)")
    sys.exit(0)

for rule in RULES:
    found = [lines for r, lines in problems if r == rule]
    if not found:
        continue
    print(f"check_layering: {rule}: FAIL")
    print(f"  {RULES[rule]}")
    for lines in found:
        print(f"  - {lines[0]}")
        for more in lines[1:]:
            print(f"    {more}")
print(f"check_layering: FAIL ({len(problems)} problem{'s' if len(problems) != 1 else ''})")
sys.exit(1)
PYTHON
