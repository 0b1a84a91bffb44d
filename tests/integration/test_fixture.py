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



class FixtureTokenServerTest(unittest.TestCase):
    """The token server against a real registry (token auth), and the
    helpers built for the auth tests (no mlist needed)."""

    @classmethod
    def setUpClass(cls):
        cls.reg = Registry(tls=True, token={
            "users": {"alice": "pw-a", "bob": "pw-b"},
            "grants": {"bob": [("*", "pull")]},
            "anonymous": [("pub/*", "pull")]})
        cls.addClassCleanup(cls.reg.stop)
        cls.reg.start()

    def setUp(self):
        self.ts = self.reg.token_server
        self.ts.clear_log()

    def registry_get(self, path, token=None, method="GET", body=None):
        hdrs = {"Authorization": "Bearer " + token} if token else {}
        hdrs["Accept"] = ", ".join(fixture.ALL_MANIFEST_TYPES)
        return self.reg.request(method, path, headers=hdrs, body=body, auth=False)

    def user_token(self, user, password, scopes):
        status, obj = self.reg.fetch_token(scopes, user, password, ua="self-test")
        self.assertEqual(status, 200, obj)
        self.assertEqual(obj["token"], obj["access_token"])
        self.assertEqual(obj["expires_in"], 300)
        self.assertRegex(obj["issued_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        return obj["token"]

    def test_token_challenge_and_kid(self):
        status, headers, _ = self.registry_get("/v2/")
        self.assertEqual(status, 401)
        ch = headers.get("WWW-Authenticate")
        self.assertEqual(ch, 'Bearer realm="%s",service="%s"' % (self.ts.realm, self.ts.service))
        self.assertTrue(self.ts.realm.startswith("https://127.0.0.1:"))
        self.assertRegex(self.ts.kid, r"^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$")
        # the fixture's own requests work, and are hidden from log()
        img = self.reg.push_test_image("priv/app", "x")
        self.assertEqual(self.reg.manifest_digest("priv/app", "x"), img.digest)
        self.assertEqual(self.ts.log(), [])
        self.assertTrue(self.ts.log(include_fixture=True))
        self.assertEqual(self.reg.global_args(),
                         ["--ca-cert", self.reg.ca_path, "--username", "alice", "--password", "pw-a"])

    def test_token_grants_checked_by_registry(self):
        img = self.reg.push_test_image("priv/g", "x")
        tok = self.user_token("alice", "pw-a", ["repository:priv/g:pull,push"])
        claims = self.ts.decode(tok)
        self.assertEqual(claims["access"], [{"type": "repository", "name": "priv/g",
                                             "actions": ["pull", "push"]}])
        self.assertEqual((claims["iss"], claims["aud"], claims["sub"]),
                         (self.ts.issuer, self.ts.service, "alice"))
        self.assertEqual(self.registry_get("/v2/priv/g/manifests/x", tok, "HEAD")[0], 200)
        self.assertEqual(self.registry_get("/v2/")[0], 401)
        self.assertEqual(self.registry_get("/v2/", tok)[0], 200)
        # bob: pull only; the registry refuses his push (insufficient_scope)
        tok = self.user_token("bob", "pw-b", ["repository:priv/g:pull,push"])
        self.assertEqual(self.ts.decode(tok)["access"][0]["actions"], ["pull"])
        self.assertEqual(self.registry_get("/v2/priv/g/manifests/" + img.digest, tok)[0], 200)
        status, headers, _ = self.registry_get("/v2/priv/g/blobs/uploads/", tok, "POST", b"")
        self.assertEqual(status, 401)
        self.assertIn('error="insufficient_scope"', headers.get("WWW-Authenticate"))
        # anonymous: pub/* only
        status, obj = self.reg.fetch_token(["repository:priv/g:pull"], "", None, ua="self-test")
        self.assertEqual(status, 200)
        self.assertEqual(self.ts.decode(obj["token"])["access"], [])
        self.assertEqual(self.registry_get("/v2/priv/g/manifests/x", obj["token"], "HEAD")[0], 401)
        status, obj = self.reg.fetch_token(["repository:pub/g:pull,push"], "", None, ua="self-test")
        self.assertEqual(self.ts.decode(obj["token"])["access"][0]["actions"], ["pull"])
        # wrong password: 401 from the token server
        status, obj = self.reg.fetch_token(["repository:priv/g:pull"], "alice", "nope", ua="self-test")
        self.assertEqual(status, 401)
        log = self.ts.log()
        self.assertEqual([(e.user, e.status, e.basic) for e in log],
                         [("alice", 200, True), ("bob", 200, True), (None, 200, False),
                          (None, 200, False), (None, 401, True)])
        self.assertEqual(log[0].scopes, ("repository:priv/g:pull,push",))

    def test_token_foreign_key_or_audience_refused(self):
        from tokenserver import TokenServer
        access = [{"type": "repository", "name": "priv/app", "actions": ["pull"]}]
        other = TokenServer(service=self.ts.service, issuer=self.ts.issuer)
        self.assertEqual(self.registry_get("/v2/", other.mint("alice", access))[0], 401)
        self.assertEqual(self.registry_get("/v2/", self.ts.mint("alice", access))[0], 200)
        wrong_aud = TokenServer(service="elsewhere", issuer=self.ts.issuer)
        wrong_aud._key, wrong_aud._private_pem, wrong_aud.kid = \
            self.ts._key, self.ts._private_pem, self.ts.kid
        self.assertEqual(self.registry_get("/v2/", wrong_aud.mint("alice", access))[0], 401)

    def test_token_short_lifetime_is_enforced_by_registry(self):
        # distribution's 60 s leeway is compensated: refused after ~lifetime
        tok = self.ts.mint("alice", [], lifetime=1)
        self.assertEqual(self.registry_get("/v2/", tok)[0], 200)
        self.assertTrue(self.ts.token_valid_for(tok, None, None))
        time.sleep(2.1)
        self.assertEqual(self.registry_get("/v2/", tok)[0], 401)
        self.assertFalse(self.ts.token_valid_for(tok, None, None))

    def test_token_oauth2_post(self):
        import urllib.parse
        ctx = self.reg.ssl_context

        def post(form):
            req = urllib.request.Request(
                self.ts.realm, data=urllib.parse.urlencode(form).encode(), method="POST",
                headers={"Content-Type": "application/x-www-form-urlencoded"})
            try:
                with _no_proxy_opener(urllib.request.HTTPSHandler(context=ctx)).open(
                        req, timeout=5) as r:
                    return r.status, json.loads(r.read())
            except urllib.error.HTTPError as e:
                return e.code, json.loads(e.read())
        base = {"service": self.ts.service, "scope": "repository:priv/o:pull", "client_id": "t"}
        status, obj = post(dict(base, grant_type="password", username="alice", password="pw-a",
                                access_type="offline"))
        self.assertEqual(status, 200, obj)
        rt = obj["refresh_token"]
        self.assertEqual(self.registry_get("/v2/", obj["access_token"])[0], 200)
        status, obj = post(dict(base, grant_type="refresh_token", refresh_token=rt))
        self.assertEqual(status, 200, obj)
        self.assertEqual(self.ts.decode(obj["access_token"])["sub"], "alice")
        self.assertEqual(post(dict(base, grant_type="refresh_token", refresh_token="x"))[0], 400)
        self.assertEqual(post(dict(base, grant_type="password", username="alice",
                                   password="bad"))[0], 400)
        no_client = dict(base, grant_type="refresh_token", refresh_token=rt)
        del no_client["client_id"]
        self.assertEqual(post(no_client)[0], 400)
        log = self.ts.log()
        self.assertEqual([(e.method, e.grant_type, e.status) for e in log],
                         [("POST", "password", 200), ("POST", "refresh_token", 200),
                          ("POST", "refresh_token", 400), ("POST", "password", 400),
                          ("POST", "refresh_token", 400)])
        self.assertEqual(log[1].refresh_token, rt)
        self.assertIn(rt, self.ts.issued_tokens())

    def test_token_slow_proxy(self):
        img = self.reg.push_test_image("priv/slow", "x")
        tok = self.user_token("alice", "pw-a", ["repository:priv/slow:pull"])
        ctx = self.reg.ssl_context
        with fixture.SlowProxy(self.reg.port, delay=0.3) as px:
            req = urllib.request.Request("https://%s/v2/priv/slow/manifests/x" % px.host,
                                         method="HEAD", headers={
                                             "Authorization": "Bearer " + tok,
                                             "Accept": fixture.DOCKER_MANIFEST})
            t0 = time.monotonic()
            with _no_proxy_opener(urllib.request.HTTPSHandler(context=ctx)).open(
                    req, timeout=10) as r:
                self.assertEqual(r.headers.get("Docker-Content-Digest"), img.digest)
            self.assertGreaterEqual(time.monotonic() - t0, 0.3)
            self.assertEqual(px.connections, 1)


class FixtureFakeRegistryTest(unittest.TestCase):

    def test_fake_registry_redirect_and_upload(self):
        from fakeregistry import FakeRegistry
        with FakeRegistry(auth="basic", users={"u": "p"}, redirect_blobs=True) as fr:
            auth = {"Authorization": "Basic dTpw"}  # u:p
            op = _no_proxy_opener()

            def call(method, path, body=None, headers=None):
                req = urllib.request.Request("http://%s%s" % (fr.host, path), data=body,
                                             method=method, headers=dict(headers or {}))
                try:
                    with op.open(req, timeout=5) as r:
                        return r.status, r.headers, r.read()
                except urllib.error.HTTPError as e:
                    return e.code, e.headers, e.read()
            self.assertEqual(call("GET", "/v2/")[0], 401)
            self.assertEqual(call("GET", "/v2/", headers=auth)[0], 200)
            status, h, _ = call("POST", "/v2/a/b/blobs/uploads/", b"", auth)
            self.assertEqual(status, 202)
            data = b"hello blob"
            d = sha256_digest(data)
            status, _, _ = call("PUT", h["Location"] + "?digest=" + d, data, auth)
            self.assertEqual(status, 201)
            # mount into another repository, then a redirected GET
            status, _, _ = call("POST", "/v2/c/blobs/uploads/?mount=%s&from=a/b" % d, b"", auth)
            self.assertEqual(status, 201)
            status, _, body = call("GET", "/v2/c/blobs/" + d, headers=auth)
            # urllib follows the 307 *with* Authorization: the blob host refuses
            self.assertEqual(status, 400)
            self.assertIn("authorization", fr.blob_log[-1].headers)
            self.assertTrue(fr.blob_log[-1].headers["host"].startswith("localhost:"))
            d2, size, mt = fr.add_image("a/b", "v1")
            status, h, body = call("GET", "/v2/a/b/manifests/v1", headers=auth)
            self.assertEqual((status, h["Docker-Content-Digest"], len(body)), (200, d2, size))

if __name__ == "__main__":
    unittest.main()
