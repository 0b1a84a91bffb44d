"""A tiny in-memory registry for what distribution 2.8 cannot be made to do:

- blob GETs answered with 307 to ANOTHER host (``localhost:PORT2`` while
  the registry is ``127.0.0.1:PORT``), like registries that hand blobs to
  S3/CDN with signed URLs; the blob host records every request's headers
  and, like S3, refuses (400) a request that carries Authorization;
- any WWW-Authenticate text (several challenges in one header, several
  headers, odd case, quoted commas, token68...);
- a token endpoint that only does OAuth2 POST (a tokenserver.TokenServer
  with oauth_only=True) for identity-token logins;
- the OCI 1.1 referrers API (``referrers=True``): GET
  /v2/<name>/referrers/<digest> lists the repository's manifests whose
  subject is that digest (in pages with a Link header given
  ``referrers_page``), and a PUT of such a manifest answers with an
  OCI-Subject header; ``referrers_loop=True`` makes every answer's Link
  "next" name the page just read.

Serves just enough for ``mlist inspect`` and a small ``mlist create``:
GET /v2/; manifests HEAD/GET/PUT/DELETE; blobs HEAD/GET; uploads POST
(also ?mount=&from=, and ?digest= monolithic), PATCH, PUT ?digest=, and
an upload's status (GET: Range 0-<last byte held>; a body cut short is
kept, so an upload can resume).

    ts = TokenServer(users={"alice": "pw"}).start()
    with FakeRegistry(auth="bearer", token_server=ts, redirect_blobs=True) as fr:
        img = fr.add_image("it/x", "v1", "linux/amd64")
        ... mlist --plain-http inspect fr.ref("it/x:v1") ...
        fr.log           # [FakeRequest(method, path, status, headers)]
        fr.blob_log      # the same for the redirect target

auth: None (open), "basic" (users {name: password}) or "bearer" (JWTs of
token_server, checked the way distribution 2.8 checks them, see
TokenServer.token_valid_for). Refused requests get 401 with
``challenge`` headers: a list of header values, each a template with
{realm}, {service} and {scope} (scope = what this request needs, as a
registry puts it in its challenge); default ``Bearer realm="{realm}",
service="{service}",scope="{scope}"`` or ``Basic realm="fake"``.
"""

import base64
import collections
import http.server
import json
import re
import secrets
import threading
import urllib.parse

from imagedata import DOCKER_MANIFEST, OCI_INDEX, sha256_digest, tiny_docker_image
from loopback import LoopbackService

FakeRequest = collections.namedtuple("FakeRequest", "method path status headers")

_PATH_RE = re.compile(r"^/v2/(?P<name>.+?)/(?P<kind>manifests|blobs|referrers)/(?P<rest>.*)$")


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass


class _Base(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mlist-fake-registry"
    sys_version = ""

    def log_message(self, fmt, *args):
        pass

    def body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        # A client that goes away mid-body leaves what it sent (a storage
        # backend keeps it too: an upload resumes from there).
        n = int(self.headers.get("Content-Length") or 0)
        out = bytearray()
        while len(out) < n:
            try:
                chunk = self.rfile.read1(min(1 << 16, n - len(out)))
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        return bytes(out)

    def reply(self, status, body=b"", headers=None, ctype="application/json"):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        # logged before answering: a client may look at the log as soon as
        # it has the answer
        self.server.owner._record(self, status)
        self.send_response(status)
        hdrs = dict(headers or {})
        hdrs.setdefault("Content-Length", str(len(body)))
        if body or ctype != "application/json":
            hdrs.setdefault("Content-Type", ctype)
        hdrs.setdefault("Docker-Distribution-Api-Version", "registry/2.0")
        for k, v in hdrs.items():
            if isinstance(v, (list, tuple)):
                for one in v:
                    self.send_header(k, one)
            else:
                self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)


class _RegistryHandler(_Base):
    def do_GET(self):
        self.server.owner._handle(self)

    do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = do_GET


