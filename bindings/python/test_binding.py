#!/usr/bin/python3
"""Tests of the Python binding (the manifestlist package) against the real library and
the integration suite's registry fixture (tests/integration/fixture.py: a
Debian docker-registry on 127.0.0.1, seeded with ml-seed).

    MANIFESTLIST_LIB=build/lib/libmanifestlist.so.0 ML_SEED=build/tests/ml-seed \\
        /usr/bin/python3 bindings/python/test_binding.py [-k PATTERN]... [-x]

Prints "N passed, N failed" last; a skip, error or class-setup failure
counts as failed (integration tests never skip). Exit status non-zero when
anything failed.
"""

import gc
import hashlib
import json
import os
import re
import sys
import threading
import unittest
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
INTEGRATION = os.path.join(ROOT, "tests", "integration")
HEADER = os.path.join(ROOT, "include", "manifestlist.h")
sys.path.insert(0, HERE)
sys.path.insert(1, INTEGRATION)

# libcurl inside this process reads these; the fixture only cleans the
# environment of the processes it starts.
for _k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy",
           "ALL_PROXY", "REGISTRY_AUTH_FILE"):
    os.environ.pop(_k, None)
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

import manifestlist as ml  # noqa: E402
from fixture import (DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST,  # noqa: E402
                     MlistTestCase, Seeded, empty_docker_config, platform_key,
                     sha256_digest, tag_for)

AMD, ARM = "linux/amd64", "linux/arm64"


def rss_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


# --------------------------------------------------------------------------
# Offline: no registry

SPEC = """\
image: registry.example.com/team/app:1.2
tags: [latest, '1']
manifests:
  - image: registry.example.com/team/app:1.2-amd64
    platform: {architecture: x86_64, os: Linux}
  - image: registry.example.com/team/app:1.2-arm
    platform: {architecture: arm, os: linux, variant: v7}
  - image: registry.example.com/team/app:1.2-win
    platform: {architecture: amd64, os: windows, os.version: 10.0.17763.5576}
  - image: registry.example.com/team/app:1.2-cfg
"""


