"""Big copies: each blob streams from its source straight into its upload
(no temporary file: TMPDIR may be unwritable), several at once; a copy
broken mid-way starts again; blobs are mounted from where the
blob-location cache saw them; layouts stream both ways."""

import hashlib
import json
import os
import random
import socket
import struct
import threading
import unittest

from fakeregistry import FakeRegistry
from faultproxy import FaultProxy
from fixture import MlistTestCase, TwoRegistriesTestCase, fresh_cache_dir
from loopback import listen_on_loopback, shut
from imagedata import DOCKER_CONFIG_TYPE, DOCKER_LAYER, DOCKER_MANIFEST, sha256_digest

LAYER_BYTES = 3 * 1024 * 1024  # more than the copy's 1 MiB pipe, so it pauses
NO_TMPDIR = {"TMPDIR": "/nonexistent/mlist-no-tmpdir"}


def big_image(reg, ref, arch, size=LAYER_BYTES):
    """Pushes a one-layer image whose layer is `size` random bytes (seeded by
    ref and arch) -> (manifest digest, [config digest, layer digest])."""
    layer = random.Random(ref + arch).randbytes(size)
    cfg = json.dumps({"architecture": arch, "os": "linux", "config": {},
                      "rootfs": {"type": "layers", "diff_ids": [sha256_digest(layer)]}}).encode()
    repo, tag = ref.rsplit(":", 1)
    blobs = [reg.push_blob(repo, cfg), reg.push_blob(repo, layer)]
    man = {"schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
           "config": {"mediaType": DOCKER_CONFIG_TYPE, "size": len(cfg), "digest": blobs[0]},
           "layers": [{"mediaType": DOCKER_LAYER, "size": len(layer), "digest": blobs[1]}]}
    return reg.put_manifest(repo, tag, man, DOCKER_MANIFEST), blobs


