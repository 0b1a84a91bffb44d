"""A fault-injecting HTTP/1.1 proxy for the integration tests.

It listens on 127.0.0.1 (a free port), forwards every request to the real
registry and, when a rule matches, answers for it or spoils its answer:

    with FaultProxy(reg.port) as px:
        px.add("HEAD", r"^/v2/it/src/manifests/v1$", "status", status=503,
               times=2)                      # transient: first 2 matches
        px.add("PUT", r"/manifests/v1$", "reset")   # persistent: every match
        run_mlist("--plain-http", "create", ... px.ref("it/app:v1") ...)
        px.log                               # [ProxyLogEntry(...)]

Rules are tried in the order they were added. A rule matches by method (a
string, a tuple of strings or None = any) and a path regex (re.search on
the request target, query included). Each rule counts its matches; it fires
on match number skip+1 .. skip+times (times=None: every later match), so
``skip=N-1, times=1`` is "the Nth matching request only". A request that no
firing rule takes is forwarded unchanged.

Actions
  status        the proxy answers itself (the request is NOT forwarded):
                ``status`` (default 503), a registry-style JSON body
                {"errors":[{"code","message"}]} (``code``, ``message``; or a
                raw ``body``, bytes or str), ``retry_after`` -> Retry-After,
                ``headers`` {name: value} added (value None removes one).
                Also used to serve crafted "200" answers (a manifest the
                registry would never send): status=200, body=..., headers=.
  reset         close the client socket at once with SO_LINGER 0 (an RST),
                request not forwarded.
  stall         read the request, then send nothing until the client gives
                up (closes) or ``stall`` seconds passed (default 10), then
                close: the request is not forwarded.
  truncate      forward, then send the answer cut short while keeping the
                original Content-Length, and close. An answer with an empty
                body (HEAD, 201, 202) is sent without the blank line that
                ends its header block (every header line, then close).
  wrong_digest  forward, replace the answer's Docker-Content-Digest (added
                if absent) with another valid digest (sha256 of something
                else; ``digest`` overrides it).
  drop          forward (the registry acts on the request), then reset the
                client connection instead of answering: a lost answer.
  trickle       forward, then send the answer's header block at once and its
                body ``rate`` bytes a second (default 2), until it is all sent
                or the client gives up (closes).
  rewrite       forward, then call ``fn(status, headers, body)`` which
                returns (status, headers, body); headers is a list of
                (name, value) pairs. Content-Length follows the new body
                unless the function sets one itself (``keep_length``).

TLS: mlist probes a loopback registry with a TLS ClientHello first and
falls back to plain HTTP only when a plain HTTP server answers it. A
connection that starts with a TLS handshake record (0x16) is logged as
method "TLS", path "/v2/" and matched like a request; unless a rule says
otherwise the proxy answers "HTTP/1.1 400 Bad Request" in plain text and
closes, as a plain HTTP server (distribution's) would. ``status`` rules
answer the hello with that status (still plain HTTP), ``reset`` and
``stall`` work as above.

Location headers naming the upstream host:port are rewritten to the proxy
(the Host header is forwarded as the client sent it, so the registry
already builds upload URLs on the proxy; the rewrite is a safety net).

Client connections are kept alive (HTTP/1.1) unless the client asks to
close or the action ends the connection; every request is forwarded on a
new upstream connection (Connection: close), so each one is independent.
Every wait is bounded (socket timeouts, stall cap), and stop() closes
every socket.

The log: ``px.log`` is a list of ProxyLogEntry(t, conn, method, path,
action, status, rule) in arrival order; ``t`` is time.monotonic() when the
request was read; ``status`` what the client was sent (None for reset,
stall, TLS default hello answers send 400).
"""

import collections
import hashlib
import http.client
import json
import re
import select
import socket
import struct
import threading
import time

from loopback import LoopbackService, listen_on_loopback, shut

ProxyLogEntry = collections.namedtuple(
    "ProxyLogEntry", "t conn method path action status rule")

