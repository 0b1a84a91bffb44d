"""Fault injection: a registry that fails in every way (issue "release
pipelines against failing registries"; DESIGN §4 exit codes, §5 network).

A FaultProxy (faultproxy.py) sits in front of the real registry; every mlist
run goes through it. For each request phase x fault, two variants:

  transient   the fault hits the first one or two matching requests, then
              the registry answers normally -> exit 0, and the tag serves
              the complete new list;
  persistent  every matching request fails -> exit 1, stderr names the
              request and the registry's answer (or the transport error),
              the failing request was tried --retries + 1 times, and the
              tag is exactly what it was before.

Faults: 500/502/503/504, 429 with and without Retry-After (1 s), a
connection reset before the request reaches the registry, a lost answer
(forwarded, then reset), a stall past --timeout, a truncated body, a wrong
Docker-Content-Digest.

In every case the tag is either the complete new list (each child and each
of its blobs present in the target repository) or the old one, and the run
ends within a bound computed from --timeout and --retries (no hang).

Phases and the requests they fault (SRC = source repository, T = target):
  ping          the TLS probe of a loopback registry (no --plain-http): the
                proxy answers a ClientHello as a plain HTTP server
  resolve-head  HEAD /v2/SRC/manifests/v2-amd64        (spec with platforms)
  resolve-get   GET  /v2/SRC/manifests/v2-amd64        (spec without)
  config        GET  /v2/SRC/blobs/sha256:...          (spec without)
  child-get     GET  /v2/SRC/manifests/sha256:...      (copying a child)
  mount         POST /v2/T/blobs/uploads/?mount=...&from=SRC
  child-put     PUT  /v2/T/manifests/sha256:...
  list-put      PUT  /v2/T/manifests/v1                (an update over an
                                                       existing list)
  re-check      HEAD /v2/T/manifests/v1 again, after the children were
                copied and before the list's PUT: another digest there is
                what a concurrent writer looks like (exit 3, tag kept)
  delete        DELETE /v2/T/manifests/sha256:...      (mlist delete T:v1)

Exceptions, by nature of the fault: a wrong Docker-Content-Digest is a lie,
not a hiccup, so it is never retried: exit 1 where mlist relies on the
header (detected, or a 404 later for a HEAD), exit 0 where the bytes are
checked against the requested digest instead. A truncated body needs a
body (n/a for HEAD, 201, 202). Any plain-HTTP answer to the TLS probe
(whatever its status) just means "no TLS here": exit 0.

Runs use --timeout 2 --retries 2 and run in parallel (ML_FAULT_JOBS, default
8); the matrix is printed to stderr at the end.
"""

import collections
import concurrent.futures
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import sys
import tempfile
import time
import unittest

from fixture import (DIGEST_LINE_RE, MlistTestCase, describe, run_mlist,
                     sha256_digest)
from faultproxy import FaultProxy

TIMEOUT = 2
RETRIES = 2
JOBS = max(1, int(os.environ.get("ML_FAULT_JOBS", "8")))
SRC = "fx/src"
AMD, ARM = "linux/amd64", "linux/arm64"
# A retry may wait up to ~1 s (backoff, or the client's poll interval) on
# top of its computed delay; bounds below allow for that.
RETRY_GAP_MAX = 1.0
SLACK = 3.0

Phase = collections.namedtuple("Phase", "name method path mode skip")
Phase.__new__.__defaults__ = (0,)
Fault = collections.namedtuple("Fault", "name action kw times")

PHASES = [
    # mlist asks a loopback registry in plain HTTP first (GET /v2/), then
    # over TLS if that was no plain answer
    Phase("ping", "GET", r"^/v2/$", "spec"),
    Phase("resolve-head", "HEAD", r"^/v2/{src}/manifests/v2-amd64$", "spec"),
    Phase("resolve-get", "GET", r"^/v2/{src}/manifests/v2-amd64$", "noplat"),
    Phase("config", "GET", r"^/v2/{src}/blobs/sha256:", "noplat"),
    Phase("child-get", "GET", r"^/v2/{src}/manifests/sha256:", "spec"),
    Phase("mount", "POST", r"^/v2/{target}/blobs/uploads/\?mount=", "spec"),
    Phase("child-put", "PUT", r"^/v2/{target}/manifests/sha256:", "spec"),
    Phase("list-put", "PUT", r"^/v2/{target}/manifests/v1$", "spec"),
    # the second HEAD of the target tag: read_tags, then check_unchanged
    # (no read-back: the list's PUT answers with its digest)
    Phase("re-check", "HEAD", r"^/v2/{target}/manifests/v1$", "spec", skip=1),
    Phase("delete", "DELETE", r"^/v2/{target}/manifests/sha256:", "delete"),
]

