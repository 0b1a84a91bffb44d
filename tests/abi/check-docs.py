#!/usr/bin/env python3
"""docs/api.md covers the whole public API: every ML_API function of the
header is explained in the guide's text (outside its reference summary) and
listed in the reference summary, and the summary names no function the
header lacks."""
import re
import sys

header, guide = sys.argv[1], sys.argv[2]
declared = set(re.findall(r"^ML_API\b[^(]*?\b(ml_[a-z0-9_]+)\s*\(", open(header).read(), re.M))
text = open(guide).read()
body, _, summary = text.partition("\n## Reference summary\n")
summary = summary.split("\n## ", 1)[0]
# Only the C guide counts: the binding sections call functions through
# other languages' spellings.
body = body.split("\n## Binding from other languages\n", 1)[0]
NAME = r"\b(ml_[a-z0-9_]+)\b"
in_body = set(re.findall(NAME, body))
in_summary = set(re.findall(r"`" + NAME + r"[`(]", summary))
problems = []
if not summary:
    problems.append("docs/api.md has no '## Reference summary' section")
for name in sorted(declared - in_body):
    problems.append(f"{name}: declared in the header, not explained in docs/api.md")
for name in sorted(declared - in_summary):
    problems.append(f"{name}: declared in the header, missing from the reference summary")
for name in sorted(in_summary - declared):
    problems.append(f"{name}: in the reference summary, not declared in the header")
for line in problems:
    print(line)
print(f"{len(declared) - len({p.split(':')[0] for p in problems} & declared)} passed, {len(problems)} failed")
sys.exit(1 if problems else 0)
