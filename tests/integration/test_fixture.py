"""Self-tests of the registry fixture (no mlist, no ml-seed needed)."""

import json
import os
import ssl
import time
import unittest
import urllib.error
import urllib.request

import fixture
from fixture import Registry, is_alive, port_open, sha256_digest


def _no_proxy_opener(*handlers):
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), *handlers)


class FixturePlainTest(unittest.TestCase):

    def test_plain_v2_answers_and_stops(self):
        with Registry() as reg:
            pid, port = reg.pid, reg.port
            self.assertTrue(reg.host.startswith("127.0.0.1:"))
            status, headers, body = reg.request("GET", "/v2/")
            self.assertEqual(status, 200)
            self.assertEqual(json.loads(body), {})
            self.assertEqual(headers.get("Docker-Distribution-Api-Version"), "registry/2.0")
            # independent of the fixture's opener
            with _no_proxy_opener().open(reg.url("/v2/"), timeout=5) as r:
                self.assertEqual(r.status, 200)
            self.assertTrue(is_alive(pid))
            tmp = reg.tmp
        self.assertFalse(reg.running())
        self.assertFalse(is_alive(pid), "registry process %d still alive" % pid)
        self.assertFalse(port_open(port), "port %d still open" % port)
        self.assertFalse(os.path.exists(tmp), "temp dir not removed")

    def test_two_registries_get_distinct_ports(self):
        with Registry() as a, Registry() as b:
            self.assertNotEqual(a.port, b.port)
            self.assertEqual(a.request("GET", "/v2/")[0], 200)
            self.assertEqual(b.request("GET", "/v2/")[0], 200)

    def test_stop_on_exception_inside_with(self):
        holder = {}
        with self.assertRaises(RuntimeError):
            with Registry() as reg:
                holder["pid"] = reg.pid
                raise RuntimeError("test failed inside the fixture")
        self.assertFalse(is_alive(holder["pid"]))

    def test_stop_is_idempotent_and_kills_stubborn(self):
        reg = Registry().start()
        pid = reg.pid
        os.kill(pid, 19)  # SIGSTOP: terminate() cannot finish it, kill() must
        t0 = time.monotonic()
        reg.stop()
        reg.stop()
        self.assertFalse(is_alive(pid))
        self.assertLess(time.monotonic() - t0, 15)

    def test_atexit_hook_stops_live_registries(self):
        reg = Registry().start()
        pid = reg.pid
        self.assertIn(reg, fixture._live)
        fixture._stop_all()  # what atexit runs
        self.assertFalse(is_alive(pid))
        self.assertNotIn(reg, fixture._live)

    def test_startup_failure_reports_log_tail(self):
        reg = Registry()
        reg._config = lambda: "version: 0.1\nstorage: {nonexistent_driver: {}}\n" \
                              "http: {addr: '127.0.0.1:0'}\n"
        with self.assertRaises(AssertionError) as cm:
            reg.start()
        self.assertIn("nonexistent_driver", str(cm.exception))
        self.assertIsNone(reg.proc)


