#!/usr/bin/env python3
"""mlist side by side with docker manifest, podman, buildah and a minimal curl
sequence, against Debian's docker-registry on loopback. Run it through
bench/run.sh (which installs what is missing and builds mlist); see
bench/README.md for the flags and what is measured.

Only the standard library is used. Every process this script starts is
ended by its PID when it stops; nothing is sent anywhere but 127.0.0.1.
"""
import argparse
import ctypes
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
REPO = "bench/app"
MT_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MT_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
ACCEPT = ",".join([
    MT_DOCKER_MANIFEST, MT_DOCKER_LIST,
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
])
MIB = 1024 * 1024

# ---------------------------------------------------------------- processes

_children = []  # long-running helpers (registry, proxy): ended by PID


def _pdeathsig():
    """Child side of Popen: die with the benchmark, even on SIGKILL."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def start_helper(argv, log_path):
    log = open(log_path, "ab")  # O_APPEND: the log is read while written
    p = subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                         preexec_fn=_pdeathsig)
    log.close()
    _children.append(p)
    return p


def stop_helpers():
    while _children:
        p = _children.pop()
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


class Result:
    def __init__(self, rc, wall, maxrss_kib, out, err):
        self.rc, self.wall, self.maxrss_kib, self.out, self.err = rc, wall, maxrss_kib, out, err


def run_timed(argv, env=None, timeout=600, rss=True):
    """Run one command. Wall time from just before the fork to the reaping.
    Peak RSS from GNU time (`/usr/bin/time -f %M`, the 'Maximum resident set
    size' of `time -v`): wait4's ru_maxrss of a child forked straight from
    this Python process would include Python's own ~25 MiB, which the kernel
    carries over exec; GNU time is small, so its child's figure is the
    command's own. The wrapper adds about one exec to the wall time (see the
    start-up table: /bin/true measured the same way)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile(prefix="rss-") as rssf:
        if rss:
            argv = ["/usr/bin/time", "-f", "%M", "-o", rssf.name, *argv]
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
        timer = threading.Timer(timeout, p.kill)
        timer.start()
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        timer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
        maxrss = 0
        if rss:
            lines = open(rssf.name).read().split()
            maxrss = int(lines[-1]) if lines and lines[-1].isdigit() else 0
        out.seek(0)
        err.seek(0)
        return Result(p.returncode, wall, maxrss, out.read().decode(errors="replace"),
                      err.read().decode(errors="replace"))


def sh(argv, env=None, check=True):
    p = subprocess.run(argv, env=env, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {p.returncode}: {p.stderr.strip()[-500:]}")
    return p


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def first_line(argv):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        text = (p.stdout or p.stderr).strip()
        return text.splitlines()[0] if text else f"exit {p.returncode}"
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"not available ({e.__class__.__name__})"

def snapshot(binary, work, name):
    """Copy a binary built in this tree, with the libraries it loads from the
    tree, into the work directory: others may rebuild build/ while the
    benchmark runs. The copy keeps the layout its RUNPATH ($ORIGIN/../lib)
    expects."""
    if not binary.startswith(ROOT + os.sep):
        return binary
    dest = os.path.join(work, "snapshot", name)
    os.makedirs(os.path.join(dest, "bin"), exist_ok=True)
    os.makedirs(os.path.join(dest, "lib"), exist_ok=True)
    shutil.copy2(binary, os.path.join(dest, "bin"))
    ldd = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    for line in ldd.splitlines():
        m = re.match(r"\s*(\S+) => (\S+)", line)
        if m and os.path.realpath(m.group(2)).startswith(ROOT + os.sep):
            shutil.copy2(os.path.realpath(m.group(2)), os.path.join(dest, "lib", m.group(1)))
    return os.path.join(dest, "bin", os.path.basename(binary))


def source_state(binary):
    """The commit mlist was built from, as far as the tree tells."""
    if not binary.startswith(ROOT + os.sep):
        return "not built from this tree"
    head = sh(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], check=False).stdout.strip()
    dirty = sh(["git", "-C", ROOT, "status", "--porcelain", "--", "lib", "cli", "include"],
               check=False).stdout.split("\n")
    dirty = [ln[3:] for ln in dirty if ln.strip()]
    # mlist is not relinked when only the library changed: the newer counts
    lib = os.path.join(ROOT, "build", "lib", "libmanifestlist.so")
    newest = max([os.path.getmtime(binary)] + ([os.path.getmtime(lib)] if os.path.exists(lib) else []))
    built = datetime.datetime.fromtimestamp(newest, datetime.timezone.utc)
    return (f"commit {head or '?'}" + (f" + uncommitted changes in {', '.join(dirty)}" if dirty else "")
            + f"; binary built {built.isoformat(timespec='seconds')}")

# ---------------------------------------------------------------- registry


