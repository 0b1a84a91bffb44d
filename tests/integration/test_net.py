"""The network side of issue 15 (errors that say why, nothing silent):
which authentication case failed and with which credentials, plain HTTP
against TLS, where TLS trust comes from, an unresponsive registry, and
progress lines."""

import json
import os
import pty
import re
import select
import shutil
import subprocess
import threading
import time
import unittest

from faultproxy import FaultProxy
from fixture import (MlistTestCase, TwoRegistriesTestCase, _isolated_env, auth_entry, describe, empty_docker_config,
                     tag_for, write_docker_config)
from loopback import SilentServer
from imagedata import DOCKER_CONFIG_TYPE, DOCKER_LAYER, DOCKER_MANIFEST, tiny_docker_image

AMD = "linux/amd64"
USER, PASSWORD = "alice", "pw-Nt41-alice-secret"
BOB, BOB_PW = "bob", "pw-Nb62-bob-secret"   # token registry: pull only
WRONG = "wrong-Pw-5123"

NO_CREDS = "(no credentials found; looked in "
REJECTED = "(the credentials were rejected; "
DENIED = "(authenticated, but access is denied; "
CASES = (NO_CREDS, REJECTED, DENIED)


class _AuthCases:
    """The three authentication failures, each with its own words: where
    mlist looked, or which credentials (user and source) it was about."""

    def seed(self, tag, platform, repo=None, **kw):
        p = platform.split("/")
        return self.reg.push_test_image(repo or self.repo, tag, os_=p[0], arch=p[1])

    def assertCase(self, r, case, *details):
        self.assertExit(r, 1)
        self.assertIn(case, r.stderr, describe(r))
        for other in CASES:
            if other != case:
                self.assertNotIn(other, r.stderr)
        for d in details:
            self.assertIn(d, r.stderr, describe(r))
        for secret in (PASSWORD, BOB_PW, WRONG):
            self.assertNotIn(secret, r.stdout + r.stderr)

    def create(self, *args, env=None, ref_host=None):
        self.seed_set([AMD])
        spec = self.spec([AMD])
        if ref_host:
            with open(spec) as f:
                text = f.read().replace(self.reg.host, ref_host)
            with open(spec, "w") as f:
                f.write(text)
        return self.mlist(*self.conn(), *args, "create", spec, env=env)

    def test_auth_no_credentials_names_places_looked_in(self):
        runtime = os.path.join(self.tmpdir, "run")
        cfg = os.path.join(self.tmpdir, "dockercfg")
        os.makedirs(cfg)
        r = self.create(env={"XDG_RUNTIME_DIR": runtime, "DOCKER_CONFIG": cfg})
        self.assertCase(r, NO_CREDS, os.path.join(runtime, "containers", "auth.json"),
                        os.path.join(cfg, "config.json"))
        self.assertIn("--username", r.stderr, "the CLI says how to give credentials")

    def test_auth_rejected_names_file_and_entry(self):
        path = os.path.join(self.tmpdir, "auth.json")
        with open(path, "w") as f:
            json.dump({"auths": {self.reg.host: auth_entry(USER, WRONG)}}, f)
        r = self.create("--authfile", path)
        self.assertCase(r, REJECTED, 'user "%s" from %s, entry "%s"' % (USER, path, self.reg.host))


class HtpasswdAuthTest(_AuthCases, MlistTestCase):
    registry_options = {"htpasswd": (USER, PASSWORD)}

    def conn(self):
        return ["--plain-http"]

    def test_auth_denied_names_user_and_source(self):
        # distribution's htpasswd lets every user do everything: the proxy
        # answers writes with 403 as a registry with access rules would.
        with FaultProxy(self.reg.port) as px:
            px.add(("POST", "PUT", "PATCH"), r"^/v2/", "status", status=403, code="DENIED",
                   message="requested access to the resource is denied")
            r = self.create("--username", USER, "--password", PASSWORD, ref_host=px.host)
        self.assertCase(r, DENIED, 'user "%s" from the username and password given' % USER)
        self.assertIn("403", r.stderr)