class OfflineTest(unittest.TestCase):

    def test_library_version_matches_binding(self):
        v = ml.library_version()
        self.assertRegex(v, r"^\d+\.\d+\.\d+")
        self.assertEqual(int(v.split(".")[0]), ml.EXPECTED_MAJOR)
        with open(HEADER) as f:
            header = f.read()
        m = re.search(r'#define ML_VERSION_STRING "([^"]+)"', header)
        self.assertEqual(v, m.group(1), "library and header versions differ")
        if os.environ.get("MANIFESTLIST_LIB"):
            self.assertEqual(ml.library_path(), os.environ["MANIFESTLIST_LIB"])

    def test_code_table_matches_header(self):
        with open(HEADER) as f:
            header = f.read()
        codes = {int(v): n for n, v in re.findall(r"#define (ML_E[A-Z]+) (-\d+)", header)}
        codes[0] = "ML_OK"
        self.assertEqual(ml.CODE_NAMES, codes)
        for code, name in codes.items():
            self.assertEqual(getattr(ml, name), code)
            self.assertTrue(ml.strerror(code))

    def test_options_versions_match_header(self):
        with open(HEADER) as f:
            header = f.read()
        for name, ours in (("SPEC", ml.SPEC_OPTIONS_VERSION),
                           ("CLIENT", ml.CLIENT_OPTIONS_VERSION),
                           ("PUSH", ml.PUSH_OPTIONS_VERSION)):
            m = re.search(r"#define ML_%s_OPTIONS_VERSION (\d+)" % name, header)
            self.assertEqual(int(m.group(1)), ours, name)

    def test_push_flags_match_header(self):
        with open(HEADER) as f:
            header = f.read()
        flags = {n: int(b) for n, b in
                 re.findall(r"#define ML_PUSH_([A-Z_]+) \(1u << (\d+)\)", header)}
        self.assertIn("REFERRERS", flags)
        for name, bit in flags.items():
            self.assertEqual(getattr(ml, "_PUSH_" + name), 1 << bit, name)
        lib = ml._lib()
        self.assertEqual(ml._push_options(lib, referrers=True)[0].flags, 1 << flags["REFERRERS"])
        self.assertEqual(ml._push_options(lib)[0].flags, 0)

    def test_struct_layouts_match_header(self):
        """Field names and order of the ctypes mirrors equal the C structs."""
        with open(HEADER) as f:
            header = f.read()
        for cname, struct in (("ml_spec_options", ml._SpecOptions),
                              ("ml_client_options", ml._ClientOptions),
                              ("ml_push_options", ml._PushOptions)):
            body = re.search(r"typedef struct %s \{(.*?)\} %s;" % (cname, cname),
                             header, re.S).group(1)
            body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
            fields = re.findall(r"([A-Za-z_]\w*)\s*;", body)
            self.assertEqual([f[0] for f in struct._fields_], fields, cname)
        import ctypes
        self.assertEqual(ctypes.sizeof(ml._ClientOptions), 5 * 4 + 4 + 16 * 8)  # LP64
        self.assertEqual(ctypes.sizeof(ml._PushOptions), 3 * 4 + 4 + 8 + 8)

    def test_parse_buffer(self):
        with ml.Spec.parse(SPEC, name="app.yaml") as spec:
            self.assertEqual(len(spec.lists), 1)
            lst = spec.lists[0]
            self.assertEqual(lst.target, "registry.example.com/team/app:1.2")
            self.assertEqual(lst.tags, ["latest", "1"])
            self.assertEqual([e.image.rsplit(":", 1)[1] for e in lst.entries],
                             ["1.2-amd64", "1.2-arm", "1.2-win", "1.2-cfg"])
            self.assertEqual([e.platform for e in lst.entries],
                             ["linux/amd64", "linux/arm/v7",
                              "windows(10.0.17763.5576)/amd64", None])
            self.assertEqual(len(spec.warnings), 2, spec.warnings)
            self.assertTrue(all(w.startswith("app.yaml:5:") for w in spec.warnings), spec.warnings)
            self.assertTrue(any("x86_64" in w for w in spec.warnings))
            doc = json.loads(spec.to_json())
            self.assertEqual(doc, spec.json)
            m = doc["lists"][0]["manifests"]
            self.assertEqual(m[0]["platform"], {"architecture": "amd64", "os": "linux"})
            self.assertEqual(m[2]["platform"]["os.version"], "10.0.17763.5576")
            self.assertNotIn("platform", m[3])
        self.assertRaises(ValueError, spec.to_json)  # closed
        spec.close()  # idempotent

    def test_parse_bytes_and_multi_document(self):
        text = (SPEC + "---\nimage: example.com/b:2\nmanifests:\n"
                "  - image: example.com/b:2-amd64\n    platform: {os: linux, architecture: amd64}\n")
        spec = ml.Spec.parse(text.encode())
        self.assertEqual([l.target for l in spec.lists],
                         ["registry.example.com/team/app:1.2", "example.com/b:2"])
        self.assertEqual(spec.lists[1].tags, [])

    def test_parse_file_and_options(self):
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "spec.yaml")
            with open(path, "w") as f:
                f.write(SPEC)
            spec = ml.Spec.parse_file(path)
            self.assertEqual(spec.lists[0].entries[0].platform, "linux/amd64")
            raw = ml.Spec.parse_file(path, no_normalize=True)
            self.assertEqual(raw.lists[0].entries[0].platform, "Linux/x86_64")
            self.assertEqual(raw.warnings, [])
            # pathlib works too
            import pathlib
            self.assertEqual(ml.Spec.parse_file(pathlib.Path(path)).lists, spec.lists)

    def test_spec_error_has_position_and_code_name(self):
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "bad.yaml")
            with open(path, "w") as f:
                f.write("image: example.com/a:1\nmanifests:\n  - image: example.com/a:1-amd64\n"
                        "    platform: {os: linux, architecture: amd64\n")
            with self.assertRaises(ml.ManifestListError) as cm:
                ml.Spec.parse_file(path)
        e = cm.exception
        self.assertEqual(e.code, ml.ML_ESPEC)
        self.assertEqual(e.code_name, "ML_ESPEC")
        self.assertEqual(e.file, path)
        self.assertGreaterEqual(e.line, 4)
        self.assertGreater(e.column, 0)
        self.assertIn(path, e.message)
        self.assertIn("ML_ESPEC", str(e))
        self.assertEqual(e.http_status, 0)
        self.assertIsNone(e.registry_code)

    def test_spec_semantic_errors(self):
        with self.assertRaises(ml.ManifestListError) as cm:
            ml.Spec.parse("manifests:\n  - image: a/b:1\n", name="notarget.yaml")
        self.assertEqual(cm.exception.code_name, "ML_ESPEC")
        self.assertEqual(cm.exception.file, "notarget.yaml")
        self.assertGreater(cm.exception.line, 0)
        dup = ("image: a.io/x:1\nmanifests:\n"
               "  - image: a.io/x:1-a\n    platform: {os: linux, architecture: amd64}\n"
               "  - image: a.io/x:1-b\n    platform: {os: linux, architecture: x86_64}\n")
        with self.assertRaises(ml.ManifestListError) as cm:
            ml.Spec.parse(dup, name="dup.yaml")
        self.assertEqual(cm.exception.code_name, "ML_EDUPLICATE")
        self.assertIn(cm.exception.line, (5, 6))  # the second entry
        spec = ml.Spec.parse(dup, allow_duplicates=True)
        self.assertEqual(len(spec.lists[0].entries), 2)

    def test_missing_file_is_eio(self):
        with self.assertRaises(ml.ManifestListError) as cm:
            ml.Spec.parse_file("/nonexistent/spec.yaml")
        self.assertEqual(cm.exception.code, ml.ML_EIO)
        self.assertIn("/nonexistent/spec.yaml", cm.exception.message)

    def test_normalize_helpers(self):
        self.assertEqual(ml.normalize_ref("alpine"), "docker.io/library/alpine")
        self.assertEqual(ml.normalize_ref("alpine:3.19"), "docker.io/library/alpine:3.19")
        self.assertEqual(ml.normalize_ref("localhost:5000/app:1"), "localhost:5000/app:1")
        d = "sha256:" + "a" * 64
        self.assertEqual(ml.normalize_ref("quay.io/x/y@" + d), "quay.io/x/y@" + d)
        self.assertEqual(ml.normalize_platform("Linux/x86_64"), "linux/amd64")
        self.assertEqual(ml.normalize_platform("linux/armhf"), "linux/arm/v7")
        self.assertEqual(ml.normalize_platform(b"linux/aarch64"), "linux/arm64")
        with self.assertRaises(ml.ManifestListError) as cm:
            ml.normalize_ref("Bad//Ref")
        self.assertEqual(cm.exception.code_name, "ML_EREF")
        with self.assertRaises(ml.ManifestListError) as cm:
            ml.normalize_platform("linux")
        self.assertEqual(cm.exception.code_name, "ML_EPLATFORM")

    def test_argument_checks(self):
        self.assertRaises(ValueError, ml.normalize_ref, "alp\0ine")
        self.assertRaises(TypeError, ml.normalize_ref, 42)
        self.assertRaises(TypeError, ml.Spec, None)
        self.assertRaises(TypeError, ml.Client, credentials="not callable")
        with ml.Client() as c:
            self.assertRaises(TypeError, c.push, "spec.yaml")
            spec = ml.Spec.parse(SPEC)
            self.assertRaises(IndexError, c.push, spec, index=1)
            self.assertRaises(ValueError, c.push, spec, type="zip")
        self.assertRaises(ValueError, c.inspect, "example.com/a:1")  # closed
        c.close()

    def test_client_options(self):
        import logging
        with ml.Client(concurrency=2, retries=0, timeout_ms=5000, insecure=True,
                       plain_http=True, docker_config_dir=empty_docker_config(),
                       user_agent="binding-test", log=logging.getLogger("t")):
            pass
        self.assertRaises(ValueError, ml.Client, timeout_ms=-1)
        with self.assertRaises(ml.ManifestListError) as cm:
            ml.Client(ca_cert="/nonexistent/ca.pem").inspect("127.0.0.1:1/a:1")
        self.assertIn(cm.exception.code, (ml.ML_ENET, ml.ML_EIO, ml.ML_EINVAL))

    def test_built_spec_equals_parsed(self):
        """Spec.new()/add_list()/add_entry() give what parsing SPEC gives:
        same JSON, lists and warnings (named by the image, not a line)."""
        with ml.Spec.new() as spec:
            i = spec.add_list("registry.example.com/team/app:1.2", tags=["latest", "1", "latest"])
            self.assertEqual(i, 0)
            base = "registry.example.com/team/app:1.2-"
            self.assertEqual(spec.add_entry(i, base + "amd64", "Linux/x86_64"), 0)
            spec.add_entry(i, base + "arm", b"linux/arm/v7")
            spec.add_entry(i, base + "win", "windows/amd64", os_version="10.0.17763.5576")
            self.assertEqual(spec.add_entry(i, base + "cfg"), 3)
            spec.check()
            parsed = ml.Spec.parse(SPEC, name="app.yaml")
            self.assertEqual(spec.json, parsed.json)
            self.assertEqual(spec.lists, parsed.lists)
            self.assertEqual(len(spec.warnings), 2, spec.warnings)
            self.assertEqual([w.split(": ", 1)[1] for w in spec.warnings],
                             [w.split(": ", 1)[1] for w in parsed.warnings])
            self.assertTrue(all(w.startswith(base + "amd64: ") for w in spec.warnings))
            # os.features and annotations, as a spec file writes them
            spec.add_list("example.com/b:2", annotations={"a": "1"})
            spec.add_entry(1, "example.com/b:2-win", "windows/amd64", os_version="10.0",
                           os_features=["win32k"], annotations={"note": "x", "empty": None})
            doc = spec.json["lists"][1]
        self.assertEqual(doc, ml.Spec.parse(
            "image: example.com/b:2\nannotations: {a: '1'}\nmanifests:\n"
            "  - image: example.com/b:2-win\n"
            "    platform: {os: windows, architecture: amd64, os.version: '10.0',"
            " os.features: [win32k]}\n"
            "    annotations: {note: x, empty: ''}\n").json["lists"][0])
        # what was added last is still readable after close
        self.assertEqual([l.target for l in spec.lists],
                         ["registry.example.com/team/app:1.2", "example.com/b:2"])
        self.assertRaises(ValueError, spec.add_list, "example.com/c:1")  # closed

    def test_built_spec_errors(self):
        spec = ml.Spec.new()
        spec.add_list("example.com/a:1")
        for call, code, words in (
                (lambda: spec.add_entry(0, "example.com/a:1-x", "linux"), "ML_EPLATFORM",
                 'invalid platform "linux"'),
                (lambda: spec.add_entry(0, "example.com/A:1"), "ML_EREF", "lowercase"),
                (lambda: spec.add_list("example.com/a@sha256:" + "0" * 64), "ML_EREF",
                 "not a digest"),
                (lambda: spec.add_list("example.com/b:1", tags=["not ok"]), "ML_EREF",
                 'invalid tag "not ok"'),
                (lambda: spec.add_entry(0, "example.com/a:1-y", os_version="10.0"),
                 "ML_EPLATFORM", "needs a platform"),
                (lambda: spec.add_entry(5, "example.com/a:1-z"), "ML_EINVAL", "no list 5")):
            with self.assertRaises(ml.ManifestListError) as cm:
                call()
            e = cm.exception
            self.assertEqual(e.code_name, code, e.message)
            self.assertIn(words, e.message)
            self.assertIsNone(e.file)
            self.assertEqual(e.line, 0)
        spec.add_entry(0, "example.com/a:1-amd64", "linux/amd64")
        spec.add_entry(0, "example.com/a:1-x86_64", "linux/x86_64")
        with self.assertRaises(ml.ManifestListError) as cm:
            spec.check()
        self.assertEqual(cm.exception.code_name, "ML_EDUPLICATE")
        self.assertIn("example.com/a:1-x86_64", cm.exception.message)
        with ml.Client() as c:  # push runs the same checks, before any request
            with self.assertRaises(ml.ManifestListError) as cm:
                c.push(spec)
            self.assertEqual(cm.exception.code_name, "ML_EDUPLICATE")
        with self.assertRaises(ml.ManifestListError) as cm:
            spec.add_entry(0, None)
        self.assertEqual(cm.exception.code_name, "ML_EINVAL")
        self.assertRaises(ValueError, spec.add_list, "a\0b")
        dup = ml.Spec.new(allow_duplicates=True)
        dup.add_list("example.com/a:1")
        dup.add_entry(0, "example.com/a:1-amd64", "linux/amd64")
        dup.add_entry(0, "example.com/a:1-x86_64", "linux/x86_64")
        dup.check()
        raw = ml.Spec.new(no_normalize=True)
        raw.add_list("example.com/a:1")
        raw.add_entry(0, "example.com/a:1-x86_64", "Linux/x86_64")
        self.assertEqual(raw.lists[0].entries[0].platform, "Linux/x86_64")
        self.assertEqual(raw.warnings, [])

    def test_no_growth_in_parse_free_loop(self):
        """200 parse/free rounds (plus a built spec, errors, normalisation and JSON) must not
        grow RSS: every ml_error, char * and ml_spec is freed."""
        def once():
            with ml.Spec.parse(SPEC, name="loop.yaml") as s:
                s.to_json()
            try:
                ml.Spec.parse("image: [\n", name="bad.yaml")
            except ml.ManifestListError:
                pass
            ml.normalize_ref("alpine")
            try:
                ml.normalize_platform("x")
            except ml.ManifestListError:
                pass
            with ml.Client():
                pass
            with ml.Spec.new() as b:
                b.add_list("example.com/a:1", tags=["x"], annotations={"k": "v"})
                b.add_entry(0, "example.com/a:1-amd64", "Linux/x86_64", os_version="1",
                            os_features=["f"], annotations={"k": "v"})
                try:
                    b.add_entry(0, "example.com/a:1-bad", "linux")
                except ml.ManifestListError:
                    pass
        for _ in range(50):
            once()
        gc.collect()
        before = rss_kib()
        for _ in range(200):
            once()
        gc.collect()
        grown = rss_kib() - before
        self.assertLess(grown, 1024, "RSS grew %d KiB over 200 rounds" % grown)


