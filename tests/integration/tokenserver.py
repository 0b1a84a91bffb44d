"""A small, real token server for the integration tests: the Docker
distribution token protocol (docs/spec/auth/token.md, oauth.md, scope.md)
with RS256 JWTs that a real docker-registry 2.8 verifies.

    ts = TokenServer(users={"alice": "pw"}, anonymous=[("it/*", "pull")])
    ts.start()                        # 127.0.0.1, free port, a thread
    ts.realm                          # http(s)://127.0.0.1:PORT/token
    ts.write_rootcertbundle(path)     # for the registry's auth.token
    ...
    ts.log()                          # [TokenRequest(...)], see below
    ts.stop()

Endpoints
- ``GET /token?service=S&scope=repository:NAME:ACTIONS&scope=...`` with
  optional ``Authorization: Basic``; answers 200
  ``{"token", "access_token", "expires_in", "issued_at"}`` (plus
  ``refresh_token`` when ``offline_token=true`` and credentials were given).
  Wrong credentials: 401 (``WWW-Authenticate: Basic``). No credentials and
  ``allow_anonymous=False``: 401. A ``service`` other than ours: 400.
  Scopes the caller may not have are left out of the token (the registry
  then answers 401 insufficient_scope), as real token servers do.
- ``POST /token`` (OAuth2, form-encoded): ``grant_type=password``
  (username, password) or ``grant_type=refresh_token`` (refresh_token);
  ``service``, ``scope`` (space-separated) and ``client_id`` (required by
  oauth.md); answers ``{"access_token", "token_type", "scope",
  "expires_in", "issued_at", "refresh_token"}``. Bad grant: 400
  ``{"error": "invalid_grant"}``; missing client_id: 400
  ``invalid_request``. Refresh tokens are those given as
  ``refresh_tokens={token: user}`` plus those this server handed out.
- ``oauth_only=True``: GET /token answers 405 (the endpoint wants POST).

Signing (what a registry must trust)
- One RSA-2048 key per server; a self-signed X.509 certificate over it is
  the ``rootcertbundle``. JWT header ``{"alg": "RS256", "typ": "JWT",
  "kid": KID}`` where KID is libtrust's key id of that public key:
  SHA-256 of the DER SubjectPublicKeyInfo, first 30 bytes (240 bits),
  base32 (RFC 4648, no padding: 48 chars), in 12 groups of 4 joined by
  ':'. distribution 2.8 builds {kid: key} from the bundle's certificates
  and looks the token's kid up there (no x5c, no jwk in the header).
- Claims: iss (issuer), sub (user, "" when anonymous), aud (service, a
  string: 2.8 does not accept a list), exp, nbf, iat (integers), jti
  (random), access ``[{"type": "repository", "name": N, "actions": [...]}]``.
- Lifetime: ``expires_in`` is what the answer announces; ``lifetime``
  (default: expires_in) is how long the registry accepts the token.
  distribution 2.8 accepts a token until exp + 60 s (token.Leeway), so for
  lifetimes under ``registry_leeway`` + a margin the exp claim is set to
  iat + lifetime - registry_leeway: the registry then rejects the token
  ``lifetime`` seconds after issue (tokens are opaque to clients: a client
  must go by expires_in, not by decoding the JWT).

Policy
- ``users``: {name: password}. ``grants``: {name: [(pattern, actions)]}
  (fnmatch pattern on the repository name; actions an iterable or a
  comma string; "*" means every action); a user without an entry may do
  everything. ``anonymous``: [(pattern, actions)] for callers without
  credentials (default: nothing; they still get a token, as on Docker Hub).

Log
- ``log()``: TokenRequest tuples (method, path, service, scopes as sent,
  basic (an Authorization: Basic header came), user (authenticated name,
  None if anonymous or rejected), grant_type (POST), refresh_token (the
  one presented, POST), client_id, status, granted ({repo: actions}), ua,
  offline_token, time (monotonic)). Requests with User-Agent
  mlist-test-fixture (the fixture's own pushes) are left out unless
  include_fixture=True. ``clear_log()``; ``issued_tokens()`` (every JWT
  and refresh token handed out: secrets tests can look for).
"""

import base64
import collections
import datetime
import fnmatch
import hashlib
import http.server
import json
import math
import os
import secrets
import ssl
import threading
import time
import urllib.parse

from loopback import Managed

try:
    import jwt
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
except ImportError as e:  # a failure, never a skip
    raise ImportError("%s: the token-auth tests need Debian's python3-jwt and "
                      "python3-cryptography (apt-get install -y python3-jwt "
                      "python3-cryptography; tests/deps.sh) and /usr/bin/python3" % e) from e

