"""Hostile sources and registries (issue 13): what a manifest, a layout or
a registry's answer says never reaches an HTTP header or a URL unchecked,
and a registry's answer is checked like the content it is about.

The attack: a child manifest whose mediaType is a known type followed by
";\\r\\n...\\r\\n\\r\\nDELETE /v2/<repo>/manifests/<digest> HTTP/1.1\\r\\n..."
was accepted (a prefix match) and sent whole as the Content-Type of the
child's PUT, so the registry read a second request, a DELETE carrying
mlist's Authorization. These tests set it up against a real htpasswd
registry that holds the manifest the smuggled DELETE names."""

import collections
import hashlib
import json
import os
import tempfile
import time

from fakeregistry import FakeRegistry
from faultproxy import FaultProxy
from fixture import MlistTestCase, run_mlist
from imagedata import (DOCKER_MANIFEST, OCI_CONFIG_TYPE, OCI_INDEX, OCI_LAYER, OCI_MANIFEST, sha256_digest,
                       tiny_docker_image)

USER, PASSWORD = "alice", "pw-Hx55-secret"
AMD = "linux/amd64"


def smuggling(known, repo, victim, host):
    """A media type that starts with `known` and carries a DELETE of
    repo@victim (the rest of the real request becomes its headers)."""
    return ("%s;\r\nContent-Length: 0\r\n\r\nDELETE /v2/%s/manifests/%s HTTP/1.1\r\nHost: %s\r\n"
            "X-Rest-Of-Request: " % (known, repo, victim, host))