# --------------------------------------------------------------------------
# Against a registry

class BindingCase(MlistTestCase):
    """MlistTestCase (a registry per class, self.repo per test) plus a
    Client for it."""

    def client(self, **kw):
        kw.setdefault("plain_http", not self.reg.tls)
        kw.setdefault("docker_config_dir", empty_docker_config())
        if self.reg.tls:
            kw.setdefault("ca_cert", self.reg.ca_path)
        c = ml.Client(**kw)
        self.addCleanup(c.close)
        return c

    def spec_obj(self, entries, **kw):
        return ml.Spec.parse(self.spec_text(entries, **kw), name="test.yaml")


class PushTest(BindingCase):

    def test_push_built_spec(self):
        """A spec built in Python (no YAML) is pushed and read back: tags,
        platforms from the spec and from the config, os.version,
        os.features and annotations."""
        imgs = self.seed_set([AMD, ARM])
        win = self.seed("v1-win", "windows/amd64", os_version="10.0.17763.5576")
        spec = ml.Spec.new()
        i = spec.add_list(self.ref("v1"), tags=["latest", "1.0"], annotations={"a": "b"})
        spec.add_entry(i, self.ref(tag_for(AMD)), "linux/x86_64")
        spec.add_entry(i, self.ref(tag_for(ARM)))  # platform from the image config
        spec.add_entry(i, self.ref("v1-win"), "windows/amd64", os_version="10.0.17763.5576",
                       os_features=["win32k"], annotations={"com.example.note": "built"})
        res = self.client().push(spec)
        self.assertEqual([t.tag for t in res.tags], ["v1", "latest", "1.0"])
        self.assertEqual(spec.warnings, ['%s: architecture "x86_64" normalised to "amd64"'
                                         % self.ref(tag_for(AMD))])
        for tag in ("v1", "latest", "1.0"):
            doc = self.assertListAt(tag, digest=res.digest, size=res.size)
        self.assertEqual(doc["mediaType"], OCI_INDEX)  # annotations need an OCI index
        self.assertEqual(doc["annotations"], {"a": "b"})
        self.assertEntries(doc, dict(imgs, **{"windows/amd64": win}))
        got = {m["platform"]["os"] + "/" + m["platform"]["architecture"]: m
               for m in doc["manifests"]}
        self.assertEqual(got["windows/amd64"]["platform"],
                         {"os": "windows", "architecture": "amd64",
                          "os.version": "10.0.17763.5576", "os.features": ["win32k"]})
        self.assertEqual(got["windows/amd64"]["annotations"], {"com.example.note": "built"})
        self.assertNotIn("annotations", got[AMD])

    def test_edit_with_a_built_spec(self):
        """An edit described with the builder: the added Windows entry keeps
        its os.version and annotation, the extra tag moves, an entry is
        removed, the other stays."""
        imgs = self.seed_set([AMD, ARM])
        win = self.seed("v1-win", "windows/amd64", os_version="10.0.17763.5576")
        c = self.client()
        c.edit(self.ref("v1"), add=[self.ref(tag_for(AMD)), self.ref(tag_for(ARM))])
        spec = ml.Spec.new()
        i = spec.add_list(self.ref("v1"), tags=["stable"])
        spec.add_entry(i, self.ref("v1-win"), "windows/amd64", os_version="10.0.17763.5576",
                       annotations={"com.example.note": "edited"})
        res = c.edit_spec(spec, i, remove=["linux/arm64"])
        self.assertEqual([t.tag for t in res.tags], ["v1", "stable"])
        doc = self.assertListAt("stable", digest=res.digest, size=res.size)
        self.assertEntries(doc, {AMD: imgs[AMD], "windows/amd64": win})
        added = [m for m in doc["manifests"] if m["platform"]["os"] == "windows"][0]
        self.assertEqual(added["platform"]["os.version"], "10.0.17763.5576")
        self.assertEqual(added["annotations"], {"com.example.note": "edited"})

    def test_create_digest_matches_registry(self):
        imgs = self.seed_set([AMD, ARM])
        spec = self.spec_obj([AMD, ARM], tags=["latest"])
        res = self.client().push(spec, create=True)
        status, headers, body = self.reg.get_manifest(self.repo, "v1")
        self.assertEqual(status, 200)
        self.assertEqual(res.digest, headers.get("Docker-Content-Digest"))
        self.assertEqual(res.digest, "sha256:" + hashlib.sha256(body).hexdigest())
        self.assertEqual(res.size, len(body))
        self.assertEqual(res.list_bytes, body)
        self.assertEqual(res.media_type, DOCKER_LIST)
        self.assertEqual(res.target, self.ref("v1"))
        self.assertFalse(res.up_to_date)
        self.assertFalse(res.dry_run)
        self.assertEqual(res.tags, [ml.Tag("v1", True), ml.Tag("latest", True)])
        self.assertEqual(len(res.changes), 2, res.changes)
        # the header documents "+ PLATFORM DIGEST"; the library writes
        # "add PLATFORM: DIGEST": accept both spellings
        self.assertTrue(all(re.match(r"^(\+|add) linux/(amd|arm)64:? sha256:", c)
                            for c in res.changes), res.changes)
        self.assertEqual(res.json["digest"], res.digest)
        self.assertEqual(res.json["size"], res.size)
        self.assertIs(res.json["upToDate"], False)
        doc = self.assertListAt("v1", digest=res.digest, size=res.size)
        self.assertEntries(doc, imgs)
        self.assertEqual(self.reg.manifest_digest(self.repo, "latest"), res.digest)

    def test_create_on_existing_tag_raises_eexists(self):
        self.seed_set([AMD, ARM])
        c = self.client()
        first = c.push(self.spec_obj([AMD, ARM]), create=True)
        self.reg.reset_access_log()
        with self.assertRaises(ml.ManifestListError) as cm:
            c.push(self.spec_obj([AMD]), create=True)
        e = cm.exception
        self.assertEqual(e.code, ml.ML_EEXISTS)
        self.assertEqual(e.code_name, "ML_EEXISTS")
        self.assertIn("v1", e.message)
        # advice comes as data in the binding's terms, not as CLI flags
        self.assertEqual(e.hints, frozenset({"update", "force"}))
        self.assertNotIn("--", e.message)
        self.assertEqual(self.reg.manifest_digest(self.repo, "v1"), first.digest)
        self.assertEqual(self.manifest_puts(self.reg.access_log()), [])
        # force replaces it
        res = c.push(self.spec_obj([AMD]), create=True, force=True)
        self.assertNotEqual(res.digest, first.digest)
        self.assertEqual(self.reg.manifest_digest(self.repo, "v1"), res.digest)

    def test_update_unchanged_is_up_to_date(self):
        self.seed_set([AMD, ARM])
        c = self.client()
        spec = self.spec_obj([AMD, ARM])
        first = c.push(spec)
        self.assertFalse(first.up_to_date)
        self.reg.reset_access_log()
        again = c.push(spec)
        self.assertTrue(again.up_to_date)
        self.assertEqual(again.digest, first.digest)
        self.assertEqual(again.changes, [])
        self.assertEqual(self.manifest_puts(self.reg.access_log()), [])
        # a fresh client too (no cached state)
        self.assertTrue(self.client().push(spec).up_to_date)

    def test_dry_run_writes_nothing(self):
        # children in another repository: the plan copies/mounts them
        src = self.repo + "-src"
        self.seed_set([AMD, ARM], repo=src)
        spec = self.spec_obj([("%s:%s" % (src, tag_for(AMD)), AMD),
                              ("%s:%s" % (src, tag_for(ARM)), ARM)])
        self.reg.reset_access_log()
        res = self.client().push(spec, dry_run=True)
        self.assertNoWrites()
        self.assertTrue(res.dry_run)
        self.assertFalse(self.reg.tag_exists(self.repo, "v1"))
        self.assertRegex(res.digest, r"^sha256:[0-9a-f]{64}$")
        self.assertEqual(res.digest, sha256_digest(res.list_bytes))
        self.assertTrue(res.plan, "dry run across repositories has a plan")
        self.assertTrue(all(re.match(r"^(copy|mount) ", p) for p in res.plan), res.plan)
        # the real push then gives the planned digest
        real = self.client().push(spec)
        self.assertEqual(real.digest, res.digest)
        self.assertListAt("v1", digest=res.digest)

    def test_oci_type_and_annotations(self):
        self.seed_set([AMD, ARM])
        res = self.client().push(self.spec_obj([AMD, ARM]), type="oci",
                                 annotations={"org.opencontainers.image.version": "1.2"})
        doc, body, ctype, digest = self.reg.manifest_json(self.repo, "v1")
        self.assertEqual(ctype, OCI_INDEX)
        self.assertEqual(digest, res.digest)
        self.assertEqual(doc["annotations"], {"org.opencontainers.image.version": "1.2"})
        with self.assertRaises(ml.ManifestListError) as cm:
            self.client().push(self.spec_obj([AMD, ARM], target="v2"), type="docker",
                               annotations=["a=b"])
        self.assertEqual(cm.exception.code_name, "ML_ETYPE")

    def test_missing_image_fails_with_details(self):
        self.seed_set([AMD])
        spec = self.spec_obj([AMD, ARM])  # the arm64 image was never pushed
        with self.assertRaises(ml.ManifestListError) as cm:
            self.client().push(spec)
        e = cm.exception
        self.assertEqual(e.code_name, "ML_ENOTFOUND")
        self.assertIn(tag_for(ARM), e.message)
        self.assertIsNone(e.result, "the list was never built: no result")
        self.assertFalse(self.reg.tag_exists(self.repo, "v1"))
        res = self.client().push(spec, ignore_missing=True)
        self.assertTrue(res.warnings, "a warning names the skipped entry")
        doc = self.assertListAt("v1", digest=res.digest)
        self.assertEqual([platform_key(m["platform"]) for m in doc["manifests"]], [AMD])

    def test_multi_document_spec_by_index(self):
        self.seed_set([AMD, ARM])
        text = (self.spec_text([AMD, ARM], target="v1") + "---\n"
                + self.spec_text([ARM], target="v1-arm-only"))
        spec = ml.Spec.parse(text)
        c = self.client()
        results = [c.push(spec, index=i) for i in range(len(spec.lists))]
        self.assertEqual([r.target for r in results], [l.target for l in spec.lists])
        self.assertEqual(self.reg.manifest_digest(self.repo, "v1-arm-only"), results[1].digest)


