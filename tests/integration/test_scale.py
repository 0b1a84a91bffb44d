"""Many lists in one run (issue 16, "Many lists"): a 300-document spec
runs on a bounded pool of threads sharing one client, so the connections to
a registry stay within --concurrency however many lists there are, and a
child named by several lists is asked for once."""

import collections
import subprocess
import threading
import time

import test_token
from fixture import (MlistTestCase, SlowProxy, _isolated_env, _tool_from_env, describe,
                     empty_docker_config, entries_by_platform, tag_for)

PLATFORMS = ["linux/amd64", "linux/arm64", "linux/arm/v7", "linux/s390x"]
SETS = 20           # distinct image sets
LISTS_PER_SET = 15  # lists naming the same children (the tags of a release): 300 lists in all
CONCURRENCY = 4
MAX_THREADS = 16


class CountingProxy(SlowProxy):
    """A plain TCP forwarder that knows how many client connections are
    open at once (the peak) and how many were opened in all."""

    def __init__(self, target_port, delay=0):
        super().__init__(target_port, delay=delay)
        self.open = self.peak = 0

    def _read(self, src, q):  # the first thing each connection runs
        with self._lock:
            self.open += 1
            self.peak = max(self.peak, self.open)
        super()._read(src, q)

    def _write(self, q, dst, src):  # ends when the client closed
        super()._write(q, dst, src)
        with self._lock:
            self.open -= 1