class Registry:
    LINE = re.compile(r'"(GET|HEAD|PUT|POST|PATCH|DELETE) (\S+) HTTP/[\d.]+" (\d{3}) ')

    def __init__(self, work):
        self.work = work
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.log_path = os.path.join(work, "registry.log")
        cfg = os.path.join(work, "registry.yml")
        with open(cfg, "w") as f:
            f.write(f"""version: 0.1
log:
  level: warn
  accesslog: {{disabled: false}}
storage:
  filesystem: {{rootdirectory: {work}/registry-data}}
  delete: {{enabled: true}}
http: {{addr: {self.host}}}
""")
        self.proc = start_helper(["docker-registry", "serve", cfg], self.log_path)
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://{self.host}/v2/", timeout=1).read()
                break
            except (OSError, urllib.error.URLError):
                if self.proc.poll() is not None:
                    raise RuntimeError("docker-registry exited: " + open(self.log_path).read()[-800:])
                time.sleep(0.1)
        else:
            raise RuntimeError("docker-registry did not answer on " + self.host)
        self.offset = os.path.getsize(self.log_path)
        self.marks = 0

    def cpu_seconds(self):
        """CPU time the registry process has used so far (user + system)."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def mark(self):
        """Send a request the log will show, wait for it to be logged, and
        return the access lines logged since the previous mark."""
        self.marks += 1
        tag = f"m{self.marks}"
        try:
            urllib.request.urlopen(urllib.request.Request(
                f"http://{self.host}/v2/benchmark-marker/manifests/{tag}", method="HEAD"), timeout=5)
        except urllib.error.HTTPError:
            pass
        needle = f"/v2/benchmark-marker/manifests/{tag} ".encode()
        deadline = time.monotonic() + 5
        while True:
            with open(self.log_path, "rb") as f:
                f.seek(self.offset)
                chunk = f.read()
            idx = chunk.find(needle)
            if idx >= 0:
                end = chunk.find(b"\n", idx)
                end = len(chunk) if end < 0 else end + 1
                self.offset += end
                text = chunk[:end].decode(errors="replace")
                break
            if time.monotonic() > deadline:
                raise RuntimeError("the registry's access log shows no marker; is accesslog enabled?")
            time.sleep(0.005)
        reqs = []
        for line in text.splitlines():
            m = self.LINE.search(line)
            if m and "/benchmark-marker/" not in m.group(2):
                reqs.append((m.group(1), m.group(2), int(m.group(3))))
        return reqs


def start_latency_proxy(reg, work, one_way_ms):
    """bench/delayproxy.py in front of the registry -> its port."""
    ready = os.path.join(work, "proxy.port")
    start_helper([sys.executable, os.path.join(BENCH, "delayproxy.py"), "0", reg.host, f"{one_way_ms:g}",
                  "--ready", ready], os.path.join(work, "proxy.log"))
    for _ in range(100):
        if os.path.exists(ready) and open(ready).read().strip():
            return int(open(ready).read().strip())
        time.sleep(0.05)
    raise RuntimeError("the latency proxy did not start: " + open(os.path.join(work, "proxy.log")).read()[-500:])


def count_methods(reqs):
    counts = {}
    for method, _, _ in reqs:
        counts[method] = counts.get(method, 0) + 1
    return counts


def fmt_methods(counts):
    order = ["HEAD", "GET", "PUT", "POST", "PATCH", "DELETE"]
    return " ".join(f"{m} {counts[m]}" for m in order if counts.get(m)) or "none"

# ---------------------------------------------------------------- images


class Images:
    """N images bench/app:img-I, each linux/amd64 with its own os.version
    (10.0.I) so that N distinct platforms exist, each with its own config."""

    def __init__(self, seed_bin, host):
        self.seed_bin, self.host = seed_bin, host
        self.items = []  # (tag, digest, size, media_type, os_version, config digest)

    def seed(self, n, jobs=4):
        todo = range(len(self.items), n)
        if not todo:
            return 0.0
        t0 = time.perf_counter()

        def one(i):
            tag, osv = f"img-{i}", f"10.0.{i}"
            p = sh([self.seed_bin, "--plain-http", "image", f"{self.host}/{REPO}:{tag}",
                    "--platform", "linux/amd64", "--os-version", osv, "--salt", f"bench-{i}"])
            digest, size, mt = p.stdout.split()[:3]
            req = urllib.request.Request(f"http://{self.host}/v2/{REPO}/manifests/{digest}",
                                         headers={"Accept": ACCEPT})
            config = json.loads(urllib.request.urlopen(req, timeout=30).read())["config"]["digest"]
            return (tag, digest, int(size), mt, osv, config)

        with ThreadPoolExecutor(jobs) as ex:
            self.items.extend(ex.map(one, todo))
        return time.perf_counter() - t0

# ---------------------------------------------------------------- cases


class Ctx:
    """What a case needs to build its commands."""

    def __init__(self, args, work, images):
        self.args, self.work, self.images = args, work, images
        self.mlist, self.seed = args.mlist, args.seed
        self.docker_cfg = os.path.join(work, "docker")
        os.makedirs(self.docker_cfg, exist_ok=True)
        self.env = dict(os.environ)
        self.env["DOCKER_CONFIG"] = self.docker_cfg
        self.env["REGISTRY_AUTH_FILE"] = os.path.join(work, "auth.json")
        self.env["CONTAINERS_REGISTRIES_CONF"] = os.path.join(work, "registries.conf")
        self.env["CONTAINERS_CONF"] = os.path.join(work, "containers.conf")
        self.env["HOME"] = os.path.join(work, "home")
        os.makedirs(self.env["HOME"], exist_ok=True)
        with open(self.env["REGISTRY_AUTH_FILE"], "w") as f:
            f.write('{"auths": {}}\n')
        with open(self.env["CONTAINERS_CONF"], "w") as f:
            f.write('[engine]\nevents_logger = "none"\ncgroup_manager = "cgroupfs"\n')
        self.insecure_hosts = []

    def allow_insecure(self, host):
        self.insecure_hosts.append(host)
        with open(self.env["CONTAINERS_REGISTRIES_CONF"], "w") as f:
            for h in self.insecure_hosts:
                f.write(f'[[registry]]\nlocation = "{h}"\ninsecure = true\n\n')

    def containers(self, tool):
        d = os.path.join(self.work, tool)
        return [tool, "--root", d + "-root", "--runroot", d + "-run", "--storage-driver", "vfs"]

    def spec(self, host, n, target, platforms):
        name = os.path.join(self.work, f"spec-{target}.yaml")
        with open(name, "w") as f:
            f.write(f"image: {host}/{REPO}:{target}\nmanifests:\n")
            for tag, _, _, _, osv, _ in self.images.items[:n]:
                f.write(f"  - image: {host}/{REPO}:{tag}\n")
                if platforms:
                    f.write(f'    platform: {{os: linux, architecture: amd64, os.version: "{osv}"}}\n')
        return name

    def list_json(self, n):
        name = os.path.join(self.work, f"list-n{n}.json")
        if not os.path.exists(name):
            doc = {"schemaVersion": 2, "mediaType": MT_DOCKER_LIST, "manifests": [
                {"mediaType": mt, "digest": d, "size": size,
                 "platform": {"architecture": "amd64", "os": "linux", "os.version": osv}}
                for _, d, size, mt, osv, _ in self.images.items[:n]]}
            with open(name, "w") as f:
                json.dump(doc, f, separators=(",", ":"))
        return name


class Case:
    """One way of publishing the list. steps() gives the timed commands (run
    one after the other); setup()/cleanup() are untimed."""
    name = ""
    label = ""
    peer = False
    expect = None  # function(n) -> dict of the minimum requests

    def __init__(self, ctx):
        self.ctx = ctx

    def setup(self, host, n, run_id):
        pass

    def steps(self, host, n, run_id):
        raise NotImplementedError

    def cleanup(self, host, n, run_id):
        pass

    def target(self, n, run_id):
        return f"{self.name}-n{n}-{run_id}"

    def check_tag(self, n, run_id):
        return self.target(n, run_id)


class MlistGiven(Case):
    name, label = "mlist", "mlist create (platform given)"
    flags = []

    def steps(self, host, n, run_id):
        spec = self.ctx.spec(host, n, self.target(n, run_id), platforms=True)
        return [[self.ctx.mlist, *self.flags, "create", spec]]

    @staticmethod
    def expect(n):
        return {"HEAD": n, "PUT": 1}


class MlistPlain(MlistGiven):
    name, label = "mlist-plain", "mlist --plain-http create (platform given)"
    flags = ["--plain-http"]


class MlistConfig(Case):
    name, label = "mlist-config", "mlist create (platform from config; --no-cache)"

    def steps(self, host, n, run_id):
        spec = self.ctx.spec(host, n, self.target(n, run_id), platforms=False)
        return [[self.ctx.mlist, "--no-cache", "create", spec]]

    @staticmethod
    def expect(n):
        return {"GET": 2 * n, "PUT": 1}  # every image has its own config


class MlistConfigCached(Case):
    """The same with the platforms of these configs in mlist's cache (a
    run before, as when a pipeline publishes again): no config is read."""
    name, label = "mlist-config-cached", "mlist create (platform from config; configs cached)"

    def setup(self, host, n, run_id):
        if not getattr(self, "_warm", {}).get((host, n)):
            spec = self.ctx.spec(host, n, f"{self.name}-warm-n{n}", platforms=False)
            sh([self.ctx.mlist, "-q", "update", spec], env=self.ctx.env)
            self._warm = {**getattr(self, "_warm", {}), (host, n): True}

    def steps(self, host, n, run_id):
        spec = self.ctx.spec(host, n, self.target(n, run_id), platforms=False)
        return [[self.ctx.mlist, "create", spec]]

    @staticmethod
    def expect(n):
        return {"GET": n, "PUT": 1}


class MlistUpToDate(Case):
    name, label = "mlist-uptodate", "mlist update, up to date (platform given)"

    def target(self, n, run_id):
        return f"{self.name}-n{n}"

    def setup(self, host, n, run_id):
        spec = self.ctx.spec(host, n, self.target(n, run_id), platforms=True)
        if not getattr(self, "_made", {}).get((host, n)):
            sh([self.ctx.mlist, "-q", "update", spec], env=self.ctx.env)
            self._made = {**getattr(self, "_made", {}), (host, n): True}

    def steps(self, host, n, run_id):
        spec = self.ctx.spec(host, n, self.target(n, run_id), platforms=True)
        return [[self.ctx.mlist, "update", spec]]

    @staticmethod
    def expect(n):
        return {"HEAD": n + 1}  # the children and the list itself; no PUT


class Peer(Case):
    peer = True

    @staticmethod
    def expect(n):
        return {"GET": 2 * n, "PUT": 1}  # they read every config: compare with that minimum


class Docker(Peer):
    name, label = "docker", "docker manifest create + push"

    def setup(self, host, n, run_id):
        shutil.rmtree(os.path.join(self.ctx.docker_cfg, "manifests"), ignore_errors=True)

    def steps(self, host, n, run_id):
        target = f"{host}/{REPO}:{self.target(n, run_id)}"
        images = [f"{host}/{REPO}:{it[0]}" for it in self.ctx.images.items[:n]]
        return [["docker", "manifest", "create", "--insecure", target, *images],
                ["docker", "manifest", "push", "--insecure", target]]

    cleanup = setup


class Podman(Peer):
    name, label = "podman", "podman manifest create + push"
    tool = "podman"
    push_flags = ["--all=false"]

    def steps(self, host, n, run_id):
        local = f"localhost/{self.name}-{n}-{run_id}"
        images = [f"docker://{host}/{REPO}:{it[0]}" for it in self.ctx.images.items[:n]]
        c = self.ctx.containers(self.tool)
        # podman 4.3 ignores --tls-verify=false for the images given to
        # create (the registries.conf marks them insecure); buildah needs it
        return [[*c, "manifest", "create", "--tls-verify=false", local, *images],
                [*c, "manifest", "push", *self.push_flags, "--tls-verify=false", local,
                 f"docker://{host}/{REPO}:{self.target(n, run_id)}"]]

    def cleanup(self, host, n, run_id):
        c = self.ctx.containers(self.tool)
        sh([*c, "manifest", "rm", f"localhost/{self.name}-{n}-{run_id}"], env=self.ctx.env, check=False)


class Buildah(Podman):
    name, label = "buildah", "buildah manifest create + push"
    tool = "buildah"
    push_flags = []  # buildah pushes the list only unless --all


class Curl(Case):
    name, label = "curl", "minimal: curl N HEAD (parallel) + 1 PUT"

    def steps(self, host, n, run_id):
        heads = ["curl", "-sS", "--fail", "--parallel", "--parallel-max", str(self.ctx.args.concurrency),
                 "-I", "-H", "Accept: " + ACCEPT, "-w", "%{http_code}\\n"]
        heads += [f"http://{host}/v2/{REPO}/manifests/{it[0]}" for it in self.ctx.images.items[:n]]
        put = ["curl", "-sS", "--fail", "-X", "PUT", "-H", "Content-Type: " + MT_DOCKER_LIST,
               "--data-binary", "@" + self.ctx.list_json(n),
               f"http://{host}/v2/{REPO}/manifests/{self.target(n, run_id)}"]
        return [heads, put]

    @staticmethod
    def expect(n):
        return {"HEAD": n, "PUT": 1}


class CurlConfig(Curl):
    name, label = "curl-config", "minimal, platform from config: curl N GET manifest ∥, N GET config ∥, 1 PUT"

    def steps(self, host, n, run_id):
        base = ["curl", "-sS", "--fail", "--parallel", "--parallel-max", str(self.ctx.args.concurrency),
                "-H", "Accept: " + ACCEPT]
        items = self.ctx.images.items[:n]
        # -o belongs to one URL: one per URL
        manifests = base + [x for it in items for x in
                            ("-o", "/dev/null", f"http://{host}/v2/{REPO}/manifests/{it[0]}")]
        configs = base + [x for it in items for x in
                          ("-o", "/dev/null", f"http://{host}/v2/{REPO}/blobs/{it[5]}")]
        return [manifests, configs, super().steps(host, n, run_id)[1]]

    @staticmethod
    def expect(n):
        return {"GET": 2 * n, "PUT": 1}


ALL_CASES = [MlistGiven, MlistPlain, MlistConfig, MlistConfigCached, MlistUpToDate, Docker, Podman, Buildah, Curl, CurlConfig]

# ---------------------------------------------------------------- measuring


class Sample:
    def __init__(self, wall, rss_kib, reqs, ok, note=""):
        self.wall, self.rss_kib, self.reqs, self.ok, self.note = wall, rss_kib, reqs, ok, note


def run_case(case, reg, host, n, run_id):
    ctx = case.ctx
    case.setup(host, n, run_id)
    reg.mark()
    wall, rss, note, ok = 0.0, 0, "", True
    for argv in case.steps(host, n, run_id):
        r = run_timed(argv, env=ctx.env, timeout=ctx.args.timeout)
        wall += r.wall
        rss = max(rss, r.maxrss_kib)
        if r.rc != 0:
            ok = False
            note = f"`{os.path.basename(argv[0])} {argv[1] if len(argv) > 1 else ''}` exit {r.rc}: " + \
                   " ".join((r.err or r.out).strip().split())[-300:]
            break
    reqs = reg.mark()
    case.cleanup(host, n, run_id)
    return Sample(wall, rss, reqs, ok, note)


def verify_list(host_direct, case, n, run_id, images):
    """The list the case pushed holds exactly the N images."""
    url = f"http://{host_direct}/v2/{REPO}/manifests/{case.check_tag(n, run_id)}"
    try:
        req = urllib.request.Request(url, headers={"Accept": ACCEPT})
        doc = json.loads(urllib.request.urlopen(req, timeout=10).read())
    except Exception as e:  # noqa: BLE001 - reported, not raised
        return f"cannot read the pushed list: {e}"
    got = sorted(m.get("digest") for m in doc.get("manifests", []))
    want = sorted(it[1] for it in images.items[:n])
    if got != want:
        return f"pushed list has {len(got)} entries, {len(set(got) & set(want))} of the {n} images"
    plats = {json.dumps(m.get("platform"), sort_keys=True) for m in doc["manifests"]}
    if len(plats) != n:
        return f"pushed list has {len(plats)} distinct platforms for {n} images"
    return ""


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def bench_series(cases, reg, host, n, runs, label, log):
    """Warm-up round, then `runs` interleaved rounds (the order rotates each
    round). Returns {case.name: [Sample...]} and {case.name: failure}."""
    samples = {c.name: [] for c in cases}
    broken = {}
    for rnd in range(runs + 1):
        order = cases[rnd % len(cases):] + cases[:rnd % len(cases)]
        for case in order:
            if case.name in broken:
                continue
            run_id = f"{label}-w" if rnd == 0 else f"{label}-r{rnd}"
            s = run_case(case, reg, host, n, run_id)
            if not s.ok:
                broken[case.name] = s.note
                log(f"    {case.name}: FAILED ({s.note})")
                continue
            if rnd == 0:
                bad = verify_list(reg.host, case, n, run_id, case.ctx.images)
                if bad:
                    broken[case.name] = bad
                    log(f"    {case.name}: WRONG RESULT ({bad})")
                continue
            samples[case.name].append(s)
        if rnd:
            log(f"    round {rnd}/{runs}: " + ", ".join(
                f"{c.name} {samples[c.name][-1].wall:.3f}s" for c in cases if samples[c.name]
                and c.name not in broken))
    return samples, broken

# ---------------------------------------------------------------- report


def summarize(case, ss, n):
    walls = [s.wall for s in ss]
    counts = [count_methods(s.reqs) for s in ss]
    # request counts are the same every run for these tools; show the last
    # and say so when they varied
    c = counts[-1] if counts else {}
    varied = any(x != c for x in counts)
    statuses = {}
    for method, _, st in (ss[-1].reqs if ss else []):
        if st >= 400:
            statuses[f"{method} {st}"] = statuses.get(f"{method} {st}", 0) + 1
    return {
        "case": case.name, "label": case.label, "n": n, "runs": len(ss),
        "median": median(walls), "min": min(walls) if walls else None,
        "max": max(walls) if walls else None, "walls": walls,
        "rss_kib": max((s.rss_kib for s in ss), default=0),
        "requests": c, "requests_total": sum(c.values()), "requests_varied": varied,
        "errors": statuses,
        "expect": case.expect(n) if case.expect else None,
    }


def extra_requests(row):
    """What the case asked beyond the minimum, e.g. 'HEAD +3'."""
    if not row["expect"]:
        return ""
    out = []
    for m in sorted(set(row["requests"]) | set(row["expect"])):
        d = row["requests"].get(m, 0) - row["expect"].get(m, 0)
        if d:
            out.append(f"{m} {d:+d}")
    return ", ".join(out) if out else "minimum"


def table(rows, ref_name):
    ref = next((r for r in rows if r["case"] == ref_name and r["runs"]), None)
    lines = ["| tool | median s | min–max s | ×mlist | requests (by method) | beyond minimum | peak RSS MiB |",
             "|---|---:|---:|---:|---|---|---:|"]
    for r in rows:
        if r.get("failed"):
            lines.append(f"| {r['label']} | — | — | — | — | — | — |")
            continue
        ratio = f"{r['median'] / ref['median']:.2f}" if ref else "—"
        reqs = fmt_methods(r["requests"]) + (" (varied)" if r["requests_varied"] else "")
        if r["errors"]:
            reqs += " [" + ", ".join(f"{k}×{v}" for k, v in sorted(r["errors"].items())) + "]"
        lines.append(f"| {r['label']} | {r['median']:.3f} | {r['min']:.3f}–{r['max']:.3f} | {ratio} | "
                     f"{reqs} | {extra_requests(r)} | {r['rss_kib'] / 1024:.1f} |")
    return "\n".join(lines)


def machine_info():
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "unknown"
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / MIB:.1f} GiB"
    osname = "unknown"
    if os.path.exists("/etc/os-release"):
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    osname = line.split("=", 1)[1].strip().strip('"')
    return {"cpus (nproc)": str(os.cpu_count()), "cpu": cpu, "memory": mem,
            "kernel": platform.release(), "os": osname, "load average at start": loadavg()}


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def versions(args):
    return {
        "mlist": first_line([args.mlist, "--version"]),
        "docker-registry": first_line(["docker-registry", "--version"]),
        "docker": first_line(["docker", "--version"]),
        "podman": first_line(["podman", "--version"]),
        "buildah": first_line(["buildah", "--version"]),
        "skopeo": first_line(["skopeo", "--version"]),
        "curl": first_line(["curl", "--version"]),
        "python3": platform.python_version(),
    }


def startup(args, reps=40):
    """mlist --version against /bin/true (the cost of starting any process
    from this harness) and docker --version."""
    out = {}
    for name, argv in [("true", ["/bin/true"]), ("mlist --version", [args.mlist, "--version"]),
                       ("docker --version", ["docker", "--version"])]:
        if not shutil.which(argv[0]):
            continue
        walls = []
        for i in range(reps + 3):
            r = run_timed(argv, rss=False)
            if i >= 3:
                walls.append(r.wall)
        rss = run_timed(argv).maxrss_kib
        out[name] = {"median_ms": median(walls) * 1000, "min_ms": min(walls) * 1000, "rss_kib": rss}
        if shutil.which("hyperfine"):  # a second opinion, without Python's fork in the figure
            with tempfile.NamedTemporaryFile(suffix=".json") as j:
                p = subprocess.run(["hyperfine", "-N", "--warmup", "5", "--runs", "200", "--style", "none",
                                    "--export-json", j.name, " ".join(argv)], capture_output=True)
                if p.returncode == 0:
                    res = json.load(open(j.name))["results"][0]
                    out[name]["hyperfine_median_ms"] = res["median"] * 1000
                    out[name]["hyperfine_min_ms"] = res["min"] * 1000
    return out


def validate_tags(args, work, runs=5):
    """mlist validate of a spec with args.validate_tags tags (every tag once,
    then the first 1000 again: repeats are dropped), offline. The issue
    target: under 1 s for 100000 tags; it took 21 s while repeats were
    found by scanning the tags kept so far."""
    n = args.validate_tags
    spec = os.path.join(work, "tags.yaml")
    with open(spec, "w") as f:
        f.write("image: registry.example/bench/app:v1\ntags:\n")
        f.writelines(f"  - t{i % n}\n" for i in range(n + min(n, 1000)))
        f.write("manifests:\n  - image: registry.example/bench/app:v1-amd64\n"
                "    platform: {os: linux, architecture: amd64}\n")
    walls, rss = [], 0
    for _ in range(runs):
        r = run_timed([args.mlist, "validate", spec])
        if r.rc != 0 or r.out.count("also tagged: ") != n:
            return {"tags": n, "failed": f"exit {r.rc}, {r.out.count('also tagged: ')} tags printed: "
                                         f"{r.err.strip()[-300:]}"}
        walls.append(r.wall)
        rss = max(rss, r.maxrss_kib)
    return {"tags": n, "median_s": median(walls), "min_s": min(walls), "rss_kib": rss}

# ---------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", default="8,32,128,512",
                    help="list sizes (default 8,32,128,512)")
    ap.add_argument("--peers-max-n", type=int, default=128,
                    help="run docker/podman/buildah only up to this N (default 128; "
                         "mlist and curl run at every N)")
    ap.add_argument("--runs", type=int, default=5, help="timed rounds per N (default 5; plus one warm-up)")
    ap.add_argument("--tools", default="mlist,mlist-plain,mlist-config,mlist-config-cached,mlist-uptodate,docker,podman,buildah,curl,curl-config",
                    help="cases to run (default: all)")
    ap.add_argument("--latency-ms", type=float, default=10.0,
                    help="delay added each way by the proxy (default 10 = 20 ms RTT); 0 skips")
    ap.add_argument("--latency-n", type=int, default=32, help="N for the latency series (default 32)")
    ap.add_argument("--concurrency", type=int, default=8,
                    help="curl --parallel-max for the minimal sequence (default 8 = mlist's default)")
    ap.add_argument("--validate-tags", type=int, default=100000,
                    help="tags in the spec of the offline validate case (default 100000; 0 skips)")
    ap.add_argument("--seed-jobs", type=int, default=4)
    ap.add_argument("--timeout", type=float, default=600, help="per command, seconds")
    ap.add_argument("--mlist", default=os.path.join(ROOT, "build/cli/mlist"))
    ap.add_argument("--seed", default=os.path.join(ROOT, "build/tests/ml-seed"))
    ap.add_argument("--results", default=os.path.join(BENCH, "RESULTS.md"))
    ap.add_argument("--json", default=os.path.join(BENCH, "results.json"))
    ap.add_argument("--keep", action="store_true", help="keep the work directory (registry log, specs)")
    args = ap.parse_args()
    args.mlist, args.seed = os.path.abspath(args.mlist), os.path.abspath(args.seed)
    sizes = sorted({int(x) for x in args.n.split(",") if x.strip()})
    wanted = [x.strip() for x in args.tools.split(",") if x.strip()]

    def log(msg):
        print(msg, flush=True)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda s, f: (_ for _ in ()).throw(KeyboardInterrupt()))

    work = tempfile.mkdtemp(prefix="mlist-bench-")
    built_from = source_state(args.mlist)
    args.mlist = snapshot(args.mlist, work, "mlist")
    args.seed = snapshot(args.seed, work, "ml-seed")
    if float(loadavg().split()[0]) > 0.5 * (os.cpu_count() or 1):
        log(f"note: load average {loadavg()} on {os.cpu_count()} CPUs: other work is running, "
            "expect noisy numbers")
    started = datetime.datetime.now(datetime.timezone.utc)
    report = {"started": started.isoformat(timespec="seconds"), "args": vars(args),
              "machine": machine_info(), "versions": versions(args), "series": [], "unavailable": {}}
    report["versions"]["mlist"] += f" ({built_from})"
    try:
        reg = Registry(work)
        log(f"registry {reg.host} (work dir {work})")
        images = Images(args.seed, reg.host)
        ctx = Ctx(args, work, images)
        ctx.allow_insecure(reg.host)

        unavailable = report["unavailable"]
        for tool in ("docker", "podman", "buildah", "curl"):
            if tool in wanted and not shutil.which(tool):
                unavailable[tool] = f"`{tool}` is not installed"

        def make_cases(names, n):
            out = []
            for cls in ALL_CASES:
                if cls.name not in names or cls.name in unavailable:
                    continue
                if cls.peer and n > args.peers_max_n:
                    continue
                out.append(cls(ctx))
            return out

        report["startup"] = startup(args)
        log("startup: " + ", ".join(f"{k} {v['median_ms']:.2f} ms" for k, v in report["startup"].items()))
        if args.validate_tags > 0:
            vt = report["validate_tags"] = validate_tags(args, work)
            log(f"validate, {vt['tags']} tags: " +
                (f"did not run: {vt['failed']}" if "failed" in vt else f"{vt['median_s']:.3f} s"))

        cases_by_name = {}
        for n in sizes:
            took = images.seed(n, args.seed_jobs)
            log(f"N={n}: seeded {len(images.items)} images ({took:.1f} s)")
            cases = make_cases(wanted, n)
            # one Case object per name across N, so up-to-date setup state is kept
            cases = [cases_by_name.setdefault(c.name, c) for c in cases]
            samples, broken = bench_series(cases, reg, reg.host, n, args.runs, f"l{n}", log)
            rows = []
            for c in cases:
                if c.name in broken:
                    unavailable.setdefault(c.name, broken[c.name])
                    rows.append({"case": c.name, "label": c.label, "n": n, "failed": broken[c.name], "runs": 0})
                else:
                    rows.append(summarize(c, samples[c.name], n))
            report["series"].append({"mode": "loopback", "n": n, "rtt_ms": 0, "rows": rows})

        if args.latency_ms > 0 and args.latency_n > 0:
            n = args.latency_n
            images.seed(n, args.seed_jobs)
            phost = f"127.0.0.1:{start_latency_proxy(reg, work, args.latency_ms)}"
            ctx.allow_insecure(phost)
            rtt = 2 * args.latency_ms
            log(f"latency series: N={n} through {phost} (+{args.latency_ms:g} ms each way, {rtt:g} ms RTT)")
            cases = [c for c in make_cases(wanted, n) if c.name not in unavailable]
            fresh = []
            for c in cases:  # new objects: the up-to-date list is made again under the proxy's name
                fresh.append(type(c)(ctx))
            samples, broken = bench_series(fresh, reg, phost, n, args.runs, f"p{n}", log)
            rows = []
            for c in fresh:
                if c.name in broken:
                    rows.append({"case": c.name, "label": c.label, "n": n, "failed": broken[c.name], "runs": 0})
                else:
                    rows.append(summarize(c, samples[c.name], n))
            report["series"].append({"mode": "latency", "n": n, "rtt_ms": rtt, "rows": rows})
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        stop_helpers()
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    report["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    report["machine"]["load average at the end"] = loadavg()
    with open(args.json, "w") as f:
        json.dump(report, f, indent=1)
    write_results(report, args.results)
    log(f"wrote {args.results} and {args.json}")
    return 0


# ---------------------------------------------------------------- RESULTS.md

KEEP_MARK = "<!-- hand-written notes: everything below this line is kept when run.sh rewrites the file -->"


def row_of(series, name):
    return next((r for r in series["rows"] if r["case"] == name and not r.get("failed")), None)


def targets(report):
    """Each target of the issue with the measured value and PASS/MISS."""
    out = []
    loop = {s["n"]: s for s in report["series"] if s["mode"] == "loopback"}
    lat = next((s for s in report["series"] if s["mode"] == "latency"), None)

    def verdict(ok):
        return "PASS" if ok else "**MISS**"

    s128 = loop.get(128)
    if s128:
        ml = row_of(s128, "mlist")
        mc = row_of(s128, "mlist-config")
        peers = [r for r in s128["rows"] if r["case"] in ("docker", "podman", "buildah") and not r.get("failed")]
        if ml and peers:
            best = min(peers, key=lambda r: r["median"])
            x = best["median"] / ml["median"]
            out.append(("≥ 2× faster than the fastest peer at N=128 (loopback), platform given",
                        f"{best['case']} {best['median']:.3f} s / mlist {ml['median']:.3f} s = {x:.2f}×",
                        verdict(x >= 2)))
            if mc:
                x = best["median"] / mc["median"]
                out.append(("… same, platform from config (what the peers do), cold cache",
                            f"{best['case']} {best['median']:.3f} s / mlist {mc['median']:.3f} s = {x:.2f}×",
                            verdict(x >= 2)))
            mw = row_of(s128, "mlist-config-cached")
            if mw:
                x = best["median"] / mw["median"]
                out.append(("… same, platform from config, configs cached by an earlier run",
                            f"{best['case']} {best['median']:.3f} s / mlist {mw['median']:.3f} s = {x:.2f}×",
                            verdict(x >= 2)))
        cu = row_of(s128, "curl")
        if ml and cu:
            x = ml["median"] / cu["median"]
            out.append(("within 1.3× of the minimal request sequence at N=128",
                        f"mlist {ml['median']:.3f} s / curl {cu['median']:.3f} s = {x:.2f}×", verdict(x <= 1.3)))
        cc = row_of(s128, "curl-config")
        if mc and cc:
            x = mc["median"] / cc["median"]
            out.append(("(not an issue target) platform from config against its own minimal sequence, N=128",
                        f"mlist {mc['median']:.3f} s / curl-config {cc['median']:.3f} s = {x:.2f}×",
                        "PASS" if x <= 1.3 else "over 1.3×"))
    if lat:
        ml = row_of(lat, "mlist")
        if ml:
            out.append((f"N={lat['n']} with {lat['rtt_ms']:g} ms RTT ≤ 0.5 s",
                        f"{ml['median']:.3f} s", verdict(ml["median"] <= 0.5)))
    for n, s in sorted(loop.items()):
        for name in ("mlist", "mlist-plain", "mlist-config", "mlist-config-cached", "mlist-uptodate"):
            r = row_of(s, name)
            if r:
                ex = extra_requests(r)
                out.append((f"requests = minimum, {name}, N={n}",
                            f"{fmt_methods(r['requests'])} (minimum {fmt_methods(r['expect'])})",
                            verdict(ex == "minimum")))
    big = max(loop) if loop else None
    if big:
        for name in ("mlist", "mlist-config"):
            r = row_of(loop[big], name)
            if r:
                out.append((f"peak RSS at N={big} ({name}; the 8 MiB target was retired by issue 16)",
                            f"{r['rss_kib'] / 1024:.1f} MiB", RETIRED))
    ns = sorted(n for n in loop if row_of(loop[n], "mlist"))
    if len(ns) >= 2:
        parts, linear = [], True
        for a, b in zip(ns, ns[1:]):
            ra, rb = row_of(loop[a], "mlist"), row_of(loop[b], "mlist")
            grow = rb["median"] / ra["median"]
            parts.append(f"N {a}→{b}: time ×{grow:.2f}, RSS ×{rb['rss_kib'] / ra['rss_kib']:.2f}")
            linear &= grow <= (b / a) * 1.15 and rb["rss_kib"] / ra["rss_kib"] <= (b / a) * 1.15
        out.append(("time and memory grow (at most) linearly in N (mlist, platform given)",
                    "; ".join(parts), verdict(linear)))
    vt = report.get("validate_tags")
    if vt:
        out.append((f"validate with {vt['tags']} tags < 1 s (offline)",
                    vt["failed"] if "failed" in vt else
                    f"{vt['median_s']:.3f} s median, peak RSS {vt['rss_kib'] / 1024:.1f} MiB",
                    "**MISS**" if "failed" in vt else verdict(vt["median_s"] < 1)))
    st = report.get("startup", {}).get("mlist --version")
    if st:
        base = report["startup"].get("true", {}).get("median_ms", 0)
        ms = st.get("hyperfine_median_ms", st["median_ms"])
        how = "hyperfine -N" if "hyperfine_median_ms" in st else "this harness"
        out.append(("start-up (mlist --version; the 5 ms target was retired by issue 16)",
                    f"{ms:.2f} ms median ({how}; this harness: {st['median_ms']:.2f} ms, /bin/true {base:.2f} ms)",
                    RETIRED))
    return out


# Below libcurl's own floor on Debian, and no user feels them (issue 16).
RETIRED = "retired"


def write_results(report, path):
    kept = ""
    if os.path.exists(path):
        old = open(path).read()
        if KEEP_MARK in old:
            kept = old.split(KEEP_MARK, 1)[1]
    a = report["args"]
    L = []
    L.append("# mlist benchmark results\n")
    L.append(f"Generated by `bench/run.sh` on {report['started']} (finished {report['finished']}). "
             f"Medians of {a['runs']} interleaved rounds after one warm-up round; every tool publishes "
             "the same N existing images (bench/app:img-0…, linux/amd64, distinct os.version) as one list "
             "under a new tag in the same repository of Debian's docker-registry on 127.0.0.1. "
             "Requests are counted from the registry's access log; peak RSS is the kernel's ru_maxrss "
             "(as `/usr/bin/time -v`), the largest over the steps of a tool. "
             "Raw samples: `bench/results.json`.\n")
    L.append("## Machine and versions\n")
    L.append("| | |\n|---|---|")
    for k, v in {**report["machine"], **report["versions"]}.items():
        L.append(f"| {k} | {v} |")
    L.append("")
    L.append("## Targets\n")
    L.append("| target | measured | |\n|---|---|---|")
    for t, m, v in targets(report):
        L.append(f"| {t} | {m} | {v} |")
    L.append("")
    for s in report["series"]:
        if s["mode"] == "loopback":
            L.append(f"## N = {s['n']}, loopback\n")
        else:
            L.append(f"## N = {s['n']}, {s['rtt_ms']:g} ms round trip (delaying proxy on loopback)\n")
        L.append(table(s["rows"], "mlist"))
        fails = [r for r in s["rows"] if r.get("failed")]
        for r in fails:
            L.append(f"\n- {r['label']}: did not run here: {r['failed']}")
        L.append("")
    st = report.get("startup")
    if st:
        L.append("## Start-up\n")
        L.append("| command | median ms (this harness) | min ms | median ms (hyperfine -N) | min ms | peak RSS MiB |\n"
                 "|---|---:|---:|---:|---:|---:|")
        for k, v in st.items():
            hf = (f"{v['hyperfine_median_ms']:.2f} | {v['hyperfine_min_ms']:.2f}"
                  if "hyperfine_median_ms" in v else "— | —")
            L.append(f"| {k} | {v['median_ms']:.2f} | {v['min_ms']:.2f} | {hf} | {v['rss_kib'] / 1024:.1f} |")
        L.append("")
    if report["unavailable"]:
        L.append("## Tools that could not run\n")
        for k, v in report["unavailable"].items():
            L.append(f"- {k}: {v}")
        L.append("")
    L.append("## Column meanings\n")
    L.append("- *×mlist*: the row's median divided by `mlist create` (platform given) in the same table.\n"
             "- *requests*: access-log lines between two marker requests, by method; `[HEAD 404×2]` lists "
             "answers ≥ 400. *beyond minimum*: the difference from N HEAD + 1 PUT (platform given), "
             "N GET manifest + N GET config + 1 PUT (platform from config; every image here has its own "
             "config; the peers are compared with this one, as they read every config) or N HEAD + 1 HEAD "
             "of the list and no PUT (up to date).\n"
             "- *mlist --plain-http*: the same as the first row without the automatic TLS probe (mlist "
             "tries HTTPS first on a loopback registry, then falls back to plain HTTP).\n"
             "- docker: `docker manifest create --insecure` + `docker manifest push --insecure` (no daemon). "
             "podman/buildah: `manifest create LIST docker://IMG…` + `manifest push` with vfs storage in a "
             "temp dir, the registry marked insecure in a registries.conf; podman with `--all=false` (its "
             "default `--all=true` re-pushes every child manifest), buildah's default pushes the list only.\n"
             "- curl: one `curl --parallel --parallel-max C -I` for the N manifests (C = mlist's default "
             "concurrency, 8) then one `curl -X PUT` of a list computed beforehand. curl-config: the "
             "same with GET of the N manifests, then GET of the N configs (C at a time), then the PUT: "
             "the floor of the platform-from-config case on this registry.\n"
             "- The latency series goes through `bench/delayproxy.py`, which delays every chunk 10 ms each "
             "way and the first chunk of a connection one more round trip (the TCP handshake, which the "
             "kernel completes before a userspace proxy sees the connection).\n")
    L.append(KEEP_MARK + (kept if kept else "\n"))
    with open(path, "w") as f:
        f.write("\n".join(L))


if __name__ == "__main__":
    sys.exit(main())
