"""mlist update / push from-spec / push from-args: DESIGN §4 and §5."""

import base64
import json
import unittest

from fixture import OCI_INDEX, DOCKER_LIST, MlistTestCase, tag_for

AMD, ARM = "linux/amd64", "linux/arm64"


class UpdateTest(MlistTestCase):

    def test_update_creates_missing_list(self):
        imgs = self.seed_set([AMD, ARM])
        r = self.mlist("update", self.spec([AMD, ARM]))
        self.assertOk(r)
        digest, size = self.parse_digest_line(r)
        self.assertEntries(self.assertListAt("v1", digest=digest, size=size), imgs)

    def test_update_unchanged_is_up_to_date_without_push(self):
        self.seed_set([AMD, ARM])
        spec = self.spec([AMD, ARM], tags=["latest"])
        digest, size = self.create_ok(spec)
        self.reg.reset_access_log()
        r = self.mlist("update", spec)
        self.assertOk(r)
        self.assertIn("up to date", r.stderr.lower())
        log = self.reg.access_log()
        self.assertEqual([e for e in log if e.method == "PUT"], [], "PUT although up to date")
        self.assertNoWrites(log)
        self.assertEqual(self.reg.manifest_digest(self.repo, "v1"), digest)
        # the same in JSON
        r = self.mlist("update", "--json", spec)
        self.assertOk(r)
        res = self.parse_json(r)
        self.assertIs(res["upToDate"], True)
        self.assertIs(res["dryRun"], False)
        self.assertEqual((res["digest"], res["size"]), (digest, size))
        self.assertEqual(res["changes"], [])
        self.assertEqual(sorted((t["tag"], t["moved"]) for t in res["tags"]),
                         [("latest", False), ("v1", False)])
        self.assertNoWrites()

    def test_update_moves_only_a_missing_extra_tag(self):
        self.seed_set([AMD, ARM])
        digest, _ = self.create_ok(self.spec([AMD, ARM]))
        r = self.mlist("update", "--json", self.spec([AMD, ARM], tags=["latest"], name="s2.yaml"))
        self.assertOk(r)
        res = self.parse_json(r)
        self.assertEqual(res["digest"], digest)
        tags = {t["tag"]: t for t in res["tags"]}
        self.assertEqual(sorted(tags), ["latest", "v1"])
        self.assertIs(tags["v1"]["moved"], False)
        self.assertEqual((tags["latest"]["moved"], tags["latest"]["previous"]), (True, None))
        self.assertListAt("latest", digest=digest)

    def test_update_after_child_changed(self):
        imgs = self.seed_set([AMD, ARM])
        spec = self.spec([AMD, ARM])
        old, _ = self.create_ok(spec)
        new_arm = self.seed(tag_for(ARM), ARM, salt="rebuilt")
        self.assertNotEqual(new_arm.digest, imgs[ARM].digest)
        self.reg.reset_access_log()
        r = self.mlist("update", "--json", spec)
        self.assertOk(r)
        res = self.parse_json(r)
        self.assertIs(res["upToDate"], False)
        self.assertNotEqual(res["digest"], old)
        doc = self.assertListAt("v1", digest=res["digest"], size=res["size"])
        self.assertEntries(doc, {AMD: imgs[AMD], ARM: new_arm})
        self.assertEqual(res["changes"], [{"op": "change", "platform": ARM,
                                           "digest": new_arm.digest,
                                           "previous": imgs[ARM].digest}])
        self.assertEqual(res["tags"], [{"tag": "v1", "moved": True, "previous": old}])
        # the tag never went missing: no DELETE; the old list is still there
        log = self.reg.access_log()
        self.assertEqual([e for e in log if e.method == "DELETE"], [])
        self.assertEqual(len(self.manifest_puts(log)), 1, log)
        self.assertTrue(self.reg.manifest_exists(self.repo, old))

    def test_update_purge_deletes_replaced_list_only(self):
        imgs = self.seed_set([AMD, ARM])
        spec = self.spec([AMD, ARM])
        old, _ = self.create_ok(spec)
        new_arm = self.seed(tag_for(ARM), ARM, salt="rebuilt")
        self.reg.reset_access_log()
        r = self.mlist("update", "--purge", spec)
        self.assertOk(r)
        digest, size = self.parse_digest_line(r)
        self.assertNotEqual(digest, old)
        self.assertListAt("v1", digest=digest, size=size)
        self.assertEqual(self.reg.get_manifest(self.repo, old)[0], 404, "old list not purged")
        for img in (imgs[AMD], imgs[ARM], new_arm):
            self.assertTrue(self.reg.manifest_exists(self.repo, img.digest),
                            "child %s was touched" % img.digest)
        log = self.reg.access_log()
        order = [(e.method, e.path) for e in log if e.method in ("PUT", "DELETE")]
        self.assertEqual(order[-1], ("DELETE", "/v2/%s/manifests/%s" % (self.repo, old)),
                         "purge must come after the tag moved: %s" % order)
        self.assertIn(("PUT", "/v2/%s/manifests/v1" % self.repo), order[:-1])

    def test_update_edit_without_spec(self):
        imgs = self.seed_set([AMD, ARM, "linux/s390x"])
        self.create_ok(self.spec([AMD, ARM]))
        target = self.ref("v1")
        # --add: platform from the image's config
        r = self.mlist("update", target, "--add", self.ref(tag_for("linux/s390x")))
        self.assertOk(r)
        d, s = self.parse_digest_line(r)
        self.assertEntries(self.assertListAt("v1", digest=d, size=s), imgs)
        # --remove by platform
        r = self.mlist("update", target, "--remove", AMD)
        self.assertOk(r)
        d, s = self.parse_digest_line(r)
        self.assertEntries(self.assertListAt("v1", digest=d, size=s),
                           {ARM: imgs[ARM], "linux/s390x": imgs["linux/s390x"]})
        # --add SRC=PLATFORM replaces the entry of that platform (upsert)
        arm2 = self.seed("v1-arm64-b", ARM)
        r = self.mlist("update", target, "--add", self.ref("v1-arm64-b") + "=" + ARM)
        self.assertOk(r)
        d, s = self.parse_digest_line(r)
        doc = self.assertListAt("v1", digest=d, size=s)
        self.assertEntries(doc, {ARM: arm2, "linux/s390x": imgs["linux/s390x"]})
        # --remove by digest; several edits in one run
        r = self.mlist("update", target, "--remove", imgs["linux/s390x"].digest,
                       "--add", self.ref(tag_for(AMD)))
        self.assertOk(r)
        d, s = self.parse_digest_line(r)
        self.assertEntries(self.assertListAt("v1", digest=d, size=s),
                           {ARM: arm2, AMD: imgs[AMD]})

    def test_edit_keeps_the_order_and_an_unchanged_add_is_up_to_date(self):
        imgs = self.seed_set([AMD, ARM, "linux/s390x"])
        self.create_ok(self.spec([AMD, ARM, "linux/s390x"]))
        r = self.mlist("update", self.ref("v1"), "--add", self.ref(tag_for(ARM)) + "=" + ARM)
        self.assertOk(r)
        self.assertIn("up to date", r.stderr)
        arm2 = self.seed("v1-arm64-new", ARM)
        self.assertOk(self.mlist("update", self.ref("v1"), "--add", self.ref("v1-arm64-new") + "=" + ARM))
        doc = self.assertListAt("v1")
        self.assertEqual([m["digest"] for m in doc["manifests"]],
                         [imgs[AMD].digest, arm2.digest, imgs["linux/s390x"].digest],
                         "the new arm64 image takes the old one's place")

    def test_edit_keeps_what_other_tools_wrote(self):
        """The entries an edit leaves alone and the top level keep the
        fields mlist does not know (OCI 1.1 "data", extension keys) with
        their values; an entry an addition replaces is new."""
        s390x = "linux/s390x"
        imgs = self.seed_set([AMD, ARM, s390x])
        entries = []
        for n, p in enumerate((AMD, ARM)):
            img = imgs[p]
            os_, arch = p.split("/")
            entries.append({"mediaType": img.media_type, "digest": img.digest, "size": img.size,
                            "platform": {"architecture": arch, "os": os_, "io.example.cpu": {"level": n + 2}},
                            "data": base64.b64encode(self.reg.get_manifest(self.repo, img.digest)[2]).decode(),
                            "io.example.entry": {"list": [1, "two", False, None, {"deep": [2.5]}], "n": n},
                            "io.example.big": 12345678901234567890})
        top = {"io.example.index": {"generator": "other-tool", "version": [1, 2, 3]}, "io.example.flag": True}
        index = dict({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}, **top)
        self.reg.put_manifest(self.repo, "v1", json.dumps(index, indent=2).encode(), OCI_INDEX)

        r = self.mlist("update", self.ref("v1"), "--add", self.ref(tag_for(s390x)))
        self.assertOk(r)
        d, s = self.parse_digest_line(r)
        doc = self.assertListAt("v1", digest=d, size=s)
        self.assertEntries(doc, imgs)
        self.assertEqual(doc["manifests"][:2], entries)
        self.assertEqual({k: v for k, v in doc.items() if k != "manifests"},
                         {k: v for k, v in index.items() if k != "manifests"})

        arm2 = self.seed("v1-arm64-b", ARM)
        r = self.mlist("update", self.ref("v1"), "--add", self.ref("v1-arm64-b") + "=" + ARM)
        self.assertOk(r)
        doc = self.assertListAt("v1")
        self.assertEqual(doc["manifests"][0], entries[0])
        self.assertEqual(doc["manifests"][1]["digest"], arm2.digest)
        self.assertEqual(sorted(doc["manifests"][1]), ["digest", "mediaType", "platform", "size"])
        self.assertEqual(doc["manifests"][1]["platform"], {"architecture": "arm64", "os": "linux"})
        self.assertEqual({k: v for k, v in doc.items() if k != "manifests"},
                         {k: v for k, v in index.items() if k != "manifests"})

    def test_edit_reports_platform_rewrites(self):
        imgs = self.seed_set([AMD, ARM])
        r = self.mlist("--json", "update", self.ref("v1"), "--add", self.ref(tag_for(ARM)) + "=linux/aarch64")
        self.assertOk(r)
        res = self.parse_json(r)
        self.assertIn('architecture "aarch64" normalised to "arm64"', res["warnings"])
        self.assertIn("normalised", r.stderr)
        self.assertEntries(self.assertListAt("v1"), {ARM: imgs[ARM]})

    def test_update_json_after_command_and_dry_run(self):
        imgs = self.seed_set([AMD, ARM])
        spec = self.spec([AMD, ARM])
        old, _ = self.create_ok(self.spec([AMD], name="one.yaml"))
        self.reg.reset_access_log()
        r = self.mlist("update", spec, "--dry-run", "--json")
        self.assertOk(r)
        res = self.parse_json(r)
        self.assertIs(res["dryRun"], True)
        self.assertEqual([(c["op"], c["platform"], c["digest"]) for c in res["changes"]],
                         [("add", ARM, imgs[ARM].digest)])
        self.assertNoWrites()
        self.assertEqual(self.reg.manifest_digest(self.repo, "v1"), old)