def run_sampling_threads(*args):
    """Runs mlist, sampling its thread count; -> (CompletedProcess, peak)."""
    env = _isolated_env(docker_config=empty_docker_config())
    argv = [_tool_from_env("MLIST")] + [str(a) for a in args]
    p = subprocess.Popen(argv, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = [0]

    def sample():
        while p.poll() is None:
            try:
                with open("/proc/%d/status" % p.pid) as f:
                    for line in f:
                        if line.startswith("Threads:"):
                            peak[0] = max(peak[0], int(line.split()[1]))
            except OSError:
                pass
            time.sleep(0.001)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    try:
        out, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
    t.join()
    return subprocess.CompletedProcess(argv, p.returncode, out, err), peak[0]


class ScaleTest(MlistTestCase):

    def seed_sets(self):
        """SETS image sets, half with platforms in the spec, half read from
        configs -> {set: {platform: Seeded}}."""
        return {s: self.seed_set(PLATFORMS, prefix="r%d" % s) for s in range(SETS)}

    def many_lists_spec(self, host):
        docs = []
        for s in range(SETS):
            for k in range(LISTS_PER_SET):
                lines = ["image: %s/%s:list-%d-%d" % (host, self.repo, s, k), "manifests:"]
                for p in PLATFORMS:
                    lines.append("  - image: %s/%s:%s" % (host, self.repo, tag_for(p, "r%d" % s)))
                    if s % 2 == 0:
                        os_, arch = p.split("/")[:2]
                        variant = ", variant: v7" if p.endswith("/v7") else ""
                        lines.append("    platform: {os: %s, architecture: %s%s}" % (os_, arch, variant))
                docs.append("\n".join(lines) + "\n")
        return self.write_spec("---\n".join(docs), name="many.yaml")

    def test_many_lists_share_connections_and_children(self):
        sets = self.seed_sets()
        with CountingProxy(self.reg.port) as px:
            spec = self.many_lists_spec(px.host)
            self.reg.reset_access_log()
            r, threads = run_sampling_threads("--plain-http", "--concurrency", CONCURRENCY, "create", spec)
            self.assertOk(r)
            self.assertLessEqual(px.peak, CONCURRENCY, "simultaneous connections to the registry")
            self.assertGreater(px.peak, 0)
            self.assertLessEqual(threads, MAX_THREADS, "threads of the run")
            log = self.reg.access_log()

            # every list holds its set's images
            for s in range(SETS):
                for k in range(LISTS_PER_SET):
                    doc = self.assertListAt("list-%d-%d" % (s, k))
                    got = entries_by_platform(doc)
                    self.assertEqual(sorted(got), sorted(PLATFORMS))
                    for p in PLATFORMS:
                        self.assertEqual(got[p]["digest"], sets[s][p].digest)

            # each child manifest was asked for once, not once per list
            asked = collections.Counter((e.method, e.path) for e in log if "/manifests/r" in e.path)
            self.assertEqual(len(asked), SETS * len(PLATFORMS), asked)
            self.assertEqual({n for n in asked.values()}, {1}, [k for k, n in asked.items() if n > 1])
            configs = collections.Counter(e.path for e in log if e.method == "GET" and "/blobs/" in e.path)
            # every set's: given platforms are checked against the configs too
            self.assertEqual(len(configs), SETS * len(PLATFORMS), configs)
            self.assertEqual({n for n in configs.values()}, {1}, [k for k, n in configs.items() if n > 1])

            # an unchanged rerun pushes nothing, under the same cap
            px.peak = 0
            self.reg.reset_access_log()
            r, threads = run_sampling_threads("--plain-http", "--concurrency", CONCURRENCY, "update", spec)
            self.assertOk(r)
            self.assertEqual(r.stderr.lower().count("up to date"), SETS * LISTS_PER_SET, describe(r))
            self.assertNoWrites()
            self.assertLessEqual(px.peak, CONCURRENCY)
            self.assertLessEqual(threads, MAX_THREADS)


    def test_default_concurrency_grows_with_lists_to_32(self):
        """Without --concurrency, several lists keep 8 requests each in
        flight, 32 at most: more than one list's 8, never more than 32."""
        sets = {s: self.seed_set(PLATFORMS, prefix="d%d" % s) for s in range(10)}
        with CountingProxy(self.reg.port, delay=0.05) as px:
            docs = ["image: %s/%s:many-%d\nmanifests:\n" % (px.host, self.repo, s) +
                    "".join("  - image: %s/%s:%s\n" % (px.host, self.repo, tag_for(p, "d%d" % s))
                            for p in PLATFORMS)
                    for s in sets]
            spec = self.write_spec("---\n".join(docs), name="many.yaml")
            r, threads = run_sampling_threads("--plain-http", "create", spec)
            self.assertOk(r)
            self.assertLessEqual(px.peak, 32, "simultaneous connections to the registry")
            self.assertGreater(px.peak, 8, "10 lists of 4 images, each request 50 ms late")
            self.assertLessEqual(threads, MAX_THREADS)
        for s in sets:
            self.assertEqual(sorted(entries_by_platform(self.assertListAt("many-%d" % s))), sorted(PLATFORMS))


class ScaleTokenTest(test_token.TokenTestCase):
    """Token auth: the threads of a run share one token per registry (one
    that grows to cover every repository the run needs) instead of each
    list asking for its own."""

    def test_many_lists_share_tokens(self):
        platforms = PLATFORMS[:2]
        lists = 12
        for p in platforms:
            self.seed(tag_for(p), p)
        docs = ["image: %s\nmanifests:\n" % self.ref("list-%d" % i) +
                "".join("  - image: %s\n" % self.ref(tag_for(p)) for p in platforms)
                for i in range(lists)]
        spec = self.write_spec("---\n".join(docs), name="many.yaml")
        r = self.mlist(*self.tls(), *self.creds(), "create", spec)
        self.assertOk(r)
        for i in range(lists):
            self.assertEqual(sorted(entries_by_platform(self.assertListAt("list-%d" % i))), sorted(platforms))
        # one repository: the first token covers the run; a list that met a
        # 401 before it came may ask once more
        n_tok = len(self.token_log())
        self.assertGreaterEqual(n_tok, 1)
        self.assertLess(n_tok, lists, "a token per list: %d token requests for %d lists" % (n_tok, lists))


if __name__ == "__main__":
    import unittest
    unittest.main()