class _BlobHandler(_Base):
    def do_GET(self):
        self.server.owner._handle_blob_host(self)

    do_HEAD = do_GET


class _Owner:
    """Log keeper for one HTTP server."""

    def __init__(self, log, lock, handle=None, handle_blob_host=None):
        self.log = log
        self.lock = lock
        self._handle = handle
        self._handle_blob_host = handle_blob_host

    def _record(self, h, status):
        with self.lock:
            self.log.append(FakeRequest(h.command, h.path, status,
                                        {k.lower(): v for k, v in h.headers.items()}))


def _start(handler, owner, host="127.0.0.1"):
    httpd = _Server((host, 0), handler)
    httpd.owner = owner
    t = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1},
                         daemon=True, name="fakeregistry")
    t.start()
    return httpd, t


class FakeRegistry(LoopbackService):
    def __init__(self, auth=None, users=None, token_server=None, challenge=None,
                 redirect_blobs=False, redirect_host="localhost",
                 refuse_authorization_on_redirect=True, referrers=False, referrers_page=0,
                 referrers_loop=False):
        self.referrers = referrers
        self.referrers_page = referrers_page  # > 0: answers in pages of this many
        self.referrers_loop = referrers_loop
        self.auth = auth
        self.users = dict(users or {})
        self.token_server = token_server
        self.challenge = challenge
        self.redirect_blobs = redirect_blobs
        self.redirect_host = redirect_host
        self.refuse_authorization_on_redirect = refuse_authorization_on_redirect
        self.blobs = {}                 # digest -> bytes
        self.repo_blobs = set()         # (repo, digest)
        self.manifests = {}             # (repo, digest) -> (bytes, media type)
        self.tags = {}                  # (repo, tag) -> digest
        self.uploads = {}               # uuid -> (repo, bytearray)
        self.log = []
        self.blob_log = []
        self._lock = threading.Lock()
        self._writes = 0
        self._writes_done = threading.Condition()
        self._httpd = self._blob_httpd = None
        self.port = self.blob_port = None

    # ---- lifecycle -----------------------------------------------------------

    def start(self):
        self._httpd, _ = _start(_RegistryHandler,
                                _Owner(self.log, self._lock, handle=self._handle))
        self.port = self._httpd.server_address[1]
        self._blob_httpd, _ = _start(_BlobHandler,
                                     _Owner(self.blob_log, self._lock,
                                            handle_blob_host=self._handle_blob_host))
        self.blob_port = self._blob_httpd.server_address[1]
        return self

    def stop(self):
        for h in (self._httpd, self._blob_httpd):
            if h is not None:
                h.shutdown()
                h.server_close()
        self._httpd = self._blob_httpd = None

    @property
    def blob_host(self):
        return "%s:%d" % (self.redirect_host, self.blob_port)


    def clear_logs(self):
        with self._lock:
            del self.log[:]
            del self.blob_log[:]

    # ---- content -------------------------------------------------------------

    def add_blob(self, repo, data):
        d = sha256_digest(data)
        with self._lock:
            self.blobs[d] = bytes(data)
            self.repo_blobs.add((repo, d))
        return d

    def add_manifest(self, repo, tag, body, media_type):
        d = sha256_digest(body)
        with self._lock:
            self.manifests[(repo, d)] = (bytes(body), media_type)
            if tag:
                self.tags[(repo, tag)] = d
        return d

    def add_image(self, repo, tag, platform="linux/amd64", salt=""):
        """A tiny Docker image -> (digest, size, media type)."""
        p = platform.split("/")
        cfg_b, layer, body = tiny_docker_image(p[0], p[1], p[2] if len(p) > 2 else None,
                                               "fake layer %s %s %s" % (repo, platform, salt))
        self.add_blob(repo, cfg_b)
        self.add_blob(repo, layer)
        return self.add_manifest(repo, tag, body, DOCKER_MANIFEST), len(body), DOCKER_MANIFEST

    def manifest(self, repo, ref):
        """(bytes, media type) at repo:ref (tag or digest) or None."""
        with self._lock:
            d = ref if ref.startswith("sha256:") else self.tags.get((repo, ref))
            return self.manifests.get((repo, d)) if d else None

    # ---- auth ----------------------------------------------------------------

    def _authorized(self, h, repo, actions):
        if not self.auth:
            return True
        value = h.headers.get("Authorization") or ""
        scheme, _, cred = value.partition(" ")
        if self.auth == "basic":
            if scheme.lower() != "basic":
                return False
            try:
                user, _, pw = base64.b64decode(cred.strip()).decode().partition(":")
            except Exception:
                return False
            return user in self.users and self.users[user] == pw
        if scheme.lower() != "bearer" or not self.token_server:
            return False
        tok = cred.strip()
        if not actions:
            return self.token_server.token_valid_for(tok, None, None)
        return all(self.token_server.token_valid_for(tok, r, a) for r, a in actions)

    def _challenge(self, h, actions):
        by_repo = collections.OrderedDict()
        for r, a in actions:
            by_repo.setdefault(r, [])
            if a not in by_repo[r]:
                by_repo[r].append(a)
        scope = " ".join("repository:%s:%s" % (r, ",".join(a)) for r, a in by_repo.items())
        ts = self.token_server
        if self.challenge is not None:
            templates = self.challenge
        elif self.auth == "basic":
            templates = ['Basic realm="fake"']
        else:
            templates = ['Bearer realm="{realm}",service="{service}"' +
                         (',scope="{scope}"' if scope else "")]
        if not scope:  # no scope="" in the challenge of GET /v2/
            templates = [re.sub(r',\s*scope="\{scope\}"', "", t) for t in templates]
        vals = [t.format(realm=ts.realm if ts else "", service=ts.service if ts else "",
                         scope=scope) for t in templates]
        h.reply(401, {"errors": [{"code": "UNAUTHORIZED",
                                  "message": "authentication required"}]},
                {"WWW-Authenticate": vals})

    # ---- requests ------------------------------------------------------------

    def _handle(self, h):
        # An upload's status waits for the bytes of a write to it in
        # progress (a broken one, say), as storage would show them once
        # written.
        writing = h.command in ("PUT", "PATCH") and "/blobs/uploads/" in h.path
        with self._writes_done:
            self._writes += writing
        try:
            return self._handle_request(h)
        finally:
            with self._writes_done:
                self._writes -= writing
                self._writes_done.notify_all()

    def _handle_request(self, h):
        url = urllib.parse.urlsplit(h.path)
        q = urllib.parse.parse_qs(url.query)
        path = url.path
        body = h.body() if h.command in ("PUT", "POST", "PATCH") else b""
        if path in ("/v2", "/v2/"):
            if not self._authorized(h, None, []):
                return self._challenge(h, [])
            return h.reply(200, {})
        m = _PATH_RE.match(path)
        if not m:
            return h.reply(404, {"errors": [{"code": "NOT_FOUND", "message": path}]})
        repo, kind, rest = m.group("name"), m.group("kind"), m.group("rest")
        write = h.command in ("PUT", "POST", "PATCH", "DELETE")
        actions = [(repo, "pull")] + ([(repo, "push")] if write else [])
        if h.command == "DELETE":
            actions = [(repo, "delete")]
        mount_from = (q.get("from") or [None])[0]
        if h.command == "POST" and mount_from and q.get("mount"):
            actions.append((mount_from, "pull"))
        if not self._authorized(h, repo, actions):
            return self._challenge(h, actions)
        if kind == "manifests":
            return self._manifests(h, repo, rest, body)
        if kind == "referrers":
            return self._referrers(h, repo, rest, q)
        return self._blobs(h, repo, rest, q, body)

    def referrers_of(self, repo, digest, artifact_type=None):
        """Descriptors of repo's manifests whose subject is digest."""
        out = []
        with self._lock:
            items = [(d, v) for (r, d), v in self.manifests.items() if r == repo]
        for d, (data, mt) in sorted(items):
            try:
                doc = json.loads(data)
            except ValueError:
                continue
            if (doc.get("subject") or {}).get("digest") != digest:
                continue
            at = doc.get("artifactType") or (doc.get("config") or {}).get("mediaType")
            if artifact_type and at != artifact_type:
                continue
            desc = {"mediaType": mt, "digest": d, "size": len(data)}
            if at:
                desc["artifactType"] = at
            if doc.get("annotations"):
                desc["annotations"] = doc["annotations"]
            out.append(desc)
        return out

    def _referrers(self, h, repo, digest, q):
        if not self.referrers:
            return h.reply(404, b"404 page not found\n", ctype="text/plain")
        if h.command != "GET":
            return h.reply(405, {"errors": [{"code": "UNSUPPORTED", "message": h.command}]})
        at = (q.get("artifactType") or [None])[0]
        found = sorted(self.referrers_of(repo, digest, at), key=lambda d: d["digest"])
        headers = {"OCI-Filters-Applied": "artifactType"} if at else {}
        if self.referrers_page:
            last = (q.get("last") or [""])[0]
            rest = [d for d in found if d["digest"] > last]
            found = rest[:self.referrers_page]
            if len(rest) > len(found):
                # a "prev" link first, as some registries send: only "next" is to be followed
                links = ['</v2/%s/referrers/%s?n=%d>; rel="prev"' % (repo, digest, self.referrers_page)] \
                    if last else []
                links.append('</v2/%s/referrers/%s?n=%d&last=%s>; rel="next"' % (
                    repo, digest, self.referrers_page, found[-1]["digest"]))
                headers["Link"] = ", ".join(links)
        if self.referrers_loop:
            headers["Link"] = '<%s>; rel="next"' % h.path
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": found}
        return h.reply(200, json.dumps(index).encode(), headers, ctype=OCI_INDEX)

    def _manifests(self, h, repo, ref, body):
        if h.command in ("GET", "HEAD"):
            found = self.manifest(repo, ref)
            if not found:
                return h.reply(404, {"errors": [{"code": "MANIFEST_UNKNOWN",
                                                 "message": "manifest unknown"}]})
            data, mt = found
            return h.reply(200, data, {"Docker-Content-Digest": sha256_digest(data)}, ctype=mt)
        if h.command == "PUT":
            mt = (h.headers.get("Content-Type") or "").split(";")[0].strip()
            d = sha256_digest(body)
            if ref.startswith("sha256:") and ref != d:
                return h.reply(400, {"errors": [{"code": "DIGEST_INVALID", "message": ref}]})
            self.add_manifest(repo, None if ref.startswith("sha256:") else ref, body, mt)
            headers = {"Docker-Content-Digest": d, "Location": "/v2/%s/manifests/%s" % (repo, d)}
            subject = (json.loads(body or b"{}").get("subject") or {}).get("digest") \
                if mt.endswith("+json") else None
            if self.referrers and subject:
                headers["OCI-Subject"] = subject
            return h.reply(201, b"", headers)
        if h.command == "DELETE":
            with self._lock:
                if (repo, ref) not in self.manifests:
                    return h.reply(404, {"errors": [{"code": "MANIFEST_UNKNOWN",
                                                     "message": ref}]})
                del self.manifests[(repo, ref)]
                for k in [k for k, v in self.tags.items() if k[0] == repo and v == ref]:
                    del self.tags[k]
            return h.reply(202)
        return h.reply(405, {"errors": [{"code": "UNSUPPORTED", "message": h.command}]})

    def _blobs(self, h, repo, rest, q, body):
        if rest.startswith("sha256:") and h.command in ("GET", "HEAD"):
            with self._lock:
                have = (repo, rest) in self.repo_blobs
                data = self.blobs.get(rest)
            if not have:
                return h.reply(404, {"errors": [{"code": "BLOB_UNKNOWN", "message": rest}]})
            if h.command == "GET" and self.redirect_blobs:
                loc = "http://%s/blobdata/%s?X-Fake-Signature=%s" % (
                    self.blob_host, rest, secrets.token_hex(8))
                return h.reply(307, b"", {"Location": loc})
            return h.reply(200, data, {"Docker-Content-Digest": rest},
                           ctype="application/octet-stream")
        if not rest.startswith("uploads"):
            return h.reply(404, {"errors": [{"code": "NOT_FOUND", "message": rest}]})
        uuid = rest[len("uploads"):].strip("/")
        digest = (q.get("digest") or [None])[0]
        if h.command == "POST" and not uuid:
            mount, src = (q.get("mount") or [None])[0], (q.get("from") or [None])[0]
            if mount and src:
                with self._lock:
                    ok = (src, mount) in self.repo_blobs
                    if ok:
                        self.repo_blobs.add((repo, mount))
                if ok:
                    return h.reply(201, b"", {"Location": "/v2/%s/blobs/%s" % (repo, mount),
                                              "Docker-Content-Digest": mount})
            if digest:
                return self._finish(h, repo, bytearray(body), digest)
            uuid = secrets.token_hex(8)
            with self._lock:
                self.uploads[uuid] = (repo, bytearray(body))
            return h.reply(202, b"", {"Location": "/v2/%s/blobs/uploads/%s" % (repo, uuid),
                                      "Docker-Upload-UUID": uuid, "Range": "0-0"})
        with self._lock:
            up = self.uploads.get(uuid)
        if not up or up[0] != repo:
            return h.reply(404, {"errors": [{"code": "BLOB_UPLOAD_UNKNOWN", "message": uuid}]})
        if h.command == "GET":
            # upload status: where the session stands
            with self._writes_done:
                self._writes_done.wait_for(lambda: self._writes == 0, timeout=5)
            return h.reply(204, b"", {"Location": "/v2/%s/blobs/uploads/%s" % (repo, uuid),
                                      "Docker-Upload-UUID": uuid,
                                      "Range": "0-%d" % max(0, len(up[1]) - 1)})
        up[1].extend(body)
        if len(body) < int(h.headers.get("Content-Length") or 0):
            return h.reply(400, {"errors": [{"code": "BLOB_UPLOAD_INVALID", "message": "body cut short"}]})
        if h.command == "PATCH":
            return h.reply(202, b"", {"Location": "/v2/%s/blobs/uploads/%s" % (repo, uuid),
                                      "Docker-Upload-UUID": uuid,
                                      "Range": "0-%d" % max(0, len(up[1]) - 1)})
        if h.command == "PUT" and digest:
            with self._lock:
                self.uploads.pop(uuid, None)
            return self._finish(h, repo, up[1], digest)
        return h.reply(400, {"errors": [{"code": "UNSUPPORTED", "message": h.command}]})

    def _finish(self, h, repo, data, digest):
        if sha256_digest(bytes(data)) != digest:
            return h.reply(400, {"errors": [{"code": "DIGEST_INVALID", "message": digest}]})
        self.add_blob(repo, bytes(data))
        return h.reply(201, b"", {"Location": "/v2/%s/blobs/%s" % (repo, digest),
                                  "Docker-Content-Digest": digest})

    # ---- the other host: signed blob URLs ------------------------------------

    def _handle_blob_host(self, h):
        url = urllib.parse.urlsplit(h.path)
        if not url.path.startswith("/blobdata/"):
            return h.reply(404, b"not found", ctype="text/plain")
        if h.headers.get("Authorization") and self.refuse_authorization_on_redirect:
            # what S3 answers when a presigned URL also carries Authorization
            return h.reply(400, b"<Error><Code>InvalidArgument</Code><Message>Only one "
                           b"auth mechanism allowed</Message></Error>",
                           ctype="application/xml")
        d = url.path[len("/blobdata/"):]
        with self._lock:
            data = self.blobs.get(d)
        if data is None:
            return h.reply(404, b"no such blob", ctype="text/plain")
        return h.reply(200, data, ctype="application/octet-stream")
