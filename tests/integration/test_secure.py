"""TLS and Basic-auth registries: DESIGN §4 global options and §5
(TLS verified unless --insecure, never a plain-HTTP fallback; credential
sources and their order; secrets never printed)."""

import base64
import json
import os
import unittest

from fixture import (MlistTestCase, make_credential_helper, read_json_lines,
                     write_docker_config)

AMD, ARM = "linux/amd64", "linux/arm64"
USER, PASSWORD = "alice", "pw-Zq81-secret"


class TLSTest(MlistTestCase):
    registry_options = {"tls": True}

    def test_tls_with_ca_cert(self):
        imgs = self.seed_set([AMD, ARM])
        r = self.mlist("--ca-cert", self.reg.ca_path, "create", self.spec([AMD, ARM]))
        self.assertOk(r)
        digest, size = self.parse_digest_line(r)
        self.assertEntries(self.assertListAt("v1", digest=digest, size=size), imgs)
        r = self.mlist("inspect", "--ca-cert", self.reg.ca_path, self.ref("v1"))
        self.assertOk(r)

    def test_ca_cert_fifo_is_refused_not_waited_for(self):
        self.seed_set([AMD])
        fifo = os.path.join(self.tmpdir, "ca.pem")
        os.mkfifo(fifo)
        r = self.mlist("--ca-cert", fifo, "inspect", self.ref(self.repo + ":v1-amd64"), timeout=20)
        self.assertExit(r, 2)
        self.assertIn("CA certificate file %s is a FIFO, not a regular file" % fifo, r.stderr)

    def test_tls_unknown_ca_fails_without_fallback(self):
        self.seed_set([AMD, ARM])
        self.reg.reset_access_log()
        r = self.mlist("create", self.spec([AMD, ARM]))
        self.assertExit(r, 1)
        self.assertRegex(r.stderr.lower(), r"certif|tls|ssl")
        self.assertFalse(self.reg.tag_exists(self.repo, "v1"))
        self.assertEqual(self.reg.access_log(), [], "requests got through without a trusted cert")

    def test_tls_insecure(self):
        imgs = self.seed_set([AMD, ARM])
        r = self.mlist("--insecure", "create", self.spec([AMD, ARM]))
        self.assertOk(r)
        digest, size = self.parse_digest_line(r)
        self.assertEntries(self.assertListAt("v1", digest=digest, size=size), imgs)

    def test_tls_unknown_ca_message_suggests_flags(self):
        self.seed_set([AMD])
        self.reg.reset_access_log()
        r = self.mlist("inspect", self.ref(self.repo + ":v1-amd64"))
        self.assertExit(r, 1)
        self.assertRegex(r.stderr, r"--ca-cert|--insecure",
                         "the message should suggest --ca-cert or --insecure")
        self.assertEqual(self.reg.access_log(), [])

    def test_tls_insecure_warns(self):
        self.seed_set([AMD])
        r = self.mlist("--insecure", "inspect", self.ref(self.repo + ":v1-amd64"))
        self.assertOk(r)
        self.assertRegex(r.stderr.lower(), r"warn")
        self.assertIn("insecure", r.stderr.lower())


