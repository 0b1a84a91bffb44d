#!/usr/bin/env python3
"""Turn an strace of one mlist run into a request timeline: where the wall
time goes (start-up, TLS probe, waves of requests, the final requests).

    strace -f -ttt -e trace=connect,sendto,recvfrom,openat,write,exit_group \\
        -o run.st build/cli/mlist create spec.yaml
    python3 bench/timeline.py run.st

Prints one line per connect / request sent / response received / file
opened (shared libraries left out), in milliseconds from the first line,
then a summary: time to the first request, the span of the requests, the
time after the last response, and how many write() calls went to stderr.
"""
import re
import signal
import sys


def main(path):
    lines = open(path).read().splitlines()
    if not lines:
        sys.exit("empty trace")
    first = None
    first_req = last_resp = end = None
    stderr_writes = 0
    out = []
    for line in lines:
        parts = line.split(None, 2)
        if len(parts) < 3:
            continue
        try:
            t = float(parts[1])
        except ValueError:
            continue
        if first is None:
            first = t
        call = parts[2]
        ms = (t - first) * 1000
        if call.startswith("write(2,"):
            stderr_writes += 1
            continue
        if call.startswith("exit_group"):
            end = ms
            out.append(f"{ms:8.1f} ms  exit")
            continue
        m = re.match(r'sendto\((\d+), "([A-Z]+ \S+)', call)
        if m:
            first_req = ms if first_req is None else first_req
            out.append(f"{ms:8.1f} ms  fd {m.group(1):>3} -> {m.group(2)}")
            continue
        if call.startswith("sendto("):
            fd = call[7:].split(",", 1)[0]
            out.append(f"{ms:8.1f} ms  fd {fd:>3} -> (non-HTTP bytes: TLS ClientHello or a request body)")
            continue
        m = re.match(r'recvfrom\((\d+), "(HTTP/1.1 \d+|HTTP/)', call)
        if m:
            last_resp = ms
            out.append(f"{ms:8.1f} ms  fd {m.group(1):>3} <- {m.group(2)}")
            continue
        m = re.match(r'connect\((\d+),', call)
        if m:
            out.append(f"{ms:8.1f} ms  fd {m.group(1):>3} connect")
            continue
        m = re.match(r'openat\(AT_FDCWD, "([^"]+)"', call)
        if m and ".so" not in m.group(1) and "/proc/" not in m.group(1):
            out.append(f"{ms:8.1f} ms  open {m.group(1)}")
    print("\n".join(out))
    print()
    if first_req is not None:
        print(f"first request sent at   {first_req:8.1f} ms")
    if last_resp is not None:
        print(f"last response at        {last_resp:8.1f} ms")
    if end is not None and last_resp is not None:
        print(f"exit                    {end:8.1f} ms  ({end - last_resp:.1f} ms after the last response)")
    print(f"write() calls on stderr {stderr_writes:8d}")


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