_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding",
               "te", "trailer", "upgrade", "proxy-authenticate",
               "proxy-authorization"}

_REASONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content",
            307: "Temporary Redirect", 400: "Bad Request", 401: "Unauthorized",
            403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
            429: "Too Many Requests", 500: "Internal Server Error",
            502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}

_CODES = {429: "TOOMANYREQUESTS", 500: "UNKNOWN", 502: "UNKNOWN", 503: "UNAVAILABLE",
          504: "UNKNOWN", 400: "UNSUPPORTED", 401: "UNAUTHORIZED", 403: "DENIED",
          404: "MANIFEST_UNKNOWN", 405: "UNSUPPORTED"}

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 64 * 1024 * 1024
CLIENT_IDLE_TIMEOUT = 30      # seconds a kept-alive client may stay silent
UPSTREAM_TIMEOUT = 30


class _BadRequest(Exception):
    pass


class Rule:
    ACTIONS = ("status", "reset", "stall", "truncate", "wrong_digest", "rewrite", "drop", "trickle")

    def __init__(self, method, path, action, status=503, code=None, message=None,
                 body=None, retry_after=None, headers=None, skip=0, times=None,
                 stall=10.0, digest=None, fn=None, name=None, keep_length=False, rate=2):
        if action not in self.ACTIONS:
            raise ValueError("unknown action %r" % action)
        if isinstance(method, str):
            method = (method,)
        self.methods = tuple(m.upper() for m in method) if method else None
        self.path_re = re.compile(path) if path else None
        self.action = action
        self.status = status
        self.code = code
        self.message = message
        self.body = body
        self.retry_after = retry_after
        self.headers = dict(headers or {})
        self.skip = skip
        self.times = times
        self.stall = stall
        self.digest = digest
        self.fn = fn
        self.keep_length = keep_length
        self.rate = rate
        self.name = name or "%s %s %s" % ("/".join(self.methods or ("*",)), path, action)
        self.matched = 0   # requests that matched
        self.fired = 0     # of those, the ones the action was applied to

    def matches(self, method, path):
        if self.methods and method.upper() not in self.methods:
            return False
        return not self.path_re or bool(self.path_re.search(path))

    def take(self):
        """Counts a match; True if the action applies to it."""
        self.matched += 1
        n = self.matched - self.skip
        if n < 1 or (self.times is not None and n > self.times):
            return False
        self.fired += 1
        return True

    def error_body(self):
        if self.body is not None:
            return self.body.encode() if isinstance(self.body, str) else self.body
        code = self.code or _CODES.get(self.status, "UNKNOWN")
        message = self.message or "injected %d by faultproxy" % self.status
        return json.dumps({"errors": [{"code": code, "message": message,
                                       "detail": None}]}).encode()

    def __repr__(self):
        return "<Rule %s matched=%d fired=%d>" % (self.name, self.matched, self.fired)


class _Request:
    __slots__ = ("method", "target", "version", "headers", "body", "close")

    def header(self, name):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None


def _other_digest(value):
    seed = (value or "faultproxy").encode() + b"#wrong"
    return "sha256:" + hashlib.sha256(seed).hexdigest()