class BasicAuthTest(MlistTestCase):
    registry_options = {"htpasswd": (USER, PASSWORD)}

    def seed(self, tag, platform, repo=None, salt="", **kw):
        """Images pushed by the fixture itself (Python), so that these tests
        exercise mlist's authentication only; ml-seed's is tested below."""
        p = platform.split("/")
        return self.reg.push_test_image(repo or self.repo, tag, os_=p[0], arch=p[1],
                                        variant=p[2] if len(p) > 2 else None, salt=salt)

    def test_seed_tool_with_credentials(self):
        img = self.reg.seed_image("%s:x" % self.repo, AMD)
        self.assertEqual(self.reg.manifest_digest(self.repo, "x"), img.digest)
        lst = self.reg.seed_index("%s:l" % self.repo, ["%s:x" % self.repo])
        self.assertEqual(self.reg.manifest_digest(self.repo, "l"), lst.digest)

    def assertNoSecret(self, r):
        b64 = base64.b64encode(("%s:%s" % (USER, PASSWORD)).encode()).decode()
        for out in (r.stdout, r.stderr):
            self.assertNotIn(PASSWORD, out, "password printed")
            self.assertNotIn(b64, out, "Basic credentials printed")

    def auth_json(self, user=USER, password=PASSWORD, name="config.json", subdir="cfg"):
        d = os.path.join(self.tmpdir, subdir)
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, name)
        tok = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
        with open(path, "w") as f:
            json.dump({"auths": {self.reg.host: {"auth": tok}}}, f)
        return d, path

    def test_flags(self):
        imgs = self.seed_set([AMD, ARM])
        r = self.mlist("--username", USER, "--password", PASSWORD, "create",
                       self.spec([AMD, ARM]))
        self.assertOk(r)
        self.assertNoSecret(r)
        digest, size = self.parse_digest_line(r)
        self.assertEntries(self.assertListAt("v1", digest=digest, size=size), imgs)

    def test_without_credentials(self):
        self.seed_set([AMD, ARM])
        r = self.mlist("create", self.spec([AMD, ARM]))
        self.assertExit(r, 1)
        self.assertRegex(r.stderr.lower(), r"auth|401|credential|denied")
        self.assertIn("(no credentials found; ", r.stderr, "which auth case it is")
        self.assertFalse(self.reg.tag_exists(self.repo, "v1"))

    def test_wrong_password_not_printed(self):
        self.seed_set([AMD, ARM])
        r = self.mlist("--debug", "--username", USER, "--password", "wrong-Pw-77",
                       "create", self.spec([AMD, ARM]))
        self.assertExit(r, 1)
        self.assertIn("(the credentials were rejected; ", r.stderr, "which auth case it is")
        self.assertNotIn("wrong-Pw-77", r.stdout + r.stderr)
        self.assertFalse(self.reg.tag_exists(self.repo, "v1"))

    def test_password_stdin(self):
        self.seed_set([AMD, ARM])
        r = self.mlist("--username", USER, "--password-stdin", "create",
                       self.spec([AMD, ARM]), input=PASSWORD + "\n")
        self.assertOk(r)
        self.assertNoSecret(r)
        self.assertTrue(self.reg.tag_exists(self.repo, "v1"))

    def test_docker_config(self):
        self.seed_set([AMD, ARM])
        d, _ = self.auth_json()
        r = self.mlist("--docker-cfg", d, "create", self.spec([AMD, ARM]))
        self.assertOk(r)
        r = self.mlist("create", self.spec([AMD, ARM], target="v2", name="v2.yaml"),
                       env={"DOCKER_CONFIG": d})
        self.assertOk(r)
        self.assertTrue(self.reg.tag_exists(self.repo, "v2"))

    def test_authfile(self):
        self.seed_set([AMD, ARM])
        _, path = self.auth_json(name="auth.json")
        r = self.mlist("--authfile", path, "create", self.spec([AMD, ARM]))
        self.assertOk(r)
        r = self.mlist("create", self.spec([AMD, ARM], target="v2", name="v2.yaml"),
                       env={"REGISTRY_AUTH_FILE": path})
        self.assertOk(r)
        self.assertTrue(self.reg.tag_exists(self.repo, "v2"))

    def test_fifo_credential_files_are_refused_not_waited_for(self):
        """A FIFO as auth.json or config.json (no writer ever comes) fails
        the run, naming it, instead of hanging it."""
        self.seed_set([AMD])
        d = os.path.join(self.tmpdir, "fifos")
        os.makedirs(d)
        authfile, config = os.path.join(d, "auth.json"), os.path.join(d, "config.json")
        os.mkfifo(authfile)
        os.mkfifo(config)
        for env, path in (({"REGISTRY_AUTH_FILE": authfile}, authfile), ({"DOCKER_CONFIG": d}, config)):
            with self.subTest(path=os.path.basename(path)):
                r = self.mlist("inspect", self.ref(self.repo + ":v1-amd64"), env=env, timeout=20)
                self.assertExit(r, 1)
                self.assertIn("%s is a FIFO, not a regular file" % path, r.stderr)

    def test_credential_precedence(self):
        self.seed_set([AMD, ARM])
        bad_cfg, _ = self.auth_json(password="bad", subdir="badcfg")
        good_cfg, _ = self.auth_json(subdir="goodcfg")
        _, bad_authfile = self.auth_json(password="bad", name="auth.json", subdir="badauth")
        _, good_authfile = self.auth_json(name="auth.json", subdir="goodauth")
        # flags beat the auth file and the docker config
        r = self.mlist("--username", USER, "--password", PASSWORD, "--authfile", bad_authfile,
                       "--docker-cfg", bad_cfg, "inspect", self.ref(self.repo + ":v1-amd64"))
        self.assertOk(r)
        # the auth file beats the docker config
        r = self.mlist("--authfile", good_authfile, "--docker-cfg", bad_cfg,
                       "inspect", self.ref(self.repo + ":v1-amd64"))
        self.assertOk(r)
        r = self.mlist("--authfile", bad_authfile, "--docker-cfg", good_cfg,
                       "inspect", self.ref(self.repo + ":v1-amd64"))
        self.assertExit(r, 1)

    def test_credential_helper(self):
        self.seed_set([AMD, ARM])
        bindir = os.path.join(self.tmpdir, "bin")
        log = os.path.join(self.tmpdir, "helper.log")
        make_credential_helper(bindir, "mltest", {self.reg.host: (USER, PASSWORD)}, log_path=log)
        cfg = write_docker_config(os.path.join(self.tmpdir, "cfg"),
                                  {"credHelpers": {self.reg.host: "mltest"}})
        r = self.mlist("--docker-cfg", cfg, "create", self.spec([AMD, ARM]),
                       env={"PATH": bindir + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin")})
        self.assertOk(r)
        self.assertNoSecret(r)
        self.assertTrue(self.reg.tag_exists(self.repo, "v1"))
        calls = read_json_lines(log)
        self.assertTrue(calls, "the credential helper was not run")
        self.assertEqual(calls[0]["argv"], ["get"])
        self.assertIn(self.reg.host, calls[0]["stdin"])

    def test_debug_never_shows_secrets(self):
        self.seed_set([AMD])
        r = self.mlist("--debug", "--username", USER, "--password", PASSWORD,
                       "inspect", self.ref(self.repo + ":v1-amd64"))
        self.assertOk(r)
        self.assertNoSecret(r)
        self.assertIn("GET", r.stderr, "--debug shows requests")


if __name__ == "__main__":
    unittest.main()
