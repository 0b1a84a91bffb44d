"""Bad input: every case ends with exit 2 (input: usage, spec, reference,
platform) or 1 (the registry's answer), a specific message, nothing on
stdout, no raw control characters on stderr, and no write to the registry
(DESIGN §4, §5; issue "release pipelines against failing registries").

  BadSpecCorpusTest       tests/data/bad/spec-*.yaml (format in its README)
                          with create and validate, plus generated specs
                          (over the size limit, 100000-deep, huge reference)
  BadFlagsTest            options and commands
  BadReferenceTest        references given to inspect / delete / verify
  BadRegistryAnswerTest   answers spoiled by the fault proxy: invalid JSON,
                          wrong media types, a 5 MiB manifest, 100-deep JSON,
                          Content-Type and Docker-Content-Digest lies, bytes
                          that do not match the digest they were fetched by,
                          control characters / ANSI escapes in error texts,
                          oversized and odd headers

Where the registry is involved, every image a case names exists, so input
that were wrongly accepted would really be pushed and show up as writes.
"""

import glob
import json
import os
import re
import sys
import unittest

from fixture import (DOCKER_CONFIG_TYPE, DOCKER_LIST, DOCKER_MANIFEST,
                     OCI_INDEX, MlistTestCase, describe, run_mlist, sha256_digest)
from faultproxy import FaultProxy

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.normpath(os.path.join(HERE, "..", "data", "bad"))
SRC = "bad/src"

# C0 controls except \t and \n, DEL, and C1 controls (raw or UTF-8 encoded).
CONTROL_RE = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]")


def header_fields(data):
    """'# key: value' lines of a corpus file -> {key: value}."""
    fields = {}
    for line in data.split(b"\n"):
        m = re.match(rb"^# ([a-z-]+): (.*)$", line)
        if m:
            fields.setdefault(m.group(1).decode(), m.group(2).decode())
    return fields


class _BadInputCase(MlistTestCase):

    def check_refused(self, r, code, pattern, writes_log=None, proxy=None, what=""):
        """The common assertions of a bad-input case."""
        ctx = (what + describe(r)) if what else describe(r)
        err = r.stderr if isinstance(r.stderr, bytes) else r.stderr.encode("utf-8", "surrogateescape")
        out = r.stdout if isinstance(r.stdout, bytes) else r.stdout.encode("utf-8", "surrogateescape")
        text = err.decode("utf-8", "replace")
        if os.environ.get("ML_BADINPUT_SHOW"):
            sys.stderr.write("  %s exit %s: %s\n" % (what, r.returncode, text.strip()[:300]))
        self.assertEqual(r.returncode, code, "exit code" + ctx)
        self.assertTrue(text.startswith("mlist"), "stderr should start with 'mlist'" + ctx)
        self.assertRegex(text, re.compile(pattern, re.I), "message" + ctx)
        self.assertNotIn("Digest:", out.decode("utf-8", "replace"), "a result on stdout" + ctx)
        self.assertIsNone(CONTROL_RE.search(err), "raw control character on stderr: %r%s" % (
            CONTROL_RE.search(err).group(0) if CONTROL_RE.search(err) else b"", ctx))
        log = self.reg.access_log() if writes_log is None else writes_log
        writes = [e for e in log if e.method in ("PUT", "POST", "PATCH", "DELETE")]
        self.assertEqual(writes, [], "writes to the registry" + ctx)
        if proxy is not None:
            self.assertEqual(proxy.writes(), [], "writes through the proxy" + ctx)


# ----------------------------------------------------------------------------
# Specs