class InspectEditTest(BindingCase):

    def test_inspect_and_select(self):
        lst, imgs = self.seeded_list([AMD, ARM, "linux/arm/v7"])
        with self.client().inspect(self.ref("v1")) as m:
            self.assertTrue(m.is_list)
            self.assertEqual(m.digest, lst.digest)
            self.assertEqual(m.media_type, DOCKER_LIST)
            self.assertEqual(sha256_digest(m.raw), lst.digest)
            self.assertEqual(len(m.raw), lst.size)
            self.assertEqual([e.platform for e in m.entries], [AMD, ARM, "linux/arm/v7"])
            for e in m.entries:
                self.assertEqual((e.digest, e.size, e.media_type),
                                 tuple(imgs[e.platform]))
            self.assertEqual(m.select("linux/arm64").digest, imgs[ARM].digest)
            self.assertEqual(m.select("Linux/aarch64").digest, imgs[ARM].digest)
            self.assertEqual(m.select("linux/arm").platform, "linux/arm/v7")
            self.assertEqual(m.select_index("linux/amd64"), 0)
            with self.assertRaises(ml.ManifestListError) as cm:
                m.select("windows/amd64")
            self.assertEqual(cm.exception.code_name, "ML_ENOTFOUND")
            self.assertEqual(m.json["digest"], lst.digest)
            self.assertEqual(len(m.json["manifests"]), 3)
        self.assertRaises(ValueError, m.select, "linux/amd64")  # closed
        img = self.client().inspect("%s/%s@%s" % (self.reg.host, self.repo, imgs[AMD].digest))
        self.assertFalse(img.is_list)
        self.assertEqual(img.media_type, DOCKER_MANIFEST)
        self.assertEqual(img.entries, [])
        self.assertEqual(img.digest, imgs[AMD].digest)

    def test_inspect_missing(self):
        with self.assertRaises(ml.ManifestListError) as cm:
            self.client().inspect(self.ref("nope"))
        e = cm.exception
        self.assertEqual(e.code, ml.ML_ENOTFOUND)
        self.assertEqual(e.http_status, 404)
        self.assertIn("nope", e.message)

    def test_edit_add_and_remove(self):
        imgs = self.seed_set([AMD, ARM, "linux/arm/v7"])
        c = self.client()
        # a missing target is created from the additions
        res = c.edit(self.ref("v1"), add=[self.ref(tag_for(AMD)) + "=" + AMD,
                                          self.ref(tag_for(ARM))])
        doc = self.assertListAt("v1", digest=res.digest, size=res.size)
        self.assertEntries(doc, {AMD: imgs[AMD], ARM: imgs[ARM]})
        self.assertIsNone(res.list_bytes)
        res = c.edit(self.ref("v1"), add=self.ref(tag_for("linux/arm/v7")),
                     remove=["linux/amd64"])
        doc = self.assertListAt("v1", digest=res.digest)
        self.assertEntries(doc, {ARM: imgs[ARM], "linux/arm/v7": imgs["linux/arm/v7"]})
        self.assertTrue(any(re.match(r"^(-|remove) linux/amd64:? " + imgs[AMD].digest, ch)
                            for ch in res.changes), res.changes)
        self.assertTrue(any(re.match(r"^(\+|add) linux/arm/v7:? ", ch)
                            for ch in res.changes), res.changes)
        # remove by digest
        res = c.edit(self.ref("v1"), remove=[imgs[ARM].digest])
        doc = self.assertListAt("v1", digest=res.digest)
        self.assertEntries(doc, {"linux/arm/v7": imgs["linux/arm/v7"]})
        # dry run: nothing written
        self.reg.reset_access_log()
        dry = c.edit(self.ref("v1"), add=[self.ref(tag_for(AMD))], dry_run=True)
        self.assertTrue(dry.dry_run)
        self.assertNoWrites()
        self.assertEqual(self.reg.manifest_digest(self.repo, "v1"), res.digest)

    def test_edit_errors(self):
        img = self.seed("v1-amd64", AMD)
        with self.assertRaises(ml.ManifestListError) as cm:
            self.client().edit("%s/%s@%s" % (self.reg.host, self.repo, img.digest),
                               remove=[AMD])
        self.assertEqual(cm.exception.code_name, "ML_EREF")
        with self.assertRaises(ml.ManifestListError) as cm:
            self.client().edit(self.ref("v1-amd64"), remove=[AMD])
        self.assertEqual(cm.exception.code_name, "ML_ENOTLIST")

    def test_verify(self):
        lst, imgs = self.seeded_list([AMD, ARM])
        c = self.client()
        report = c.verify(self.ref("v1"))
        self.assertEqual(list(report), [])
        self.assertTrue(report.ok)
        self.assertIs(report.json["ok"], True)
        self.assertEqual(report.json["digest"], lst.digest)
        self.assertEqual(report.json["children"], 2)
        # remove a child behind the list's back
        self.assertEqual(self.reg.delete_manifest(self.repo, imgs[ARM].digest), 202)
        report = c.verify(self.ref("v1"))
        self.assertFalse(report.ok)
        self.assertEqual(len(report), 1, report)
        self.assertIn(imgs[ARM].digest, report[0])
        self.assertIn("missing", report[0])
        self.assertEqual(report.json["problems"], list(report))
        with self.assertRaises(ml.ManifestListError) as cm:
            c.verify(self.ref("nope"))
        self.assertEqual(cm.exception.code_name, "ML_ENOTFOUND")

    def test_delete(self):
        lst, imgs = self.seeded_list([AMD, ARM])
        c = self.client()
        self.reg.reset_access_log()
        self.assertEqual(c.delete(self.ref("v1")), lst.digest)
        self.assertFalse(self.reg.tag_exists(self.repo, "v1"))
        for img in imgs.values():
            self.assertTrue(self.reg.manifest_exists(self.repo, img.digest))
        deletes = [e for e in self.reg.access_log() if e.method == "DELETE"]
        self.assertEqual([e.path for e in deletes],
                         ["/v2/%s/manifests/%s" % (self.repo, lst.digest)])
        # a single image only with force
        with self.assertRaises(ml.ManifestListError) as cm:
            c.delete(self.ref(tag_for(AMD)))
        self.assertEqual(cm.exception.code_name, "ML_ENOTLIST")
        self.assertTrue(self.reg.manifest_exists(self.repo, imgs[AMD].digest))
        self.assertEqual(c.delete(self.ref(tag_for(AMD)), force=True), imgs[AMD].digest)
        self.assertFalse(self.reg.manifest_exists(self.repo, imgs[AMD].digest))
        with self.assertRaises(ml.ManifestListError) as cm:
            c.delete(self.ref("v1"))
        self.assertEqual(cm.exception.code_name, "ML_ENOTFOUND")