def oci_image(manifest_type, config_type=OCI_CONFIG_TYPE, salt="hostile"):
    """-> {digest: bytes} of a tiny OCI image, and its manifest digest."""
    cfg = json.dumps({"architecture": "amd64", "os": "linux",
                      "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    layer = ("layer %s" % salt).encode()
    man = json.dumps({"schemaVersion": 2, "mediaType": manifest_type,
                      "config": {"mediaType": config_type, "digest": sha256_digest(cfg),
                                 "size": len(cfg)},
                      "layers": [{"mediaType": OCI_LAYER, "digest": sha256_digest(layer),
                                  "size": len(layer)}]}).encode()
    blobs = {sha256_digest(b): b for b in (cfg, layer, man)}
    return blobs, sha256_digest(man)


def write_layout(path, blobs, entry_type, manifest_digest, tag):
    os.makedirs(os.path.join(path, "blobs", "sha256"))
    for d, data in blobs.items():
        with open(os.path.join(path, "blobs", "sha256", d.split(":", 1)[1]), "wb") as f:
            f.write(data)
    with open(os.path.join(path, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX,
             "manifests": [{"mediaType": entry_type, "digest": manifest_digest,
                            "size": len(blobs[manifest_digest]),
                            "annotations": {"org.opencontainers.image.ref.name": tag}}]}
    with open(os.path.join(path, "index.json"), "w") as f:
        json.dump(index, f)


class _AuthBase(MlistTestCase):
    registry_options = {"htpasswd": (USER, PASSWORD)}

    def setUp(self):
        super().setUp()
        self.victim = self.reg.push_test_image(self.repo, "victim").digest

    def mlist_auth(self, *args, **kw):
        return run_mlist("--username", USER, "--password", PASSWORD, *args, **kw)

    def spec_from(self, source):
        return self.write_spec("image: {HOST}/{REPO}:v1\nmanifests:\n"
                               "  - image: %s\n    platform: {os: linux, architecture: amd64}\n" % source)

    def assertUntouched(self):
        """The victim is still there, and nothing was written (the child is
        read and checked before any blob moves): no blob, no manifest, no
        DELETE."""
        self.assertEqual(self.reg.manifest_digest(self.repo, "victim"), self.victim,
                         "the smuggled DELETE went through" + self.describe_log())
        self.assertFalse(self.reg.tag_exists(self.repo, "v1"))
        self.assertNoWrites()

    def describe_log(self):
        return "\nregistry log:\n" + "\n".join("%s %s %s" % (e.method, e.path, e.status)
                                                for e in self.reg.access_log())

    def assertNamesMediaType(self, r):
        self.assertRegex(r.stderr, r"(?i)media ?type")
        # the value is shown escaped: no raw CR/LF from the manifest on stderr
        self.assertNotIn("\r", r.stderr)
        self.assertNotIn("DELETE /v2/%s/manifests/%s HTTP/1.1\n" % (self.repo, self.victim), r.stderr)


class HostileLayoutTest(_AuthBase):
    """An OCI layout written by the test, used as a `create` source."""

    def run_layout(self, entry_type, manifest_type, config_type=OCI_CONFIG_TYPE):
        blobs, digest = oci_image(manifest_type, config_type)
        layout = os.path.join(tempfile.mkdtemp(dir=self.tmpdir), "layout")
        write_layout(layout, blobs, entry_type, digest, "evil")
        self.reg.reset_access_log()
        return self.mlist_auth("create", self.spec_from("oci:%s:evil" % layout))

    def test_smuggled_delete_in_child_mediatype_is_refused(self):
        evil = smuggling(OCI_MANIFEST, self.repo, self.victim, self.reg.host)
        for entry_type in (OCI_MANIFEST, evil):
            with self.subTest(index_entry="exact" if entry_type == OCI_MANIFEST else "evil"):
                r = self.run_layout(entry_type, evil)
                self.assertExit(r, 1)
                self.assertNamesMediaType(r)
                self.assertUntouched()

    def test_smuggled_delete_in_index_entry_only_is_refused(self):
        evil = smuggling(OCI_MANIFEST, self.repo, self.victim, self.reg.host)
        r = self.run_layout(evil, OCI_MANIFEST)
        self.assertExit(r, 1)
        self.assertNamesMediaType(r)
        self.assertUntouched()

    def test_parameters_and_suffixes_are_refused(self):
        for bad in (OCI_MANIFEST + ";charset=x", OCI_MANIFEST + " x", OCI_MANIFEST + "\n"):
            with self.subTest(media_type=bad):
                r = self.run_layout(OCI_MANIFEST, bad)
                self.assertExit(r, 1)
                self.assertNamesMediaType(r)
                self.assertUntouched()

    def test_smuggling_config_mediatype_is_refused(self):
        evil = smuggling("application/vnd.oci.image.config.v1+json", self.repo, self.victim,
                         self.reg.host)
        r = self.run_layout(OCI_MANIFEST, OCI_MANIFEST, config_type=evil)
        self.assertExit(r, 1)
        self.assertNamesMediaType(r)
        self.assertUntouched()

    def test_clean_layout_is_copied(self):
        """The control: the same layout with exact types is pushed."""
        r = self.run_layout(OCI_MANIFEST, OCI_MANIFEST)
        self.assertOk(r)
        self.assertTrue(self.reg.tag_exists(self.repo, "v1"))
        self.assertEqual(self.reg.manifest_digest(self.repo, "victim"), self.victim)


class HostileRegistryTest(_AuthBase):
    """The same manifest served by a registry (distribution 2.8 refuses to
    store it, so the source is the fake registry; the target is real)."""

    def test_smuggled_delete_from_registry_source_is_refused(self):
        evil = smuggling(OCI_MANIFEST, self.repo, self.victim, self.reg.host)
        blobs, digest = oci_image(evil)
        with FakeRegistry() as fr:
            for d, data in blobs.items():
                if d != digest:
                    fr.add_blob("src/evil", data)
            fr.add_manifest("src/evil", "v1", blobs[digest], OCI_MANIFEST)
            self.reg.reset_access_log()
            r = self.mlist_auth("create", self.spec_from(fr.ref("src/evil:v1")))
        self.assertExit(r, 1)
        self.assertNamesMediaType(r)
        self.assertUntouched()


class PutDigestTest(MlistTestCase):
    """Docker-Content-Digest on a manifest PUT answer is a digest of the
    bytes sent, or an error: malformed, other algorithm spelling, other
    case, other content."""

    def test_malformed_or_other_put_digest_is_an_error(self):
        self.seed_set([AMD])
        other = "sha256:" + hashlib.sha256(b"other").hexdigest()
        for i, value in enumerate(("garbage", "sha512:abcd", "SHA256:" + other.split(":")[1],
                                   other, "sha256:" + "A" * 64)):
            with self.subTest(digest=value):
                with FaultProxy(self.reg.port) as px:
                    # the registry stores the list: each case has its own tag
                    px.add("PUT", r"/manifests/d%d$" % i, "wrong_digest", digest=value)
                    text = self.spec_text([AMD], target="d%d" % i)
                    spec = self.write_spec(text.replace(self.reg.host, px.host), name="put.yaml")
                    r = self.mlist("--plain-http", "create", spec)
                self.assertExit(r, 1)
                self.assertIn("PUT", r.stderr)
                self.assertRegex(r.stderr, r"(?i)digest")
                self.assertIn(value, r.stderr)


def replace_header(headers, name, value):
    return [(k, v) for k, v in headers if k.lower() != name.lower()] + [(name, value)]


class AnswerUrlTest(MlistTestCase):
    """What a registry's answer puts into a later URL keeps to the grammar
    of that place: an upload Location is an http(s) URL or a path, a
    referrers page is a digest (and a query), a listed tag is a tag."""

    def test_upload_location_that_is_no_url_is_refused(self):
        self.seed_set([AMD])
        target = self.repo + "-copy"
        for loc in ("/v2/%s/blobs/uploads/a b" % target, "/v2/%s/blobs/uploads/\xe9" % target,
                    "ftp://127.0.0.1/x"):
            with self.subTest(location=loc):
                with FaultProxy(self.reg.port) as px:
                    # the source is the registry itself, the target the proxy:
                    # another registry to mlist, so blobs are uploaded
                    px.add("POST", r"/blobs/uploads/$", "rewrite",
                           fn=lambda s, h, b, loc=loc: (s, replace_header(h, "Location", loc), b))
                    text = self.spec_text([AMD], target=target + ":v1").replace(
                        "image: %s/%s:v1\n" % (self.reg.host, target),
                        "image: %s/%s:v1\n" % (px.host, target))
                    # bytes: the message quotes the Location as it came
                    r = self.mlist("--plain-http", "create", self.write_spec(text, name="loc.yaml"),
                                   text=False)
                    uploads = px.entries("PUT", r"/blobs/uploads/")
                self.assertExit(r, 1)
                self.assertRegex(r.stderr.decode("utf-8", "replace"), r"upload Location .* is not a URL")
                self.assertEqual(uploads, [])

    def test_referrers_next_link_outside_the_grammar_is_refused(self):
        with FakeRegistry(referrers=True, referrers_page=1) as fr:
            cfg, layer, body = tiny_docker_image("linux", "amd64", None, "referred")
            fr.add_blob("it/src", cfg)
            fr.add_blob("it/src", layer)
            subject = fr.add_manifest("it/src", "amd", body, DOCKER_MANIFEST)
            for i in range(2):
                art = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                                  "artifactType": "application/vnd.example.sig",
                                  "config": {"mediaType": "application/vnd.oci.empty.v1+json",
                                             "digest": fr.add_blob("it/src", b"{}"), "size": 2},
                                  "layers": [],
                                  "subject": {"mediaType": DOCKER_MANIFEST, "digest": subject,
                                              "size": len(body)},
                                  "annotations": {"n": str(i)}}).encode()
                fr.add_manifest("it/src", None, art, OCI_MANIFEST)
            for link in ("</v2/it/src/referrers/%s/../../../other/manifests/x>; rel=\"next\"" % subject,
                         "</v2/it/src/referrers/sha256:abc>; rel=\"next\"",
                         "</v2/it/src/referrers/%s#x>; rel=\"next\"" % subject):
                with self.subTest(link=link):
                    with FaultProxy(fr.port) as px:
                        px.add("GET", r"/referrers/", "rewrite",
                               fn=lambda s, h, b, link=link: (s, replace_header(h, "Link", link), b))
                        r = self.mlist("--plain-http", "inspect", "--referrers", px.ref("it/src:amd"))
                        pages = px.entries("GET", r"/referrers/|/other/")
                    self.assertExit(r, 1)
                    self.assertIn("next page", r.stderr)
                    self.assertEqual(len(pages), 1, pages)

    def test_listed_tag_outside_the_grammar_is_not_requested(self):
        """--purge asks about every other tag of the repository: a "tag"
        from tags/list that would leave the repository's path is not one."""
        lst, _ = self.reg.push_test_list(self.repo, "v1", platforms=(AMD,))
        self.seed_set([AMD], prefix="v2")
        victim = self.repo + "-victim"
        self.reg.push_test_image(victim, "x")
        bad = "a/../../../../%s/manifests/x" % victim  # back to /v2/
        with FaultProxy(self.reg.port) as px:
            px.add("GET", r"/tags/list", "rewrite",
                   fn=lambda s, h, b: (s, h, json.dumps({"name": self.repo,
                                                         "tags": json.loads(b)["tags"] + [bad]})))
            text = self.spec_text([AMD], prefix="v2").replace(self.reg.host, px.host)
            r = self.mlist("--plain-http", "update", "--purge", self.write_spec(text, name="p.yaml"))
            outside = [e for e in px.entries() if e.path.startswith("/v2/" + victim)]
        self.assertOk(r)
        self.assertEqual(outside, [])
        self.assertIn("kept", r.stderr)
        self.assertEqual(self.reg.manifest_digest(self.repo, lst.digest), lst.digest)


class TrickleTest(MlistTestCase):
    """A source that sends a blob at a few bytes a second is cut after a
    --timeout window with less than 1 KiB, then retried like a stall; the
    run ends in bounded time instead of after days."""

    TIMEOUT = 2

    def setUp(self):
        super().setUp()
        self.target = self.repo + "-copy"

    def copy_through(self, px, *flags):
        """`create` of a list in another repository of the real registry
        from a source behind the proxy (another registry to mlist: blobs
        are copied, not mounted)."""
        text = self.spec_text([AMD], target=self.target + ":v1").replace(
            "image: %s/%s:v1-" % (self.reg.host, self.repo),
            "image: %s/%s:v1-" % (px.host, self.repo))
        spec = self.write_spec(text, name="trickle.yaml")
        t0 = time.monotonic()
        r = self.mlist("--plain-http", "--timeout", str(self.TIMEOUT), *flags, "create", spec,
                       timeout=120)
        return r, time.monotonic() - t0

    def test_trickling_blob_is_cut_and_fails_in_bounded_time(self):
        self.seed_set([AMD])
        with FaultProxy(self.reg.port) as px:
            px.add("GET", r"/blobs/sha256:", "trickle", rate=2)
            r, dt = self.copy_through(px, "--retries", "1")
            gets = px.entries("GET", r"/blobs/sha256:")
        self.assertExit(r, 1)
        self.assertRegex(r.stderr, r"(?i)too slow|timed out")
        # blobs are copied side by side: each one is downloaded, then retried
        tries = collections.Counter(e.path for e in gets)
        self.assertTrue(tries and set(tries.values()) == {2}, "one download and one retry each: %s" % (gets,))
        # two windows of --timeout, a backoff, and slack; a 2 B/s copy of
        # the blob would take minutes
        self.assertLess(dt, 2 * (self.TIMEOUT + 1) + 10)
        self.assertFalse(self.reg.tag_exists(self.target, "v1"))

    def test_trickle_once_then_retry_succeeds(self):
        imgs = self.seed_set([AMD])
        with FaultProxy(self.reg.port) as px:
            px.add("GET", r"/blobs/sha256:", "trickle", rate=2, times=1)
            r, dt = self.copy_through(px, "--retries", "2")
            gets = px.entries("GET", r"/blobs/sha256:")
        self.assertOk(r)
        self.assertLess(dt, self.TIMEOUT + 1 + 10)
        self.assertEqual([e.action for e in gets].count("trickle"), 1)
        self.assertEntries(self.assertListAt("v1", repo=self.target), imgs)
