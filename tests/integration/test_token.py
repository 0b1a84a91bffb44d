"""Token auth (DESIGN §5 Auth, Network): a real docker-registry with
auth.token verifying the RS256 JWTs of tokenserver.TokenServer, over TLS;
plus fakeregistry.FakeRegistry for what distribution 2.8 cannot do
(cross-host blob redirects, odd WWW-Authenticate syntax, an OAuth2-only
token endpoint).

Test images are pushed with the fixture's Python pusher (it gets its own
tokens as the fixture account), so these tests exercise mlist's auth only.
"""

import base64
import json
import os
import shutil
import tempfile
import time
import unittest
import urllib.parse

from fixture import (MlistTestCase, SlowProxy, auth_entry, describe, make_credential_helper,
                     read_json_lines, run_mlist, write_docker_config, FIXTURE_ACCOUNT)
from fakeregistry import FakeRegistry
from tokenserver import TokenServer, parse_scope, scope_actions

AMD, ARM, ARM7 = "linux/amd64", "linux/arm64", "linux/arm/v7"
USER, PASSWORD = "alice", "pw-Tk93-alice-secret"
BOB, BOB_PW = "bob", "pw-Bq55-bob-secret"          # may pull, never push
CAROL, CAROL_PW = "carol", "pw-Cr27-carol-secret"
PASSWORDS = {USER: PASSWORD, BOB: BOB_PW, CAROL: CAROL_PW}
WRONG = "wrong-Pw-7731"
AUTH_ERROR = r"auth|401|403|denied|unauthori[sz]ed|credential|forbidden"

TOKEN_OPTIONS = {
    "users": dict(PASSWORDS),
    "grants": {BOB: [("*", "pull")]},
    # anonymous callers may pull it/* (the tests' repositories), nothing else
    "anonymous": [("it/*", "pull")],
}


def b64(user, password):
    return base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


class TokenTestCase(MlistTestCase):
    """A TLS registry with token auth. self.ts is its token server; its log
    is cleared before every test."""

    registry_options = {"tls": True, "token": TOKEN_OPTIONS}

    def setUp(self):
        super().setUp()
        self.ts = self.reg.token_server
        self.ts.clear_log()

    def seed(self, tag, platform, repo=None, salt="", **kw):
        """Python pusher (fixture account), not ml-seed."""
        p = platform.split("/")
        return self.reg.push_test_image(repo or self.repo, tag, os_=p[0], arch=p[1],
                                        variant=p[2] if len(p) > 2 else None, salt=salt)

    def tls(self):
        return ["--ca-cert", self.reg.ca_path]

    def creds(self, user=USER):
        return ["--username", user, "--password", PASSWORDS[user]]

    def token_log(self):
        return self.ts.log()

    def secrets(self):
        out = []
        for u, p in list(PASSWORDS.items()) + [(FIXTURE_ACCOUNT, self.reg._fixture_password)]:
            out += [p, b64(u, p)]
        for t in self.ts.issued_tokens():
            out.append(t)
            parts = t.split(".")
            if len(parts) == 3:
                out.append(parts[2])  # the signature alone
        return out

    def assertNoSecrets(self, r, extra=()):
        text = (r.stdout or "") + (r.stderr or "")
        for s in list(self.secrets()) + list(extra):
            self.assertNotIn(s, text, "a secret (%s...) appears in the output" % s[:6])

    def assertNoSuccessfulWrites(self, log=None):
        log = self.reg.access_log() if log is None else log
        ok = [e for e in self.writes(log) if e.status < 400]
        self.assertEqual(ok, [], "writes went through")

    def docker_cfg(self, config, name="cfg"):
        return write_docker_config(os.path.join(self.tmpdir, name), config)

    def auth_file(self, config, name="auth.json"):
        path = os.path.join(self.tmpdir, name)
        with open(path, "w") as f:
            json.dump(config, f)
        return path

    def auths(self, user):
        return {"auths": {self.reg.host: auth_entry(user, PASSWORDS.get(user, WRONG))}}

    def users_seen(self, log=None):
        """Users the token server authenticated for mlist (None: anonymous)."""
        return {e.user for e in (self.token_log() if log is None else log)}