class TokenAuthTest(_AuthCases, MlistTestCase):
    registry_options = {"tls": True, "token": {
        "users": {USER: PASSWORD, BOB: BOB_PW},
        "grants": {BOB: [("*", "pull")]},
        "anonymous": [("it/*", "pull")],
    }}

    def conn(self):
        return ["--ca-cert", self.reg.ca_path]

    def test_auth_denied_names_user_and_source(self):
        cfg = write_docker_config(os.path.join(self.tmpdir, "cfg"),
                                  {"auths": {self.reg.host: auth_entry(BOB, BOB_PW)}})
        r = self.create("--docker-cfg", cfg)
        self.assertCase(r, DENIED, 'user "%s" from %s, entry "%s"' % (
            BOB, os.path.join(cfg, "config.json"), self.reg.host))


class SchemeTest(MlistTestCase):
    """A TLS registry asked in plain HTTP says so, not a bare HTTP 400."""
    registry_options = {"tls": True}

    def test_plain_http_to_tls_registry_says_it_speaks_https(self):
        self.seed_set([AMD])
        for args in (["inspect", self.ref("v1-amd64")], ["create", self.spec([AMD])]):
            with self.subTest(command=args[0]):
                r = self.mlist("--plain-http", *args)
                self.assertExit(r, 1)
                self.assertIn("the registry speaks HTTPS, not plain HTTP", r.stderr, describe(r))
                self.assertIn("leave out --plain-http", r.stderr)


class PlainSchemeTest(MlistTestCase):
    """The reverse: HTTPS to a plain HTTP registry. 0.0.0.0 reaches the
    loopback registry under a name mlist does not treat as loopback (no
    plain-HTTP probe), as a remote registry would be."""

    def test_https_to_plain_registry_says_it_speaks_plain_http(self):
        r = self.mlist("inspect", "0.0.0.0:%d/%s:v1" % (self.reg.port, self.repo))
        self.assertExit(r, 1)
        self.assertIn("the registry speaks plain HTTP, not HTTPS", r.stderr, describe(r))
        self.assertIn("use --plain-http", r.stderr)


def push_image_with_layer(reg, repo, tag, layer):
    """A one-layer Docker image whose layer is `layer` (bytes) -> its
    layer digest."""
    cfg_b, _, _ = tiny_docker_image("linux", "amd64", None, "progress")
    layer_digest = reg.push_blob(repo, layer)
    man = {"schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
           "config": {"mediaType": DOCKER_CONFIG_TYPE, "size": len(cfg_b),
                      "digest": reg.push_blob(repo, cfg_b)},
           "layers": [{"mediaType": DOCKER_LAYER, "size": len(layer), "digest": layer_digest}]}
    reg.put_manifest(repo, tag, man, DOCKER_MANIFEST)
    return layer_digest


class ProgressTest(TwoRegistriesTestCase):
    """Blob copies from another registry, seen in a CI log (no terminal),
    on a terminal, and not at all with --quiet."""

    LAYER = os.urandom(6 * 1024 * 1024 + 512 * 1024)  # 6.5 MiB, incompressible

    def copy_spec(self):
        repo = "src/" + self.repo.split("/", 1)[1]
        layer = push_image_with_layer(self.other, repo, "v1", self.LAYER)
        spec = self.write_spec("image: {HOST}/{REPO}:v1\nmanifests:\n  - image: %s/%s:v1\n"
                               % (self.other.host, repo))
        return spec, layer, "%s/%s:v1" % (self.other.host, repo)

    def test_ci_log_has_a_line_per_blob_at_start_and_end(self):
        spec, layer, image = self.copy_spec()
        r = self.mlist("--plain-http", "create", spec)
        self.assertOk(r)
        short = re.escape(layer[:len("sha256:") + 12])
        self.assertRegex(r.stderr, r"mlist: copying blob %s \(6\.5 MiB\) from %s" % (short, re.escape(image)))
        self.assertRegex(r.stderr, r"mlist: copied blob %s \(6\.5 MiB\) in \d+\.\d s, \d+\.\d MB/s" % short)
        self.assertNotIn("\r", r.stderr, "no terminal redraws in a log")

    def test_terminal_status_line_has_percentage_and_iec_units(self):
        spec, _, image = self.copy_spec()
        out, code = run_on_pty([os.environ["MLIST"], "--plain-http", "create", spec])
        self.assertEqual(code, 0, out)
        self.assertRegex(out, r"\r\x1b\[Kmlist: copying %s \d+%% [\d.]+ (B|KiB|MiB)/6\.5 MiB [\d.]+ (B|KiB|MiB|GiB)/s"
                         % re.escape(image))

    def test_size_that_rounds_to_1024_kib_is_in_mib(self):
        """1048575 bytes is 1023.999 KiB: "1.0 MiB", never "1024.0 KiB"."""
        self.LAYER = os.urandom(1024 * 1024 - 1)
        spec, layer, _ = self.copy_spec()
        r = self.mlist("--plain-http", "create", spec)
        self.assertOk(r)
        short = re.escape(layer[:len("sha256:") + 12])
        self.assertRegex(r.stderr, r"mlist: copying blob %s \(1\.0 MiB\) from " % short)

    def test_quiet_shows_no_progress(self):
        spec, _, _ = self.copy_spec()
        r = self.mlist("--plain-http", "--quiet", "create", spec)
        self.assertOk(r)
        self.assertNotIn("copying", r.stderr)
        self.assertNotIn("copied", r.stderr)
        out, code = run_on_pty([os.environ["MLIST"], "--plain-http", "--quiet", "update", "--force", spec])
        self.assertEqual(code, 0, out)
        self.assertNotIn("copying", out)

    def test_dry_run_plan_sizes_in_iec_units(self):
        spec, layer, _ = self.copy_spec()
        r = self.mlist("--plain-http", "create", "--dry-run", "--json", spec)
        self.assertOk(r)
        plan = "\n".join(self.parse_json(r)["plan"])
        self.assertIn("copy blob %s (6.5 MiB) from" % layer, plan)


