#!/usr/bin/env python3
"""Big copy: a list of two images with one large layer each (256 MiB by
default), copied from one loopback docker-registry to another, by mlist and
by its peers: `skopeo copy --all` (cold blob-info cache), crane and regctl
when found on PATH or in $PEERS_BIN. Then the warm case: the blobs are
already in another repository of the target registry, which mlist finds
through its blob-location cache and mounts. Run it through bench/run.sh
--big-copy (or directly once mlist is built); see bench/README.md.

Each round copies into a new repository, so no tool finds the blobs in
place; the order of the tools rotates from round to round. Reported: the
median wall time, peak RSS (GNU time), the requests the target registry saw,
and the most files seen at once in the tool's TMPDIR (mlist runs with an
unwritable TMPDIR: a temporary file there would fail the copy).
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import (BENCH, MIB, MT_DOCKER_LIST, MT_DOCKER_MANIFEST, ROOT, Registry,  # noqa: E402
                   count_methods, fmt_methods, machine_info, run_timed, snapshot, source_state,
                   stop_helpers)

SECTION_BEGIN = "<!-- big copy: written by bench/bigcopy.py -->"
SECTION_END = "<!-- big copy: end -->"
SOURCE = "bench/big"


def push_blob(host, repo, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    req = urllib.request.Request(f"http://{host}/v2/{repo}/blobs/uploads/", data=b"", method="POST")
    loc = urllib.request.urlopen(req).headers["Location"]
    loc = loc if loc.startswith("http") else f"http://{host}{loc}"
    sep = "&" if "?" in loc else "?"
    urllib.request.urlopen(urllib.request.Request(f"{loc}{sep}digest={digest}", data=data, method="PUT",
                                                  headers={"Content-Type": "application/octet-stream"}))
    return digest


def put_manifest(host, repo, ref, doc, media_type):
    body = json.dumps(doc).encode()
    urllib.request.urlopen(urllib.request.Request(f"http://{host}/v2/{repo}/manifests/{ref}", data=body,
                                                  method="PUT", headers={"Content-Type": media_type}))
    return "sha256:" + hashlib.sha256(body).hexdigest(), len(body)


def seed(host, size):
    """Two images (amd64, arm64), one random layer of `size` bytes each, and
    a list over them at SOURCE:list."""
    entries = []
    for arch in ("amd64", "arm64"):
        layer = os.urandom(size)
        cfg = json.dumps({"architecture": arch, "os": "linux", "config": {},
                          "rootfs": {"type": "layers",
                                     "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]}}).encode()
        man = {"schemaVersion": 2, "mediaType": MT_DOCKER_MANIFEST,
               "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                          "size": len(cfg), "digest": push_blob(host, SOURCE, cfg)},
               "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                           "size": size, "digest": push_blob(host, SOURCE, layer)}]}
        del layer
        digest, length = put_manifest(host, SOURCE, f"img-{arch}", man, MT_DOCKER_MANIFEST)
        entries.append({"mediaType": MT_DOCKER_MANIFEST, "digest": digest, "size": length,
                        "platform": {"os": "linux", "architecture": arch}})
    put_manifest(host, SOURCE, "list", {"schemaVersion": 2, "mediaType": MT_DOCKER_LIST, "manifests": entries},
                 MT_DOCKER_LIST)


class TmpWatch:
    """The most entries seen at once in a directory (polled every 5 ms)."""

    def __init__(self, path):
        self.path, self.peak, self.stop = path, 0, threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            try:
                self.peak = max(self.peak, sum(len(files) + len(dirs) for _, dirs, files in os.walk(self.path)))
            except OSError:
                pass
            time.sleep(0.005)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def find_peer(name):
    d = os.environ.get("PEERS_BIN")
    if d and os.access(os.path.join(d, name), os.X_OK):
        return os.path.join(d, name)
    return shutil.which(name)


class Tool:
    """One way to copy SOURCE:list from src to dst/<repo>:v1."""
    tmpdir_unwritable = False

    def __init__(self, name, work):
        self.name, self.work = name, work

    def argv_env(self, src, dst, repo):
        raise NotImplementedError

    def run(self, src, dst, repo, timeout):
        tmp = tempfile.mkdtemp(dir=self.work, prefix="tmp-")
        argv, env = self.argv_env(src, dst, repo)
        env = dict(os.environ, **env)
        env["TMPDIR"] = "/nonexistent/bench-no-tmpdir" if self.tmpdir_unwritable else tmp
        with TmpWatch(tmp) as w:
            res = run_timed(argv, env=env, timeout=timeout)
        shutil.rmtree(tmp, ignore_errors=True)
        res.tmp_peak = w.peak
        return res


class Mlist(Tool):
    tmpdir_unwritable = True

    def __init__(self, name, work, binary, cache=None):
        super().__init__(name, work)
        self.binary, self.cache = binary, cache

    def argv_env(self, src, dst, repo):
        spec = os.path.join(self.work, f"{repo.replace('/', '-')}.yaml")
        with open(spec, "w") as f:
            f.write(f"image: {dst}/{repo}:v1\nmanifests:\n"
                    f"  - image: {src}/{SOURCE}:img-amd64\n    platform: {{os: linux, architecture: amd64}}\n"
                    f"  - image: {src}/{SOURCE}:img-arm64\n    platform: {{os: linux, architecture: arm64}}\n")
        cache = ["--cache-dir", self.cache] if self.cache else ["--no-cache"]
        return [self.binary, "--plain-http", *cache, "create", spec], {}


class Skopeo(Tool):
    def argv_env(self, src, dst, repo):
        # skopeo remembers where it saw blobs (as root in
        # /var/lib/containers/cache) and would mount them from an earlier
        # round: each run gets an empty one, bound over it in a mount
        # namespace of its own.
        empty = tempfile.mkdtemp(dir=self.work, prefix="skopeo-cache-")
        copy = ["skopeo", "copy", "--all", "--quiet", "--src-tls-verify=false", "--dest-tls-verify=false",
                f"docker://{src}/{SOURCE}:list", f"docker://{dst}/{repo}:v1"]
        if os.geteuid() != 0:
            return copy, {"XDG_DATA_HOME": empty}
        return ["unshare", "-m", "--propagation", "private", "sh", "-c",
                'mount --bind "$0" /var/lib/containers/cache && exec "$@"', empty, *copy], {}


class Crane(Tool):
    def __init__(self, name, work, binary):
        super().__init__(name, work)
        self.binary = binary

    def argv_env(self, src, dst, repo):
        return [self.binary, "copy", "--insecure", f"{src}/{SOURCE}:list", f"{dst}/{repo}:v1"], {}


class Regctl(Crane):
    def argv_env(self, src, dst, repo):
        home = tempfile.mkdtemp(dir=self.work, prefix="regctl-")
        return [self.binary, "--host", f"reg={src},tls=disabled", "--host", f"reg={dst},tls=disabled",
                "image", "copy", f"{src}/{SOURCE}:list", f"{dst}/{repo}:v1"], {"HOME": home}


def verify(dst, repo):
    """The copy is whole: the list and both images, every blob present."""
    req = urllib.request.Request(f"http://{dst}/v2/{repo}/manifests/v1",
                                 headers={"Accept": MT_DOCKER_LIST + "," + MT_DOCKER_MANIFEST})
    doc = json.loads(urllib.request.urlopen(req).read())
    for m in doc["manifests"]:
        req = urllib.request.Request(f"http://{dst}/v2/{repo}/manifests/{m['digest']}",
                                     headers={"Accept": MT_DOCKER_MANIFEST})
        man = json.loads(urllib.request.urlopen(req).read())
        for b in [man["config"]] + man["layers"]:
            urllib.request.urlopen(urllib.request.Request(f"http://{dst}/v2/{repo}/blobs/{b['digest']}",
                                                          method="HEAD"))
    return len(doc["manifests"]) == 2


def series(tools, src, dst_reg, runs, label, timeout):
    samples = {t.name: [] for t in tools}
    for rnd in range(runs):
        order = tools[rnd % len(tools):] + tools[:rnd % len(tools)]
        for t in order:
            repo = f"bench/{label}-{t.name}-{rnd}"
            dst_reg.mark()
            res = t.run(src, dst_reg.host, repo, timeout)
            reqs = dst_reg.mark()
            ok = res.rc == 0 and verify(dst_reg.host, repo)
            samples[t.name].append({"wall": res.wall, "rss_kib": res.maxrss_kib, "tmp_peak": res.tmp_peak,
                                    "requests": count_methods(reqs), "ok": ok,
                                    "error": "" if ok else (res.err or res.out)[-400:]})
            print(f"{label} {t.name} round {rnd}: {res.wall:.2f} s, {res.maxrss_kib / 1024:.1f} MiB"
                  + ("" if ok else f", FAILED: {res.err.strip()[-200:]}"), file=sys.stderr)
    return samples


def summary(samples):
    rows = {}
    for name, ss in samples.items():
        good = [s for s in ss if s["ok"]]
        if not good:
            rows[name] = {"error": ss[0]["error"] if ss else "not run"}
            continue
        rows[name] = {"wall": statistics.median(s["wall"] for s in good),
                      "rss_mib": max(s["rss_kib"] for s in good) / 1024,
                      "tmp_peak": max(s["tmp_peak"] for s in good),
                      "requests": good[-1]["requests"], "runs": len(good)}
    return rows


def table(rows, title):
    out = [f"#### {title}", "", "| tool | wall (median) | peak RSS | files in TMPDIR | target registry requests |",
           "|---|---:|---:|---:|---|"]
    for name, r in rows.items():
        if "error" in r:
            out.append(f"| {name} | failed: {r['error'].strip().splitlines()[-1][:120] if r['error'].strip() else '?'} | | | |")
            continue
        tmp = "none (TMPDIR unwritable)" if name.startswith("mlist") else str(r["tmp_peak"])
        out.append(f"| {name} | {r['wall']:.2f} s | {r['rss_mib']:.1f} MiB | {tmp} | {fmt_methods(r['requests'])} |")
    return out


def write_section(path, lines):
    text = open(path).read() if os.path.exists(path) else ""
    block = "\n".join([SECTION_BEGIN, *lines, SECTION_END]) + "\n"
    if SECTION_BEGIN in text and SECTION_END in text:
        a, b = text.index(SECTION_BEGIN), text.index(SECTION_END) + len(SECTION_END) + 1
        text = text[:a] + block + text[b:]
    else:
        text = text.rstrip("\n") + "\n\n" + block
    with open(path, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mib", type=int, default=256, help="layer size of each image (default 256)")
    ap.add_argument("--runs", type=int, default=3, help="rounds (default 3)")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--mlist", default=os.path.join(ROOT, "build/cli/mlist"))
    ap.add_argument("--results", default=os.path.join(BENCH, "RESULTS.md"))
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="mlist-bigcopy-")
    try:
        os.makedirs(os.path.join(work, "src"))
        os.makedirs(os.path.join(work, "dst"))
        src, dst = Registry(os.path.join(work, "src")), Registry(os.path.join(work, "dst"))
        print(f"seeding 2 x {args.size_mib} MiB on {src.host}", file=sys.stderr)
        seed(src.host, args.size_mib * MIB)
        mlist = snapshot(args.mlist, work, "mlist")
        tools = [Mlist("mlist", work, mlist), Skopeo("skopeo", work)]
        for name, cls in (("crane", Crane), ("regctl", Regctl)):
            if find_peer(name):
                tools.append(cls(name, work, find_peer(name)))
        cold = summary(series(tools, src.host, dst, args.runs, "cold", args.timeout))
        # warm: the blobs sit in another repository of the target registry,
        # where mlist's blob-location cache saw them on an earlier copy
        cache = os.path.join(work, "mlist-cache")
        base = Mlist("mlist-warm", work, mlist, cache)
        base.run(src.host, dst.host, "bench/warm-base", args.timeout)
        warm = summary(series([base], src.host, dst, args.runs, "warm", args.timeout))
        peers = [r["wall"] for n, r in cold.items() if n != "mlist" and "wall" in r]
        fastest = min(peers) if peers else None
        m = cold.get("mlist", {})
        w = warm.get("mlist-warm", {})
        lines = [f"### Big copy: 2 × {args.size_mib} MiB layers, registry to registry",
                 "",
                 f"`bench/bigcopy.py`, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; medians of "
                 f"{args.runs}; mlist {source_state(args.mlist)}; "
                 + "; ".join(f"{k}: {v}" for k, v in machine_info().items() if k in ("cpus (nproc)", "cpu",
                                                                                   "load average at start")),
                 "", *table(cold, "Cold (no tool has seen the blobs; skopeo with an empty blob-info cache)"),
                 "", *table(warm, "Warm (blobs in another repository of the target registry; mlist's "
                              "blob-location cache knows it)"), "", "Targets:", ""]
        if "wall" in m and fastest:
            lines.append(f"- cold ≥ 1.2× faster than the fastest peer ({fastest:.2f} s): "
                         f"{fastest / m['wall']:.2f}× — {'met' if fastest / m['wall'] >= 1.2 else 'missed'}")
        if "rss_mib" in m:
            lines.append(f"- peak RSS ≤ 32 MiB: {m['rss_mib']:.1f} MiB — {'met' if m['rss_mib'] <= 32 else 'missed'}")
        lines.append("- no temporary files: mlist ran with TMPDIR unwritable — "
                     + ("met" if "wall" in m else "missed (the copy failed)"))
        if "wall" in w:
            lines.append(f"- warm < 0.5 s: {w['wall']:.2f} s — {'met' if w['wall'] < 0.5 else 'missed'}")
        write_section(args.results, lines)
        print("\n".join(lines))
    finally:
        stop_helpers()
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
