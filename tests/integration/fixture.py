"""Integration-test fixture: a real Debian ``docker-registry`` (distribution
2.8.2) on 127.0.0.1, plus wrappers around ``mlist`` ($MLIST) and the seeding
tool ``ml-seed`` ($ML_SEED).

Standard library only; meant for Debian's /usr/bin/python3 (3.11). Token
auth (tokenserver.py, imported only then) also needs Debian's python3-jwt and
python3-cryptography.

    with Registry() as reg:                 # plain HTTP
        reg.seed_image("app:v1-amd64", "linux/amd64")
        r = run_mlist("inspect", reg.ref("app:v1"))
        status, headers, body = reg.get_manifest("app", "v1")

    Registry(tls=True)                      # own CA + server cert; reg.ca_path
    Registry(htpasswd=("user", "secret"))   # Basic auth (bcrypt htpasswd file)
    Registry(tls=True, token={"users": {"alice": "pw"}})
                                            # token auth: a real token server
                                            # (tokenserver.py), reg.token_server

How it works
- ``docker-registry serve CONFIG`` with ``http.addr: 127.0.0.1:0``: the
  kernel picks a free port and the registry logs ``listening on
  127.0.0.1:PORT`` (no bind race, no retry needed); we read the port from
  the log, then poll ``GET /v2/`` until it answers (200, or 401 with auth).
- stdout and stderr of the registry go to ``TMP/registry.log``. Two kinds of
  lines: logrus text lines (``time=... level=info msg="response completed"
  http.request.method=GET ...``) and one Apache combined-format access line
  per request::

      127.0.0.1 - - [27/Nov/2026:18:45:34 +0000] "PUT /v2/app/manifests/v1 HTTP/1.1" 201 0 "" "UA"

  ``access_log()`` parses the access lines into (method, path, status).
  Requests made by this fixture carry User-Agent ``mlist-test-fixture`` and
  are left out unless ``include_fixture=True``.
- Stopping: ``stop()`` (terminate, wait, kill); ``with``; the
  ``RegistryTestCase`` class fixture; ``atexit``; and PR_SET_PDEATHSIG so
  the registry dies with this process even on SIGKILL.
"""

import atexit
import base64
import collections
import ctypes
import json
import os
import queue
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

from loopback import LoopbackService, listen_on_loopback, shut

# --------------------------------------------------------------------------
# Media types

# (re-exported: the tests import media types and sha256_digest from here)
from imagedata import (DOCKER_CONFIG_TYPE, DOCKER_LIST, DOCKER_MANIFEST,  # noqa: F401
                       OCI_INDEX, OCI_MANIFEST, sha256_digest, tiny_docker_image)

LIST_TYPES = (DOCKER_LIST, OCI_INDEX)
ALL_MANIFEST_TYPES = (DOCKER_LIST, OCI_INDEX, DOCKER_MANIFEST, OCI_MANIFEST)

FIXTURE_UA = "mlist-test-fixture"
# seconds, every mlist/ml-seed/tool call (ML_TEST_TIMEOUT overrides)
SUBPROCESS_TIMEOUT = int(os.environ.get("ML_TEST_TIMEOUT", "60"))
# After this many timed-out calls the remaining calls fail at once, so a
# hanging binary cannot push the run past meson's 900 s limit.
MAX_TIMEOUTS = 3
STARTUP_TIMEOUT = 10             # seconds until GET /v2/ must answer
REGISTRY_BIN_DEFAULT = "/usr/bin/docker-registry"

DIGEST_LINE_RE = re.compile(r"^Digest: (sha256:[0-9a-f]{64}) (\d+)$", re.M)

# Apache combined log format written by distribution's access log.
_ACCESS_RE = re.compile(
    r'^\S+ \S+ \S+ \[[^\]]*\] "(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[0-9.]+" '
    r'(?P<status>\d{3}) \S+ "[^"]*" "(?P<ua>[^"]*)"')
_LISTEN_RE = re.compile(r'listening on (?:127\.0\.0\.1|\[::\]|[^ :"]*):(\d+)')
_SYNC_PREFIX = "/v2/?_fixture_sync="
_REPO_PATH_RE = re.compile(r"^/v2/(.+?)/(?:manifests|blobs|tags)/")

# Token auth: the fixture's own account on the token server (every right),
# and the default test user when token={} names none.
FIXTURE_ACCOUNT = "mlist-fixture"
DEFAULT_TOKEN_USER, DEFAULT_TOKEN_PASSWORD = "alice", "pw-token-1"

AccessEntry = collections.namedtuple("AccessEntry", "method path status")
Seeded = collections.namedtuple("Seeded", "digest size media_type")


class FixtureError(AssertionError):
    """Raised when the fixture or a tool it drives fails. An AssertionError,
    so inside a test it is reported as a failure with this message."""


def require_binary(name):
    """Full path of a required tool; missing is a FAILURE, never a skip."""
    path = shutil.which(name)
    if not path:
        raise FixtureError(
            "required tool %r not found on PATH: install it (Debian: "
            "docker-registry, skopeo, docker.io/docker-ce-cli, openssl, "
            "apache2-utils); integration tests never skip" % name)
    return path


# --------------------------------------------------------------------------
# Process hygiene

_live = set()
_live_lock = threading.Lock()


def _stop_all():
    with _live_lock:
        regs = list(_live)
    for r in regs:
        try:
            r.stop()
        except Exception:
            pass


atexit.register(_stop_all)