class FaultProxy(LoopbackService):
    def __init__(self, upstream_port, upstream_host="127.0.0.1"):
        self.upstream = (upstream_host, upstream_port)
        self.upstream_hostport = "%s:%d" % (upstream_host, upstream_port)
        self.port = None
        self.rules = []
        self.log = []
        self._lock = threading.Lock()
        self._sock = None
        self._socks = set()
        self._threads = []
        self._conn_seq = 0
        self._stopping = threading.Event()

    # ---- lifecycle ----------------------------------------------------------

    def start(self):
        s = listen_on_loopback(128)
        s.settimeout(0.2)   # accept() wakes up to notice stop()
        self._sock = s
        self.port = s.getsockname()[1]
        t = threading.Thread(target=self._accept_loop, daemon=True,
                             name="faultproxy-accept-%d" % self.port)
        t.start()
        self._threads.append(t)
        return self

    def stop(self):
        self._stopping.set()
        s, self._sock = self._sock, None
        if s is not None:
            shut(s)
        with self._lock:
            socks, self._socks = list(self._socks), set()
        for c in socks:
            shut(c)
        for t in self._threads:
            t.join(timeout=2)

    # ---- configuration -------------------------------------------------------


    def add(self, method, path, action, **kw):
        rule = Rule(method, path, action, **kw)
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self):
        with self._lock:
            self.rules = []

    def reset_log(self):
        with self._lock:
            self.log = []

    def entries(self, method=None, path=None, action=None):
        """Log entries filtered by method, path regex and action."""
        with self._lock:
            log = list(self.log)
        out = []
        for e in log:
            if method and e.method != method:
                continue
            if path and not re.search(path, e.path):
                continue
            if action and e.action != action:
                continue
            out.append(e)
        return out

    def writes(self):
        return [e for e in self.entries()
                if e.method in ("PUT", "POST", "PATCH", "DELETE")]

    # ---- internals -----------------------------------------------------------

    def _track(self, s):
        with self._lock:
            self._socks.add(s)

    def _untrack(self, s):
        with self._lock:
            self._socks.discard(s)

    def _record(self, conn, method, path, action, status, rule):
        e = ProxyLogEntry(time.monotonic(), conn, method, path, action, status,
                          rule.name if rule else None)
        with self._lock:
            self.log.append(e)
        return e

    def _update_status(self, entry, status):
        with self._lock:
            for i in range(len(self.log) - 1, -1, -1):
                if self.log[i] is entry:
                    self.log[i] = entry._replace(status=status)
                    break

    def _pick(self, method, path):
        with self._lock:
            for rule in self.rules:
                if rule.matches(method, path) and rule.take():
                    return rule
        return None

    def _accept_loop(self):
        while not self._stopping.is_set():
            s = self._sock
            if s is None:
                return
            try:
                c, _ = s.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            c.settimeout(None)
            with self._lock:
                self._conn_seq += 1
                n = self._conn_seq
            self._track(c)
            t = threading.Thread(target=self._serve, args=(c, n), daemon=True,
                                 name="faultproxy-conn-%d" % n)
            t.start()

    def _serve(self, c, conn_id):
        c.settimeout(CLIENT_IDLE_TIMEOUT)
        rf = c.makefile("rb", buffering=65536)
        try:
            while not self._stopping.is_set():
                try:
                    first = rf.peek(1)[:1]
                except (OSError, ValueError):
                    return
                if not first:
                    return
                if first == b"\x16":
                    self._tls_hello(c, rf, conn_id)
                    return
                try:
                    req = self._read_request(rf)
                except _BadRequest as e:
                    self._send_simple(c, 400, str(e).encode(), close=True)
                    return
                except (OSError, ValueError):
                    return
                if req is None:
                    return
                keep = self._handle(c, rf, req, conn_id)
                if not keep or req.close:
                    return
        finally:
            try:
                rf.close()
            except OSError:
                pass
            self._close(c)

    def _close(self, c, abort=False):
        if abort:
            try:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        shut(c, None if abort else socket.SHUT_WR)
        self._untrack(c)

    # ---- reading a request -----------------------------------------------------

    @staticmethod
    def _readline(rf, budget):
        line = rf.readline(budget + 1)
        if len(line) > budget:
            raise _BadRequest("header too long")
        return line

    def _read_request(self, rf):
        line = self._readline(rf, 16384)
        while line in (b"\r\n", b"\n"):
            line = self._readline(rf, 16384)
        if not line:
            return None
        parts = line.decode("latin-1").rstrip("\r\n").split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            raise _BadRequest("bad request line")
        req = _Request()
        req.method, req.target, req.version = parts
        req.headers = []
        total = 0
        while True:
            h = self._readline(rf, 16384)
            total += len(h)
            if total > MAX_HEADER_BYTES:
                raise _BadRequest("headers too large")
            if h in (b"\r\n", b"\n", b""):
                break
            name, _, value = h.decode("latin-1").partition(":")
            req.headers.append((name.strip(), value.strip()))
        conn_hdr = (req.header("Connection") or "").lower()
        req.close = "close" in conn_hdr or (req.version == "HTTP/1.0" and "keep-alive" not in conn_hdr)
        req.body = self._read_body(rf, req)
        return req

    def _read_body(self, rf, req):
        te = (req.header("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            out = bytearray()
            while True:
                size_line = self._readline(rf, 1024)
                if not size_line:
                    raise _BadRequest("truncated chunked body")
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self._readline(rf, 16384) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                if len(out) + size > MAX_BODY_BYTES:
                    raise _BadRequest("body too large")
                out += rf.read(size)
                rf.readline(4)
        cl = req.header("Content-Length")
        if cl is None:
            return b""
        try:
            n = int(cl)
        except ValueError:
            raise _BadRequest("bad Content-Length") from None
        if n < 0 or n > MAX_BODY_BYTES:
            raise _BadRequest("bad Content-Length")
        body = rf.read(n)
        if len(body) != n:
            raise _BadRequest("truncated body")
        return body

    # ---- answering -------------------------------------------------------------

    @staticmethod
    def _head_bytes(status, reason, headers):
        lines = ["HTTP/1.1 %d %s" % (status, reason)]
        lines += ["%s: %s" % (k, v) for k, v in headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _send_simple(self, c, status, body, headers=(), close=False, head=False):
        hdrs = [("Content-Type", "application/json; charset=utf-8"),
                ("Docker-Distribution-Api-Version", "registry/2.0")]
        extra = dict(headers)
        names = {k.lower() for k in extra}
        hdrs = [(k, v) for k, v in hdrs if k.lower() not in names]
        for k, v in extra.items():
            if v is not None:
                hdrs.append((k, v))
        if "content-length" not in names:
            hdrs.append(("Content-Length", str(len(body))))
        if close:
            hdrs.append(("Connection", "close"))
        data = self._head_bytes(status, _REASONS.get(status, "Status"), hdrs)
        if not head:
            data += body
        try:
            c.sendall(data)
        except OSError:
            return False
        return True

    def _stall(self, c, seconds):
        """Waits until the client closes the connection or `seconds` pass."""
        deadline = time.monotonic() + seconds
        while not self._stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                r, _, _ = select.select([c], [], [], min(left, 0.2))
            except (OSError, ValueError):
                return
            if r:
                try:
                    if not c.recv(65536):
                        return      # the client gave up
                except OSError:
                    return

    def _tls_hello(self, c, rf, conn_id):
        try:
            rf.read1(65536)   # the ClientHello: read it, so close() sends FIN not RST
        except OSError:
            pass
        rule = self._pick("TLS", "/v2/")
        action = rule.action if rule else "plain-400"
        entry = self._record(conn_id, "TLS", "/v2/", action, None, rule)
        if rule is None or rule.action in ("truncate", "wrong_digest", "rewrite"):
            body = b"Client sent an HTTP request to an HTTPS server.\n"
            self._update_status(entry, 400)
            self._send_simple(c, 400, body, headers={"Content-Type": "text/plain"}, close=True)
            time.sleep(0.05)
            self._close(c)
        elif rule.action == "reset":
            self._close(c, abort=True)
        elif rule.action == "stall":
            self._stall(c, rule.stall)
            self._close(c)
        else:
            hdrs = dict(rule.headers)
            if rule.retry_after is not None:
                hdrs["Retry-After"] = str(rule.retry_after)
            self._update_status(entry, rule.status)
            self._send_simple(c, rule.status, rule.error_body(), headers=hdrs, close=True)
            time.sleep(0.05)
            self._close(c)

    def _handle(self, c, rf, req, conn_id):
        """Serves one request; False when the client connection is done."""
        rule = self._pick(req.method, req.target)
        action = rule.action if rule else "forward"
        entry = self._record(conn_id, req.method, req.target, action, None, rule)
        head = req.method == "HEAD"
        if action == "status":
            hdrs = dict(rule.headers)
            if rule.retry_after is not None:
                hdrs["Retry-After"] = str(rule.retry_after)
            self._update_status(entry, rule.status)
            return self._send_simple(c, rule.status, rule.error_body(), headers=hdrs,
                                     close=req.close, head=head)
        if action == "reset":
            self._close(c, abort=True)
            return False
        if action == "stall":
            self._stall(c, rule.stall)
            return False
        try:
            status, reason, headers, body = self._forward(req)
        except OSError as e:
            msg = json.dumps({"errors": [{"code": "UNKNOWN",
                                          "message": "faultproxy: upstream failed: %s" % e}]})
            self._update_status(entry, 502)
            self._send_simple(c, 502, msg.encode(), close=True, head=head)
            return False
        headers = self._fix_headers(headers)
        if action == "drop":
            self._update_status(entry, None)
            self._close(c, abort=True)
            return False
        if action == "wrong_digest":
            old = None
            for k, v in headers:
                if k.lower() == "docker-content-digest":
                    old = v
            headers = [(k, v) for k, v in headers if k.lower() != "docker-content-digest"]
            headers.append(("Docker-Content-Digest", rule.digest or _other_digest(old)))
        if action == "rewrite":
            status, headers, body = rule.fn(status, list(headers), body)
            if isinstance(body, str):
                body = body.encode()
            reason = _REASONS.get(status, "Status")
        length_set = any(k.lower() == "content-length" for k, _ in headers)
        if not head and not (action == "rewrite" and rule.keep_length and length_set):
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers.append(("Content-Length", str(len(body))))
        if action == "truncate":
            data = self._head_bytes(status, reason, headers)
            if body and not head:
                data += body[:len(body) // 2]
            else:
                data = data[:-2]    # every header line, but not the blank line ending them
            self._update_status(entry, status)
            try:
                c.sendall(data)
            except OSError:
                pass
            self._close(c)
            return False
        if action == "trickle":
            self._update_status(entry, status)
            return self._trickle(c, self._head_bytes(status, reason, headers),
                                 b"" if head else body, rule.rate)
        if req.close:
            headers.append(("Connection", "close"))
        data = self._head_bytes(status, reason, headers)
        if not head:
            data += body
        self._update_status(entry, status)
        try:
            c.sendall(data)
        except OSError:
            return False
        return True

    def _trickle(self, c, head, body, rate):
        """Sends head, then body `rate` bytes a second; False when the
        client went away first (or the proxy stops)."""
        try:
            c.sendall(head)
            for i in range(0, len(body), rate):
                if i:
                    if self._stopping.wait(1.0):
                        return False
                c.sendall(body[i:i + rate])
        except OSError:
            return False
        return True

    def _fix_headers(self, headers):
        out = []
        proxy = self.host
        for k, v in headers:
            if k.lower() in _HOP_BY_HOP:
                continue
            if k.lower() == "location":
                v = v.replace("//" + self.upstream_hostport, "//" + proxy)
                if v.startswith(self.upstream_hostport):
                    v = proxy + v[len(self.upstream_hostport):]
            out.append((k, v))
        return out

    def _forward(self, req):
        up = http.client.HTTPConnection(self.upstream[0], self.upstream[1],
                                        timeout=UPSTREAM_TIMEOUT)
        try:
            up.putrequest(req.method, req.target, skip_host=True,
                          skip_accept_encoding=True)
            has_host = False
            for k, v in req.headers:
                lk = k.lower()
                if lk in _HOP_BY_HOP or lk in ("content-length", "expect"):
                    continue
                if lk == "host":
                    has_host = True
                up.putheader(k, v)
            if not has_host:
                up.putheader("Host", self.upstream_hostport)
            up.putheader("Connection", "close")
            if req.body or req.method in ("PUT", "POST", "PATCH"):
                up.putheader("Content-Length", str(len(req.body)))
            up.endheaders(req.body or None)
            resp = up.getresponse()
            body = resp.read()
            return resp.status, resp.reason, resp.getheaders(), body
        finally:
            up.close()