FIXTURE_UA = "mlist-test-fixture"
DEFAULT_SERVICE = "mlist-test-registry"
DEFAULT_ISSUER = "mlist-test-token-issuer"
REGISTRY_LEEWAY = 60   # distribution 2.8 registry/auth/token/token.go Leeway
ALL_ACTIONS = ("pull", "push", "delete", "*")

TokenRequest = collections.namedtuple(
    "TokenRequest",
    "method path service scopes basic user grant_type refresh_token client_id "
    "status granted ua offline_token time")


def libtrust_kid(public_key):
    """libtrust KeyID of a cryptography public key."""
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    b32 = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(b32[i:i + 4] for i in range(0, len(b32), 4))


def parse_scope(scope):
    """'repository:a/b:pull,push' -> ('repository', 'a/b', ['pull', 'push']);
    the name may contain ':' (host:port prefixes): type is up to the first
    ':', actions after the last. None when malformed."""
    first = scope.find(":")
    last = scope.rfind(":")
    if first <= 0 or last == first:
        return None
    typ, name, actions = scope[:first], scope[first + 1:last], scope[last + 1:]
    if not name:
        return None
    return typ, name, [a for a in actions.split(",") if a]


def scope_actions(entries):
    """Union over TokenRequest entries: {repo: set(actions)} as requested."""
    out = collections.defaultdict(set)
    for e in entries:
        for s in e.scopes:
            p = parse_scope(s)
            if p and p[0].startswith("repository"):
                out[p[1]].update(p[2])
    return dict(out)