class FixtureHelpersTest(fixture.RegistryTestCase):
    """HTTP helpers and the access log against one class-wide registry."""

    def test_push_and_read_back(self):
        reg = self.reg
        img = reg.push_test_image(self.repo, "v1-amd64")
        self.assertTrue(reg.tag_exists(self.repo, "v1-amd64"))
        self.assertFalse(reg.tag_exists(self.repo, "nope"))
        self.assertEqual(reg.manifest_digest(self.repo, "v1-amd64"), img.digest)
        self.assertIsNone(reg.manifest_digest(self.repo, "nope"))
        self.assertEqual(reg.tags(self.repo), ["v1-amd64"])
        self.assertEqual(reg.tags("it/never-pushed"), [])
        doc, body, ctype, digest = reg.manifest_json(self.repo, img.digest)
        self.assertEqual(sha256_digest(body), digest)
        self.assertEqual(ctype, fixture.DOCKER_MANIFEST)
        self.assertTrue(reg.blob_exists(self.repo, doc["config"]["digest"]))
        self.assertTrue(reg.blob_exists(self.repo, doc["layers"][0]["digest"]))
        self.assertFalse(reg.blob_exists(self.repo, "sha256:" + "0" * 64))

        # a Docker list over two images, deleted again by digest
        arm = reg.push_test_image(self.repo, "v1-arm64", arch="arm64")
        lst = {"schemaVersion": 2, "mediaType": fixture.DOCKER_LIST, "manifests": [
            {"mediaType": fixture.DOCKER_MANIFEST, "digest": i.digest, "size": i.size,
             "platform": {"os": "linux", "architecture": a}}
            for i, a in ((img, "amd64"), (arm, "arm64"))]}
        ld = reg.put_manifest(self.repo, "v1", lst, fixture.DOCKER_LIST)
        got = self.assertListAt("v1", digest=ld)
        self.assertEqual(len(got["manifests"]), 2)
        self.assertEqual(reg.delete_manifest(self.repo, ld), 202)
        self.assertFalse(reg.tag_exists(self.repo, "v1"))
        self.assertTrue(reg.manifest_exists(self.repo, img.digest))

    def test_push_test_list(self):
        lst, imgs = self.reg.push_test_list(self.repo, "v1", ("linux/amd64", "linux/arm/v7"))
        doc = self.assertListAt("v1", digest=lst.digest, size=lst.size)
        self.assertEqual([m["digest"] for m in doc["manifests"]],
                         [imgs["linux/amd64"].digest, imgs["linux/arm/v7"].digest])
        self.assertEqual(doc["manifests"][1]["platform"],
                         {"os": "linux", "architecture": "arm", "variant": "v7"})
        self.assertTrue(self.reg.tag_exists(self.repo, "v1-armv7"))

    def test_access_log_counts_by_method(self):
        reg = self.reg
        reg.push_test_image(self.repo, "a")
        # the fixture's own requests are hidden by default ...
        self.assertEqual(reg.access_log(), [])
        log = reg.access_log(include_fixture=True)
        methods = [e.method for e in log]
        self.assertEqual(methods.count("POST"), 2)   # two blob uploads
        self.assertEqual(methods.count("PUT"), 3)    # 2 blobs + manifest
        self.assertIn(("PUT", "/v2/%s/manifests/a" % self.repo, 201), log)
        # ... foreign clients' requests are listed
        req = urllib.request.Request(reg.url("/v2/%s/manifests/a" % self.repo),
                                     method="HEAD",
                                     headers={"Accept": fixture.DOCKER_MANIFEST})
        with _no_proxy_opener().open(req, timeout=5) as r:
            self.assertEqual(r.status, 200)
        try:
            _no_proxy_opener().open(reg.url("/v2/%s/manifests/zz" % self.repo), timeout=5)
        except urllib.error.HTTPError as e:
            self.assertEqual(e.code, 404)
        log = reg.access_log()
        self.assertEqual(log, [("HEAD", "/v2/%s/manifests/a" % self.repo, 200),
                               ("GET", "/v2/%s/manifests/zz" % self.repo, 404)])
        self.assertEqual(reg.requests_by_method(), {"HEAD": 1, "GET": 1})
        reg.reset_access_log()
        self.assertEqual(reg.access_log(), [])


class FixtureTLSTest(unittest.TestCase):

    def test_tls_with_own_ca(self):
        with Registry(tls=True) as reg:
            self.assertTrue(os.path.isfile(reg.ca_path))
            self.assertTrue(reg.url("/v2/").startswith("https://127.0.0.1:"))
            self.assertEqual(reg.request("GET", "/v2/")[0], 200)
            ctx = ssl.create_default_context(cafile=reg.ca_path)
            for host in ("127.0.0.1", "localhost"):
                url = "https://%s:%d/v2/" % (host, reg.port)
                with _no_proxy_opener(urllib.request.HTTPSHandler(context=ctx)).open(
                        url, timeout=5) as r:
                    self.assertEqual(r.status, 200, url)
            # without the CA: verification fails
            with self.assertRaises(urllib.error.URLError) as cm:
                _no_proxy_opener(urllib.request.HTTPSHandler(
                    context=ssl.create_default_context())).open(reg.url("/v2/"), timeout=5)
            self.assertIsInstance(cm.exception.reason, ssl.SSLCertVerificationError)
            self.assertEqual(reg.global_args(), ["--ca-cert", reg.ca_path])
            img = reg.push_test_image("tls/app", "x")
            self.assertEqual(reg.manifest_digest("tls/app", "x"), img.digest)
            pid = reg.pid
        self.assertFalse(is_alive(pid))


class FixtureHtpasswdTest(unittest.TestCase):

    def test_htpasswd(self):
        with Registry(htpasswd=("alice", "s3cret-pw")) as reg:
            status, headers, _ = reg.request("GET", "/v2/", auth=False)
            self.assertEqual(status, 401)
            self.assertIn("Basic", headers.get("WWW-Authenticate", ""))
            self.assertEqual(reg.request("GET", "/v2/")[0], 200)
            status, _, _ = reg.request("GET", "/v2/", auth=False, headers={
                "Authorization": "Basic YWxpY2U6d3Jvbmc="})  # alice:wrong
            self.assertEqual(status, 401)
            img = reg.push_test_image("auth/app", "x")
            self.assertEqual(reg.manifest_digest("auth/app", "x"), img.digest)
            self.assertEqual(reg.global_args(),
                             ["--plain-http", "--username", "alice", "--password", "s3cret-pw"])
            pid = reg.pid
        self.assertFalse(is_alive(pid))


if __name__ == "__main__":
    unittest.main()