class BadSpecCorpusTest(_BadInputCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for tag, plat in (("v1-amd64", "linux/amd64"), ("v1-arm64", "linux/arm64"),
                          ("v1-amd64-again", "linux/amd64")):
            cls.reg.seed_image("bad/corpus:%s" % tag, plat)

    def corpus_files(self):
        files = sorted(glob.glob(os.path.join(CORPUS, "spec-*.yaml")))
        self.assertGreaterEqual(len(files), 40, "corpus not found in %s" % CORPUS)
        return files

    def _materialise(self, path):
        with open(path, "rb") as f:
            data = f.read()
        fields = header_fields(data)
        data = data.replace(b"{HOST}", self.reg.host.encode()).replace(b"{REPO}", b"bad/corpus")
        out = os.path.join(self.tmpdir, "spec.yaml")
        with open(out, "wb") as f:
            f.write(data)
        return out, fields

    def test_corpus_create(self):
        for path in self.corpus_files():
            name = os.path.basename(path)
            with self.subTest(spec=name):
                spec, fields = self._materialise(path)
                self.reg.reset_access_log()
                args = fields.get("args", "").split()
                r = self.mlist("--plain-http", "create", *args, spec)
                self.check_refused(r, int(fields["expect-exit"]), fields["expect-stderr"],
                                   what="[create %s]" % name)

    def test_corpus_validate(self):
        """validate is offline: the same refusals, without any request."""
        for path in self.corpus_files():
            name = os.path.basename(path)
            with self.subTest(spec=name):
                spec, fields = self._materialise(path)
                self.reg.reset_access_log()
                args = fields.get("args", "").split()
                r = self.mlist("validate", *args, spec)
                self.check_refused(r, int(fields["expect-exit"]), fields["expect-stderr"],
                                   what="[validate %s]" % name)
                self.assertEqual(self.reg.access_log(), [], "validate contacted the registry")

    def _write(self, name, data):
        path = os.path.join(self.tmpdir, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def test_generated_specs(self):
        host = self.reg.host.encode()
        entry = (b"  - image: " + host + b"/bad/corpus:v1-amd64\n"
                 b"    platform: {architecture: amd64, os: linux}\n")
        head = b"image: " + host + b"/bad/corpus:v1\nmanifests:\n"
        cases = [
            # a 17 MiB spec: over the 16 MiB limit, refused before parsing
            ("huge", head + entry + b"# " + b"x" * (17 * 1024 * 1024) + b"\n",
             r"larger than|too (large|big)"),
            # 100000 nested flow sequences
            ("deep", b"image: " + b"[" * 100000 + b"]" * 100000 + b"\n", r"depth|deep|nest"),
            # a 5000-character repository path
            ("long-ref", head.replace(b"/bad/corpus:v1", b"/" + b"a/" * 2500 + b"b:v1") + entry,
             r"longer than|too long"),
            # 20000 entries that all name the same platform
            ("many-duplicates", head + entry * 20000, r"same platform|duplicate"),
        ]
        for name, data, pattern in cases:
            with self.subTest(spec=name):
                path = self._write(name + ".yaml", data)
                self.reg.reset_access_log()
                r = self.mlist("--plain-http", "create", path)
                self.check_refused(r, 2, pattern, what="[%s]" % name)


# ----------------------------------------------------------------------------
# Flags and commands

class BadFlagsTest(_BadInputCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.reg.seed_image("bad/flags:v1-amd64", "linux/amd64")
        cls.reg.seed_image("bad/flags:v1-arm64", "linux/arm64")
        cls.reg.push_test_list("bad/flags", "list")

    def test_bad_flags(self):
        host = self.reg.host
        spec = self.write_spec(
            "image: {HOST}/bad/flags:v1\nmanifests:\n"
            "  - image: {HOST}/bad/flags:v1-amd64\n    platform: {architecture: amd64, os: linux}\n"
            "  - image: {HOST}/bad/flags:v1-arm64\n    platform: {architecture: arm64, os: linux}\n")
        target = "%s/bad/flags:v1" % host
        P = "--plain-http"
        cases = [
            ("unknown option", [P, "--bogus", "create", spec], None, r"unknown option '--bogus'"),
            ("unknown short option", ["-x", P, "create", spec], None, r"unknown option '-x'"),
            ("missing value", [P, "create", spec, "--timeout"], None, r"--timeout.*needs a value"),
            ("missing value of --username", ["--username"], None, r"--username.*needs a value"),
            ("timeout not a number", [P, "--timeout", "abc", "create", spec], None,
             r"--timeout.*whole number.*abc"),
            ("negative timeout", [P, "--timeout", "-1", "create", spec], None, r"--timeout.*-1"),
            ("retries in exponent form", [P, "--retries", "1e3", "create", spec], None,
             r"--retries.*1e3"),
            ("concurrency not a number", [P, "--concurrency", "many", "create", spec], None,
             r"--concurrency.*many"),
            ("negative concurrency", [P, "--concurrency", "-3", "create", spec], None,
             r"--concurrency.*-3"),
            ("absurd concurrency", [P, "--concurrency", "999999", "create", spec], None,
             r"--concurrency.*999999"),
            ("bad --type", [P, "create", "--type", "zip", spec], None, r"--type.*docker.*oci.*zip"),
            ("--type=", [P, "create", "--type=", spec], None, r"--type"),
            ("password and password-stdin", [P, "--password", "x", "--password-stdin",
                                              "create", spec], None, r"exclude each other"),
            ("password-stdin without input", [P, "--password-stdin", "create", spec], "",
             r"password-stdin.*nothing to read"),
            ("value for a flag", [P, "create", "--dry-run=yes", spec], None,
             r"--dry-run.*takes no value"),
            ("no command", [P], None, r"no command"),
            ("unknown command", [P, "publish", spec], None, r"unknown command 'publish'"),
            ("create without spec", [P, "create"], None, r"create needs one spec"),
            ("create with two specs", [P, "create", spec, spec], None, r"needs one spec"),
            ("push without mode", [P, "push"], None, r"push needs"),
            ("push unknown mode", [P, "push", "from-nowhere"], None, r"unknown mode 'from-nowhere'"),
            ("push from-args incomplete", [P, "push", "from-args", "--platforms", "linux/amd64",
                                           "--target", target], None, r"--template"),
            ("push from-args bad platform", [P, "push", "from-args", "--platforms", "linux",
                                             "--template", "%s/bad/flags:v1-ARCH" % host,
                                             "--target", target], None, r"--platforms.*'linux'"),
            ("annotation without =", [P, "create", "--type", "oci", "--annotation", "novalue",
                                      spec], None, r"annotation.*novalue"),
            ("annotation on a docker list", [P, "create", "--type", "docker", "--annotation",
                                             "a=b", spec], None, r"docker|OCI"),
            ("update --add bad platform", [P, "update", target, "--add",
                                           "%s/bad/flags:v1-amd64=notaplatform" % host], None,
             r"notaplatform"),
            ("update --remove bad platform", [P, "update", target, "--remove", "bad platform"],
             None, r"bad platform"),
            ("update --add with two targets", [P, "update", target, target, "--add",
                                               "%s/bad/flags:v1-amd64" % host], None,
             r"one target"),
            ("inspect bad --platform", [P, "inspect", "--platform", "linux",
                                        "%s/bad/flags:list" % host], None,
             r"platform.*linux"),
            ("missing spec file", [P, "create", os.path.join(self.tmpdir, "absent.yaml")], None,
             r"absent\.yaml"),
            ("spec is a directory", [P, "create", self.tmpdir], None, r"directory|read"),
            ("missing --ca-cert file", ["--ca-cert", os.path.join(self.tmpdir, "no-ca.pem"),
                                        "inspect", "%s/bad/flags:v1-amd64" % host], None,
             r"no-ca\.pem"),
        ]
        for name, argv, stdin, pattern in cases:
            with self.subTest(case=name):
                self.reg.reset_access_log()
                r = self.mlist(*argv, input=stdin)
                self.check_refused(r, 2, pattern, what="[%s]" % name)


# ----------------------------------------------------------------------------
# References

class BadReferenceTest(_BadInputCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.reg.push_test_list("bad/refs", "v1")

    def test_bad_references(self):
        host = self.reg.host
        cases = [
            ("inspect", "%s/Upper/Case:v1" % host, r"lowercase"),
            ("inspect", "%s/bad/refs:v1:v2" % host, r"invalid reference"),
            ("inspect", "%s/bad/refs@sha256:abc" % host, r"64"),
            ("inspect", "%s/bad/refs@md5:%s" % (host, "0" * 32), r"md5|algorithm|digest"),
            ("inspect", "", r"empty|reference"),
            ("inspect", "%s/bad/refs:" % host, r"tag|reference"),
            ("inspect", "%s/bad/refs:v1\x1b[31m" % host, r"invalid reference"),
            ("inspect", "%s/%s:v1" % (host, "a/" * 2100 + "b"), r"longer than"),
            ("inspect", "127.0.0.1:abc/bad/refs:v1", r"host\[:port\]|registry"),
            ("inspect", "127.0.0.1:0/bad/refs:v1", r"port|127\.0\.0\.1:0"),
            ("delete", "%s/bad/refs:bad tag" % host, r"invalid reference"),
            ("delete", "/bad/refs:v1", r"invalid reference"),
            ("delete", "%s/bad//refs:v1" % host, r"invalid reference"),
            ("verify", "%s/bad/refs:-v1" % host, r"tag"),
            ("verify", "%s/bad/refs@sha256:%s" % (host, "G" * 64), r"hex|digest"),
        ]
        for cmd, ref, pattern in cases:
            with self.subTest(cmd=cmd, ref=ref[:80]):
                self.reg.reset_access_log()
                r = self.mlist("--plain-http", cmd, ref)
                self.check_refused(r, 2, pattern, what="[%s %r]" % (cmd, ref[:80]))
        # the list is still there
        self.assertTrue(self.reg.tag_exists("bad/refs", "v1"))


# ----------------------------------------------------------------------------
# Registry answers

def _json(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def _answer(body, content_type=DOCKER_MANIFEST, digest="auto", extra=None):
    """A crafted 200 answer for FaultProxy's 'status' action."""
    if isinstance(body, str):
        body = body.encode()
    headers = {"Content-Type": content_type}
    if digest == "auto":
        headers["Docker-Content-Digest"] = sha256_digest(body)
    elif digest is not None:
        headers["Docker-Content-Digest"] = digest
    headers.update(extra or {})
    return dict(status=200, body=body, headers=headers)


def _set_header(name, value):
    """rewrite fn: replaces (or adds) one header of the real answer."""
    def fn(status, headers, body):
        headers = [(k, v) for k, v in headers if k.lower() != name.lower()]
        headers.append((name, value))
        return status, headers, body
    return fn


class BadRegistryAnswerTest(_BadInputCase):
    """Each case: a spec (or reference) that is fine, a registry answer that
    is not. Sources and target go through a FaultProxy."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        reg = cls.reg
        cls.amd = reg.seed_image("%s:v1-amd64" % SRC, "linux/amd64")
        cls.arm = reg.seed_image("%s:v1-arm64" % SRC, "linux/arm64")
        cls.amd_body = reg.get_manifest(SRC, "v1-amd64")[2]
        cls.arm_body = reg.get_manifest(SRC, "v1-arm64")[2]
        cls.list_seeded, _ = reg.push_test_list(SRC, "list")

    def spec_for(self, px, target, platforms=True):
        lines = ["image: %s/%s:v1" % (px.host, target), "manifests:"]
        for tag, arch in (("v1-amd64", "amd64"), ("v1-arm64", "arm64")):
            lines.append("  - image: %s/%s:%s" % (px.host, SRC, tag))
            if platforms:
                lines.append("    platform: {architecture: %s, os: linux}" % arch)
        path = os.path.join(self.tmpdir, "spec-%s.yaml" % target.replace("/", "-"))
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def run_case(self, name, rules, pattern, platforms=True, command="create", ref=None,
                 code=1, flags=()):
        target = "bad/ans-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        with FaultProxy(self.reg.port) as px:
            for method, path, action, kw in rules:
                px.add(method, path, action, **kw)
            self.reg.reset_access_log()
            argv = ["--plain-http", "--retries", "1", "--timeout", "5"] + list(flags)
            if command == "create":
                argv += ["create", self.spec_for(px, target, platforms)]
            else:
                argv += [command, px.ref(ref)]
            r = run_mlist(*argv, text=False, timeout=60)
            self.check_refused(r, code, pattern, proxy=px, what="[%s]" % name)
        self.assertFalse(self.reg.tag_exists(target, "v1"), "[%s] the target tag exists" % name)
        return r

    # The cases. Paths: the source by tag (GET resolves a spec without
    # platforms, HEAD one with platforms), by digest, its config blob.
    TAG_AMD = r"^/v2/bad/src/manifests/v1-amd64$"

    def test_invalid_json_manifest(self):
        self.run_case("invalid json", [("GET", self.TAG_AMD, "status",
                                        _answer('{"schemaVersion": 2, "mediaType": "appl'))],
                      r"JSON", platforms=False)

    def test_manifest_is_a_json_array(self):
        self.run_case("json array", [("GET", self.TAG_AMD, "status", _answer("[1, 2, 3]"))],
                      r"JSON|object", platforms=False)

    def test_head_wrong_media_type(self):
        self.run_case("head text/html", [("HEAD", self.TAG_AMD, "rewrite",
                                          {"fn": _set_header("Content-Type", "text/html")})],
                      r"media type.*text/html")

    def test_head_schema1_media_type(self):
        self.run_case("head schema1", [("HEAD", self.TAG_AMD, "rewrite", {
            "fn": _set_header("Content-Type",
                              "application/vnd.docker.distribution.manifest.v1+prettyjws")})],
                      r"media type|schema")

    def test_body_unknown_media_type(self):
        doc = json.loads(self.amd_body)
        doc["mediaType"] = "application/vnd.example.unknown+json"
        self.run_case("unknown mediaType", [("GET", self.TAG_AMD, "status",
                                             _answer(_json(doc), "application/vnd.example.unknown+json"))],
                      r"media ?type|unknown", platforms=False)

    def test_schema1_manifest(self):
        body = _json({"schemaVersion": 1, "name": "bad/src", "tag": "v1-amd64",
                      "architecture": "amd64", "fsLayers": [], "history": []})
        self.run_case("schema1", [("GET", self.TAG_AMD, "status", _answer(
            body, "application/vnd.docker.distribution.manifest.v1+prettyjws"))],
                      r"schema|media type|unsupported", platforms=False)

    def test_huge_manifest(self):
        doc = json.loads(self.amd_body)
        doc["annotations"] = {"pad": "x" * (5 * 1024 * 1024)}
        self.run_case("5 MiB manifest", [("GET", self.TAG_AMD, "status", _answer(_json(doc)))],
                      r"larger than|too (large|big)", platforms=False)

    def test_deep_json_manifest(self):
        doc = json.loads(self.amd_body)
        body = _json(doc)[:-1] + b',"x":' + b"[" * 100 + b"]" * 100 + b"}"
        self.run_case("100-deep json", [("GET", self.TAG_AMD, "status", _answer(body))],
                      r"deeper|depth|nest", platforms=False)

    def test_control_characters_in_manifest_json(self):
        doc = json.loads(self.amd_body)
        body = _json(doc)[:-1] + b',"annotations":{"a":"bell\x07here"}}'
        self.run_case("raw control char", [("GET", self.TAG_AMD, "status", _answer(body))],
                      r"control character", platforms=False)

    def test_content_type_lie_index_without_manifests(self):
        """Content-Type says index, the body (no mediaType field) is an image
        manifest: a list must not be made of it."""
        doc = json.loads(self.amd_body)
        doc.pop("mediaType", None)
        self.run_case("content-type lie", [("GET", self.TAG_AMD, "status",
                                            _answer(_json(doc), OCI_INDEX))],
                      r"manifests|index|media ?type", platforms=False)

    def test_content_type_lie_list_for_an_image_manifest(self):
        """The body declares a Docker list but holds an image manifest's
        fields and no entries."""
        doc = json.loads(self.amd_body)
        doc["mediaType"] = DOCKER_LIST
        self.run_case("list lie", [("GET", self.TAG_AMD, "status", _answer(_json(doc), DOCKER_LIST))],
                      r"manifests|entries|empty|config|layers", platforms=False)

    def test_digest_header_lie_on_get(self):
        self.run_case("dcd lie get", [("GET", self.TAG_AMD, "wrong_digest", {})],
                      r"digest mismatch|digest", platforms=False)

    def test_digest_header_lie_on_head_names_another_image(self):
        """HEAD of the amd64 tag answers with the digest of the arm64 image
        (it exists): publishing a list whose linux/amd64 entry is the arm64
        image would be a broken list. The arm64 image's config contradicts
        the spec's linux/amd64: refused as a wrong platform (exit 2)."""
        self.run_case("dcd lie head", [("HEAD", self.TAG_AMD, "wrong_digest",
                                        {"digest": self.arm.digest})],
                      r"config says linux/arm64", code=2)

    def test_invalid_digest_header(self):
        self.run_case("invalid dcd", [("HEAD", self.TAG_AMD, "rewrite",
                                       {"fn": _set_header("Docker-Content-Digest", "sha256:xyz")})],
                      r"invalid Docker-Content-Digest")

    def test_digest_header_with_escape_sequence(self):
        self.run_case("dcd escape", [("HEAD", self.TAG_AMD, "rewrite", {
            "fn": _set_header("Docker-Content-Digest", "sha256:\x1b[2J\x1b]0;pwned\x07")})],
                      r"invalid Docker-Content-Digest")

    def test_bytes_do_not_match_requested_digest(self):
        path = r"^/v2/bad/src/manifests/%s$" % re.escape(self.amd.digest)
        self.run_case("inspect by digest", [("GET", path, "status", _answer(self.arm_body))],
                      r"digest mismatch|digest", command="inspect",
                      ref="%s@%s" % (SRC, self.amd.digest))

    def test_child_bytes_do_not_match_when_copied(self):
        path = r"^/v2/bad/src/manifests/%s$" % re.escape(self.amd.digest)
        self.run_case("copy by digest", [("GET", path, "status", _answer(self.arm_body))],
                      r"digest")

    def _config_case(self, name, config_bytes, pattern):
        doc = json.loads(self.amd_body)
        doc["config"] = {"mediaType": DOCKER_CONFIG_TYPE, "size": len(config_bytes),
                         "digest": sha256_digest(config_bytes)}
        body = _json(doc)
        rules = [("GET", self.TAG_AMD, "status", _answer(body)),
                 ("GET", r"^/v2/bad/src/blobs/%s$" % re.escape(sha256_digest(config_bytes)),
                  "status", _answer(config_bytes, "application/octet-stream"))]
        self.run_case(name, rules, pattern, platforms=False)

    def test_config_invalid_json(self):
        self._config_case("config not json", b"this is not JSON", r"config.*JSON|JSON.*config")

    def test_config_without_architecture(self):
        self._config_case("config no arch", _json({"os": "linux", "rootfs": {}}),
                          r"architecture")

    def test_config_too_large(self):
        self._config_case("config 9 MiB", _json({"os": "linux", "architecture": "amd64",
                                                 "pad": "x" * (9 * 1024 * 1024)}),
                          r"larger than|too (large|big)")

    def test_error_message_with_ansi_escapes(self):
        msg = "\x1b[31mdenied\x1b[0m \x1b]0;owned\x07 \r\x08\x08ok \x1bc"
        body = _json({"errors": [{"code": "DENIED", "message": msg}]})
        r = self.run_case("ansi error", [("GET", self.TAG_AMD, "status",
                                          {"status": 403, "body": body})],
                          r"HTTP 403 DENIED.*denied", platforms=False)
        self.assertNotIn(b"\x1b", r.stderr)

    def test_error_message_with_crlf_forges_no_line(self):
        body = _json({"errors": [{"code": "DENIED", "message": "no\r\nmlist: error: forged"}]})
        r = self.run_case("crlf error", [("GET", self.TAG_AMD, "status", {"status": 403, "body": body})],
                          r"HTTP 403 DENIED: no\?\?mlist: error: forged", platforms=False)
        lines = r.stderr.decode("utf-8", "replace").splitlines()
        self.assertEqual([x for x in lines if x.startswith("mlist: error: forged")], [], lines)
        self.assertEqual(len([x for x in lines if x.startswith("mlist: error:")]), 1, lines)

    def test_error_message_with_c1_controls(self):
        msg = "\u009b31mdenied\u009b0m \u009d0;owned\u009c"
        body = _json({"errors": [{"code": "DENIED", "message": msg}]})
        self.run_case("c1 error", [("GET", self.TAG_AMD, "status", {"status": 403, "body": body})],
                      r"HTTP 403 DENIED", platforms=False)

    def test_error_code_with_escape(self):
        body = _json({"errors": [{"code": "DENIED\x1b[2J", "message": "no"}]})
        self.run_case("escape in code", [("GET", self.TAG_AMD, "status",
                                          {"status": 403, "body": body})],
                      r"HTTP 403", platforms=False)

    def test_html_error_page(self):
        self.run_case("html 500", [("GET", self.TAG_AMD, "status", {
            "status": 500, "body": "<html><body><h1>500 Internal Server Error</h1>\x1b[5m</body></html>",
            "headers": {"Content-Type": "text/html"}})],
                      r"HTTP 500", platforms=False)

    def test_huge_error_body(self):
        self.run_case("huge error", [("GET", self.TAG_AMD, "status", {
            "status": 400, "body": _json({"errors": [{"code": "DENIED",
                                                      "message": "y" * (6 * 1024 * 1024)}]})})],
                      r"larger than|HTTP 400", platforms=False)

    def test_oversized_header_line(self):
        self.run_case("20 KiB header", [("HEAD", self.TAG_AMD, "rewrite",
                                         {"fn": _set_header("X-Padding", "p" * 20000)})],
                      r"larger than|too (large|big)|header")

    def test_too_many_headers(self):
        def fn(status, headers, body):
            return status, headers + [("X-Many-%d" % i, "v") for i in range(300)], body
        self.run_case("300 headers", [("HEAD", self.TAG_AMD, "rewrite", {"fn": fn})],
                      r"larger than|too (large|big)|header")

    def test_odd_www_authenticate(self):
        self.run_case("odd challenge", [("HEAD", self.TAG_AMD, "status", {
            "status": 401, "body": b"",
            "headers": {"WWW-Authenticate": "Frobnicate realm=\"\x1b[31mx\", ,,="}})],
                      r"auth|401")

    def test_list_entry_with_negative_size(self):
        doc = json.loads(self.reg.get_manifest(SRC, "list")[2])
        doc["manifests"][0]["size"] = -1
        path = r"^/v2/bad/src/manifests/list$"
        self.run_case("negative size", [("GET", path, "status", _answer(_json(doc), DOCKER_LIST))],
                      r"size", command="inspect", ref="%s:list" % SRC)

    def test_list_entry_with_bad_digest(self):
        doc = json.loads(self.reg.get_manifest(SRC, "list")[2])
        doc["manifests"][1]["digest"] = "sha256:NOTHEX"
        path = r"^/v2/bad/src/manifests/list$"
        self.run_case("bad entry digest", [("GET", path, "status", _answer(_json(doc), DOCKER_LIST))],
                      r"digest", command="inspect", ref="%s:list" % SRC)


class TerminalOutputTest(_BadInputCase):
    """Registry-supplied text on stdout (inspect's table) carries no raw
    control characters either; --raw stays byte-exact."""

    def test_inspect_table_strips_control_characters(self):
        repo = "bad/ansi"
        img = self.reg.push_test_image(repo, "v1-amd64")
        lst = {"schemaVersion": 2, "mediaType": OCI_INDEX,
               "annotations": {"org.opencontainers.image.title": "\u001b[2J\u001b]0;pwned\u0007title"},
               "manifests": [{"mediaType": DOCKER_MANIFEST, "digest": img.digest, "size": img.size,
                              "platform": {"os": "linux", "architecture": "amd64"},
                              "annotations": {"note": "\u001b[31mred\u001b[0m\r"}}]}
        body = json.dumps(lst).encode()
        self.reg.put_manifest(repo, "v1", body, OCI_INDEX)
        r = run_mlist("--plain-http", "inspect", self.reg.ref(repo + ":v1"), text=False)
        self.assertEqual(r.returncode, 0, describe(r))
        self.assertIsNone(CONTROL_RE.search(r.stdout), "raw control characters in inspect's output: %r"
                          % r.stdout[:500])
        self.assertIsNone(CONTROL_RE.search(r.stderr), r.stderr)
        raw = run_mlist("--plain-http", "inspect", "--raw", self.reg.ref(repo + ":v1"), text=False)
        self.assertEqual(raw.returncode, 0)
        self.assertEqual(raw.stdout, body, "--raw must be the exact bytes")

    def test_newlines_in_registry_text_forge_no_line(self):
        """A platform with a line break: one table row, one problem line."""
        repo = "bad/newline"
        img = self.reg.push_test_image(repo, "v1-amd64")
        lst = {"schemaVersion": 2, "mediaType": OCI_INDEX,
               "manifests": [{"mediaType": DOCKER_MANIFEST, "digest": img.digest, "size": img.size,
                              "platform": {"os": "linux", "architecture": "amd64",
                                           "variant": "v1\nforged line\r\nproblem: forged"}}]}
        self.reg.put_manifest(repo, "v1", lst, OCI_INDEX)
        for command in ("inspect", "verify"):
            r = run_mlist("--plain-http", command, self.reg.ref(repo + ":v1"))
            self.assertIn(r.returncode, (0, 1), describe(r))
            lines = r.stdout.splitlines()
            self.assertEqual([x for x in lines if x.startswith(("forged", "problem: forged"))], [], lines)
            self.assertEqual(len([x for x in lines if img.digest in x]), 1, lines)


if __name__ == "__main__":
    unittest.main()