class PushTest(MlistTestCase):

    def test_push_from_spec_is_update(self):
        imgs = self.seed_set([AMD, ARM])
        spec = self.spec([AMD, ARM])
        r = self.mlist("push", "from-spec", spec)
        self.assertOk(r)
        digest, size = self.parse_digest_line(r)
        doc = self.assertListAt("v1", digest=digest, size=size)
        self.assertEqual(doc.get("mediaType"), DOCKER_LIST)
        self.assertEntries(doc, imgs)
        self.reg.reset_access_log()
        r = self.mlist("push", "from-spec", spec)
        self.assertOk(r)
        self.assertIn("up to date", r.stderr.lower())
        self.assertNoWrites()

    def test_push_type_option_before_and_after_subcommand(self):
        imgs = self.seed_set([AMD, ARM])
        for target, form in (("v1", ["push", "--type", "oci", "from-spec"]),
                             ("v2", ["push", "from-spec", "--type", "oci"])):
            with self.subTest(form=form):
                spec = self.spec([AMD, ARM], target=target, name=target + ".yaml")
                r = self.mlist(*(form + [spec]))
                self.assertOk(r)
                digest, size = self.parse_digest_line(r)
                doc = self.assertListAt(target, digest=digest, size=size)
                self.assertEqual(doc.get("mediaType"), OCI_INDEX)
                self.assertEntries(doc, imgs)

    def test_push_from_args(self):
        imgs = self.seed_set([AMD, ARM])
        r = self.mlist("push", "from-args",
                       "--platforms", "linux/amd64,linux/arm64",
                       "--template", self.ref("v1-ARCH"),
                       "--target", self.ref("v1"),
                       "--tags", "1.0,latest")
        self.assertOk(r)
        digest, size = self.parse_digest_line(r)
        for tag in ("v1", "1.0", "latest"):
            doc = self.assertListAt(tag, digest=digest, size=size)
        self.assertEntries(doc, imgs)

    def test_push_from_args_os_and_variant_placeholders(self):
        v7 = self.seed("linux-arm-v7", "linux/arm/v7")
        v6 = self.seed("linux-arm-v6", "linux/arm/v6")
        r = self.mlist("--json", "push", "from-args",
                       "--platforms", "linux/arm/v7,linux/arm/v6",
                       "--template", self.ref("OS-ARCH-VARIANT"),
                       "--target", self.ref("v1"))
        self.assertOk(r)
        res = self.parse_json(r)
        doc = self.assertListAt("v1", digest=res["digest"], size=res["size"])
        self.assertEntries(doc, {"linux/arm/v7": v7, "linux/arm/v6": v6})

    def test_push_from_args_missing_image(self):
        self.seed_set([AMD])
        r = self.mlist("push", "from-args", "--platforms", "linux/amd64,linux/arm64",
                       "--template", self.ref("v1-ARCH"), "--target", self.ref("v1"))
        self.assertExit(r, 1)
        self.assertIn("v1-arm64", r.stderr)
        self.assertFalse(self.reg.tag_exists(self.repo, "v1"))

    def test_update_prints_a_spec_warning_once(self):
        """Two documents with the same rewrite: the spec's warning is
        printed when it is read, not again for each list."""
        self.seed_set([AMD])
        src = "%s:%s" % (self.repo, tag_for(AMD, "v1"))
        path = self.write_spec("---\n".join(
            self.spec_text([(src, "linux/x86_64")], target=t) for t in ("one", "two")))
        r = self.mlist("update", path)
        self.assertOk(r)
        self.assertEqual(r.stderr.count('architecture "x86_64" normalised to "amd64"'), 1, r.stderr)

    def test_push_from_args_normalises_and_names_the_image(self):
        """from-args platforms go through the spec checks: normalised, with
        the warning naming the entry's image (the template keeps the raw
        value), and a malformed platform refused before any request."""
        amd = self.seed("v1-x86_64", AMD)
        arm = self.seed("v1-aarch64", ARM)
        r = self.mlist("push", "from-args", "--platforms", "Linux/x86_64,linux/aarch64",
                       "--template", self.ref("v1-ARCH"), "--target", self.ref("v1"))
        self.assertOk(r)
        digest, _ = self.parse_digest_line(r)
        self.assertEntries(self.assertListAt("v1", digest=digest), {AMD: amd, ARM: arm})
        self.assertIn('%s: architecture "x86_64" normalised to "amd64"' % self.ref("v1-x86_64"),
                      r.stderr)
        self.assertIn('%s: os "Linux" normalised to "linux"' % self.ref("v1-x86_64"), r.stderr)
        self.reg.reset_access_log()
        for bad in ("linux/amd64/v8/extra", "linux//amd64"):
            r = self.mlist("push", "from-args", "--platforms", bad,
                           "--template", self.ref("v2-ARCH"), "--target", self.ref("v2"))
            self.assertExit(r, 2)
            self.assertIn("--platforms: expected OS/ARCH[/VARIANT], got '%s'" % bad, r.stderr)
        self.assertEqual(self.reg.access_log(), [])


if __name__ == "__main__":
    unittest.main()