def run_on_pty(argv, timeout=60):
    """Runs argv with stderr on a pseudo-terminal (stdout a pipe) -> (what
    the terminal showed, exit status)."""
    master, slave = pty.openpty()
    env = _isolated_env(docker_config=empty_docker_config())
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave, env=env)
    os.close(slave)
    chunks, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    else:
        proc.kill()
    os.close(master)
    return b"".join(chunks).decode("utf-8", "replace"), proc.wait(timeout=10)


class TrustTest(MlistTestCase):
    """Where users keep TLS trust: SSL_CERT_FILE / SSL_CERT_DIR and
    containers-certs.d(5) HOST:PORT directories (the system ones moved by
    MLIST_CERTS_D for the tests, the user's found through HOME)."""
    registry_options = {"tls": True}

    def inspect(self, *args, env=None):
        self.seed(tag_for(AMD), AMD)
        env = dict({"HOME": self.tmpdir, "MLIST_CERTS_D": os.path.join(self.tmpdir, "none")}, **(env or {}))
        return self.mlist(*args, "inspect", self.ref(tag_for(AMD)), env=env)

    def certs_d(self, root, files):
        d = os.path.join(root, self.reg.host)
        os.makedirs(d, exist_ok=True)
        for name, src in files.items():
            shutil.copy(src, os.path.join(d, name))
        return d

    def other_ca(self):
        """A CA that signed nothing here."""
        path = os.path.join(self.tmpdir, "other-ca.crt")
        key = os.path.join(self.tmpdir, "other-ca.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", key, "-out", path, "-days", "2", "-subj", "/CN=other CA"],
                       check=True, capture_output=True)
        return path

    def test_untrusted_without_any_fails_with_the_tls_hint(self):
        r = self.inspect()
        self.assertExit(r, 1)
        self.assertIn("TLS certificate not trusted", r.stderr)
        self.assertIn("--ca-cert", r.stderr)

    def test_ssl_cert_file(self):
        r = self.inspect(env={"SSL_CERT_FILE": self.reg.ca_path})
        self.assertOk(r)

    def test_ssl_cert_dir(self):
        d = os.path.join(self.tmpdir, "certs")
        os.makedirs(d)
        shutil.copy(self.reg.ca_path, d)
        subprocess.run(["openssl", "rehash", d], check=True, capture_output=True)
        r = self.inspect(env={"SSL_CERT_DIR": d, "SSL_CERT_FILE": self.other_ca()})
        self.assertOk(r)

    def test_system_certs_d_host_port_directory(self):
        root = os.path.join(self.tmpdir, "etc-certs.d")
        self.certs_d(root, {"ca.crt": self.reg.ca_path})
        r = self.inspect(env={"MLIST_CERTS_D": os.path.join(self.tmpdir, "empty") + ":" + root})
        self.assertOk(r)

    def test_user_certs_d_under_home(self):
        self.certs_d(os.path.join(self.tmpdir, ".config", "containers", "certs.d"),
                     {"other.crt": self.other_ca(), "registry.crt": self.reg.ca_path})
        r = self.inspect()
        self.assertOk(r)

    def test_certs_d_adds_to_the_system_trust(self):
        # The registry's CA comes from SSL_CERT_FILE (the "system" bundle);
        # certs.d brings an unrelated one: both are trusted, not only it.
        self.certs_d(os.path.join(self.tmpdir, ".config", "containers", "certs.d"),
                     {"ca.crt": self.other_ca()})
        r = self.inspect(env={"SSL_CERT_FILE": self.reg.ca_path})
        self.assertOk(r)
        r = self.inspect("--ca-cert", self.other_ca(), env={"SSL_CERT_FILE": self.reg.ca_path})
        self.assertOk(r)

    def test_certs_d_key_without_certificate_is_an_error(self):
        d = self.certs_d(os.path.join(self.tmpdir, ".config", "containers", "certs.d"),
                         {"ca.crt": self.reg.ca_path, "client.key": self.reg.key_path})
        r = self.inspect()
        self.assertExit(r, 2)
        self.assertIn("%s/client.key: no matching certificate file %s/client.cert" % (d, d), r.stderr)


