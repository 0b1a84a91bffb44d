#!/usr/bin/env python3
"""The shared library exports exactly the functions listed in manifestlist.sym."""
import re
import subprocess
import sys

lib, symfile = sys.argv[1], sys.argv[2]
listed = set(re.findall(r"^\s+(ml_[a-z0-9_]+);", open(symfile).read(), re.M))
out = subprocess.run(["nm", "-D", "--defined-only", lib], capture_output=True, text=True, check=True).stdout
exported = {line.split()[-1].split("@")[0] for line in out.splitlines() if line.split()[1] in "TDBR"}
exported.discard("MANIFESTLIST_0.1")
missing, extra = listed - exported, exported - listed
for name in sorted(missing):
    print(f"listed but not exported: {name}")
for name in sorted(extra):
    print(f"exported but not listed: {name}")
print(f"{len(listed & exported)} passed, {len(missing) + len(extra)} failed")
sys.exit(1 if missing or extra else 0)