REF_NAME = "org.opencontainers.image.ref.name"
EMPTY_CONFIG = "application/vnd.oci.empty.v1+json"
SIG = "application/vnd.example.signature.v1"


class LayoutTest(BindingCase):
    """OCI image layout directories ("oci:PATH:TAG") as push targets and
    inspect sources."""

    def test_push_into_oci_layout_and_inspect_it(self):
        imgs = self.seed_set([AMD, ARM])
        layout = os.path.join(self.tmpdir, "lay")
        target = "oci:%s:v1" % layout
        spec = ml.Spec.parse("image: %s\nmanifests:\n%s" % (target, "".join(
            "  - image: %s\n" % self.ref(tag_for(p)) for p in (AMD, ARM))), name="layout.yaml")
        self.assertEqual(spec.lists[0].target, target)
        c = self.client()
        res = c.push(spec)
        self.assertFalse(res.up_to_date)
        self.assertEqual(res.digest, sha256_digest(res.list_bytes))
        with c.inspect(target) as m:
            self.assertTrue(m.is_list)
            self.assertEqual(m.digest, res.digest)
            self.assertEqual(m.raw, res.list_bytes)
            self.assertEqual({e.platform: (e.digest, e.size, e.media_type) for e in m.entries},
                             {p: tuple(imgs[p]) for p in (AMD, ARM)})
            self.assertEqual(m.select(ARM).digest, imgs[ARM].digest)
        # by digest too
        self.assertEqual(c.inspect("oci:%s@%s" % (layout, imgs[AMD].digest)).digest,
                         imgs[AMD].digest)
        with open(os.path.join(layout, "index.json")) as f:
            index = json.load(f)
        tagged = {d.get("annotations", {}).get(REF_NAME): d["digest"] for d in index["manifests"]}
        self.assertEqual(tagged.get("v1"), res.digest, index)
        # the children were copied into the layout with their blobs
        for d in [res.digest] + [imgs[p].digest for p in (AMD, ARM)]:
            self.assertTrue(os.path.isfile(os.path.join(layout, "blobs", "sha256",
                                                        d.split(":", 1)[1])), d)
        # pushing the same list again changes nothing
        self.assertTrue(c.push(spec).up_to_date)

    def test_config_cache_dir(self):
        """Client(cache_dir=...) keeps config platforms; the same images
        pushed again by another client need no config."""
        self.seed_set([AMD, ARM])
        cache = os.path.join(self.tmpdir, "cache")
        text = "image: %s\nmanifests:\n%s" % (self.ref("v1"), "".join(
            "  - image: %s\n" % self.ref(tag_for(p)) for p in (AMD, ARM)))
        first = self.client(cache_dir=cache).push(ml.Spec.parse(text, name="a.yaml"))
        entries = os.listdir(os.path.join(cache, "configs", "sha256"))
        self.assertEqual(len(entries), 2, entries)
        self.reg.reset_access_log()
        again = self.client(cache_dir=cache).push(ml.Spec.parse(text.replace(":v1\n", ":v2\n", 1),
                                                               name="b.yaml"))
        self.assertEqual(again.digest, first.digest)
        self.assertEqual([e for e in self.reg.access_log() if e.method == "GET" and "/blobs/" in e.path], [])

    def test_missing_layout_tag(self):
        self.seed_set([AMD])
        layout = os.path.join(self.tmpdir, "lay")
        self.client().edit("oci:%s:v1" % layout, add=[self.ref(tag_for(AMD))])
        with self.assertRaises(ml.ManifestListError) as cm:
            self.client().inspect("oci:%s:nope" % layout)
        self.assertEqual(cm.exception.code_name, "ML_ENOTFOUND")


