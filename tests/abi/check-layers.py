#!/usr/bin/env python3
"""The library's layers hold (docs/architecture.md):
- lib/ is split into folders base < model < net < store < ops, and a file
  includes headers of its own layer or lower ones only;
- no include cycle among modules (a module is a .c and its .h);
- no source file over 900 lines;
- the library speaks its own vocabulary: no string literal names a
  command-line flag (advice reaches programs as ML_HINT_* data);
- no libc call that is not thread-safe where the header promises threads
  (strerror: ml__strerror formats errno with strerror_r)."""
import pathlib
import re
import sys

LAYERS = ["base", "model", "net", "store", "ops"]
MAX_LINES = 900
LITERAL = re.compile(r'"(?:[^"\\\n]|\\.)*"')
COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
FLAG = re.compile(r"(?:^|[\s(\"'])--[a-z][a-z-]+")
UNSAFE_CALL = re.compile(r"\b(strerror)\s*\(")
INCLUDE = re.compile(r'^#include "([a-z0-9_]+)\.h"', re.M)

root = pathlib.Path(sys.argv[1])
lib = root / "lib"
files = sorted(p for p in lib.rglob("*.[ch]"))
layer_of = {}
for p in files:
    folder = p.relative_to(lib).parts[0] if len(p.relative_to(lib).parts) > 1 else None
    layer_of[p.stem] = folder
problems = []


def check_layer(p, deps):
    mine = layer_of[p.stem]
    if mine not in LAYERS:
        problems.append(f"{p.relative_to(root)}: not in a layer folder ({', '.join(LAYERS)})")
        return
    for d in sorted(deps):
        theirs = layer_of.get(d)
        if theirs in LAYERS and LAYERS.index(theirs) > LAYERS.index(mine):
            problems.append(f"{p.relative_to(root)}: includes {d}.h from {theirs}/, above {mine}/")


def find_cycles(graph):
    state, stack, found = {}, [], set()

    def visit(n):
        state[n] = "open"
        stack.append(n)
        for d in sorted(graph.get(n, ())):
            if state.get(d) == "open":
                found.add(" -> ".join(stack[stack.index(d):] + [d]))
            elif d in graph and d not in state:
                visit(d)
        stack.pop()
        state[n] = "done"

    for n in sorted(graph):
        if n not in state:
            visit(n)
    return found


graph = {}
for p in files:
    text = p.read_text()
    deps = set(INCLUDE.findall(text)) - {p.stem, "manifestlist"}
    graph.setdefault(p.stem, set()).update(deps)
    check_layer(p, deps)
    lines = text.count("\n")
    if p.suffix == ".c" and lines > MAX_LINES:
        problems.append(f"{p.relative_to(root)}: {lines} lines (at most {MAX_LINES})")
    code = COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    for lineno, line in enumerate(code.splitlines(), 1):
        for lit in LITERAL.findall(line):
            if FLAG.search(lit[1:-1]):
                problems.append(f"{p.relative_to(root)}:{lineno}: names a CLI flag: {lit}")
        for call in UNSAFE_CALL.findall(LITERAL.sub('""', line)):
            problems.append(f"{p.relative_to(root)}:{lineno}: {call}() is not thread-safe")
for cycle in sorted(find_cycles(graph)):
    problems.append(f"include cycle: {cycle}")

for line in problems:
    print(line)
checked = len(files)
print(f"{checked} passed, {len(problems)} failed")
sys.exit(1 if problems else 0)