FAULTS = [
    Fault("500", "status", {"status": 500, "code": "UNKNOWN"}, 2),
    Fault("502", "status", {"status": 502, "code": "UNKNOWN"}, 2),
    Fault("503", "status", {"status": 503, "code": "UNAVAILABLE"}, 2),
    Fault("504", "status", {"status": 504, "code": "UNKNOWN"}, 2),
    Fault("429", "status", {"status": 429, "code": "TOOMANYREQUESTS"}, 2),
    Fault("429+RA", "status", {"status": 429, "code": "TOOMANYREQUESTS",
                               "retry_after": 1}, 1),
    Fault("reset", "reset", {}, 1),
    # forwarded, the registry acts on it, then the answer is lost (reset)
    Fault("lost-answer", "drop", {}, 1),
    Fault("stall", "stall", {"stall": TIMEOUT * 3}, 1),
    Fault("truncate", "truncate", {}, 1),
    Fault("wrong-digest", "wrong_digest", {}, 1),
]

# Phases whose successful answer has a body (truncation needs one).
BODY_PHASES = {"resolve-get", "config", "child-get"}
# wrong Docker-Content-Digest: phases where mlist relies on the header
# (detected -> exit 1) and where it does not (the bytes are verified
# against the requested digest, or there are no bytes: exit 0).
DIGEST_DETECTED = {"resolve-get", "child-put", "list-put", "re-check"}
DIGEST_UNDETECTABLE = {"resolve-head"}   # HEAD: no bytes to check

# How a request is named in mlist's messages (what_of in registry.c).
REQUEST_RE = {
    "ping": r"(GET|/v2/|https://|TLS|probe|ping)",
    "resolve-head": r"HEAD \S*{src}:v2-amd64",
    "resolve-get": r"GET \S*{src}:v2-amd64",
    "config": r"GET \S*{src}@sha256:",
    "child-get": r"GET \S*{src}@sha256:",
    "mount": r"(mount blob into|POST) \S*{target}",
    "child-put": r"PUT \S*{target}@sha256:",
    "list-put": r"PUT \S*{target}:v1\b",
    "re-check": r"(HEAD \S*{target}:v1\b|{target}:v1 was changed by someone else)",
    "delete": r"DELETE \S*{target}@sha256:",
}
TRANSPORT_RE = {
    "reset": r"(?i)reset|recv failure|connection",
    "lost-answer": r"(?i)reset|recv failure|connection|empty reply",
    "stall": r"(?i)timed out|timeout",
    "truncate": r"(?i)closed|remaining|partial|recv failure|reset",
    "wrong-digest": r"(?i)digest|registry serves",
}


def expectation(phase, fault):
    """-> (transient, persistent): 'ok', 'fail', or None (not applicable)."""
    if fault.name == "wrong-digest":
        if phase.name == "ping":
            return None
        if phase.name in DIGEST_DETECTED or phase.name in DIGEST_UNDETECTABLE:
            return ("fail", "fail")      # a lie is not retried
        return ("ok", "ok")              # header not relied on
    if fault.name == "lost-answer" and phase.name == "ping":
        return None                      # nothing is forwarded for a TLS hello
    if fault.name == "truncate" and phase.name not in BODY_PHASES:
        return None                      # nothing to cut: the answer has no body
    if phase.name == "ping" and fault.action in ("status", "reset", "stall"):
        # any plain answer means a plain server; with no answer at all the
        # TLS probe follows, which the proxy answers as a plain server does
        return ("ok", "ok")
    return ("ok", "fail")


def run_bound(fault, variant):
    """Seconds a run may take: every attempt may time out (stall), every
    retry may wait its backoff or Retry-After, plus slack."""
    attempts = RETRIES + 1 if variant == "persistent" else fault.times + 1
    retries = attempts - 1
    t = SLACK + retries * max(RETRY_GAP_MAX, fault.kw.get("retry_after", 0))
    if fault.action == "stall":
        t += min(attempts, RETRIES + 1) * TIMEOUT
    return t


# "mlist: METHOD URL: why; retrying in N ms" (--debug), or a blob download
# started again ("copy DIGEST: why; downloading again").
RETRY_LOG_RE = re.compile(r"^mlist: (?:(\S+ \S+): .*; retrying in \d+ ms|copy (\S+): .*; downloading again)$",
                          re.M)