class ReferrersTest(BindingCase):
    """Referrers (signatures, SBOMs) in the "sha256-<hex>" tag schema: the
    registry (distribution 2.8) has no referrers API."""

    def attach(self, repo, subject, payload):
        """Pushes an artifact manifest whose subject is `subject` (a
        Seeded) and the subject's tag-schema index -> Seeded of it."""
        empty = b"{}"
        self.reg.push_blob(repo, empty)
        self.reg.push_blob(repo, payload)
        man = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": SIG,
               "config": {"mediaType": EMPTY_CONFIG, "digest": sha256_digest(empty),
                          "size": len(empty)},
               "layers": [{"mediaType": "application/vnd.example.payload",
                           "digest": sha256_digest(payload), "size": len(payload)}],
               "subject": {"mediaType": subject.media_type, "digest": subject.digest,
                           "size": subject.size},
               "annotations": {"org.example.payload": payload.decode()}}
        body = json.dumps(man, separators=(",", ":")).encode()
        digest = self.reg.put_manifest(repo, sha256_digest(body), body, OCI_MANIFEST)
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX,
                 "manifests": [{"mediaType": OCI_MANIFEST, "digest": digest,
                                "size": len(body), "artifactType": SIG,
                                "annotations": man["annotations"]}]}
        self.reg.put_manifest(repo, subject.digest.replace(":", "-"), index, OCI_INDEX)
        return Seeded(digest, len(body), OCI_MANIFEST)

    def signed_source(self):
        src = self.repo + "-src"
        imgs = self.seed_set([AMD, ARM], repo=src)
        sig = self.attach(src, imgs[AMD], b"sig-of-amd64")
        return src, imgs, sig

    def test_push_with_referrers_copies_them(self):
        src, imgs, sig = self.signed_source()
        c = self.client()
        # the source itself lists the signature under the amd64 image
        self.assertEqual([(r.subject, r.digest) for r in
                          c.referrers(self.ref("%s:%s" % (src, tag_for(AMD))))],
                         [(imgs[AMD].digest, sig.digest)])
        res = c.push(self.spec_obj([AMD, ARM], repo=src), referrers=True)
        self.assertEqual(res.referrers_copied, 1)
        self.assertEqual(res.json["referrersCopied"], 1)
        # in the target repository (not the source's)
        self.assertTrue(self.reg.manifest_exists(self.repo, sig.digest))
        self.assertTrue(self.reg.tag_exists(self.repo, imgs[AMD].digest.replace(":", "-")))
        refs = c.referrers(self.ref("v1"))
        self.assertEqual(refs, [ml.Referrer(imgs[AMD].digest, sig.digest, OCI_MANIFEST, SIG,
                                            sig.size, {"org.example.payload": "sig-of-amd64"})])
        # the same from an inspected Manifest
        with c.inspect(self.ref("v1")) as m:
            self.assertEqual(c.referrers(m), refs)
        self.assertRaises(ValueError, c.referrers, m)  # closed
        # again: up to date, nothing left to copy
        again = c.push(self.spec_obj([AMD, ARM], repo=src), referrers=True)
        self.assertTrue(again.up_to_date)
        self.assertEqual(again.referrers_copied, 0)

    def test_push_without_referrers_leaves_them_behind(self):
        src, imgs, sig = self.signed_source()
        c = self.client()
        res = c.push(self.spec_obj([AMD, ARM], repo=src))
        self.assertEqual(res.referrers_copied, 0)
        self.assertEqual(res.json["referrersCopied"], 0)
        self.assertFalse(self.reg.manifest_exists(self.repo, sig.digest))
        self.assertNotIn(imgs[AMD].digest.replace(":", "-"), self.reg.tags(self.repo))
        self.assertEqual(c.referrers(self.ref("v1")), [])

    def test_edit_with_referrers(self):
        src, imgs, sig = self.signed_source()
        res = self.client().edit(self.ref("v1"), add=[self.ref("%s:%s" % (src, tag_for(AMD)))],
                                 referrers=True)
        self.assertEqual(res.referrers_copied, 1)
        self.assertTrue(self.reg.manifest_exists(self.repo, sig.digest))

    def test_referrers_of_missing_manifest(self):
        with self.assertRaises(ml.ManifestListError) as cm:
            self.client().referrers(self.ref("nope"))
        self.assertEqual(cm.exception.code, ml.ML_ENOTFOUND)
        self.assertIn("nope", cm.exception.message)


