#!/usr/bin/env python3
"""The shared library exports exactly the functions listed in manifestlist.sym."""
import re
import subprocess
import sys

lib, symfile, header = sys.argv[1], sys.argv[2], sys.argv[3]
listed = set(re.findall(r"^\s+(ml_[a-z0-9_]+);", open(symfile).read(), re.M))
# Every ML_API declaration of the header is listed, and nothing else.
declared = set(re.findall(r"^ML_API\b[^(]*?\b(ml_[a-z0-9_]+)\s*\(", open(header).read(), re.M))
for name in sorted(declared - listed):
    print(f"declared in the header but not in the symbol list: {name}")
for name in sorted(listed - declared):
    print(f"in the symbol list but not declared in the header: {name}")
out = subprocess.run(["nm", "-D", "--defined-only", lib], capture_output=True, text=True, check=True).stdout
exported = {line.split()[-1].split("@")[0] for line in out.splitlines() if line.split()[1] in "TDBR"}
exported = {s for s in exported if not s.startswith("MANIFESTLIST_")}
missing, extra = listed - exported, exported - listed
for name in sorted(missing):
    print(f"listed but not exported: {name}")
for name in sorted(extra):
    print(f"exported but not listed: {name}")
failures = len(missing) + len(extra) + len(declared ^ listed)
print(f"{len(listed & exported & declared)} passed, {failures} failed")
sys.exit(1 if failures else 0)
