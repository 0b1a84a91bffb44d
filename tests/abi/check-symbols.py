#!/usr/bin/env python3
"""The shared library exports exactly the functions listed in manifestlist.sym,
each under the version node that lists it."""
import re
import subprocess
import sys

lib, symfile, header = sys.argv[1], sys.argv[2], sys.argv[3]
text = re.sub(r"/\*.*?\*/", "", open(symfile).read(), flags=re.S)
# {symbol: version node}, from "NODE { global: a; b; local: *; } PARENT;"
listed = {}
for node, body in re.findall(r"^(MANIFESTLIST_[0-9.]+)\s*\{(.*?)\}", text, re.M | re.S):
    for name in re.findall(r"^\s+(ml_[a-z0-9_]+);", body, re.M):
        listed[name] = node
# Every ML_API declaration of the header is listed, and nothing else.
declared = set(re.findall(r"^ML_API\b[^(]*?\b(ml_[a-z0-9_]+)\s*\(", open(header).read(), re.M))
for name in sorted(declared - set(listed)):
    print(f"declared in the header but not in the symbol list: {name}")
for name in sorted(set(listed) - declared):
    print(f"in the symbol list but not declared in the header: {name}")
out = subprocess.run(["nm", "-D", "--defined-only", lib], capture_output=True, text=True, check=True).stdout
exported = {}
for line in out.splitlines():
    if line.split()[1] in "TDBR":
        name, _, version = line.split()[-1].partition("@@")
        exported[name] = version
missing, extra = set(listed) - set(exported), set(exported) - set(listed)
for name in sorted(missing):
    print(f"listed but not exported: {name}")
for name in sorted(extra):
    print(f"exported but not listed: {name}")
moved = {n for n in set(listed) & set(exported) if listed[n] != exported[n]}
for name in sorted(moved):
    print(f"{name} exported as {exported[name]}, listed in {listed[name]}")
failures = len(missing) + len(extra) + len(moved) + len(declared ^ set(listed))
print(f"{len(set(listed) & set(exported) & declared) - len(moved)} passed, {failures} failed")
sys.exit(1 if failures else 0)