class RegistryLoopTest(BindingCase):

    def test_no_growth_in_registry_loop(self):
        """200 rounds of inspect, a failing inspect, verify, referrers and a
        dry-run push on one client must not grow RSS (results, manifests,
        reports, referrers, lists and errors all freed)."""
        self.seed_set([AMD, ARM])
        c = self.client()
        spec = self.spec_obj([AMD, ARM])
        c.push(spec)

        def once():
            with c.inspect(self.ref("v1")) as m:
                m.select(ARM)
            try:
                c.inspect(self.ref("nope"))
            except ml.ManifestListError:
                pass
            c.verify(self.ref("v1"))
            c.referrers(self.ref("v1"))
            c.push(spec, dry_run=True)
        for _ in range(30):
            once()
        gc.collect()
        before = rss_kib()
        for _ in range(200):
            once()
        gc.collect()
        grown = rss_kib() - before
        self.assertLess(grown, 2048, "RSS grew %d KiB over 200 rounds" % grown)


class CallbackTest(BindingCase):

    def test_log_callback_receives_debug_lines(self):
        self.seed_set([AMD])
        lines = []
        c = self.client(log=lambda level, msg: lines.append((level, msg)))
        c.push(self.spec_obj([AMD]))
        debug = [m for lvl, m in lines if lvl == ml.LOG_DEBUG]
        self.assertTrue(debug, lines)
        self.assertTrue(any(re.search(r"\b(GET|HEAD|PUT) http://%s/v2/" % re.escape(self.reg.host), m)
                            for m in debug), debug)
        self.assertTrue(all(isinstance(m, str) for _, m in lines))
        self.assertTrue(all(lvl in (ml.LOG_DEBUG, ml.LOG_INFO, ml.LOG_WARN) for lvl, _ in lines))

    def test_log_to_logging_logger(self):
        import logging
        self.seed_set([AMD])
        logger = logging.getLogger("manifestlist-test")
        with self.assertLogs(logger, level="DEBUG") as cm:
            self.client(log=logger).inspect(self.ref(tag_for(AMD)))
        self.assertTrue(any("/v2/" in r.getMessage() for r in cm.records))

    def test_log_callback_exception_does_not_break_the_call(self):
        self.seed_set([AMD])

        def bad(level, msg):
            raise RuntimeError("log boom")
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            m = self.client(log=bad).inspect(self.ref(tag_for(AMD)))
        self.assertFalse(m.is_list)
        self.assertTrue(any("log boom" in str(x.message) for x in w), [str(x.message) for x in w])

    def test_progress_callback_receives_steps(self):
        self.seed_set([AMD, ARM])
        calls = []
        c = self.client(progress=lambda step, done, total: calls.append((step, done, total)))
        c.push(self.spec_obj([AMD, ARM]))
        steps = [s for s, _, _ in calls]
        self.assertTrue(all(isinstance(s, str) for s in steps), calls)
        # two entries resolved: announced (0 of 2), then each request counted
        resolve = [(d, t) for s, d, t in calls if s == "resolve"]
        self.assertEqual(resolve[0], (0, 2), calls)
        self.assertEqual(resolve[-1], (2, 2), calls)
        self.assertTrue(all(0 <= d <= t for _, d, t in calls), calls)

    def test_progress_callback_exception_does_not_break_the_call(self):
        self.seed_set([AMD])

        def bad(step, done, total):
            raise RuntimeError("progress boom")
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            res = self.client(progress=bad).push(self.spec_obj([AMD]))
        self.assertTrue(res.digest.startswith("sha256:"))
        self.assertTrue(any("progress boom" in str(x.message) for x in w), [str(x.message) for x in w])

    def test_progress_must_be_callable(self):
        self.assertRaises(TypeError, ml.Client, progress="not callable")

    def test_callback_cannot_reenter_its_client(self):
        self.seed_set([AMD])
        holder = {}

        def log(level, msg):
            holder["c"].inspect(self.ref(tag_for(AMD)))
        c = holder["c"] = self.client(log=log)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            self.assertFalse(c.inspect(self.ref(tag_for(AMD))).is_list)
        self.assertTrue(any("own log, progress or credentials callback" in str(x.message) for x in w),
                        [str(x.message) for x in w])
        holder.clear()

    def test_client_shared_between_threads(self):
        imgs = self.seed_set([AMD, ARM])
        c = self.client(concurrency=2)
        out, errors = {}, []

        def work(plat):
            try:
                for _ in range(5):
                    out[plat] = c.inspect(self.ref(tag_for(plat))).digest
            except Exception as e:  # pragma: no cover
                errors.append(e)
        threads = [threading.Thread(target=work, args=(p,)) for p in (AMD, ARM) * 2]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])
        self.assertEqual(out, {p: imgs[p].digest for p in (AMD, ARM)})