def _pdeathsig():
    """preexec_fn: deliver SIGTERM to the child if this process dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _tail(path, n=40):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
        return "\n".join(lines[-n:])
    except OSError as e:
        return "(no log: %s)" % e


_session_dirs = {}


def _session_dir(prefix):
    """One temp dir per prefix for the whole test process, removed at exit."""
    if prefix not in _session_dirs:
        d = tempfile.mkdtemp(prefix=prefix)
        atexit.register(shutil.rmtree, d, True)
        _session_dirs[prefix] = d
    return _session_dirs[prefix]


def fresh_cache_dir():
    """An empty directory for XDG_CACHE_HOME, removed at exit."""
    return tempfile.mkdtemp(dir=_session_dir("mlist-it-cache-"))


def _isolated_env(extra=None, docker_config=None):
    """Environment for child tools: no host credentials, no proxies, and a
    cache of its own per call (mlist's config cache must not carry over
    from one run to the next unless a test asks for it)."""
    env = dict(os.environ)
    env["XDG_CACHE_HOME"] = fresh_cache_dir()
    for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY",
              "all_proxy", "ALL_PROXY"):
        env.pop(k, None)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    if docker_config is not None:
        env["DOCKER_CONFIG"] = docker_config
    env.pop("REGISTRY_AUTH_FILE", None)
    if extra:
        for k, v in extra.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
    return env


def empty_docker_config():
    """A process-wide empty DOCKER_CONFIG dir (so tools never read ~/.docker)."""
    return _session_dir("mlist-dockercfg-")


_timeouts = []


def run_tool(argv, input=None, env=None, timeout=SUBPROCESS_TIMEOUT, cwd=None,
             text=True):
    """subprocess.run with a timeout that becomes a test failure."""
    if len(_timeouts) >= MAX_TIMEOUTS:
        raise FixtureError("not run: %d earlier calls timed out (%s); giving up "
                           "on slow binaries: %s" % (len(_timeouts), "; ".join(_timeouts),
                                                     " ".join(argv)))
    try:
        proc = subprocess.Popen(
            argv, env=env, cwd=cwd, text=text,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True, preexec_fn=_pdeathsig)
    except OSError as e:
        raise FixtureError("cannot run %s: %s" % (argv[0], e)) from None
    try:
        out, err = proc.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        _timeouts.append(os.path.basename(argv[0]) + " " + " ".join(argv[1:3]))
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the tool and its children
        except OSError:
            proc.kill()
        out, err = proc.communicate()
        raise FixtureError("timed out after %ss: %s\nstdout: %s\nstderr: %s" % (
            timeout, " ".join(argv), _s(out), _s(err))) from None
    except BaseException:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        proc.wait()
        raise
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def _s(x):
    if x is None:
        return ""
    if isinstance(x, bytes):
        return x.decode("utf-8", "replace")
    return x


def _tool_from_env(var):
    path = os.environ.get(var)
    if not path:
        raise FixtureError("environment variable %s is not set (path of the "
                           "binary under test; meson sets it)" % var)
    if not os.path.exists(path):
        raise FixtureError("%s=%s does not exist (not built yet?)" % (var, path))
    return path


def run_mlist(*args, input=None, env=None, timeout=SUBPROCESS_TIMEOUT, text=True):
    """Runs $MLIST with args; returns CompletedProcess (text unless
    text=False). ``env`` adds to (or, with value None, removes from) an
    isolated environment whose DOCKER_CONFIG is an empty temp dir unless
    given, without proxies and without REGISTRY_AUTH_FILE."""
    mlist = _tool_from_env("MLIST")
    full_env = _isolated_env(env, docker_config=empty_docker_config())
    return run_tool([mlist] + [str(a) for a in args], input=input,
                    env=full_env, timeout=timeout, text=text)


def describe(proc):
    """Text for assertion messages."""
    out, err = _s(proc.stdout), _s(proc.stderr)
    if len(out) > 4000:
        out = out[:4000] + "...(%d chars)" % len(out)
    return "\n$ %s\nexit %s\n--- stdout\n%s\n--- stderr\n%s" % (
        " ".join(proc.args) if isinstance(proc.args, list) else proc.args,
        proc.returncode, out, err[-4000:])


# --------------------------------------------------------------------------
# HTTP

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **kw):
        return None


# --------------------------------------------------------------------------
# The registry

class Registry:
    """A docker-registry on 127.0.0.1.

    tls=True      own CA and server cert (127.0.0.1, localhost); ca_path.
    client_certs=True   (with tls) the registry requires a client
                  certificate signed by its CA (http.tls.clientcas);
                  client_cert_path, client_key_path hold one, which the
                  fixture's own requests present.
    htpasswd=(user, password)   Basic auth from a bcrypt htpasswd file;
                  fixture requests send these credentials (auth=False to
                  omit them).
    token=True or {TokenServer options}   token auth (distribution token
                  spec): a tokenserver.TokenServer is started first (HTTPS with
                  the registry's certificate when tls=True) and the registry
                  gets auth.token {realm, service, issuer, rootcertbundle}, so
                  it verifies the server's real RS256 JWTs. reg.token_server
                  is that server (log(), policy...). reg.credentials is the
                  first user of token["users"] (default alice/pw-token-1).
                  The fixture's own requests authenticate as a separate
                  account with every right (FIXTURE_ACCOUNT): a real token
                  request (Basic, GET /token with the scopes the path needs),
                  cached per scope and renewed when expired or refused.
    """

    def __init__(self, tls=False, htpasswd=None, token=None, delete=True,
                 binary=None, startup_timeout=STARTUP_TIMEOUT, client_certs=False):
        if token is True:
            token = {}
        if token is not None and htpasswd:
            raise ValueError("htpasswd and token auth exclude each other")
        self.tls = tls
        self.client_certs = client_certs
        self.client_cert_path = None
        self.client_key_path = None
        self.htpasswd = htpasswd
        self.credentials = tuple(htpasswd) if htpasswd else None
        self.token = token
        self.delete = delete
        self.binary = binary or os.environ.get("ML_REGISTRY") or REGISTRY_BIN_DEFAULT
        self.startup_timeout = startup_timeout
        self.tmp = None
        self.proc = None
        self.port = None
        self.ca_path = None
        self.cert_path = None
        self.key_path = None
        self.log_path = None
        self.config_path = None
        self._log_offset = 0
        self._sync_n = 0
        self._ssl_ctx = None
        self._opener = None
        self.token_server = None
        self._fixture_password = secrets.token_urlsafe(18)
        self._tokens = {}
        self._tokens_lock = threading.Lock()

    # ---- lifecycle ------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self):
        if self.proc is not None:
            return self
        if not os.path.exists(self.binary):
            found = shutil.which("docker-registry")
            if not found:
                raise FixtureError(
                    "docker-registry not found (%s): apt-get install "
                    "docker-registry; integration tests never skip" % self.binary)
            self.binary = found
        self.tmp = tempfile.mkdtemp(prefix="mlist-registry-")
        os.makedirs(os.path.join(self.tmp, "storage"))
        self.log_path = os.path.join(self.tmp, "registry.log")
        if self.tls:
            self._make_certs()
        if self.htpasswd:
            self._make_htpasswd()
        if self.token is not None:
            try:
                self._start_token_server()
            except BaseException:
                self._cleanup_tmp()
                raise
        self.config_path = os.path.join(self.tmp, "config.yml")
        with open(self.config_path, "w") as f:
            f.write(self._config())
        with _live_lock:
            _live.add(self)
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                [self.binary, "serve", self.config_path],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                env=_isolated_env(), cwd=self.tmp, preexec_fn=_pdeathsig)
        except OSError as e:
            if self.token_server is not None:
                self.token_server.stop()
                self.token_server = None
            self._cleanup_tmp()
            raise FixtureError("cannot start %s: %s" % (self.binary, e)) from None
        finally:
            log.close()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self):
        deadline = time.monotonic() + self.startup_timeout
        while self.port is None:
            if self.proc.poll() is not None:
                raise FixtureError("docker-registry exited with %s at startup; "
                                   "log:\n%s" % (self.proc.returncode, _tail(self.log_path)))
            if time.monotonic() > deadline:
                raise FixtureError("docker-registry did not report its port within "
                                   "%ss; log:\n%s" % (self.startup_timeout, _tail(self.log_path)))
            with open(self.log_path, "rb") as f:
                m = _LISTEN_RE.search(f.read().decode("utf-8", "replace"))
            if m:
                self.port = int(m.group(1))
            else:
                time.sleep(0.02)
        self._setup_http()
        last = None
        while True:
            if self.proc.poll() is not None:
                raise FixtureError("docker-registry exited with %s; log:\n%s" % (
                    self.proc.returncode, _tail(self.log_path)))
            try:
                status, _, _ = self.request("GET", "/v2/", timeout=2)
                if status in (200, 401):
                    break
                last = "HTTP %s" % status
            except Exception as e:  # connection refused, TLS not ready...
                last = repr(e)
            if time.monotonic() > deadline:
                raise FixtureError("GET /v2/ did not answer within %ss (last: %s); "
                                   "log:\n%s" % (self.startup_timeout, last,
                                                 _tail(self.log_path)))
            time.sleep(0.05)
        self.reset_access_log()

    def stop(self):
        ts, self.token_server = self.token_server, None
        if ts is not None:
            ts.stop()
        proc, self.proc = self.proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
        with _live_lock:
            _live.discard(self)
        self._cleanup_tmp()

    def _cleanup_tmp(self):
        if self.tmp and os.environ.get("ML_KEEP_REGISTRY") != "1":
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    # ---- configuration ---------------------------------------------------

    def _config(self):
        lines = [
            "version: 0.1",
            "log:",
            "  level: info",
            "  formatter: text",
            "  accesslog:",
            "    disabled: false",
            "storage:",
            "  filesystem:",
            "    rootdirectory: %s" % json.dumps(os.path.join(self.tmp, "storage")),
            "  delete:",
            "    enabled: %s" % ("true" if self.delete else "false"),
            "  maintenance:",
            "    uploadpurging:",
            "      enabled: false",
            "http:",
            "  addr: 127.0.0.1:0",
            "  secret: %s" % secrets.token_hex(16),
            "  headers:",
            "    X-Content-Type-Options: [nosniff]",
        ]
        if self.tls:
            lines += [
                "  tls:",
                "    certificate: %s" % json.dumps(self.cert_path),
                "    key: %s" % json.dumps(self.key_path),
            ]
            if self.client_certs:
                lines += ["    clientcas:", "      - %s" % json.dumps(self.ca_path)]
        lines += self._auth_config()
        return "\n".join(lines) + "\n"

    def _auth_config(self):
        """The registry's `auth:` section. Token auth (issue to come) goes
        here: auth.token {realm, service, issuer, rootcertbundle} pointing at
        a small token server started by the fixture."""
        if self.htpasswd:
            return ["auth:", "  htpasswd:", "    realm: mlist-test",
                    "    path: %s" % json.dumps(self.htpasswd_path)]
        if self.token_server is not None:
            ts = self.token_server
            return ["auth:", "  token:",
                    "    realm: %s" % json.dumps(ts.realm),
                    "    service: %s" % json.dumps(ts.service),
                    "    issuer: %s" % json.dumps(ts.issuer),
                    "    rootcertbundle: %s" % json.dumps(self.rootcertbundle_path)]
        return []

    def _start_token_server(self):
        from tokenserver import TokenServer  # python3-jwt, python3-cryptography
        opts = dict(self.token)
        opts.setdefault("users", {DEFAULT_TOKEN_USER: DEFAULT_TOKEN_PASSWORD})
        users = dict(opts["users"])
        if FIXTURE_ACCOUNT in users:
            raise ValueError("%s is the fixture's own account" % FIXTURE_ACCOUNT)
        self.credentials = next(iter(users.items())) if users else None
        users[FIXTURE_ACCOUNT] = self._fixture_password
        opts["users"] = users
        grants = dict(opts.get("grants") or {})
        grants[FIXTURE_ACCOUNT] = [("*", "*")]
        opts["grants"] = grants
        if self.tls:
            opts.setdefault("tls", (self.cert_path, self.key_path))
        self.token_server = TokenServer(**opts)
        self.rootcertbundle_path = self.token_server.write_rootcertbundle(
            os.path.join(self.tmp, "token-signer.pem"))
        self.token_server.start()

    def _make_htpasswd(self):
        user, password = self.htpasswd
        exe = require_binary("htpasswd")
        r = run_tool([exe, "-Bbn", user, password])
        if r.returncode != 0:
            raise FixtureError("htpasswd failed: %s" % r.stderr)
        self.htpasswd_path = os.path.join(self.tmp, "htpasswd")
        with open(self.htpasswd_path, "w") as f:
            f.write(r.stdout.strip() + "\n")

    def _make_certs(self):
        openssl = require_binary("openssl")
        d = os.path.join(self.tmp, "tls")
        os.makedirs(d)
        self.ca_path = os.path.join(d, "ca.crt")
        ca_key = os.path.join(d, "ca.key")
        self.key_path = os.path.join(d, "server.key")
        csr = os.path.join(d, "server.csr")
        self.cert_path = os.path.join(d, "server.crt")
        ext = os.path.join(d, "server.ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=critical,CA:FALSE\n"
                    "keyUsage=critical,digitalSignature,keyEncipherment\n"
                    "extendedKeyUsage=serverAuth\n"
                    "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                    "subjectKeyIdentifier=hash\n"
                    "authorityKeyIdentifier=keyid,issuer\n")
        steps = [
            [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", ca_key,
             "-out", self.ca_path, "-days", "2", "-subj", "/CN=mlist test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
            [openssl, "req", "-new", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", self.key_path,
             "-out", csr, "-subj", "/CN=127.0.0.1"],
            [openssl, "x509", "-req", "-in", csr, "-CA", self.ca_path,
             "-CAkey", ca_key, "-CAcreateserial", "-out", self.cert_path,
             "-days", "2", "-extfile", ext],
        ]
        if self.client_certs:
            self.client_key_path = os.path.join(d, "client.key")
            self.client_cert_path = os.path.join(d, "client.cert")
            client_csr = os.path.join(d, "client.csr")
            client_ext = os.path.join(d, "client.ext")
            with open(client_ext, "w") as f:
                f.write("basicConstraints=critical,CA:FALSE\nextendedKeyUsage=clientAuth\n")
            steps += [
                [openssl, "req", "-new", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", self.client_key_path,
                 "-out", client_csr, "-subj", "/CN=mlist test client"],
                [openssl, "x509", "-req", "-in", client_csr, "-CA", self.ca_path,
                 "-CAkey", ca_key, "-CAcreateserial", "-out", self.client_cert_path,
                 "-days", "2", "-extfile", client_ext],
            ]
        for argv in steps:
            r = run_tool(argv, cwd=d)
            if r.returncode != 0:
                raise FixtureError("openssl failed: %s\n%s" % (" ".join(argv), r.stderr))

    # ---- addresses -------------------------------------------------------

    @property
    def host(self):
        return "127.0.0.1:%d" % self.port

    @property
    def scheme(self):
        return "https" if self.tls else "http"

    def url(self, path):
        if not path.startswith("/"):
            path = "/" + path
        return "%s://%s%s" % (self.scheme, self.host, path)

    def ref(self, name):
        """'repo:tag' -> '127.0.0.1:PORT/repo:tag' (full refs pass through)."""
        if name.startswith(self.host + "/"):
            return name
        return "%s/%s" % (self.host, name)

    # ---- HTTP ------------------------------------------------------------

    def _setup_http(self):
        handlers = [urllib.request.ProxyHandler({}), _NoRedirect()]
        if self.tls:
            self._ssl_ctx = ssl.create_default_context(cafile=self.ca_path)
            if self.client_certs:
                self._ssl_ctx.load_cert_chain(self.client_cert_path, self.client_key_path)
            handlers.append(urllib.request.HTTPSHandler(context=self._ssl_ctx))
        self._opener = urllib.request.build_opener(*handlers)

    @property
    def ssl_context(self):
        return self._ssl_ctx

    def basic_auth_header(self, user=None, password=None):
        if user is None:
            user, password = self.htpasswd
        tok = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
        return "Basic " + tok

    # ---- token auth (the fixture's own requests) ---------------------------

    @staticmethod
    def scopes_for_path(path):
        """Scopes the fixture asks for to make a request on `path`: every
        action on the path's repository, plus pull on a mount's ?from=."""
        path, _, query = path.partition("?")
        m = _REPO_PATH_RE.match(path)
        if not m:
            return ()
        scopes = ["repository:%s:pull,push,delete" % m.group(1)]
        q = urllib.parse.parse_qs(query)
        for src in q.get("from", []):
            if src != m.group(1):
                scopes.append("repository:%s:pull" % src)
        return tuple(scopes)

    def fetch_token(self, scopes=(), user=None, password=None, ua=FIXTURE_UA):
        """A real token request (GET realm?service&scope..., Basic auth as
        the fixture account unless user/password given; user="" means
        anonymous) -> (status, parsed JSON or raw bytes)."""
        ts = self.token_server
        if ts is None:
            raise FixtureError("not a token-auth registry")
        if user is None:
            user, password = FIXTURE_ACCOUNT, self._fixture_password
        q = [("service", ts.service)] + [("scope", s) for s in scopes]
        hdrs = {"User-Agent": ua}
        if user:
            hdrs["Authorization"] = self.basic_auth_header(user, password)
        req = urllib.request.Request(ts.realm + "?" + urllib.parse.urlencode(q),
                                     headers=hdrs, method="GET")
        try:
            with self._opener.open(req, timeout=10) as resp:
                status, body = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read()
        try:
            return status, json.loads(body)
        except ValueError:
            return status, body

    def _bearer(self, path, fresh=False):
        scopes = self.scopes_for_path(path)
        with self._tokens_lock:
            cached = self._tokens.get(scopes)
            if cached and not fresh and time.monotonic() < cached[1]:
                return cached[0]
        status, obj = self.fetch_token(scopes)
        if status != 200 or not isinstance(obj, dict):
            raise FixtureError("fixture token request %s -> %s %r" % (scopes, status, obj))
        tok = obj.get("token") or obj.get("access_token")
        life = float(obj.get("expires_in") or 60)
        valid = life - 5 if life > 10 else life / 2
        with self._tokens_lock:
            self._tokens[scopes] = (tok, time.monotonic() + valid)
        return tok

    def request(self, method, path, headers=None, body=None, auth=True,
                timeout=30):
        """-> (status, headers, body bytes); HTTP errors are returned, not
        raised. Redirects are not followed. ``headers`` of the answer is an
        email.message.Message (case-insensitive .get)."""
        if self._opener is None:
            raise FixtureError("registry not started")
        hdrs = {"User-Agent": FIXTURE_UA}
        if self.htpasswd and auth:
            hdrs["Authorization"] = self.basic_auth_header()
        bearer = self.token_server is not None and auth
        if bearer:
            hdrs["Authorization"] = "Bearer " + self._bearer(path)
        if headers:
            hdrs.update(headers)
        if isinstance(body, str):
            body = body.encode()
        result = self._request_once(method, path, hdrs, body, timeout)
        if bearer and result[0] == 401:
            # expired (short-lived tokens) or refused: one fresh token
            hdrs["Authorization"] = "Bearer " + self._bearer(path, fresh=True)
            result = self._request_once(method, path, hdrs, body, timeout)
        return result

    def _request_once(self, method, path, hdrs, body, timeout):
        req = urllib.request.Request(self.url(path), data=body, headers=hdrs,
                                     method=method)
        try:
            with self._opener.open(req, timeout=timeout) as resp:
                return resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as e:
            try:
                data = e.read()
            except Exception:
                data = b""
            return e.code, e.headers, data

    def get_manifest(self, repo, ref, accept=ALL_MANIFEST_TYPES):
        if not isinstance(accept, str):
            accept = ", ".join(accept)
        return self.request("GET", "/v2/%s/manifests/%s" % (repo, ref),
                            headers={"Accept": accept})

    def head_manifest(self, repo, ref, accept=ALL_MANIFEST_TYPES):
        if not isinstance(accept, str):
            accept = ", ".join(accept)
        status, headers, _ = self.request(
            "HEAD", "/v2/%s/manifests/%s" % (repo, ref), headers={"Accept": accept})
        return status, headers

    def manifest_digest(self, repo, ref):
        """Docker-Content-Digest of repo:ref, or None when absent."""
        status, headers = self.head_manifest(repo, ref)
        if status != 200:
            return None
        return headers.get("Docker-Content-Digest")

    def manifest_json(self, repo, ref):
        """(parsed JSON, raw bytes, content type, digest header); FixtureError
        when absent."""
        status, headers, body = self.get_manifest(repo, ref)
        if status != 200:
            raise FixtureError("GET /v2/%s/manifests/%s -> %s %s" % (
                repo, ref, status, body[:300]))
        return (json.loads(body), body, headers.get("Content-Type"),
                headers.get("Docker-Content-Digest"))

    def manifest_exists(self, repo, ref):
        return self.head_manifest(repo, ref)[0] == 200

    def tag_exists(self, repo, tag):
        return self.manifest_exists(repo, tag)

    def tags(self, repo):
        status, _, body = self.request("GET", "/v2/%s/tags/list" % repo)
        if status == 404:
            return []
        if status != 200:
            raise FixtureError("tags/list %s -> %s %s" % (repo, status, body[:300]))
        return sorted(json.loads(body).get("tags") or [])

    def blob_exists(self, repo, digest):
        return self.request("HEAD", "/v2/%s/blobs/%s" % (repo, digest))[0] == 200

    def get_blob(self, repo, digest):
        status, _, body = self.request("GET", "/v2/%s/blobs/%s" % (repo, digest))
        if status != 200:
            raise FixtureError("GET blob %s@%s -> %s" % (repo, digest, status))
        return body

    def delete_manifest(self, repo, digest):
        return self.request("DELETE", "/v2/%s/manifests/%s" % (repo, digest))[0]

    # Small pushers (independent of ml-seed), for fixture self-tests and for
    # tests that need a precise registry state.

    def push_blob(self, repo, data):
        digest = sha256_digest(data)
        status, headers, body = self.request(
            "POST", "/v2/%s/blobs/uploads/" % repo,
            headers={"Content-Length": "0"}, body=b"")
        if status != 202:
            raise FixtureError("start upload %s -> %s %s" % (repo, status, body[:300]))
        loc = headers.get("Location")
        if loc.startswith("http"):
            loc = loc.split(self.host, 1)[1]
        loc += ("&" if "?" in loc else "?") + "digest=" + digest
        status, _, body = self.request(
            "PUT", loc, headers={"Content-Type": "application/octet-stream"},
            body=data)
        if status != 201:
            raise FixtureError("finish upload %s -> %s %s" % (repo, status, body[:300]))
        return digest

    def put_manifest(self, repo, ref, body, media_type):
        if not isinstance(body, bytes):
            body = json.dumps(body, separators=(",", ":")).encode()
        status, headers, rbody = self.request(
            "PUT", "/v2/%s/manifests/%s" % (repo, ref),
            headers={"Content-Type": media_type}, body=body)
        if status != 201:
            raise FixtureError("PUT manifest %s:%s -> %s %s" % (
                repo, ref, status, rbody[:500]))
        return sha256_digest(body)

    def push_test_image(self, repo, tag, os_="linux", arch="amd64",
                        variant=None, salt=""):
        """Pushes a tiny Docker v2.2 image with Python only -> Seeded."""
        cfg_b, layer, body = tiny_docker_image(os_, arch, variant, "layer %s %s/%s %s" % (repo, os_, arch, salt))
        self.push_blob(repo, cfg_b)
        self.push_blob(repo, layer)
        digest = self.put_manifest(repo, tag, body, DOCKER_MANIFEST)
        return Seeded(digest, len(body), DOCKER_MANIFEST)

    def push_test_list(self, repo, tag, platforms=("linux/amd64", "linux/arm64")):
        """Python-only Docker list over push_test_image images tagged
        TAG-ARCH[VARIANT] -> (list Seeded, {platform: Seeded})."""
        imgs, entries = {}, []
        for plat in platforms:
            p = plat.split("/")
            variant = p[2] if len(p) > 2 else None
            img = self.push_test_image(repo, "%s-%s%s" % (tag, p[1], variant or ""),
                                       os_=p[0], arch=p[1], variant=variant)
            imgs[plat] = img
            pf = {"os": p[0], "architecture": p[1]}
            if variant:
                pf["variant"] = variant
            entries.append({"mediaType": img.media_type, "digest": img.digest,
                            "size": img.size, "platform": pf})
        body = json.dumps({"schemaVersion": 2, "mediaType": DOCKER_LIST,
                           "manifests": entries}, indent=3).encode()
        digest = self.put_manifest(repo, tag, body, DOCKER_LIST)
        return Seeded(digest, len(body), DOCKER_LIST), imgs

    # ---- access log ------------------------------------------------------

    def _sync_log(self, timeout=5.0):
        """Waits until the registry wrote every access line of requests that
        completed before this call: a marker request is made and awaited.
        (Handlers log after the response is sent, so a client can exit
        before its last line is written.)"""
        self._sync_n += 1
        marker = "%s%d" % (_SYNC_PREFIX, self._sync_n)
        self.request("GET", marker)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(self.log_path, "rb") as f:
                f.seek(self._log_offset)
                if (" " + marker + " ").encode() in f.read():
                    break
            time.sleep(0.01)
        time.sleep(0.05)  # lines of concurrent earlier requests

    def access_log(self, include_fixture=False):
        """[(method, path, status)] since the last reset_access_log(), from
        the registry's access log. The fixture's own requests (User-Agent
        mlist-test-fixture) are left out unless include_fixture."""
        self._sync_log()
        with open(self.log_path, "rb") as f:
            f.seek(self._log_offset)
            text = f.read().decode("utf-8", "replace")
        out = []
        for line in text.splitlines():
            m = _ACCESS_RE.match(line)
            if not m or m.group("path").startswith(_SYNC_PREFIX):
                continue
            if m.group("ua") == FIXTURE_UA and not include_fixture:
                continue
            out.append(AccessEntry(m.group("method"), m.group("path"),
                                   int(m.group("status"))))
        return out

    def reset_access_log(self):
        """Later access_log() calls only see requests made after this."""
        self._sync_log()
        self._log_offset = os.path.getsize(self.log_path)

    def requests_by_method(self, include_fixture=False):
        return collections.Counter(e.method for e in self.access_log(include_fixture))

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    # ---- tools against this registry --------------------------------------

    def global_args(self, credentials=True):
        """Connection flags for ml-seed / mlist for this registry."""
        args = []
        if self.tls:
            args += ["--ca-cert", self.ca_path]
        else:
            args += ["--plain-http"]
        if self.htpasswd and credentials:
            args += ["--username", self.htpasswd[0], "--password", self.htpasswd[1]]
        elif self.token_server is not None and credentials and self.credentials:
            args += ["--username", self.credentials[0], "--password", self.credentials[1]]
        return args

    def run_seed(self, *args):
        seed = _tool_from_env("ML_SEED")
        argv = [seed] + self.global_args() + [str(a) for a in args]
        r = run_tool(argv, env=_isolated_env(docker_config=empty_docker_config()))
        if r.returncode != 0:
            raise FixtureError("ml-seed failed:%s" % describe(r))
        parts = r.stdout.strip().split()
        if len(parts) != 3 or not parts[0].startswith("sha256:"):
            raise FixtureError("ml-seed printed an unexpected line:%s" % describe(r))
        return Seeded(parts[0], int(parts[1]), parts[2])

    def seed_image(self, ref, platform, oci=False, os_version=None, layers=None,
                   salt=None):
        """Pushes a tiny single-platform image; ref 'repo:tag' -> Seeded.
        The salt defaults to ref+platform so every (ref, platform) differs."""
        args = ["image", self.ref(ref), "--platform", platform]
        if oci:
            args.append("--oci")
        if os_version:
            args += ["--os-version", os_version]
        if layers is not None:
            args += ["--layers", str(layers)]
        args += ["--salt", salt if salt is not None else "%s|%s" % (ref, platform)]
        return self.run_seed(*args)

    def seed_index(self, ref, children, docker=False, attestations=False):
        """Pushes an OCI index (Docker list with docker=True) of children
        (refs in the same repository) -> Seeded."""
        args = ["index", self.ref(ref)]
        if docker:
            args.append("--docker")
        if attestations:
            args.append("--attestations")
        args += [self.ref(c) for c in children]
        return self.run_seed(*args)


# --------------------------------------------------------------------------
# Helpers for auth tests

class SlowProxy(LoopbackService):
    """A TCP forwarder 127.0.0.1:PORT -> 127.0.0.1:target_port that passes
    on what the client sends `delay` seconds late (a latency: every request
    takes at least `delay`): makes a run outlast short-lived tokens.
    Bytes pass unchanged (TLS included: the registry's certificate names
    127.0.0.1, whatever the port). The registry builds Location headers from
    the Host header, so uploads keep going through the proxy.

        with SlowProxy(reg.port, delay=0.2) as px:
            run_mlist(..., px.host + "/repo:tag")
    """

    def __init__(self, target_port, delay=0.2, target_host="127.0.0.1"):
        self.target = (target_host, target_port)
        self.delay = delay
        self.port = None
        self.connections = 0
        self._sock = None
        self._socks = set()
        self._lock = threading.Lock()

    def start(self):
        s = listen_on_loopback(64)
        self._sock = s
        self.port = s.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True, name="slowproxy").start()
        return self

    def _accept(self):
        while True:
            try:
                c, _ = self._sock.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(self.target, timeout=10)
                u.settimeout(None)
            except OSError:
                c.close()
                continue
            with self._lock:
                self.connections += 1
                self._socks.update((c, u))
            q = queue.Queue()
            threading.Thread(target=self._read, args=(c, q), daemon=True).start()
            threading.Thread(target=self._write, args=(q, u, c), daemon=True).start()
            threading.Thread(target=self._pump, args=(u, c), daemon=True).start()

    def _read(self, src, q):
        """Client -> queue, each chunk stamped with its arrival time."""
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                q.put((time.monotonic(), data))
        except OSError:
            pass
        q.put((time.monotonic(), None))

    def _write(self, q, dst, src):
        """Queue -> registry, each chunk `delay` after it arrived (a latency,
        not a per-chunk pause: chunks that came together leave together)."""
        try:
            while True:
                t, data = q.get()
                wait = t + self.delay - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                if data is None:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for x in (src, dst):
            shut(x, close=False)

    def _pump(self, src, dst):
        """Registry -> client, undelayed."""
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for x in (src, dst):
                shut(x, close=False)

    def stop(self):
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        with self._lock:
            socks, self._socks = list(self._socks), set()
        for x in socks:
            shut(x, None)


def write_docker_config(directory, config):
    """Writes DIRECTORY/config.json (created) from a dict; -> directory."""
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f)
    return directory


def auth_entry(user, password):
    """config.json / auth.json `auths` entry with base64 user:password."""
    return {"auth": base64.b64encode(("%s:%s" % (user, password)).encode()).decode()}


def make_credential_helper(bindir, name, entries, log_path=None, fail=False):
    """Writes BINDIR/docker-credential-NAME, a docker-credential-helpers
    protocol helper: `get` reads the server URL on stdin and prints
    {"ServerURL", "Username", "Secret"} from entries {server: (user,
    secret)} (a server may be given as host, host:port or with a scheme:
    the helper tries the exact text and the text without scheme and
    trailing '/'), or "credentials not found in native keychain" with exit
    1. Every call is appended to log_path as one JSON line {"argv",
    "stdin"}. -> the helper's path. Put BINDIR first on PATH."""
    os.makedirs(bindir, exist_ok=True)
    path = os.path.join(bindir, "docker-credential-" + name)
    script = """#!/usr/bin/python3
import json, sys
ENTRIES = %r
LOG = %r
FAIL = %r
data = sys.stdin.read()
if LOG:
    with open(LOG, "a") as f:
        f.write(json.dumps({"argv": sys.argv[1:], "stdin": data}) + "\\n")
if FAIL:
    sys.stderr.write("helper failure\\n")
    sys.exit(1)
if sys.argv[1:] != ["get"]:
    sys.stdout.write("unsupported\\n")
    sys.exit(1)
server = data.strip()
keys = [server]
bare = server.split("://", 1)[-1].rstrip("/")
keys.append(bare)
for k in keys:
    if k in ENTRIES:
        user, secret = ENTRIES[k]
        json.dump({"ServerURL": server, "Username": user, "Secret": secret}, sys.stdout)
        sys.exit(0)
sys.stdout.write("credentials not found in native keychain\\n")
sys.exit(1)
""" % ({k: list(v) for k, v in entries.items()}, log_path, fail)
    with open(path, "w") as f:
        f.write(script)
    os.chmod(path, 0o755)
    return path


def read_json_lines(path):
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


# --------------------------------------------------------------------------
# unittest glue

def is_alive(pid):
    """True if pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


class RegistryTestCase(unittest.TestCase):
    """One registry per test class (started in setUpClass, stopped in
    tearDownClass, and at exit in any case). Each test gets its own
    repository name in self.repo, a temp dir in self.tmpdir, and a fresh
    access log offset."""

    registry_options = {}
    reg = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.reg = Registry(**cls.registry_options)
        cls.addClassCleanup(cls.reg.stop)
        cls.reg.start()

    def setUp(self):
        super().setUp()
        name = self._testMethodName.lower()
        if name.startswith("test_"):
            name = name[5:]
        self.repo = "it/" + re.sub(r"[^a-z0-9]+", "-", name).strip("-")
        self.tmpdir = tempfile.mkdtemp(prefix="mlist-it-")
        self.addCleanup(shutil.rmtree, self.tmpdir, True)
        self.reg.reset_access_log()

    # ---- helpers for tests -----------------------------------------------

    def ref(self, name):
        """'tag' -> HOST/<self.repo>:tag; 'repo:tag' with a '/' or ':'
        prefix kept as given relative to the registry."""
        if ":" in name or "@" in name or "/" in name:
            return self.reg.ref(name)
        return self.reg.ref("%s:%s" % (self.repo, name))

    def seed(self, tag, platform, repo=None, **kw):
        return self.reg.seed_image("%s:%s" % (repo or self.repo, tag), platform, **kw)

    def write_spec(self, text, name="spec.yaml"):
        """Writes a spec with {HOST} and {REPO} replaced; returns its path."""
        path = os.path.join(self.tmpdir, name)
        text = text.replace("{HOST}", self.reg.host).replace("{REPO}", self.repo)
        with open(path, "w") as f:
            f.write(text)
        return path

    def mlist(self, *args, **kw):
        return run_mlist(*args, **kw)

    def assertExit(self, proc, code):
        self.assertEqual(proc.returncode, code, describe(proc))

    def assertOk(self, proc):
        self.assertExit(proc, 0)

    def parse_digest_line(self, proc):
        m = DIGEST_LINE_RE.search(proc.stdout)
        self.assertIsNotNone(m, "no 'Digest: sha256:... SIZE' line" + describe(proc))
        return m.group(1), int(m.group(2))

    def parse_json(self, proc):
        try:
            return json.loads(proc.stdout)
        except ValueError as e:
            self.fail("stdout is not one JSON object (%s)%s" % (e, describe(proc)))

    def assertListAt(self, tag, digest=None, size=None, repo=None):
        """The registry serves a list/index at repo:tag whose bytes hash to
        its Docker-Content-Digest (== digest if given); returns the parsed
        list."""
        repo = repo or self.repo
        status, headers, body = self.reg.get_manifest(repo, tag)
        self.assertEqual(status, 200, "GET %s:%s -> %s %r" % (repo, tag, status, body[:300]))
        header_digest = headers.get("Docker-Content-Digest")
        self.assertEqual(sha256_digest(body), header_digest,
                         "sha256(body) != Docker-Content-Digest")
        if digest is not None:
            self.assertEqual(header_digest, digest, "digest at %s:%s" % (repo, tag))
        if size is not None:
            self.assertEqual(len(body), size, "size of the list at %s:%s" % (repo, tag))
        doc = json.loads(body)
        self.assertIn(headers.get("Content-Type"), LIST_TYPES)
        self.assertEqual(doc.get("schemaVersion"), 2)
        self.assertIn("manifests", doc)
        return doc

    def assertNoWrites(self, log=None):
        log = self.reg.access_log() if log is None else log
        writes = [e for e in log if e.method in ("PUT", "POST", "PATCH", "DELETE")]
        self.assertEqual(writes, [], "expected no writes to the registry")


def platform_key(p):
    """'os/arch[/variant]' of a list entry's platform dict."""
    if not p:
        return None
    s = "%s/%s" % (p.get("os"), p.get("architecture"))
    if p.get("variant"):
        s += "/" + p["variant"]
    return s


def entries_by_platform(doc):
    return {platform_key(m.get("platform")): m for m in doc["manifests"]}


def tag_for(platform, prefix="v1"):
    """'linux/arm/v7' -> 'v1-armv7'; 'windows/amd64' -> 'v1-windows-amd64'."""
    parts = platform.split("/")
    os_, arch = parts[0], parts[1]
    variant = parts[2] if len(parts) > 2 else ""
    t = "%s-%s%s" % (prefix, arch, variant)
    if os_ != "linux":
        t = "%s-%s-%s%s" % (prefix, os_, arch, variant)
    return t


class MlistTestCase(RegistryTestCase):
    """RegistryTestCase plus helpers for mlist scenarios."""

    def seed_set(self, platforms, prefix="v1", repo=None, oci=()):
        """Seeds one image per platform at repo:tag_for(platform, prefix);
        platforms listed in ``oci`` are OCI manifests. -> {platform: Seeded}"""
        return {p: self.seed(tag_for(p, prefix), p, repo=repo, oci=p in oci)
                for p in platforms}

    def spec_text(self, entries, target="v1", tags=None, with_platform=True,
                  repo=None, prefix="v1"):
        """manifest-tool YAML. entries: platforms ('linux/amd64', source tag
        from tag_for) or (source, platform-or-None) pairs."""
        lines = ["image: %s" % self.ref(target)]
        if tags:
            lines.append("tags: [%s]" % ", ".join("'%s'" % t for t in tags))
        lines.append("manifests:")
        for e in entries:
            if isinstance(e, str):
                src = "%s:%s" % (repo or self.repo, tag_for(e, prefix))
                plat = e if with_platform else None
            else:
                src, plat = e
            lines.append("  - image: %s" % self.ref(src))
            if plat:
                p = plat.split("/")
                fields = ["os: %s" % p[0], "architecture: %s" % p[1]]
                if len(p) > 2:
                    fields.append("variant: %s" % p[2])
                lines.append("    platform: {%s}" % ", ".join(fields))
        return "\n".join(lines) + "\n"

    def spec(self, entries, name="spec.yaml", **kw):
        return self.write_spec(self.spec_text(entries, **kw), name=name)

    def create_ok(self, *args):
        """mlist create ARGS...; asserts success; -> (digest, size)."""
        r = self.mlist("create", *args)
        self.assertOk(r)
        return self.parse_digest_line(r)

    def assertEntries(self, doc, expected, exact=True):
        """Image entries of a list match {platform: Seeded} (digest, size,
        mediaType); with exact, no other image entries."""
        got = {}
        for m in doc["manifests"]:
            if is_attestation(m):
                continue
            key = platform_key(m.get("platform"))
            self.assertNotIn(key, got, "duplicate platform %s in %s" % (key, doc))
            got[key] = m
        if exact:
            self.assertEqual(sorted(got), sorted(expected), "platforms of the list")
        for plat, seeded in expected.items():
            self.assertIn(plat, got, "no %s entry in the list" % plat)
            m = got[plat]
            self.assertEqual(m["digest"], seeded.digest, "digest of %s" % plat)
            self.assertEqual(m["size"], seeded.size, "size of %s" % plat)
            self.assertEqual(m["mediaType"], seeded.media_type, "mediaType of %s" % plat)
        return got

    def seeded_list(self, platforms, tag="v1", docker=True, attestations=False,
                    prefix="v1"):
        """Seeds images and a list over them with ml-seed only (no mlist):
        -> (list Seeded, {platform: Seeded})."""
        imgs = self.seed_set(platforms, prefix=prefix)
        lst = self.reg.seed_index(
            "%s:%s" % (self.repo, tag),
            ["%s:%s" % (self.repo, tag_for(p, prefix)) for p in platforms],
            docker=docker, attestations=attestations)
        return lst, imgs

    def writes(self, log):
        return [e for e in log if e.method in ("PUT", "POST", "PATCH", "DELETE")]

    def manifest_puts(self, log, repo=None):
        prefix = "/v2/%s/manifests/" % (repo or self.repo)
        return [e for e in log if e.method == "PUT" and e.path.startswith(prefix)]


def is_attestation(entry):
    ann = entry.get("annotations") or {}
    return ann.get("vnd.docker.reference.type") == "attestation-manifest"


class TwoRegistriesTestCase(MlistTestCase):
    """MlistTestCase with a second registry, ``cls.other``, for sources that
    live on another registry (copies, not mounts)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other = Registry()
        cls.addClassCleanup(cls.other.stop)
        cls.other.start()
