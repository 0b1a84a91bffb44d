"""mlist create: DESIGN §4 (create, options of create/update/push) and §5."""

import json
import unittest

from fixture import (DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST,
                     MlistTestCase, is_attestation,
                     platform_key, sha256_digest, tag_for)

AMD, ARM = "linux/amd64", "linux/arm64"


class CreateTest(MlistTestCase):

    def test_create_pushes_docker_list(self):
        imgs = self.seed_set([AMD, ARM])
        spec = self.spec([AMD, ARM])
        self.reg.reset_access_log()
        digest, size = self.create_ok(spec)
        doc = self.assertListAt("v1", digest=digest, size=size)
        _, headers, body = self.reg.get_manifest(self.repo, "v1")
        self.assertEqual(sha256_digest(body), digest)  # independent check
        self.assertEqual(headers.get("Content-Type"), DOCKER_LIST)
        self.assertEqual(doc.get("mediaType"), DOCKER_LIST)
        self.assertEntries(doc, imgs)
        self.assertEqual([platform_key(m["platform"]) for m in doc["manifests"]], [AMD, ARM],
                         "entries keep the spec's order")
        # the fewest requests that carry the information: a HEAD per child,
        # its manifest and config (the spec's platform is checked against
        # it; a rerun finds it in the cache), one of the tag (create refuses
        # an existing one), one PUT, whose answer carries the digest the
        # registry stored (no read-back)
        log = [e for e in self.reg.access_log() if e.path != "/v2/"]
        configs = [e for e in log if e.method == "GET" and "/blobs/" in e.path]
        self.assertEqual(len(configs), 2, log)
        self.assertEqual(sorted((e.method, e.path) for e in log if e not in configs), sorted(
            [("HEAD", "/v2/%s/manifests/%s" % (self.repo, tag_for(p))) for p in (AMD, ARM)] +
            [("GET", "/v2/%s/manifests/%s" % (self.repo, imgs[p].digest)) for p in (AMD, ARM)] +
            [("HEAD", "/v2/%s/manifests/v1" % self.repo), ("PUT", "/v2/%s/manifests/v1" % self.repo)]), log)
        self.assertEqual(log[-1].method, "PUT")

    def test_create_list_option_and_plain_http_flag(self):
        imgs = self.seed_set([AMD, ARM])
        spec = self.spec([AMD, ARM])
        digest, size = self.create_ok("--plain-http", "--list", spec)
        doc = self.assertListAt("v1", digest=digest, size=size)
        self.assertEntries(doc, imgs)

    def test_create_refuses_existing_tag_unless_force(self):
        self.seed_set([AMD, ARM])
        d1, _ = self.create_ok(self.spec([AMD, ARM]))
        spec2 = self.spec([AMD], name="spec2.yaml")
        self.reg.reset_access_log()
        r = self.mlist("create", spec2)
        self.assertExit(r, 3)
        self.assertEqual(self.reg.manifest_digest(self.repo, "v1"), d1, "tag changed")
        self.assertEqual(self.manifest_puts(self.reg.access_log()), [])
        r = self.mlist("create", "--force", spec2)
        self.assertOk(r)
        d2, size2 = self.parse_digest_line(r)
        self.assertNotEqual(d1, d2)
        doc = self.assertListAt("v1", digest=d2, size=size2)
        self.assertEqual([platform_key(m["platform"]) for m in doc["manifests"]], [AMD])

    def test_create_json_output(self):
        imgs = self.seed_set([AMD, ARM])
        # --json is global (before the command) and accepted after it too
        for target, form in (("v1", ["--json", "create"]), ("v2", ["create", "--json"])):
            with self.subTest(form=form):
                spec = self.spec([AMD, ARM], target=target, name=target + ".yaml")
                r = self.mlist(*(form + [spec]))
                self.assertOk(r)
                res = self.parse_json(r)
                self.assertEqual(res["target"], self.ref(target))
                self.assertRegex(res["digest"], r"^sha256:[0-9a-f]{64}$")
                self.assertListAt(target, digest=res["digest"], size=res["size"])
                self.assertEqual(res["mediaType"], DOCKER_LIST)
                self.assertIs(res["upToDate"], False)
                self.assertIs(res["dryRun"], False)
                self.assertEqual(res["tags"], [{"tag": target, "moved": True, "previous": None}])
                changes = sorted(res["changes"], key=lambda c: c["platform"])
                self.assertEqual([(c["op"], c["platform"], c["digest"]) for c in changes],
                                 [("add", AMD, imgs[AMD].digest), ("add", ARM, imgs[ARM].digest)])

    def test_platform_from_image_config(self):
        win = "windows/amd64"
        imgs = {AMD: self.seed(tag_for(AMD), AMD),
                "linux/arm/v7": self.seed(tag_for("linux/arm/v7"), "linux/arm/v7"),
                win: self.seed(tag_for(win), win, os_version="10.0.17763.5576")}
        spec = self.spec([AMD, "linux/arm/v7", win], with_platform=False)
        digest, size = self.create_ok(spec)
        doc = self.assertListAt("v1", digest=digest, size=size)
        got = self.assertEntries(doc, imgs)
        self.assertEqual(got["linux/arm/v7"]["platform"],
                         {"os": "linux", "architecture": "arm", "variant": "v7"})
        self.assertEqual(got[win]["platform"].get("os.version"), "10.0.17763.5576")
        self.assertEqual(got[win]["platform"]["os"], "windows")
        self.assertNotIn("os.version", got[AMD]["platform"])

    def test_proposal_format_is_normalised_with_warnings(self):
        imgs = {AMD: self.seed("v1-amd64", AMD),
                "linux/ppc64le": self.seed("v1-ppc64le", "linux/ppc64le")}
        spec = self.write_spec(
            'image: {HOST}/{REPO}:v1\n'
            'manifests:\n'
            '  - image: {HOST}/{REPO}:v1-amd64\n'
            '    platform:\n'
            '      "architecture": x86_64\n'
            '      "os": Linux\n'
            '  - image: {HOST}/{REPO}:v1-ppc64le\n'
            '    platform:\n'
            '      "architecture": ppc64\n'
            '      "os": Linux\n'
            '      "variant": ppc64le\n')
        r = self.mlist("create", spec)
        self.assertOk(r)
        digest, size = self.parse_digest_line(r)
        doc = self.assertListAt("v1", digest=digest, size=size)
        got = self.assertEntries(doc, imgs)
        self.assertEqual(got["linux/ppc64le"]["platform"],
                         {"os": "linux", "architecture": "ppc64le"})
        self.assertEqual(got[AMD]["platform"], {"os": "linux", "architecture": "amd64"})
        for word in ("x86_64", "Linux", "ppc64"):
            self.assertIn(word, r.stderr, "no normalisation warning naming %r" % word)
        self.assertRegex(r.stderr.lower(), r"warn")

    def test_no_normalize_keeps_values(self):
        self.seed("v1-amd64", AMD)
        spec = self.write_spec(
            'image: {HOST}/{REPO}:v1\n'
            'manifests:\n'
            '  - image: {HOST}/{REPO}:v1-amd64\n'
            '    platform: {architecture: x86_64, os: Linux}\n')
        digest, size = self.create_ok("--no-normalize", spec)
        doc = self.assertListAt("v1", digest=digest, size=size)
        self.assertEqual(doc["manifests"][0]["platform"], {"os": "Linux", "architecture": "x86_64"})

    def test_oci_child_makes_oci_index(self):
        imgs = self.seed_set([AMD, ARM], oci=[ARM])
        self.assertEqual(imgs[ARM].media_type, OCI_MANIFEST)
        self.assertEqual(imgs[AMD].media_type, DOCKER_MANIFEST)
        r = self.mlist("--json", "create", self.spec([AMD, ARM]))
        self.assertOk(r)
        res = self.parse_json(r)
        self.assertEqual(res["mediaType"], OCI_INDEX)
        doc = self.assertListAt("v1", digest=res["digest"], size=res["size"])
        self.assertEqual(self.reg.head_manifest(self.repo, "v1")[1].get("Content-Type"), OCI_INDEX)
        self.assertEqual(doc.get("mediaType"), OCI_INDEX)
        self.assertEntries(doc, imgs)

    def test_type_oci_forced(self):
        imgs = self.seed_set([AMD, ARM])
        digest, size = self.create_ok("--type", "oci", self.spec([AMD, ARM]))
        doc = self.assertListAt("v1", digest=digest, size=size)
        self.assertEqual(doc.get("mediaType"), OCI_INDEX)
        self.assertEntries(doc, imgs)

    def test_type_docker_with_oci_child_is_bad_input(self):
        self.seed_set([AMD, ARM], oci=[ARM])
        self.reg.reset_access_log()
        r = self.mlist("create", "--type", "docker", self.spec([AMD, ARM]))
        self.assertExit(r, 2)
        self.assertIn("docker", r.stderr.lower())
        self.assertFalse(self.reg.tag_exists(self.repo, "v1"))
        self.assertNoWrites()

    def test_annotations_make_oci_index(self):
        imgs = self.seed_set([AMD, ARM])
        spec = self.write_spec(
            'image: {HOST}/{REPO}:v1\n'
            'annotations:\n'
            '  org.opencontainers.image.source: https://example.com/app\n'
            'manifests:\n'
            '  - image: {HOST}/{REPO}:v1-amd64\n'
            '    platform: {os: linux, architecture: amd64}\n'
            '    annotations: {com.example.flavour: plain}\n'
            '  - image: {HOST}/{REPO}:v1-arm64\n'
            '    platform: {os: linux, architecture: arm64}\n')
        digest, size = self.create_ok(spec, "--annotation", "org.opencontainers.image.revision=abc123")
        doc = self.assertListAt("v1", digest=digest, size=size)
        self.assertEqual(doc.get("mediaType"), OCI_INDEX)
        self.assertEqual(doc.get("annotations"), {
            "org.opencontainers.image.source": "https://example.com/app",
            "org.opencontainers.image.revision": "abc123"})
        got = self.assertEntries(doc, imgs)
        self.assertEqual(got[AMD].get("annotations"), {"com.example.flavour": "plain"})
        self.assertNotIn("annotations", got[ARM])
        # the same with --type docker is bad input, nothing written
        self.reg.reset_access_log()
        r = self.mlist("create", "--force", "--type", "docker", spec)
        self.assertExit(r, 2)
        self.assertEqual(self.reg.manifest_digest(self.repo, "v1"), digest)
        self.assertNoWrites()

    def test_source_in_other_repository_is_copied_in(self):
        src_repo = self.repo + "-src"
        imgs = self.seed_set([AMD, ARM], repo=src_repo)
        spec = self.spec([AMD, ARM], repo=src_repo)
        self.reg.reset_access_log()
        digest, size = self.create_ok(spec)
        doc = self.assertListAt("v1", digest=digest, size=size)
        self.assertEntries(doc, imgs)
        for plat, img in imgs.items():
            self.assertTrue(self.reg.manifest_exists(self.repo, img.digest),
                            "%s child not in the target repository" % plat)
            man, _, _, _ = self.reg.manifest_json(self.repo, img.digest)
            for blob in [man["config"]] + man["layers"]:
                self.assertTrue(self.reg.blob_exists(self.repo, blob["digest"]),
                                "blob %s of %s missing in target" % (blob["digest"], plat))
        log = self.reg.access_log()
        mounts = [e for e in log if e.method == "POST" and "mount=" in e.path
                  and "from=" + src_repo.replace("/", "%2F") in e.path.replace("/", "%2F")]
        self.assertTrue(mounts, "blobs were not mounted from %s: %s" % (src_repo, log))
        self.assertTrue(all(e.status == 201 for e in mounts), mounts)
        puts = [e.path for e in self.manifest_puts(log)]
        self.assertEqual(puts[-1], "/v2/%s/manifests/v1" % self.repo, "list is the last PUT")
        self.assertEqual(sorted(puts[:-1]), sorted("/v2/%s/manifests/%s" % (self.repo, i.digest)
                                                   for i in imgs.values()),
                         "children PUT by digest before the list")

    def test_index_source_is_flattened_with_attestations_last(self):
        imgs = self.seed_set([AMD, ARM], prefix="b")
        idx = self.reg.seed_index("%s:multi" % self.repo,
                                  ["%s:%s" % (self.repo, tag_for(p, "b")) for p in (AMD, ARM)],
                                  attestations=True)
        self.assertEqual(idx.media_type, OCI_INDEX)
        s390 = self.seed("v1-s390x", "linux/s390x")
        spec = self.write_spec(
            'image: {HOST}/{REPO}:v1\n'
            'manifests:\n'
            '  - image: {HOST}/{REPO}:multi\n'
            '  - image: {HOST}/{REPO}:v1-s390x\n')
        digest, size = self.create_ok(spec)
        doc = self.assertListAt("v1", digest=digest, size=size)
        self.assertEqual(doc.get("mediaType"), OCI_INDEX)
        expected = dict(imgs)
        expected["linux/s390x"] = s390
        self.assertEntries(doc, expected)
        kinds = [is_attestation(m) for m in doc["manifests"]]
        self.assertEqual(kinds, [False] * 3 + [True] * 2, "attestations after all images")
        att = doc["manifests"][3:]
        self.assertEqual(sorted(m["annotations"]["vnd.docker.reference.digest"] for m in att),
                         sorted(i.digest for i in imgs.values()))
        for m in att:
            self.assertEqual(m["platform"], {"os": "unknown", "architecture": "unknown"})
            self.assertTrue(self.reg.manifest_exists(self.repo, m["digest"]))
        # the same without attestations
        r = self.mlist("create", "--no-attestations", "--force", spec)
        self.assertOk(r)
        d2, s2 = self.parse_digest_line(r)
        doc = self.assertListAt("v1", digest=d2, size=s2)
        self.assertEntries(doc, expected)
        self.assertFalse(any(is_attestation(m) for m in doc["manifests"]), doc)
        self.assertNotIn("unknown/unknown", [platform_key(m.get("platform")) for m in doc["manifests"]])

    def test_extra_tags(self):
        self.seed_set([AMD, ARM])
        spec = self.spec([AMD, ARM], tags=["1.2.3", "latest"])
        r = self.mlist("create", "--json", spec)
        self.assertOk(r)
        res = self.parse_json(r)
        for tag in ("v1", "1.2.3", "latest"):
            self.assertListAt(tag, digest=res["digest"], size=res["size"])
        self.assertEqual(sorted((t["tag"], t["moved"], t["previous"]) for t in res["tags"]),
                         [("1.2.3", True, None), ("latest", True, None), ("v1", True, None)])
        self.assertEqual(self.reg.tags(self.repo),
                         sorted(["1.2.3", "latest", "v1", "v1-amd64", "v1-arm64"]))

    def test_multi_document_spec_creates_each_list(self):
        imgs = self.seed_set([AMD, ARM])
        text = (self.spec_text([AMD, ARM], target="v1") + "---\n"
                + self.spec_text([ARM], target="v1-arm-only"))
        self.assertOk(self.mlist("create", self.write_spec(text)))
        self.assertEntries(self.assertListAt("v1"), imgs)
        self.assertEntries(self.assertListAt("v1-arm-only"), {ARM: imgs[ARM]})

    def test_missing_source_fails(self):
        self.seed_set([AMD])
        spec = self.spec([AMD, (self.repo + ":v1-nope", ARM)])
        self.reg.reset_access_log()
        r = self.mlist("create", spec)
        self.assertExit(r, 1)
        self.assertIn("%s:v1-nope" % self.repo, r.stderr, "error names the missing image")
        self.assertFalse(self.reg.tag_exists(self.repo, "v1"))
        self.assertEqual(self.manifest_puts(self.reg.access_log()), [])

    def test_ignore_missing(self):
        imgs = self.seed_set([AMD])
        spec = self.spec([AMD, (self.repo + ":v1-nope", ARM)])
        r = self.mlist("create", "--ignore-missing", spec)
        self.assertOk(r)
        self.assertIn("v1-nope", r.stderr, "warning names the skipped image")
        digest, size = self.parse_digest_line(r)
        self.assertEntries(self.assertListAt("v1", digest=digest, size=size), imgs)

    def test_dry_run_writes_nothing(self):
        imgs = self.seed_set([AMD, ARM])
        spec = self.spec([AMD, ARM])
        self.reg.reset_access_log()
        r = self.mlist("create", "--dry-run", spec)
        self.assertOk(r)
        start = r.stdout.find("{")
        self.assertGreaterEqual(start, 0, "no list JSON on stdout" + self.describe(r))
        doc, _ = json.JSONDecoder().raw_decode(r.stdout[start:])
        self.assertEqual(doc.get("schemaVersion"), 2)
        self.assertEqual(doc.get("mediaType"), DOCKER_LIST)
        self.assertEntries(doc, imgs)
        self.assertNoWrites()
        self.assertFalse(self.reg.tag_exists(self.repo, "v1"))
        # --json --dry-run: the result object, dryRun true; same digest as a
        # real run (pushed JSON is deterministic)
        r = self.mlist("--json", "create", "--dry-run", spec)
        self.assertOk(r)
        res = self.parse_json(r)
        self.assertIs(res["dryRun"], True)
        self.assertEqual(res["tags"][0]["tag"], "v1")
        self.assertNoWrites()
        self.assertFalse(self.reg.tag_exists(self.repo, "v1"))
        digest, size = self.create_ok(spec)
        self.assertEqual((res["digest"], res["size"]), (digest, size))

    def test_duplicate_platforms(self):
        self.seed_set([AMD])
        self.seed("v1-amd64-b", AMD)
        spec = self.spec([AMD, (self.repo + ":v1-amd64-b", AMD)])
        r = self.mlist("create", spec)
        self.assertExit(r, 2)
        self.assertIn("linux/amd64", r.stderr)
        self.assertFalse(self.reg.tag_exists(self.repo, "v1"))
        digest, size = self.create_ok("--allow-duplicates", spec)
        doc = self.assertListAt("v1", digest=digest, size=size)
        self.assertEqual([platform_key(m["platform"]) for m in doc["manifests"]], [AMD, AMD])

    def test_bad_target_reference(self):
        self.seed_set([AMD])
        text = self.spec_text([AMD]).replace(self.ref("v1"), self.reg.host + "/" + self.repo + ":bad tag!")
        r = self.mlist("create", self.write_spec(text))
        self.assertExit(r, 2)
        r = self.mlist("create", self.write_spec(self.spec_text([AMD]).replace(
            self.ref("v1"), self.reg.host + "/Upper/Case:v1"), name="s2.yaml"))
        self.assertExit(r, 2)

    def test_usage_errors(self):
        self.assertExit(self.mlist("create"), 2)
        self.assertExit(self.mlist("no-such-command"), 2)
        self.assertExit(self.mlist("create", "--type", "nonsense", self.spec([AMD])), 2)

    def describe(self, r):
        from fixture import describe
        return describe(r)


if __name__ == "__main__":
    unittest.main()