USER, PASSWORD = "binder", "s3cret-py"


class AuthTest(BindingCase):
    registry_options = {"htpasswd": (USER, PASSWORD)}

    def test_credentials_callback(self):
        imgs = self.seed_set([AMD, ARM])
        calls = []

        def creds(registry):
            calls.append(registry)
            return (USER, PASSWORD)
        c = self.client(credentials=creds)
        res = c.push(self.spec_obj([AMD, ARM]))
        doc = self.assertListAt("v1", digest=res.digest)
        self.assertEntries(doc, imgs)
        self.assertEqual(c.inspect(self.ref("v1")).digest, res.digest)
        self.assertEqual(calls, [self.reg.host], "called once per registry")

    def test_credentials_callback_none_is_anonymous(self):
        self.seed_set([AMD])
        calls = []
        c = self.client(credentials=lambda r: calls.append(r))
        with self.assertRaises(ml.ManifestListError) as cm:
            c.inspect(self.ref(tag_for(AMD)))
        self.assertEqual(cm.exception.code_name, "ML_EAUTH")
        self.assertEqual(cm.exception.http_status, 401)
        self.assertEqual(cm.exception.auth_reason, "no_credentials")
        self.assertEqual(calls, [self.reg.host])

    def test_credentials_callback_wrong_password(self):
        self.seed_set([AMD])
        c = self.client(credentials=lambda r: (USER, "Xq9-not-the-password", False))
        with self.assertRaises(ml.ManifestListError) as cm:
            c.inspect(self.ref(tag_for(AMD)))
        self.assertEqual(cm.exception.code, ml.ML_EAUTH)
        self.assertEqual(cm.exception.auth_reason, "rejected")
        self.assertNotIn("Xq9-not-the-password", cm.exception.message, "the secret never reaches a message")

    def test_credentials_callback_exception_is_the_cause(self):
        self.seed_set([AMD])

        def creds(registry):
            raise KeyError("no vault entry for " + registry)
        c = self.client(credentials=creds)
        with self.assertRaises(ml.ManifestListError) as cm:
            c.inspect(self.ref(tag_for(AMD)))
        self.assertEqual(cm.exception.code_name, "ML_EAUTH")
        self.assertIsInstance(cm.exception.__cause__, KeyError)
        self.assertIn(self.reg.host, str(cm.exception.__cause__))

    def test_username_password_options(self):
        img = self.seed("v1-amd64", AMD)
        m = self.client(username=USER, password=PASSWORD).inspect(self.ref("v1-amd64"))
        self.assertEqual(m.digest, img.digest)
        with self.assertRaises(ml.ManifestListError) as cm:
            self.client().inspect(self.ref("v1-amd64"))
        self.assertEqual(cm.exception.code_name, "ML_EAUTH")


class TlsTest(BindingCase):
    registry_options = {"tls": True}

    def test_ca_cert_and_insecure(self):
        img = self.seed("v1-amd64", AMD)
        self.assertEqual(self.client().inspect(self.ref("v1-amd64")).digest, img.digest)
        with self.assertRaises(ml.ManifestListError) as cm:
            self.client(ca_cert=None, retries=0).inspect(self.ref("v1-amd64"))
        self.assertEqual(cm.exception.code_name, "ML_ENET")
        m = self.client(ca_cert=None, insecure=True).inspect(self.ref("v1-amd64"))
        self.assertEqual(m.digest, img.digest)


# --------------------------------------------------------------------------
# Runner: the integration suite's (tests/integration/run.py), same counting

if __name__ == "__main__":
    import run  # noqa: E402  (tests/integration is on sys.path)
    sys.exit(run.cli(None, __doc__.split("\n\n")[0], ("MANIFESTLIST_LIB", "ML_SEED"),
                     lambda: unittest.TestLoader().loadTestsFromModule(sys.modules[__name__])))