def _actions(a):
    if isinstance(a, str):
        a = a.split(",")
    return {x.strip() for x in a if x.strip()}


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mlist-test-tokenserver"
    sys_version = ""

    def log_message(self, fmt, *args):  # quiet
        pass

    def _send(self, status, obj=None, headers=None):
        body = json.dumps(obj if obj is not None else {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        self.server.owner._handle(self, "GET")

    def do_POST(self):
        self.server.owner._handle(self, "POST")

    def do_HEAD(self):
        self._send(405)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):  # client went away...
        pass


class TokenServer(Managed):
    def __init__(self, users=None, grants=None, anonymous=(), allow_anonymous=True,
                 expires_in=300, lifetime=None, registry_leeway=REGISTRY_LEEWAY,
                 service=DEFAULT_SERVICE, issuer=DEFAULT_ISSUER, tls=None,
                 host="127.0.0.1", oauth_only=False, refresh_tokens=None,
                 require_client_id=True, delay=0.0):
        """tls: None or (certfile, keyfile) for HTTPS. delay: seconds to
        wait before answering each token request."""
        self.users = dict(users or {})
        self.grants = dict(grants or {})
        self.anonymous = list(anonymous or ())
        self.allow_anonymous = allow_anonymous
        self.expires_in = int(expires_in)
        self.lifetime = int(lifetime if lifetime is not None else expires_in)
        self.registry_leeway = registry_leeway
        self.service = service
        self.issuer = issuer
        self.tls = tls
        self.host = host
        self.oauth_only = oauth_only
        self.refresh_tokens = dict(refresh_tokens or {})
        self.require_client_id = require_client_id
        self.delay = delay
        self.port = None
        self._lock = threading.Lock()
        self._log = []
        self._issued = []
        self._httpd = None
        self._thread = None
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = libtrust_kid(self._key.public_key())
        self._private_pem = self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption())
        self.public_key = self._key.public_key()
        self.cert_pem = self._make_cert()

    # ---- keys --------------------------------------------------------------

    def _make_cert(self):
        now = datetime.datetime.now(datetime.timezone.utc)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mlist test token signer")])
        cert = (x509.CertificateBuilder()
                .subject_name(name).issuer_name(name)
                .public_key(self._key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=2))
                .sign(self._key, hashes.SHA256()))
        return cert.public_bytes(serialization.Encoding.PEM)

    def write_rootcertbundle(self, path):
        with open(path, "wb") as f:
            f.write(self.cert_pem)
        return path

    # ---- lifecycle ---------------------------------------------------------

    def start(self):
        if self._httpd is not None:
            return self
        httpd = _Server((self.host, 0), _Handler)
        httpd.owner = self
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.tls[0], self.tls[1])
            httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, name="tokenserver",
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
            self._thread.join(timeout=5)

    @property
    def scheme(self):
        return "https" if self.tls else "http"

    @property
    def realm(self):
        return "%s://%s:%d/token" % (self.scheme, self.host, self.port)

    # ---- log ---------------------------------------------------------------

    def log(self, include_fixture=False):
        with self._lock:
            return [e for e in self._log if include_fixture or e.ua != FIXTURE_UA]

    def clear_log(self):
        with self._lock:
            self._log = []

    def issued_tokens(self):
        with self._lock:
            return list(self._issued)

    def _record(self, **kw):
        kw.setdefault("time", time.monotonic())
        with self._lock:
            self._log.append(TokenRequest(**kw))

    # ---- policy --------------------------------------------------------------

    def allowed(self, user, repo):
        """Actions `user` (None: anonymous) may have on repo."""
        if user is None:
            rules = self.anonymous
        elif user in self.grants:
            rules = self.grants[user]
        else:
            rules = [("*", ALL_ACTIONS)]
        out = set()
        for pattern, actions in rules:
            if fnmatch.fnmatchcase(repo, pattern):
                out |= _actions(actions)
        if "*" in out:
            out |= set(ALL_ACTIONS)
        return out

    def grant(self, user, scopes):
        """[scope strings] -> ({repo: [actions]}, access claim list)."""
        granted = collections.OrderedDict()
        for s in scopes:
            p = parse_scope(s)
            if not p or p[0] != "repository":
                continue
            _, name, wanted = p
            ok = self.allowed(user, name)
            acts = [a for a in wanted if a in ok]
            if acts:
                have = granted.setdefault(name, [])
                have.extend(a for a in acts if a not in have)
        access = [{"type": "repository", "name": n, "actions": a} for n, a in granted.items()]
        return dict(granted), access

    # ---- tokens --------------------------------------------------------------

    def mint(self, user, access, lifetime=None):
        """A signed JWT for user (None: anonymous) with this access list."""
        t = time.time()
        now = int(t)
        life = self.lifetime if lifetime is None else lifetime
        # a whole second at least: the token stays valid for `life` seconds
        # after it is issued (exp has 1 s resolution, truncation would cut it)
        exp = int(math.ceil(t + life))
        if life < self.registry_leeway + 30:
            exp -= self.registry_leeway
        claims = {"iss": self.issuer, "sub": user or "", "aud": self.service,
                  "exp": exp, "nbf": now - 1, "iat": now,
                  "jti": secrets.token_hex(12), "access": access}
        tok = jwt.encode(claims, self._private_pem, algorithm="RS256",
                         headers={"kid": self.kid, "typ": "JWT"})
        if isinstance(tok, bytes):
            tok = tok.decode()
        with self._lock:
            self._issued.append(tok)
        return tok

    def decode(self, token, verify_exp=False):
        """Claims of a token this server signed (for fake registries and
        tests); raises jwt exceptions when invalid."""
        return jwt.decode(token, self.public_key, algorithms=["RS256"],
                          audience=self.service, issuer=self.issuer,
                          options={"verify_exp": verify_exp})

    def token_valid_for(self, token, repo, action):
        """What a distribution 2.8 registry would decide: token signed by us,
        now <= exp + registry_leeway, and (repo None, or) the access claim
        grants action on repo."""
        try:
            claims = self.decode(token)
        except Exception:
            return False
        if time.time() > claims["exp"] + self.registry_leeway:
            return False
        if repo is None:
            return True
        for a in claims.get("access") or []:
            acts = a.get("actions") or []
            if a.get("type") == "repository" and a.get("name") == repo and \
                    (action in acts or "*" in acts):
                return True
        return False

    def new_refresh_token(self, user):
        rt = "rt-" + secrets.token_urlsafe(24)
        with self._lock:
            self.refresh_tokens[rt] = user
            self._issued.append(rt)
        return rt

    # ---- requests ------------------------------------------------------------

    def _basic(self, h):
        """(present, user or None if bad). Anonymous: (False, None)."""
        auth = h.headers.get("Authorization")
        if not auth:
            return False, None
        scheme, _, value = auth.partition(" ")
        if scheme.lower() != "basic":
            return True, None
        try:
            user, _, password = base64.b64decode(value.strip(), validate=True) \
                .decode("utf-8").partition(":")
        except Exception:
            return True, None
        if user in self.users and secrets.compare_digest(
                self.users[user].encode(), password.encode()):
            return True, user
        return True, None

    def _handle(self, h, method):
        if self.delay:
            time.sleep(self.delay)
        url = urllib.parse.urlsplit(h.path)
        ua = h.headers.get("User-Agent", "")
        rec = dict(method=method, path=url.path, service=None, scopes=(), basic=False,
                   user=None, grant_type=None, refresh_token=None, client_id=None,
                   status=None, granted={}, ua=ua, offline_token=False)

        def answer(status, obj, headers=None):
            rec["status"] = status
            self._record(**rec)
            h._send(status, obj, headers)

        if url.path != "/token":
            # drain a body so the connection stays usable
            n = int(h.headers.get("Content-Length") or 0)
            if n:
                h.rfile.read(n)
            return answer(404, {"errors": [{"code": "NOT_FOUND", "message": "no such endpoint"}]})
        if method == "GET":
            q = urllib.parse.parse_qs(url.query, keep_blank_values=True)
            return self._handle_get(h, q, rec, answer)
        return self._handle_post(h, rec, answer)

    def _scopes(self, values):
        out = []
        for v in values:
            out.extend(v.split())
        return tuple(out)

    def _check_service(self, service, answer):
        if service != self.service:
            answer(400, {"errors": [{"code": "INVALID_REQUEST", "message":
                                     "unknown service %r (this server issues for %r)"
                                     % (service, self.service)}]})
            return False
        return True

    def _handle_get(self, h, q, rec, answer):
        rec["service"] = (q.get("service") or [None])[0]
        rec["scopes"] = self._scopes(q.get("scope", []))
        rec["client_id"] = (q.get("client_id") or [None])[0]
        rec["offline_token"] = (q.get("offline_token") or [""])[0].lower() == "true"
        present, user = self._basic(h)
        rec["basic"] = present and h.headers.get("Authorization", "").lower().startswith("basic ")
        rec["user"] = user
        if self.oauth_only:
            return answer(405, {"errors": [{"code": "UNSUPPORTED", "message":
                                            "use POST (OAuth2) on this endpoint"}]},
                          {"Allow": "POST"})
        if present and user is None:
            return answer(401, {"errors": [{"code": "UNAUTHORIZED",
                                            "message": "incorrect username or password"}]},
                          {"WWW-Authenticate": 'Basic realm="%s"' % self.realm})
        if not present and not self.allow_anonymous:
            return answer(401, {"errors": [{"code": "UNAUTHORIZED",
                                            "message": "authentication required"}]},
                          {"WWW-Authenticate": 'Basic realm="%s"' % self.realm})
        if not self._check_service(rec["service"], answer):
            return None
        granted, access = self.grant(user, rec["scopes"])
        rec["granted"] = granted
        tok = self.mint(user, access)
        obj = {"token": tok, "access_token": tok, "expires_in": self.expires_in,
               "issued_at": datetime.datetime.now(datetime.timezone.utc)
               .strftime("%Y-%m-%dT%H:%M:%SZ")}
        if rec["offline_token"] and user is not None:
            obj["refresh_token"] = self.new_refresh_token(user)
        return answer(200, obj)

    def _handle_post(self, h, rec, answer):
        n = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(n) if n > 0 else b""
        ctype = (h.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        rec["basic"] = h.headers.get("Authorization", "").lower().startswith("basic ")
        if ctype != "application/x-www-form-urlencoded":
            return answer(400, {"error": "invalid_request",
                                "error_description": "form-encoded body expected"})
        form = urllib.parse.parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)

        def one(k):
            v = form.get(k)
            return v[0] if v else None
        rec["service"] = one("service")
        rec["scopes"] = self._scopes(form.get("scope", []))
        rec["grant_type"] = one("grant_type")
        rec["client_id"] = one("client_id")
        rec["refresh_token"] = one("refresh_token")
        rec["offline_token"] = one("access_type") == "offline"
        if self.require_client_id and not rec["client_id"]:
            return answer(400, {"error": "invalid_request",
                                "error_description": "client_id is required"})
        if rec["grant_type"] == "password":
            user, password = one("username"), one("password") or ""
            if user not in self.users or not secrets.compare_digest(
                    self.users[user].encode(), password.encode()):
                return answer(400, {"error": "invalid_grant",
                                    "error_description": "incorrect username or password"})
        elif rec["grant_type"] == "refresh_token":
            with self._lock:
                user = self.refresh_tokens.get(rec["refresh_token"] or "")
            if user is None:
                return answer(400, {"error": "invalid_grant",
                                    "error_description": "unknown refresh token"})
        else:
            return answer(400, {"error": "unsupported_grant_type"})
        rec["user"] = user
        if not self._check_service(rec["service"], answer):
            return None
        granted, access = self.grant(user, rec["scopes"])
        rec["granted"] = granted
        tok = self.mint(user, access)
        obj = {"access_token": tok, "token_type": "Bearer",
               "scope": " ".join(rec["scopes"]), "expires_in": self.expires_in,
               "issued_at": datetime.datetime.now(datetime.timezone.utc)
               .strftime("%Y-%m-%dT%H:%M:%SZ")}
        if rec["grant_type"] == "refresh_token":
            obj["refresh_token"] = rec["refresh_token"]
        elif rec["offline_token"]:
            obj["refresh_token"] = self.new_refresh_token(user)
        return answer(200, obj)