def attempt_bursts(log, action, gap=0.09):
    """{(method, path): [[t, ...], ...]}: the proxy log entries with this
    action, per request, split where more than `gap` seconds passed. mlist
    waits at least 100 ms before a retry (half the first backoff); libcurl's
    own resend on a dead pooled connection follows at once, but a loaded
    machine (sanitizers, 2 cores) can delay it by tens of milliseconds."""
    out = collections.defaultdict(list)
    for e in sorted(log, key=lambda e: e.t):
        if e.action != action:
            continue
        bursts = out[(e.method, e.path)]
        if bursts and e.t - bursts[-1][-1] <= gap:
            bursts[-1].append(e.t)
        else:
            bursts.append([e.t])
    return out


class _Base(MlistTestCase):
    """Seeds the source images once per class and knows the list digest an
    error-free run produces."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        reg = cls.reg
        cls.src_imgs = {
            AMD: reg.seed_image("%s:v2-amd64" % SRC, AMD),
            ARM: reg.seed_image("%s:v2-arm64" % SRC, ARM),
        }
        cls.tmp = tempfile.mkdtemp(prefix="mlist-faults-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        # the list an undisturbed run pushes (the same bytes whatever the
        # target repository: children are named by digest)
        spec = cls.write_spec_file(os.path.join(cls.tmp, "baseline.yaml"),
                                   reg.host, "fx/baseline", True)
        r = run_mlist("--plain-http", "update", spec)
        if r.returncode != 0:
            raise AssertionError("baseline run failed" + describe(r))
        cls.new_digest = DIGEST_LINE_RE.search(r.stdout).group(1)

    @staticmethod
    def write_spec_file(path, host, target, platforms, tags=None):
        lines = ["image: %s/%s:v1" % (host, target)]
        if tags:
            lines.append("tags: [%s]" % ", ".join(tags))
        lines.append("manifests:")
        for tag, plat in (("v2-amd64", AMD), ("v2-arm64", ARM)):
            lines.append("  - image: %s/%s:%s" % (host, SRC, tag))
            if platforms:
                os_, arch = plat.split("/")
                lines.append("    platform: {os: %s, architecture: %s}" % (os_, arch))
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    # ---- registry state (read directly, bypassing the proxy) ----------------

    def tag_state(self, repo, tag="v1"):
        """-> (digest or None, problems): problems lists what makes the list
        at repo:tag incomplete or other than the expected new list."""
        reg = self.reg
        status, headers, body = reg.get_manifest(repo, tag)
        if status == 404:
            return None, []
        if status != 200:
            return "HTTP %s" % status, ["GET %s:%s -> %s" % (repo, tag, status)]
        digest = headers.get("Docker-Content-Digest")
        problems = []
        if sha256_digest(body) != digest:
            problems.append("sha256(body) != Docker-Content-Digest")
        try:
            doc = json.loads(body)
        except ValueError:
            return digest, problems + ["not JSON"]
        for m in doc.get("manifests", []):
            d = m.get("digest")
            st, _, child = reg.get_manifest(repo, d)
            if st != 200:
                problems.append("child %s missing in %s (%s)" % (d, repo, st))
                continue
            cm = json.loads(child)
            blobs = [cm.get("config", {}).get("digest")]
            blobs += [l.get("digest") for l in cm.get("layers", [])]
            for b in blobs:
                if b and not reg.blob_exists(repo, b):
                    problems.append("blob %s of %s missing in %s" % (b, d, repo))
        return digest, problems

    def complete_new(self, repo, tag="v1"):
        digest, problems = self.tag_state(repo, tag)
        return digest == self.new_digest and not problems


class FaultMatrixTest(_Base):
    """The fault x phase matrix (one registry, cases in parallel)."""

    matrix_lines = None

    def _prepare(self, phase, target):
        if phase.mode == "delete":
            lst, _ = self.reg.push_test_list(target, "v1")
        else:
            lst, _ = self.reg.push_test_list(target, "v1", platforms=(AMD,))
        return lst.digest

    def _run_case(self, phase, fault, variant):
        """Runs one case; returns the facts (no assertions here: worker)."""
        slug = re.sub(r"[^a-z0-9]+", "-", ("%s-%s-%s" % (phase.name, fault.name, variant)).lower())
        target = "fx/" + slug
        facts = {"phase": phase.name, "fault": fault.name, "variant": variant,
                 "target": target}
        facts["before"] = self._prepare(phase, target)
        tmp = tempfile.mkdtemp(prefix=slug + "-", dir=self.tmp)
        with FaultProxy(self.reg.port) as px:
            path = None
            if phase.path:
                path = phase.path.format(src=re.escape(SRC), target=re.escape(target))
            kw = dict(fault.kw)
            kw["skip"] = phase.skip
            if variant == "transient":
                kw["times"] = fault.times
            rule = px.add(phase.method, path, fault.action, **kw)
            # --debug: mlist logs each retry it schedules (counted in _check)
            args = ["--debug", "--timeout", TIMEOUT, "--retries", RETRIES]
            if phase.name != "ping":
                args.append("--plain-http")
            if phase.mode == "delete":
                args += ["delete", px.ref(target + ":v1")]
            else:
                spec = self.write_spec_file(os.path.join(tmp, "spec.yaml"), px.host, target,
                                            phase.mode != "noplat")
                args += ["update", spec]
            t0 = time.monotonic()
            r = run_mlist(*args, timeout=60)
            facts["elapsed"] = time.monotonic() - t0
            time.sleep(0.05)
            facts["fired"] = rule.fired
            facts["log"] = px.entries()
            facts["proxy_host"] = px.host
        facts["proc"] = r
        facts["after"], facts["problems"] = self.tag_state(target)
        return facts

    def _check(self, phase, fault, variant, expect, f):
        """Assertions for one case -> short outcome text for the matrix."""
        r = f["proc"]
        ctx = "%s x %s (%s): elapsed %.1fs, fault fired %d times%s" % (
            phase.name, fault.name, variant, f["elapsed"], f["fired"], describe(r))
        outcome = "exit %d" % r.returncode
        self.assertGreater(f["fired"], 0, "the fault was never injected: " + ctx)
        bound = run_bound(fault, variant)
        self.assertLess(f["elapsed"], bound, "run took longer than its bound %.1fs: %s" % (bound, ctx))
        if not (phase.name == "re-check" and fault.name == "wrong-digest"):
            self.assertNotIn(r.returncode, (2, 3), "bad-input / refused exit code for a registry fault: " + ctx)
        before, after = f["before"], f["after"]
        if phase.mode == "delete":
            moved_ok = after is None
            new_desc = "absent"
        else:
            moved_ok = after == self.new_digest and not f["problems"]
            new_desc = "the complete new list"
        # the invariant, whatever the exit code
        self.assertTrue(after == before or moved_ok,
                        "tag is neither what it was (%s) nor %s: %s %s; %s" % (
                            before, new_desc, after, f["problems"], ctx))
        if expect == "ok":
            self.assertEqual(r.returncode, 0, "expected success: " + ctx)
            self.assertTrue(moved_ok, "exit 0 but the tag is %s %s, not %s: %s" % (
                after, f["problems"], new_desc, ctx))
            if phase.mode != "delete":
                m = DIGEST_LINE_RE.search(r.stdout)
                self.assertIsNotNone(m, "no Digest line: " + ctx)
                self.assertEqual(m.group(1), self.new_digest, ctx)
            return "ok"
        # expect a failure; another digest at the tag right after our PUT is
        # what a concurrent writer looks like: refused (3), not failed (1)
        code = 3 if phase.name == "re-check" and fault.name == "wrong-digest" else 1
        self.assertEqual(r.returncode, code, "expected exit %d: %s" % (code, ctx))
        if phase.name == "re-check" or fault.name not in ("wrong-digest", "lost-answer"):
            # (a lost answer or a lying one may follow a write that happened)
            self.assertEqual(after, before, "tag changed although the run failed: " + ctx)
        err = r.stderr
        self.assertIn("error", err, ctx)
        req_re = REQUEST_RE[phase.name].format(src=re.escape(SRC), target=re.escape(f["target"]))
        if fault.name == "wrong-digest" and phase.name in DIGEST_UNDETECTABLE:
            req_re = r"(GET|HEAD) \S*%s" % re.escape(SRC)
        self.assertRegex(err, req_re, "message does not name the request: " + ctx)
        if fault.action == "status":
            self.assertIn("HTTP %d" % fault.kw["status"], err, "status not named: " + ctx)
            if phase.method not in ("HEAD", "TLS"):
                self.assertIn(fault.kw["code"], err, "registry's code not named: " + ctx)
                self.assertIn("injected %d by faultproxy" % fault.kw["status"], err,
                              "registry's message not relayed: " + ctx)
        elif fault.name == "wrong-digest" and phase.name in DIGEST_UNDETECTABLE:
            self.assertRegex(err, r"sha256:[0-9a-f]{64}", ctx)
        else:
            self.assertRegex(err, TRANSPORT_RE[fault.name], "transport error not named: " + ctx)
        if variant == "persistent" and fault.name != "wrong-digest":
            # --retries respected: mlist retried the failing request RETRIES
            # times (its own log, one line per retry it schedules). The
            # proxy's log cannot tell those apart reliably: libcurl silently
            # resends a request that failed on a reused keep-alive connection
            # on the next pooled one (up to the pool size, 2 x concurrency),
            # usually at once but tens of milliseconds later on a loaded
            # machine, close to mlist's shortest backoff.
            tries = attempt_bursts(f["log"], fault.action)
            shape = {k[1][-40:]: [len(b) for b in v] for k, v in tries.items()}
            retries = collections.Counter(RETRY_LOG_RE.findall(err))
            self.assertEqual(max(retries.values(), default=0), RETRIES,
                             "retries mlist scheduled %s (proxy bursts %s): %s" % (dict(retries), shape, ctx))
            self.assertLessEqual(max(sum(len(b) for b in v) for v in tries.values()),
                                 (RETRIES + 1) * (1 + 2 * 8), "attempts %s: %s" % (shape, ctx))
        if fault.kw.get("retry_after"):
            for bursts in attempt_bursts(f["log"], fault.action).values():
                times = [burst[0] for burst in bursts]
                for a, b in zip(times, times[1:]):
                    self.assertGreaterEqual(b - a, fault.kw["retry_after"] - 0.05,
                                            "Retry-After not honoured: " + ctx)
        return "fail"

    def test_fault_matrix(self):
        cases = []
        for phase in PHASES:
            for fault in FAULTS:
                exp = expectation(phase, fault)
                if exp is None:
                    continue
                cases.append((phase, fault, "transient", exp[0]))
                cases.append((phase, fault, "persistent", exp[1]))
        t0 = time.monotonic()
        results = {}
        with concurrent.futures.ThreadPoolExecutor(max_workers=JOBS) as pool:
            futs = {pool.submit(self._run_case, p, f, v): (p.name, f.name, v)
                    for p, f, v, _ in cases}
            for fut in concurrent.futures.as_completed(futs):
                try:
                    results[futs[fut]] = fut.result()
                except Exception as e:  # setup failures become subtest failures
                    results[futs[fut]] = e
        wall = time.monotonic() - t0
        cells = {}
        failures = 0
        for phase, fault, variant, expect in cases:
            key = (phase.name, fault.name, variant)
            f = results[key]
            with self.subTest(phase=phase.name, fault=fault.name, variant=variant):
                if isinstance(f, Exception):
                    cells[key] = "ERR"
                    failures += 1
                    raise f
                got = "exit %d" % f["proc"].returncode
                if f["proc"].returncode != 0 and f["after"] == f["before"]:
                    got += " kept"
                elif phase.mode != "delete" and f["after"] == self.new_digest:
                    got += " new"
                elif f["after"] is None:
                    got += " gone"
                cells[key] = "%s %.1fs" % (got, f["elapsed"])
                try:
                    self._check(phase, fault, variant, expect, f)
                except AssertionError:
                    cells[key] = "!" + cells[key]
                    failures += 1
                    raise
        self._print_matrix(cases, cells, len(cases), failures, wall)

    def _print_matrix(self, cases, cells, n, failures, wall):
        faults = [f.name for f in FAULTS]
        lines = ["", "fault matrix (transient | persistent; '!' = not as expected; "
                 "kept = tag unchanged, new = complete new list, gone = deleted; "
                 "--timeout %d --retries %d):" % (TIMEOUT, RETRIES)]
        for phase in PHASES:
            lines.append("  %s" % phase.name)
            for fname in faults:
                t = cells.get((phase.name, fname, "transient"))
                p = cells.get((phase.name, fname, "persistent"))
                if t is None and p is None:
                    lines.append("    %-13s n/a" % fname)
                    continue
                lines.append("    %-13s %-22s| %s" % (fname, t, p))
        lines.append("  %d cases, %d not as expected, %.1fs wall (%d parallel)" % (
            n, failures, wall, JOBS))
        FaultMatrixTest.matrix_lines = lines
        sys.stderr.write("\n".join(lines) + "\n")
        sys.stderr.flush()


class RetryPolicyTest(_Base):
    """--retries, --timeout, Retry-After, backoff, bounded waits."""

    def _setup_target(self, name, platforms=(AMD,)):
        target = "fx/" + name
        lst, _ = self.reg.push_test_list(target, "v1", platforms=platforms)
        return target, lst.digest

    def _update(self, px, target, *flags, platforms=True, tags=None):
        spec = self.write_spec_file(os.path.join(self.tmpdir, "spec-%s.yaml" % target.replace("/", "-")),
                                    px.host, target, platforms, tags=tags)
        t0 = time.monotonic()
        r = run_mlist(*flags, "update", spec, timeout=60)
        return r, time.monotonic() - t0

    def test_retry_after_is_honoured(self):
        target, _ = self._setup_target("ra1")
        with FaultProxy(self.reg.port) as px:
            px.add("PUT", r"/manifests/v1$", "status", status=429, retry_after=1, times=2)
            r, dt = self._update(px, target, "--plain-http", "--retries", "3", "--timeout", "5")
            puts = [e.t for e in px.entries("PUT", r"/manifests/v1$")]
        self.assertOk(r)
        self.assertTrue(self.complete_new(target))
        self.assertEqual(len(puts), 3, puts)
        gaps = [b - a for a, b in zip(puts, puts[1:])]
        for g in gaps:
            self.assertGreaterEqual(g, 0.95, "Retry-After: 1 not honoured, gaps %s" % gaps)
        self.assertLess(dt, 2 * 1 + 2 * RETRY_GAP_MAX + SLACK)

    def test_retry_after_longer_than_backoff(self):
        target, _ = self._setup_target("ra2")
        with FaultProxy(self.reg.port) as px:
            px.add("HEAD", r"^/v2/%s/manifests/v2-amd64$" % re.escape(SRC), "status",
                   status=503, retry_after=2, times=1)
            r, dt = self._update(px, target, "--plain-http", "--retries", "2")
            heads = [e.t for e in px.entries("HEAD", r"v2-amd64$")]
        self.assertOk(r)
        self.assertEqual(len(heads), 2, heads)
        self.assertGreaterEqual(heads[1] - heads[0], 1.95, "Retry-After: 2 on a 503 not honoured")

    def test_retry_after_http_date_is_accepted(self):
        target, _ = self._setup_target("ra-date")
        with FaultProxy(self.reg.port) as px:
            px.add("PUT", r"/manifests/v1$", "status", status=503, times=1,
                   retry_after="Wed, 21 Oct 2015 07:28:00 GMT")
            r, dt = self._update(px, target, "--plain-http", "--retries", "2")
        self.assertOk(r)
        self.assertTrue(self.complete_new(target))
        self.assertLess(dt, 1 + RETRY_GAP_MAX + SLACK)

    def _gaps(self, target, retries):
        with FaultProxy(self.reg.port) as px:
            px.add("PUT", r"/manifests/v1$", "status", status=503)
            r, dt = self._update(px, target, "--plain-http", "--retries", str(retries),
                                 "--timeout", "5")
            puts = [e.t for e in px.entries("PUT", r"/manifests/v1$")]
        self.assertExit(r, 1)
        self.assertEqual(len(puts), retries + 1, "attempts of the list PUT")
        return [b - a for a, b in zip(puts, puts[1:])]

    def test_backoff_is_exponential_with_jitter(self):
        """DESIGN §5: retries with backoff and jitter. lib/net/http.c: base
        200 ms doubling per attempt, 'equal jitter' (a wait in [b/2, b]):
        the first retry comes after 0.1-0.2 s, the fourth after 0.8-1.6 s."""
        target, before = self._setup_target("backoff")
        runs = [self._gaps(target, 4), self._gaps(target, 4)]
        self.assertEqual(self.reg.manifest_digest(target, "v1"), before)
        for gaps in runs:
            msg = "retry gaps %s" % ["%.3f" % g for g in gaps]
            self.assertLess(gaps[0], 0.45, "first retry should come after ~0.1-0.2 s: " + msg)
            self.assertGreaterEqual(gaps[0], 0.08, msg)
            for i, g in enumerate(gaps):
                b = 0.2 * 2 ** i
                self.assertGreaterEqual(g, b / 2 - 0.03, "gap %d below its backoff: %s" % (i, msg))
                self.assertLessEqual(g, b + 0.25, "gap %d above its backoff: %s" % (i, msg))
            self.assertGreater(gaps[3], 2.5 * gaps[0], "not exponential: " + msg)
        self.assertTrue(any(abs(a - b) > 0.015 for a, b in zip(*runs)),
                        "no jitter: two runs waited the same %s" % runs)

    def test_retries_flag_bounds_attempts(self):
        target, before = self._setup_target("retries")
        for n, flags in ((1, ["--retries", "0"]), (2, ["--retries", "1"]),
                         (4, ["--retries", "3"]), (4, [])):
            with self.subTest(flags=flags):
                with FaultProxy(self.reg.port) as px:
                    px.add("PUT", r"/manifests/v1$", "status", status=502)
                    r, dt = self._update(px, target, "--plain-http", *flags)
                    puts = px.entries("PUT", r"/manifests/v1$")
                self.assertExit(r, 1)
                self.assertIn("HTTP 502", r.stderr)
                self.assertEqual(len(puts), n, "%s: %d attempts of the list PUT" % (flags, len(puts)))
                self.assertEqual(self.reg.manifest_digest(target, "v1"), before)

    def test_timeout_flag_bounds_a_stalled_request(self):
        target, before = self._setup_target("timeout")
        for timeout in (1, 3):
            with self.subTest(timeout=timeout):
                with FaultProxy(self.reg.port) as px:
                    px.add("HEAD", r"^/v2/%s/manifests/v2-amd64$" % re.escape(SRC), "stall",
                           stall=timeout + 5)
                    r, dt = self._update(px, target, "--plain-http", "--retries", "0",
                                         "--timeout", str(timeout))
                self.assertExit(r, 1)
                self.assertRegex(r.stderr, r"(?i)timed out")
                self.assertRegex(r.stderr, r"HEAD \S*%s:v2-amd64" % re.escape(SRC))
                self.assertGreaterEqual(dt, timeout - 0.1)
                self.assertLess(dt, timeout + 2.0, "--timeout %d not respected" % timeout)
                self.assertEqual(self.reg.manifest_digest(target, "v1"), before)

    def test_everything_stalls_run_ends(self):
        """Every request stalls: the run ends after (retries+1) x timeout
        plus backoff, exit 1, nothing changed."""
        target, before = self._setup_target("allstall")
        with FaultProxy(self.reg.port) as px:
            px.add(None, None, "stall", stall=10)
            r, dt = self._update(px, target, "--plain-http", "--retries", "1", "--timeout", "1")
        self.assertExit(r, 1)
        self.assertRegex(r.stderr, r"(?i)timed out")
        self.assertLess(dt, 2 * 1 + RETRY_GAP_MAX + SLACK)
        self.assertEqual(self.reg.manifest_digest(target, "v1"), before)

    def test_unreachable_loopback_probe_is_bounded_once(self):
        """Both probes of a loopback registry (plain, then TLS) stall every
        time: the run must end after one probing's (retries+1) x timeout
        per scheme, not once per spec entry (the answer 'unreachable' is the
        same for all)."""
        target, before = self._setup_target("probe-stall")
        spec = os.path.join(self.tmpdir, "spec4.yaml")
        with FaultProxy(self.reg.port) as px:
            lines = ["image: %s/%s:v1" % (px.host, target), "manifests:"]
            for i, plat in enumerate(("linux/amd64", "linux/arm64", "linux/s390x", "linux/ppc64le")):
                lines.append("  - image: %s/%s:v2-e%d" % (px.host, SRC, i))
                lines.append("    platform: {os: linux, architecture: %s}" % plat.split("/")[1])
            with open(spec, "w") as f:
                f.write("\n".join(lines) + "\n")
            px.add("GET", r"^/v2/$", "stall", stall=10)
            px.add("TLS", None, "stall", stall=10)
            t0 = time.monotonic()
            r = run_mlist("--retries", "1", "--timeout", "1", "update", spec, timeout=60)
            dt = time.monotonic() - t0
            probes = px.entries("TLS") + px.entries("GET", r"^/v2/$")
        self.assertExit(r, 1)
        self.assertRegex(r.stderr, r"(?i)timed out")
        self.assertLessEqual(len(probes), 2 * 2, "probes: %d for one registry" % len(probes))
        self.assertLess(dt, 4 * 1 + 2 * RETRY_GAP_MAX + SLACK, "4 entries, one unreachable registry")
        self.assertEqual(self.reg.manifest_digest(target, "v1"), before)

    def test_put_reset_once_on_reused_connection_is_retried(self):
        """A connection reset answering the list PUT (sent on a kept-alive
        connection) is a transient transport error like any other: retried."""
        target, _ = self._setup_target("put-reset")
        with FaultProxy(self.reg.port) as px:
            px.add("PUT", r"/manifests/v1$", "reset", times=1)
            r, dt = self._update(px, target, "--plain-http", "--retries", "2", "--timeout", "2")
            puts = px.entries("PUT", r"/manifests/v1$")
        self.assertOk(r)
        self.assertEqual(len(puts), 2, puts)
        self.assertTrue(self.complete_new(target))

    def test_ping_reset_once_is_retried(self):
        """A reset answering the probe of a loopback registry is transient:
        the probe is retried and the run succeeds."""
        target, _ = self._setup_target("ping-reset")
        with FaultProxy(self.reg.port) as px:
            px.add("GET", r"^/v2/$", "reset", times=1)
            r, dt = self._update(px, target, "--retries", "2", "--timeout", "2")
        self.assertOk(r)
        self.assertTrue(self.complete_new(target))

    def test_second_tag_fails_first_moved_reported(self):
        """Several tags: the PUT of the second one fails for good. The first
        tag serves the complete new list, the second is untouched, and the
        run says exactly which tag moved."""
        target, before = self._setup_target("two-tags")
        self.reg.put_manifest(target, "latest", self.reg.get_manifest(target, "v1")[2],
                              "application/vnd.docker.distribution.manifest.list.v2+json")
        with FaultProxy(self.reg.port) as px:
            px.add("PUT", r"/manifests/latest$", "status", status=503)
            r, dt = self._update(px, target, "--plain-http", "--retries", "1", tags=["latest"])
        self.assertExit(r, 1)
        self.assertTrue(self.complete_new(target, "v1"), "v1 should be the new list")
        self.assertEqual(self.reg.manifest_digest(target, "latest"), before)
        self.assertRegex(r.stderr, r"tag v1 moved")
        self.assertRegex(r.stderr, r"tag latest did not move")
        self.assertRegex(r.stderr, r"PUT \S*:latest: HTTP 503")


class FaultProxySelfTest(MlistTestCase):
    """The proxy itself does what the matrix relies on."""

    def _conn(self, px):
        return http.client.HTTPConnection("127.0.0.1", px.port, timeout=10)

    def test_forward_keepalive_and_location_rewrite(self):
        with FaultProxy(self.reg.port) as px:
            c = self._conn(px)
            # Host names the registry itself: its Location must come back
            # pointing at the proxy.
            c.request("POST", "/v2/fx/selftest/blobs/uploads/", body=b"",
                      headers={"Host": self.reg.host, "Content-Length": "0"})
            r = c.getresponse()
            r.read()
            self.assertEqual(r.status, 202)
            loc = r.getheader("Location")
            self.assertIn(px.host, loc)
            self.assertNotIn(self.reg.host, loc)
            # the same connection again (keep-alive)
            c.request("GET", "/v2/")
            r = c.getresponse()
            r.read()
            self.assertEqual(r.status, 200)
            c.close()
            self.assertEqual(len({e.conn for e in px.entries()}), 1, px.entries())

    def test_rule_counting(self):
        with FaultProxy(self.reg.port) as px:
            rule = px.add("GET", r"^/v2/$", "status", status=503, skip=1, times=2,
                          retry_after=7)
            got = []
            for _ in range(5):
                c = self._conn(px)
                c.request("GET", "/v2/")
                r = c.getresponse()
                body = r.read()
                got.append((r.status, r.getheader("Retry-After")))
                c.close()
            self.assertEqual(got, [(200, None), (503, "7"), (503, "7"), (200, None), (200, None)])
            self.assertEqual((rule.matched, rule.fired), (5, 2))
            self.assertEqual(json.loads(body or b"{}").get("errors"), None)

    def test_reset_stall_truncate_wrong_digest(self):
        digest = self.reg.push_blob("fx/selftest", b"0123456789" * 100)
        path = "/v2/fx/selftest/blobs/%s" % digest
        with FaultProxy(self.reg.port) as px:
            px.add("GET", r"reset", "reset")
            px.add("GET", r"stall", "stall", stall=0.5)
            px.add("GET", r"blobs/", "truncate", times=1)
            px.add("GET", r"blobs/", "wrong_digest", times=1)
            c = self._conn(px)
            c.request("GET", "/v2/reset")
            with self.assertRaises((ConnectionError, http.client.RemoteDisconnected)):
                c.getresponse()
            c = self._conn(px)
            t0 = time.monotonic()
            c.request("GET", "/v2/stall")
            with self.assertRaises((ConnectionError, http.client.RemoteDisconnected)):
                c.getresponse()
            self.assertLess(time.monotonic() - t0, 3)
            c = self._conn(px)
            c.request("GET", path)
            r = c.getresponse()
            self.assertEqual(r.getheader("Content-Length"), "1000")
            with self.assertRaises(http.client.IncompleteRead):
                r.read()
            c = self._conn(px)
            c.request("GET", path)
            r = c.getresponse()
            self.assertEqual(r.read(), b"0123456789" * 100)
            wrong = r.getheader("Docker-Content-Digest")
            self.assertRegex(wrong, r"^sha256:[0-9a-f]{64}$")
            self.assertNotEqual(wrong, digest)

    def test_tls_hello_gets_a_plain_http_answer(self):
        with FaultProxy(self.reg.port) as px:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            with socket.create_connection(("127.0.0.1", px.port), timeout=5) as raw:
                with self.assertRaises(ssl.SSLError) as cm:
                    ctx.wrap_socket(raw, server_hostname="127.0.0.1")
            self.assertRegex(str(cm.exception), r"(?i)wrong version|record|packet length")
            self.assertEqual([(e.method, e.status) for e in px.entries()], [("TLS", 400)])


if __name__ == "__main__":
    unittest.main()
