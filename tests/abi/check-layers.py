#!/usr/bin/env python3
"""The library speaks its own vocabulary: no string literal in lib/ names a
command-line flag (advice reaches programs as ML_HINT_* data)."""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1])
# A C string literal (escapes included), outside comments.
LITERAL = re.compile(r'"(?:[^"\\\n]|\\.)*"')
COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
FLAG = re.compile(r"(?:^|[\s(\"'])--[a-z][a-z-]+")

passed = failed = 0
for path in sorted((root / "lib").rglob("*.[ch]")):
    text = COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), path.read_text())
    for lineno, line in enumerate(text.splitlines(), 1):
        for lit in LITERAL.findall(line):
            if FLAG.search(lit[1:-1]):
                print(f"{path.relative_to(root)}:{lineno}: names a CLI flag: {lit}")
                failed += 1
    passed += 1
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