class ClientCertTest(MlistTestCase):
    """A registry that requires a client certificate gets the one in its
    certs.d directory (*.cert with the *.key of the same name)."""
    registry_options = {"tls": True, "client_certs": True}

    def seed(self, tag, platform, repo=None, **kw):
        p = platform.split("/")
        return self.reg.push_test_image(repo or self.repo, tag, os_=p[0], arch=p[1])

    def test_client_certificate_from_certs_d(self):
        img = self.seed(tag_for(AMD), AMD)
        env = {"HOME": self.tmpdir, "MLIST_CERTS_D": os.path.join(self.tmpdir, "none")}
        r = self.mlist("--ca-cert", self.reg.ca_path, "inspect", self.ref(tag_for(AMD)), env=env)
        self.assertExit(r, 1)
        d = os.path.join(self.tmpdir, ".config", "containers", "certs.d", self.reg.host)
        os.makedirs(d)
        for name, src in (("ca.crt", self.reg.ca_path), ("client.cert", self.reg.client_cert_path),
                          ("client.key", self.reg.client_key_path)):
            shutil.copy(src, os.path.join(d, name))
        r = self.mlist("inspect", "--json", self.ref(tag_for(AMD)), env=env)
        self.assertOk(r)
        self.assertIn(img.digest, r.stdout)


class UnresponsiveTest(unittest.TestCase):
    """A registry that takes connections and never answers: mlist says what
    it waits for within 10 s (a warning per retry) and gives up within a
    minute by default, within 15 s with --timeout 3. Both runs go side by
    side to keep the suite quick."""

    def run_timed(self, server, *args):
        """Starts mlist -> (process, [(seconds since start, stderr line)])."""
        env = _isolated_env(docker_config=empty_docker_config())
        proc = subprocess.Popen([os.environ["MLIST"], *args, "inspect", server.ref("it/app:v1")],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                env=env, text=True)
        self.addCleanup(proc.kill)
        lines = []
        t0 = time.monotonic()

        def read():
            for line in proc.stderr:
                lines.append((time.monotonic() - t0, line.rstrip("\n")))

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        return proc, lines, reader, t0

    def finish(self, run, limit):
        proc, lines, reader, t0 = run
        try:
            proc.wait(timeout=limit + 30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        elapsed = time.monotonic() - t0
        reader.join(timeout=5)
        return proc.returncode, elapsed, lines

    def test_unresponsive_registry_is_reported_and_given_up(self):
        with SilentServer() as server:
            default = self.run_timed(server)
            short = self.run_timed(server, "--timeout", "3")
            for run, limit, first in ((short, 15, 4), (default, 60, 11)):
                code, elapsed, lines = self.finish(run, limit)
                text = "\n".join("%5.1f %s" % l for l in lines)
                self.assertEqual(code, 1, text)
                self.assertLess(elapsed, limit, text)
                host = re.escape(server.host)
                warnings = [(t, l) for t, l in lines if re.match(
                    r"mlist: warning: no answer from %s for \d+ s, retrying \d/\d \(GET /v2/\)$" % host, l)]
                self.assertTrue(warnings, text)
                self.assertLess(warnings[0][0], first, "the first warning came late:\n" + text)
                self.assertIn("retrying 1/", warnings[0][1])
                self.assertRegex(lines[-1][1], r"^mlist: error: .*no answer from %s for \d+ s \(timed out\)$" % host,
                                 text)