class CutUploads:
    """Upload sessions that break on the wire: each connection is read for
    64 KiB, then reset (no HTTP answer)."""

    def __init__(self):
        self.sock = listen_on_loopback(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            c.settimeout(5)
            try:
                got = 0
                while got < 64 * 1024:
                    data = c.recv(65536)
                    if not data:
                        break
                    got += len(data)
            except OSError:
                pass
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            shut(c, how=None)

    def stop(self):
        shut(self.sock)


class CopyTest(TwoRegistriesTestCase):

    def setUp(self):
        super().setUp()
        self.images = {arch: big_image(self.other, "%s:src-%s" % (self.repo, arch), arch)
                       for arch in ("amd64", "arm64")}

    def spec_from(self, host, dest="{HOST}/{REPO}:v1", name="spec.yaml"):
        """A list of both source images on `host` (a proxy or the other
        registry) at dest."""
        lines = ["image: %s" % dest, "manifests:"]
        for arch in self.images:
            lines += ["  - image: %s/%s:src-%s" % (host, self.repo, arch),
                      "    platform: {os: linux, architecture: %s}" % arch]
        return self.write_spec("\n".join(lines) + "\n", name=name)

    def run_copy(self, spec, *flags, cache=None, env=None):
        e = dict(NO_TMPDIR, XDG_CACHE_HOME=cache or fresh_cache_dir(), **(env or {}))
        return self.mlist("--plain-http", *flags, "update", spec, env=e)

    def assertBlobsIn(self, repo):
        """Every blob of both images is in repo, byte for byte."""
        for _, blobs in self.images.values():
            for digest in blobs:
                data = self.reg.get_blob(repo, digest)
                self.assertEqual("sha256:" + hashlib.sha256(data).hexdigest(), digest)

    def blob_uploads(self, repo=None):
        """Blob PUT/PATCH requests into repo (a copy, not a mount)."""
        prefix = "/v2/%s/blobs/uploads/" % (repo or self.repo)
        return [e for e in self.reg.access_log() if e.method in ("PUT", "PATCH") and e.path.startswith(prefix)]

    def test_copy_with_tmpdir_unwritable(self):
        r = self.run_copy(self.spec_from(self.other.host))
        self.assertOk(r)
        self.assertListAt("v1")
        self.assertBlobsIn(self.repo)
        self.assertEqual(len(self.blob_uploads()), 4, "four blobs, each uploaded once")

    def test_largest_first_and_no_deadlock_at_low_concurrency(self):
        self.images["arm64"] = big_image(self.other, "%s:src-arm64" % self.repo, "arm64", LAYER_BYTES + 4096)
        order = [self.images["arm64"][1][1], self.images["amd64"][1][1]]
        for conc in ("2", "1"):
            # a download and its upload run as a pair: one copy at a time
            target = "{HOST}/%s-c%s:v1" % (self.repo, conc)
            self.reg.reset_access_log()
            r = self.run_copy(self.spec_from(self.other.host, dest=target, name="c%s.yaml" % conc),
                              "--concurrency", conc)
            self.assertOk(r)
            puts = [e.path for e in self.blob_uploads("%s-c%s" % (self.repo, conc))]
            self.assertEqual(len(puts), 4, puts)
            self.assertEqual([p.split("digest=")[1] for p in puts[:2]], order, "largest first")
            self.assertBlobsIn("%s-c%s" % (self.repo, conc))

    def test_manifest_goes_as_soon_as_its_own_blobs_are_in(self):
        """A small image's manifest is written while a big blob of another
        image still copies, not after the whole blob batch."""
        slow_layer = self.images["amd64"][1][1]
        fast_manifest = self.images["arm64"][0]
        self.reg.reset_access_log()
        with FaultProxy(self.other.port) as px:
            # 3 MiB at 1 MiB a second: the upload it feeds ends after 2 s
            px.add("GET", r"/blobs/%s$" % slow_layer, "trickle", rate=1024 * 1024)
            r = self.run_copy(self.spec_from(px.host))
        self.assertOk(r)
        log = [(e.method, e.path) for e in self.reg.access_log() if e.status < 300]
        fast_put = log.index(("PUT", "/v2/%s/manifests/%s" % (self.repo, fast_manifest)))
        slow_put = [i for i, (m, path) in enumerate(log)
                    if m == "PUT" and path.endswith("digest=" + slow_layer)]
        self.assertEqual(len(slow_put), 1, log)
        order = ["%s %s" % (m, path.split("?")[0].rsplit("/", 1)[-1][:19]) for m, path in log]
        self.assertLess(fast_put, slow_put[0], "the small image's manifest waited for the big blob: %s" % order)
        self.assertListAt("v1")
        self.assertBlobsIn(self.repo)

    def test_download_broken_mid_way_is_started_again(self):
        layer = self.images["amd64"][1][1]
        with FaultProxy(self.other.port) as px:
            px.add("GET", r"/blobs/%s$" % layer, "truncate", times=1)
            r = self.run_copy(self.spec_from(px.host), "--retries", "2")
            gets = px.entries("GET", r"/blobs/%s$" % layer)
        self.assertOk(r)
        self.assertEqual([e.action for e in gets], ["truncate", "forward"], "cut once, then read whole")
        self.assertBlobsIn(self.repo)
        self.assertListAt("v1")

    def test_challenge_on_the_download_sends_its_upload_again(self):
        # a 401 on one end of a piped copy: both ends go again, not the
        # download alone into a pipe whose upload is gone
        layer = self.images["amd64"][1][1]
        with FaultProxy(self.other.port) as px:
            px.add("GET", r"/blobs/%s$" % layer, "status", status=401, times=1,
                   code="UNAUTHORIZED", headers={"WWW-Authenticate": 'Basic realm="fault"'})
            r = self.run_copy(self.spec_from(px.host), "--retries", "0")
            gets = px.entries("GET", r"/blobs/%s$" % layer)
        self.assertOk(r)
        self.assertEqual([e.status for e in gets], [401, 200], "challenged once, then read")
        self.assertBlobsIn(self.repo)
        self.assertListAt("v1")

    def test_upload_cut_on_the_wire_is_reported_as_the_upload(self):
        # the download then ends for want of a reader: not its own failure
        cut = CutUploads()
        self.addCleanup(cut.stop)

        def elsewhere(status, headers, body):
            loc = "http://127.0.0.1:%d/upload/session" % cut.port
            return status, [(k, loc if k.lower() == "location" else v) for k, v in headers], body

        with FaultProxy(self.reg.port) as px:
            px.add("POST", r"/blobs/uploads/", "rewrite", fn=elsewhere)
            spec = self.spec_from(self.other.host, dest="%s/{REPO}:v1" % px.host)
            r = self.run_copy(spec, "--retries", "0")
        self.assertExit(r, 1)
        self.assertIn("upload blob to", r.stderr)
        self.assertNotIn("GET blob", r.stderr)

    def test_upload_broken_mid_way_is_started_again(self):
        with FaultProxy(self.reg.port) as px:
            px.add("PUT", r"/blobs/uploads/", "reset", times=1)
            spec = self.spec_from(self.other.host, dest="%s/{REPO}:v1" % px.host)
            r = self.run_copy(spec, "--retries", "2")
            puts = px.entries("PUT", r"/blobs/uploads/")
        self.assertOk(r)
        self.assertIn("reset", [e.action for e in puts])
        self.assertEqual(len(puts), 5, "four uploads, one of them twice: %s" % (puts,))
        self.assertBlobsIn(self.repo)

    def test_failed_copy_leaves_the_tag_as_it_was(self):
        before = self.run_copy(self.spec_from(self.other.host))
        self.assertOk(before)
        digest = self.reg.manifest_digest(self.repo, "v1")
        # the images change at the source; every read of a new layer breaks
        self.images = {arch: big_image(self.other, "%s:src-%s" % (self.repo, arch), arch, LAYER_BYTES + 1)
                       for arch in ("amd64", "arm64")}
        with FaultProxy(self.other.port) as px:
            px.add("GET", r"/blobs/sha256:", "truncate")
            r = self.run_copy(self.spec_from(px.host), "--retries", "1")
        self.assertExit(r, 1)
        self.assertEqual(self.reg.manifest_digest(self.repo, "v1"), digest, "the tag did not move")

    def test_mount_from_the_blob_location_cache(self):
        cache = fresh_cache_dir()
        first = self.repo + "-first"
        spec = self.spec_from(self.other.host, dest="{HOST}/%s:v1" % first, name="first.yaml")
        self.assertOk(self.run_copy(spec, cache=cache))
        self.reg.reset_access_log()
        self.assertOk(self.run_copy(self.spec_from(self.other.host), cache=cache))
        log = self.reg.access_log()
        mounts = [e for e in log if e.method == "POST" and "mount=" in e.path]
        self.assertEqual(len(mounts), 4, log)
        self.assertTrue(all("from=%s" % first in e.path and e.status == 201 for e in mounts), mounts)
        self.assertEqual(self.blob_uploads(), [], "mounted, not uploaded")
        self.assertBlobsIn(self.repo)
        self.assertListAt("v1")

    def test_declined_mount_falls_back_to_a_copy(self):
        # the cache names a repository that never held the blobs: the
        # registry declines each mount (202, an upload session instead)
        cache = fresh_cache_dir()
        for _, blobs in self.images.values():
            for digest in blobs:
                d = os.path.join(cache, "mlist", "blobs", "sha256")
                os.makedirs(d, exist_ok=True)
                with open(os.path.join(d, digest.split(":")[1]), "w") as f:
                    f.write("%s it/never-held-it\n" % self.reg.host)
        self.assertOk(self.run_copy(self.spec_from(self.other.host), cache=cache))
        log = self.reg.access_log()
        mounts = [e for e in log if e.method == "POST" and "mount=" in e.path]
        self.assertEqual(len(mounts), 4, log)
        self.assertTrue(all("from=it/never-held-it" in e.path and e.status == 202 for e in mounts), mounts)
        self.assertEqual(len(self.blob_uploads()), 4)
        self.assertBlobsIn(self.repo)

    def test_registry_to_layout_and_back(self):
        layout = os.path.join(self.tmpdir, "layout")
        self.assertOk(self.run_copy(self.spec_from(self.other.host, dest="oci:%s:v1" % layout)))
        for _, blobs in self.images.values():
            for digest in blobs:
                with open(os.path.join(layout, "blobs", "sha256", digest.split(":")[1]), "rb") as f:
                    self.assertEqual("sha256:" + hashlib.sha256(f.read()).hexdigest(), digest)
        self.assertEqual([n for n in os.listdir(layout) if n.startswith(".mlist-tmp")], [])
        lines = ["image: {HOST}/{REPO}:v2", "manifests:"]
        lines += ["  - image: oci:%s@%s" % (layout, man) for man, _ in self.images.values()]
        self.assertOk(self.run_copy(self.write_spec("\n".join(lines) + "\n", name="back.yaml")))
        self.assertBlobsIn(self.repo)
        self.assertListAt("v2")


class ResumeTest(MlistTestCase):
    """distribution 2.8 drops an upload whose PUT broke; a registry that
    keeps it says where it stands, and the copy goes on from there."""

    def test_broken_upload_resumes_where_the_registry_says(self):
        man, (_, layer) = big_image(self.reg, "%s:src" % self.repo, "amd64")
        with FakeRegistry() as fr, FaultProxy(self.reg.port) as px:
            px.add("GET", r"/blobs/%s$" % layer, "truncate", times=1)
            spec = self.write_spec("image: %s/it/copy:v1\nmanifests:\n  - image: %s/{REPO}:src\n"
                                   "    platform: {os: linux, architecture: amd64}\n" % (fr.host, px.host))
            r = self.mlist("--plain-http", "--retries", "2", "update", spec, env=NO_TMPDIR)
            gets = px.entries("GET", r"/blobs/%s$" % layer)
            log = list(fr.log)
        self.assertOk(r)
        status = [e for e in log if e.method == "GET" and "/blobs/uploads/" in e.path]
        self.assertEqual([e.status for e in status], [204], log)
        self.assertEqual([(e.action, e.status) for e in gets], [("truncate", 200), ("forward", 206)],
                         "the second read starts where the upload stands")
        puts = [e.path.split("?")[0] for e in log if e.method == "PUT" and "digest=" + layer in e.path]
        self.assertEqual(len(puts), 2, log)
        self.assertEqual(puts[0], puts[1], "the broken upload's session goes on")
        self.assertEqual(sha256_digest(fr.blobs[layer]), layer)
        self.assertIsNotNone(fr.manifest("it/copy", "v1"))

    def test_source_ignoring_range_is_copied_from_the_start(self):
        man, (_, layer) = big_image(self.reg, "%s:src" % self.repo, "amd64")
        whole = self.reg.get_blob(self.repo, layer)

        def no_range(status, headers, body):
            return 200, [(k, v) for k, v in headers if k.lower() != "content-range"], whole

        with FakeRegistry() as fr, FaultProxy(self.reg.port) as px:
            px.add("GET", r"/blobs/%s$" % layer, "truncate", times=1)
            px.add("GET", r"/blobs/%s$" % layer, "rewrite", fn=no_range)
            spec = self.write_spec("image: %s/it/copy:v1\nmanifests:\n  - image: %s/{REPO}:src\n"
                                   "    platform: {os: linux, architecture: amd64}\n" % (fr.host, px.host))
            r = self.mlist("--plain-http", "--retries", "2", "update", spec, env=NO_TMPDIR)
            gets = px.entries("GET", r"/blobs/%s$" % layer)
        self.assertOk(r)
        self.assertEqual(len(gets), 3, "cut, whole instead of the rest, whole from the start: %s" % (gets,))
        self.assertEqual(sha256_digest(fr.blobs[layer]), layer)
        self.assertIsNotNone(fr.manifest("it/copy", "v1"))


if __name__ == "__main__":
    unittest.main()