class TokenTLSTest(TokenTestCase):

    # ---- the ordinary commands ------------------------------------------------

    def test_create_update_inspect_delete(self):
        imgs = self.seed_set([AMD, ARM, ARM7])
        r = self.mlist(*self.tls(), *self.creds(), "create", self.spec([AMD, ARM]))
        self.assertOk(r)
        self.assertNoSecrets(r)
        digest, size = self.parse_digest_line(r)
        self.assertEntries(self.assertListAt("v1", digest=digest, size=size),
                           {AMD: imgs[AMD], ARM: imgs[ARM]})
        log = self.token_log()
        self.assertTrue(log, "mlist made no token request")
        for e in log:
            self.assertEqual(e.status, 200, "token request refused: %r" % (e,))
            self.assertEqual(e.service, self.ts.service)
        self.assertIn("push", scope_actions(log).get(self.repo, set()),
                      "no token request asked for push on %s: %r" % (self.repo, log))
        self.assertEqual(self.users_seen(log), {USER})

        r = self.mlist(*self.tls(), *self.creds(), "update",
                       self.spec([AMD, ARM, ARM7], name="v1b.yaml"))
        self.assertOk(r)
        doc = self.assertListAt("v1")
        self.assertEntries(doc, imgs)
        new_digest = self.reg.manifest_digest(self.repo, "v1")
        self.assertNotEqual(new_digest, digest)

        r = self.mlist(*self.tls(), *self.creds(), "inspect", self.ref("v1"))
        self.assertOk(r)
        for p in (AMD, ARM, ARM7):
            self.assertIn(p, r.stdout)

        r = self.mlist(*self.tls(), *self.creds(), "delete", self.ref("v1"))
        self.assertOk(r)
        self.assertFalse(self.reg.tag_exists(self.repo, "v1"))
        self.assertFalse(self.reg.manifest_exists(self.repo, new_digest))
        for p, img in imgs.items():
            self.assertTrue(self.reg.manifest_exists(self.repo, img.digest),
                            "image %s was deleted too" % p)

    def test_seed_tool_with_token_auth(self):
        """ml-seed (the C seeding tool) through token auth, as ml-seed is
        used for the other suites' seeding."""
        img = self.reg.seed_image("%s:x" % self.repo, AMD)
        self.assertEqual(self.reg.manifest_digest(self.repo, "x"), img.digest)
        lst = self.reg.seed_index("%s:l" % self.repo, ["%s:x" % self.repo])
        self.assertEqual(self.reg.manifest_digest(self.repo, "l"), lst.digest)
        self.assertEqual(self.users_seen() - {None}, {USER})

    def test_password_stdin(self):
        self.seed_set([AMD, ARM])
        r = self.mlist(*self.tls(), "--username", USER, "--password-stdin", "create",
                       self.spec([AMD, ARM]), input=PASSWORD + "\n")
        self.assertOk(r)
        self.assertNoSecrets(r)
        self.assertTrue(self.reg.tag_exists(self.repo, "v1"))
        self.assertEqual(self.users_seen() - {None}, {USER})

    def test_tokens_are_reused(self):
        self.seed_set([AMD, ARM])
        r = self.mlist(*self.tls(), *self.creds(), "create", self.spec([AMD, ARM]))
        self.assertOk(r)
        self.assertTrue(self.reg.tag_exists(self.repo, "v1"))
        n_reg = len(self.reg.access_log())
        n_tok = len(self.token_log())
        self.assertGreaterEqual(n_tok, 1)
        self.assertLessEqual(n_tok, 4, "a token request per registry request? %d token "
                             "requests for %d registry requests" % (n_tok, n_reg))
        self.assertLess(n_tok, n_reg)

    # ---- wrong and missing credentials ----------------------------------------

    def test_wrong_password(self):
        self.seed_set([AMD, ARM])
        for debug in ([], ["--debug"]):
            with self.subTest(debug=bool(debug)):
                self.ts.clear_log()
                self.reg.reset_access_log()
                t0 = time.monotonic()
                r = self.mlist(*debug, *self.tls(), "--username", USER, "--password", WRONG,
                               "create", self.spec([AMD, ARM]))
                self.assertExit(r, 1)
                self.assertRegex(r.stderr.lower(), AUTH_ERROR)
                self.assertIn("(the credentials were rejected; ", r.stderr, "which auth case it is")
                self.assertNoSecrets(r, extra=[WRONG, b64(USER, WRONG)])
                self.assertFalse(self.reg.tag_exists(self.repo, "v1"))
                self.assertNoSuccessfulWrites()
                log = self.token_log()
                self.assertTrue(any(e.status == 401 and e.basic for e in log),
                                "the wrong password never reached the token server: %r" % log)
                self.assertLessEqual(len(log), 5, "retry storm against the token server")
                self.assertLess(time.monotonic() - t0, 20)

    def test_anonymous_pull_allowed(self):
        lst, imgs = self.reg.push_test_list(self.repo, "v1")
        r = self.mlist(*self.tls(), "inspect", self.ref("v1"))
        self.assertOk(r)
        self.assertIn(AMD, r.stdout)
        log = self.token_log()
        self.assertTrue(log, "no token request: how did it read?")
        self.assertFalse(any(e.basic for e in log), "credentials sent without any configured")
        self.assertEqual(self.users_seen(log), {None})

    def test_anonymous_push_denied(self):
        self.seed_set([AMD, ARM])
        r = self.mlist(*self.tls(), "create", self.spec([AMD, ARM]))
        self.assertExit(r, 1)
        self.assertIn("(no credentials found; ", r.stderr, "which auth case it is")
        low = r.stderr.lower()
        self.assertIn("push", low, "the error should say the push was refused" + describe(r))
        self.assertRegex(low, r"401|403|denied|unauthori[sz]ed|insufficient")
        self.assertFalse(self.reg.tag_exists(self.repo, "v1"))
        self.assertNoSuccessfulWrites()

    def test_pull_only_user_push_denied(self):
        self.seed_set([AMD, ARM])
        r = self.mlist(*self.tls(), *self.creds(BOB), "create", self.spec([AMD, ARM]))
        self.assertExit(r, 1)
        self.assertIn("(authenticated, but access is denied; ", r.stderr, "which auth case it is")
        low = r.stderr.lower()
        self.assertIn("push", low, "the error should say the push was refused" + describe(r))
        self.assertRegex(low, r"401|403|denied|unauthori[sz]ed|insufficient")
        self.assertNoSecrets(r)
        self.assertFalse(self.reg.tag_exists(self.repo, "v1"))
        self.assertNoSuccessfulWrites()
        self.assertEqual(self.users_seen() - {None}, {BOB})

    def test_anonymous_pull_of_private_repo_denied(self):
        repo = "private/" + self.repo.split("/", 1)[1]
        img = self.seed("v1", AMD, repo=repo)
        r = self.mlist(*self.tls(), "inspect", self.reg.ref(repo + ":v1"))
        self.assertExit(r, 1)
        self.assertRegex(r.stderr.lower(), AUTH_ERROR)
        r = self.mlist(*self.tls(), *self.creds(), "inspect", "--json", self.reg.ref(repo + ":v1"))
        self.assertOk(r)
        self.assertIn(img.digest, r.stdout)

    # ---- scopes -----------------------------------------------------------------

    def test_cross_repo_mount(self):
        src = self.repo + "-src"
        imgs = self.seed_set([AMD, ARM], repo=src)
        spec = self.spec([("%s:%s" % (src, "v1-amd64"), AMD), ("%s:%s" % (src, "v1-arm64"), ARM)])
        r = self.mlist(*self.tls(), *self.creds(), "create", spec)
        self.assertOk(r)
        self.assertEntries(self.assertListAt("v1"), imgs)
        for img in imgs.values():
            self.assertTrue(self.reg.manifest_exists(self.repo, img.digest),
                            "child manifest not in the target repository")
        # the registry: blobs mounted (201), not copied
        log = self.reg.access_log()
        mounts = []
        for e in log:
            path, _, query = e.path.partition("?")
            q = urllib.parse.parse_qs(query)
            if e.method == "POST" and path == "/v2/%s/blobs/uploads/" % self.repo and "mount" in q:
                self.assertEqual(q.get("from"), [src], e.path)
                mounts.append(e)
        self.assertGreaterEqual(len(mounts), 4, "expected mounts of 2 configs + 2 layers: %r" % log)
        ok = {urllib.parse.parse_qs(e.path.partition("?")[2])["mount"][0]
              for e in mounts if e.status == 201}
        self.assertGreaterEqual(len(ok), 4, "mounts did not answer 201: %r" % mounts)
        uploads = [e for e in log if e.method in ("PUT", "PATCH") and "/blobs/uploads/" in e.path]
        self.assertEqual(uploads, [], "blobs were copied instead of mounted")
        # the token server: pull on the source, pull+push on the target, in one token
        tlog = self.token_log()
        acts = scope_actions(tlog)
        self.assertIn("pull", acts.get(src, set()), "no pull scope on %s: %r" % (src, tlog))
        self.assertTrue({"pull", "push"} <= acts.get(self.repo, set()),
                        "no pull,push scope on %s: %r" % (self.repo, tlog))
        both = [e for e in tlog
                if "pull" in scope_actions([e]).get(src, set())
                and {"pull", "push"} <= scope_actions([e]).get(self.repo, set())]
        self.assertTrue(both, "no single token covers pull on the source and pull,push "
                        "on the target: %r" % (tlog,))
        for e in tlog:
            for s in e.scopes:
                self.assertIsNotNone(parse_scope(s), "malformed scope %r" % s)

    # ---- credential sources -------------------------------------------------------

    def helper(self, name="mltest", entries=None, fail=False):
        bindir = os.path.join(self.tmpdir, "bin")
        log = os.path.join(self.tmpdir, "helper-%s.log" % name)
        make_credential_helper(bindir, name, entries if entries is not None else
                               {self.reg.host: (USER, PASSWORD)}, log_path=log, fail=fail)
        env = {"PATH": bindir + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin")}
        return env, log

    def test_credential_helper(self):
        self.seed_set([AMD, ARM])
        env, hlog = self.helper()
        cfg = self.docker_cfg({"credHelpers": {self.reg.host: "mltest"}})
        r = self.mlist(*self.tls(), "--docker-cfg", cfg, "create", self.spec([AMD, ARM]), env=env)
        self.assertOk(r)
        self.assertNoSecrets(r)
        self.assertTrue(self.reg.tag_exists(self.repo, "v1"))
        calls = read_json_lines(hlog)
        self.assertTrue(calls, "the credential helper was not run")
        for c in calls:
            self.assertEqual(c["argv"], ["get"])
            self.assertIn(self.reg.host, c["stdin"])
        self.assertEqual(self.users_seen() - {None}, {USER})

    def test_creds_store(self):
        self.seed_set([AMD, ARM])
        env, hlog = self.helper(name="mlstore")
        cfg = self.docker_cfg({"credsStore": "mlstore", "auths": {self.reg.host: {}}})
        r = self.mlist(*self.tls(), "create", self.spec([AMD, ARM]),
                       env=dict(env, DOCKER_CONFIG=cfg))
        self.assertOk(r)
        self.assertTrue(self.reg.tag_exists(self.repo, "v1"))
        self.assertTrue(read_json_lines(hlog), "the credsStore helper was not run")

    def test_credential_helper_identity_token(self):
        """A helper answering Username "<token>" hands over an identity token
        (docker-credential-helpers convention): exchanged by OAuth2 POST."""
        self.seed_set([AMD, ARM])
        rt = self.ts.new_refresh_token(USER)
        env, _ = self.helper(name="mlid", entries={self.reg.host: ("<token>", rt)})
        cfg = self.docker_cfg({"credHelpers": {self.reg.host: "mlid"}})
        r = self.mlist(*self.tls(), "--debug", "--docker-cfg", cfg, "create",
                       self.spec([AMD, ARM]), env=env)
        self.assertOk(r)
        self.assertNoSecrets(r)
        self.assertTrue(self.reg.tag_exists(self.repo, "v1"))
        self.assertOAuthRefresh(rt)

    def assertOAuthRefresh(self, rt):
        log = self.token_log()
        self.assertTrue(log)
        for e in log:
            self.assertEqual((e.method, e.grant_type, e.refresh_token), ("POST", "refresh_token", rt),
                             "expected only OAuth2 refresh_token POSTs: %r" % (e,))
            self.assertTrue(e.client_id, "client_id missing (required by oauth.md)")
            self.assertEqual(e.status, 200)
            self.assertFalse(e.basic)
        self.assertIn("push", scope_actions(log).get(self.repo, set()))

    def test_docker_config_identitytoken(self):
        self.seed_set([AMD, ARM])
        rt = self.ts.new_refresh_token(USER)
        cfg = self.docker_cfg({"auths": {self.reg.host: {"auth": b64(USER, ""),
                                                         "identitytoken": rt}}})
        r = self.mlist(*self.tls(), "--debug", "create", self.spec([AMD, ARM]),
                       env={"DOCKER_CONFIG": cfg})
        self.assertOk(r)
        self.assertNoSecrets(r)
        self.assertTrue(self.reg.tag_exists(self.repo, "v1"))
        self.assertOAuthRefresh(rt)

    def test_docker_config_auths(self):
        self.seed_set([AMD, ARM])
        cfg = self.docker_cfg(self.auths(USER))
        r = self.mlist(*self.tls(), "--docker-cfg", cfg, "create", self.spec([AMD, ARM]))
        self.assertOk(r)
        self.assertNoSecrets(r)
        r = self.mlist(*self.tls(), "create", self.spec([AMD, ARM], target="v2", name="v2.yaml"),
                       env={"DOCKER_CONFIG": cfg})
        self.assertOk(r)
        self.assertTrue(self.reg.tag_exists(self.repo, "v1"))
        self.assertTrue(self.reg.tag_exists(self.repo, "v2"))
        self.assertEqual(self.users_seen() - {None}, {USER})

    def test_credential_precedence(self):
        """Which source won is read off the token server (three valid users)."""
        repo = "private/" + self.repo.split("/", 1)[1]   # no anonymous pull
        self.seed("v1", AMD, repo=repo)
        ref = self.reg.ref(repo + ":v1")
        cfg_carol = self.docker_cfg(self.auths(CAROL), name="carol")
        af_bob = self.auth_file(self.auths(BOB), name="bob.json")
        af_carol = self.auth_file(self.auths(CAROL), name="carol.json")
        af_bad = self.auth_file({"auths": {self.reg.host: auth_entry(BOB, WRONG)}}, name="bad.json")
        cfg_alice = self.docker_cfg(self.auths(USER), name="alice")
        cases = [
            ("flags > authfile > docker config", USER,
             [*self.creds(USER), "--authfile", af_bob, "--docker-cfg", cfg_carol], {}),
            ("--authfile > docker config", BOB,
             ["--authfile", af_bob, "--docker-cfg", cfg_carol], {}),
            ("$REGISTRY_AUTH_FILE > $DOCKER_CONFIG", BOB,
             [], {"REGISTRY_AUTH_FILE": af_bob, "DOCKER_CONFIG": cfg_carol}),
            ("--authfile > $REGISTRY_AUTH_FILE", BOB,
             ["--authfile", af_bob], {"REGISTRY_AUTH_FILE": af_carol}),
            ("docker config alone", CAROL, ["--docker-cfg", cfg_carol], {}),
        ]
        for what, user, args, env in cases:
            with self.subTest(what):
                self.ts.clear_log()
                r = self.mlist(*self.tls(), *args, "inspect", ref, env=env)
                self.assertOk(r)
                self.assertNoSecrets(r)
                self.assertEqual(self.users_seen() - {None}, {user}, what)
        with self.subTest("a wrong auth file is not skipped for the docker config"):
            r = self.mlist(*self.tls(), "--authfile", af_bad, "--docker-cfg", cfg_alice,
                           "inspect", ref)
            self.assertExit(r, 1)
            self.assertNoSecrets(r, extra=[WRONG])
        with self.subTest("wrong flags are not skipped for the auth file"):
            r = self.mlist(*self.tls(), "--username", USER, "--password", WRONG,
                           "--authfile", af_bob, "inspect", ref)
            self.assertExit(r, 1)
            self.assertNoSecrets(r, extra=[WRONG])

    def test_debug_never_shows_secrets(self):
        self.seed_set([AMD, ARM])
        r = self.mlist("--debug", *self.tls(), *self.creds(), "create", self.spec([AMD, ARM]))
        self.assertOk(r)
        self.assertIn("GET", r.stderr, "--debug shows requests")
        r2 = self.mlist("--debug", *self.tls(), *self.creds(), "inspect", self.ref("v1"))
        self.assertOk(r2)
        self.assertTrue(self.ts.issued_tokens())
        self.assertNoSecrets(r)
        self.assertNoSecrets(r2)

    # ---- TLS --------------------------------------------------------------------

    def test_self_signed_without_ca_cert(self):
        self.seed_set([AMD, ARM])
        self.reg.reset_access_log()
        r = self.mlist(*self.creds(), "create", self.spec([AMD, ARM]))
        self.assertExit(r, 1)
        self.assertRegex(r.stderr.lower(), r"certif|tls|ssl")
        self.assertRegex(r.stderr, r"--ca-cert|--insecure",
                         "the message should suggest --ca-cert or --insecure")
        self.assertNoSecrets(r)
        self.assertEqual(self.reg.access_log(), [], "requests got through without a trusted cert")
        self.assertEqual(self.token_log(), [], "credentials went to an untrusted token server")
        self.assertFalse(self.reg.tag_exists(self.repo, "v1"))

    def test_insecure(self):
        imgs = self.seed_set([AMD, ARM])
        r = self.mlist("--insecure", *self.creds(), "create", self.spec([AMD, ARM]))
        self.assertOk(r)
        self.assertRegex(r.stderr.lower(), r"warn")
        self.assertIn("insecure", r.stderr.lower())
        digest, size = self.parse_digest_line(r)
        self.assertEntries(self.assertListAt("v1", digest=digest, size=size), imgs)


# --------------------------------------------------------------------------
# Expiring tokens: a run made slow by a delaying proxy outlives its tokens.

class _ExpiryBase(TokenTestCase):
    LIFETIME = 2
    DELAY = 0.25

    def long_create(self):
        """create over 3 images in 2 source repositories (mounts: some 25
        requests) through a proxy adding DELAY to each, one request at a
        time -> (proc, seconds, {platform: Seeded})."""
        entries, imgs = [], {}
        plats = [AMD, ARM, ARM7]
        for i, p in enumerate(plats):
            src = "%s-src%d" % (self.repo, i % 2)
            imgs[p] = self.seed(tag_of(p), p, repo=src)
            entries.append(("%s:%s" % (src, tag_of(p)), p))
        with SlowProxy(self.reg.port, delay=self.DELAY) as px:
            text = self.spec_text(entries).replace(self.reg.host, px.host)
            spec = self.write_spec(text)
            self.ts.clear_log()
            t0 = time.monotonic()
            r = self.mlist(*self.tls(), *self.creds(), "--concurrency", "1", "create", spec,
                           timeout=120)
            elapsed = time.monotonic() - t0
        return r, elapsed, imgs

    def check_long_create(self):
        r, elapsed, imgs = self.long_create()
        self.assertOk(r)
        self.assertNoSecrets(r)
        self.assertEntries(self.assertListAt("v1"), imgs)
        # the first token comes within the first second; the run must go on
        # past its end
        self.assertGreater(elapsed, self.LIFETIME + 1.5,
                           "the run was too short to outlive a token; test inconclusive")
        log = self.token_log()
        self.assertGreaterEqual(len(log), 2, "one token for a %.1f s run of %d s tokens"
                                % (elapsed, self.LIFETIME))
        for e in log:
            self.assertEqual(e.status, 200)
        return log


def tag_of(platform):
    return "v1-" + platform.replace("/", "-")


class TokenExpiryTest(_ExpiryBase):
    """expires_in 2 s, and the registry refuses the token after 2 s."""
    registry_options = {"tls": True,
                        "token": dict(TOKEN_OPTIONS, expires_in=_ExpiryBase.LIFETIME)}

    def test_renews_expiring_tokens(self):
        self.check_long_create()


class TokenRevokedTest(_ExpiryBase):
    """Tokens announce 300 s but the registry refuses them after 2 s: the
    client must get a new token when the registry answers 401 and retry."""
    registry_options = {"tls": True,
                        "token": dict(TOKEN_OPTIONS, expires_in=300,
                                      lifetime=_ExpiryBase.LIFETIME)}

    def test_renews_token_on_401(self):
        self.check_long_create()
        refused = [e for e in self.reg.access_log() if e.status == 401 and e.path != "/v2/"]
        self.assertTrue(refused, "the registry never refused a token: test inconclusive")


# --------------------------------------------------------------------------
# The fake registry: redirects to another host, odd challenges, OAuth2 only.

class FakeRegistryTest(unittest.TestCase):

    def setUp(self):
        self.tmpdir = tempfile.mkdtemp(prefix="mlist-fake-")
        self.addCleanup(shutil.rmtree, self.tmpdir, True)
        self.repo = "it/" + self._testMethodName[5:].replace("_", "-")

    def start(self, token_options=None, **fake_options):
        ts = None
        if fake_options.get("auth") == "bearer":
            opts = {"users": {USER: PASSWORD}}
            opts.update(token_options or {})
            ts = TokenServer(**opts).start()
            self.addCleanup(ts.stop)
        fr = FakeRegistry(token_server=ts, users={USER: PASSWORD}, **fake_options).start()
        self.addCleanup(fr.stop)
        return fr, ts

    def mlist(self, *args, **kw):
        return run_mlist("--plain-http", *args, **kw)

    def assertOk(self, r):
        self.assertEqual(r.returncode, 0, describe(r))

    def spec(self, fr, target, sources):
        lines = ["image: %s" % fr.ref(target), "manifests:"]
        lines += ["  - image: %s" % fr.ref(s) for s in sources]  # no platform: read the config
        path = os.path.join(self.tmpdir, "spec.yaml")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    # ---- (a) no Authorization after a redirect to another host ----------------

    def check_redirect(self, fr):
        d, size, mt = fr.add_image(self.repo, "v1-amd64", AMD)
        d2, _, _ = fr.add_image(self.repo, "v1-arm64", ARM)
        r = self.mlist("--username", USER, "--password", PASSWORD, "create",
                       self.spec(fr, self.repo + ":v1",
                                 [self.repo + ":v1-amd64", self.repo + ":v1-arm64"]))
        self.assertOk(r)
        redirected = [e for e in fr.log if e.status == 307]
        self.assertTrue(redirected, "no blob GET was redirected: %r" % fr.log)
        for e in redirected:
            self.assertIn("authorization", e.headers, "the registry request itself had no auth")
        self.assertTrue(fr.blob_log, "the redirect was not followed")
        for e in fr.blob_log:
            self.assertNotIn("authorization", e.headers,
                             "Authorization sent to %s after a redirect" % fr.blob_host)
            self.assertEqual(e.status, 200)
            self.assertTrue(e.headers.get("host", "").startswith("localhost:"), e.headers)
        body, _ = fr.manifest(self.repo, "v1")
        doc = json.loads(body)
        got = {"%s/%s" % (m["platform"]["os"], m["platform"]["architecture"]): m["digest"]
               for m in doc["manifests"]}
        self.assertEqual(got, {AMD: d, ARM: d2})

    def test_redirect_to_other_host_drops_bearer(self):
        fr, _ = self.start(auth="bearer", redirect_blobs=True)
        self.check_redirect(fr)

    def test_redirect_to_other_host_drops_basic(self):
        fr, _ = self.start(auth="basic", redirect_blobs=True)
        self.check_redirect(fr)

    # ---- (b) odd WWW-Authenticate syntax ---------------------------------------

    def check_challenge(self, challenge, service):
        fr, ts = self.start(auth="bearer", challenge=challenge,
                            token_options={"service": service})
        d, _, _ = fr.add_image(self.repo, "v1", AMD)
        r = self.mlist("--username", USER, "--password", PASSWORD, "inspect", "--json",
                       fr.ref(self.repo + ":v1"))
        self.assertOk(r)
        self.assertIn(d, r.stdout)
        log = ts.log()
        self.assertTrue(log, "no token request")
        for e in log:
            self.assertEqual(e.service, service, "service parsed wrongly from %r" % challenge)
            self.assertEqual(e.status, 200)
        self.assertIn("pull", scope_actions(log).get(self.repo, set()))

    def test_challenge_several_in_one_header(self):
        self.check_challenge(
            ['Newauth realm="apps", type=1, title="Login to \\"apps\\", or else", '
             'bearer realm="{realm}",service="fake, registry",scope="{scope}"'],
            "fake, registry")

    def test_challenge_several_headers_odd_case(self):
        self.check_challenge(['Negotiate', 'BEARER Service="reg.example,v2", Realm="{realm}"'],
                             "reg.example,v2")

    def test_challenge_token68_and_unquoted_values(self):
        self.check_challenge(['Negotiate YIIBhAYGKwYBBQUCoII+/Q==, '
                              'bearer realm="{realm}", service=fake.registry, scope="{scope}"'],
                             "fake.registry")

    # ---- (c) identity token: OAuth2 POST with the refresh token -----------------

    def test_identity_token_oauth_post(self):
        rt = "rt-identity-" + base64.b32encode(os.urandom(10)).decode()
        fr, ts = self.start(auth="bearer",
                            token_options={"oauth_only": True, "refresh_tokens": {rt: USER}})
        d, _, _ = fr.add_image(self.repo, "v1", AMD)
        cfg = write_docker_config(os.path.join(self.tmpdir, "cfg"), {
            "auths": {fr.host: {"auth": b64("00000000-0000-0000-0000-000000000000", ""),
                                "identitytoken": rt}}})
        r = self.mlist("--debug", "--docker-cfg", cfg, "inspect", "--json",
                       fr.ref(self.repo + ":v1"))
        self.assertOk(r)
        self.assertIn(d, r.stdout)
        self.assertNotIn(rt, r.stdout + r.stderr, "identity token printed")
        for t in ts.issued_tokens():
            self.assertNotIn(t, r.stdout + r.stderr, "token printed")
        log = ts.log()
        self.assertTrue(log, "no token request")
        for e in log:
            self.assertEqual((e.method, e.grant_type, e.refresh_token, e.status),
                             ("POST", "refresh_token", rt, 200), repr(e))
            self.assertTrue(e.client_id)


if __name__ == "__main__":
    unittest.main()
