"""mlist inspect and verify: DESIGN §4."""

import json
import unittest

from fixture import (DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, MlistTestCase,
                     is_attestation, platform_key, sha256_digest)

AMD, ARM, V7 = "linux/amd64", "linux/arm64", "linux/arm/v7"


class InspectTest(MlistTestCase):

    def test_inspect_table(self):
        lst, imgs = self.seeded_list([AMD, ARM, V7])
        r = self.mlist("inspect", self.ref("v1"))
        self.assertOk(r)
        for plat, img in imgs.items():
            self.assertIn(plat, r.stdout)
            hexd = img.digest.split(":")[1]
            self.assertIn(hexd[:12], r.stdout, "digest of %s not listed" % plat)
        lines = {p: [l for l in r.stdout.splitlines() if p in l.split()] for p in imgs}
        for plat, img in imgs.items():
            self.assertTrue(any(img.digest.split(":")[1][:12] in l for l in lines[plat]),
                            "platform and digest of %s not on one line%s" % (plat, self.d(r)))

    def test_inspect_raw_is_exact_bytes(self):
        for docker in (True, False):
            with self.subTest(docker=docker):
                tag = "v1" if docker else "v2"
                lst, _ = self.seeded_list([AMD, ARM], tag=tag, docker=docker)
                _, _, body = self.reg.get_manifest(self.repo, tag)
                r = self.mlist("inspect", "--raw", self.ref(tag), text=False)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout, body)
                self.assertEqual(sha256_digest(r.stdout), lst.digest)
        # a single image too
        img = self.seed("single", AMD)
        r = self.mlist("inspect", "--raw", self.ref("single"), text=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sha256_digest(r.stdout), img.digest)

    def test_inspect_json(self):
        lst, imgs = self.seeded_list([AMD, ARM, V7])
        for args in (["--json", "inspect"], ["inspect", "--json"]):
            with self.subTest(args=args):
                r = self.mlist(*(args + [self.ref("v1")]))
                self.assertOk(r)
                res = self.parse_json(r)
                self.assertEqual(res["mediaType"], DOCKER_LIST)
                self.assertEqual(res["digest"], lst.digest)
                got = {platform_key(m["platform"]): m for m in res["manifests"]}
                self.assertEqual(sorted(got), sorted(imgs))
                for plat, img in imgs.items():
                    m = got[plat]
                    self.assertEqual((m["digest"], m["mediaType"], m["size"]),
                                     (img.digest, DOCKER_MANIFEST, img.size))
                self.assertEqual(got[V7]["platform"],
                                 {"os": "linux", "architecture": "arm", "variant": "v7"})
                self.assertNotIn("variant", got[AMD]["platform"])

    def test_inspect_platform_picks_entry(self):
        lst, imgs = self.seeded_list([AMD, ARM, V7], docker=False, attestations=True)
        for plat in (AMD, ARM, V7):
            with self.subTest(platform=plat):
                r = self.mlist("inspect", "--platform", plat, self.ref("v1"))
                self.assertOk(r)
                self.assertIn(imgs[plat].digest, r.stdout)
                for other in imgs:
                    if other != plat:
                        self.assertNotIn(imgs[other].digest, r.stdout)
        # an attestation is never picked
        doc, _, _, _ = self.reg.manifest_json(self.repo, "v1")
        att = [m["digest"] for m in doc["manifests"] if is_attestation(m)]
        self.assertEqual(len(att), 3)
        r = self.mlist("inspect", "--platform", AMD, self.ref("v1"))
        for d in att:
            self.assertNotIn(d, r.stdout)

    def test_inspect_missing(self):
        r = self.mlist("inspect", self.ref("nope"))
        self.assertExit(r, 1)
        self.assertIn("nope", r.stderr)

    def test_inspect_bad_reference_or_platform(self):
        self.assertExit(self.mlist("inspect", self.reg.host + "/UPPER/case:v1"), 2)
        self.reg.push_test_list(self.repo, "v1")  # exists: only the platform is bad
        self.assertExit(self.mlist("inspect", "--platform", "not-a-platform///x",
                                   self.ref("v1")), 2)

    def d(self, r):
        from fixture import describe
        return describe(r)


class VerifyTest(MlistTestCase):

    def test_verify_good_list(self):
        self.seeded_list([AMD, ARM])
        self.reg.reset_access_log()
        r = self.mlist("verify", self.ref("v1"))
        self.assertOk(r)
        self.assertNoWrites()

    def test_verify_missing_child(self):
        lst, imgs = self.seeded_list([AMD, ARM])
        self.assertEqual(self.reg.delete_manifest(self.repo, imgs[ARM].digest), 202)
        r = self.mlist("verify", self.ref("v1"))
        self.assertExit(r, 1)
        self.assertIn(imgs[ARM].digest, r.stdout + r.stderr)

    def test_verify_missing_blob(self):
        lst, imgs = self.seeded_list([AMD, ARM])
        man, _, _, _ = self.reg.manifest_json(self.repo, imgs[AMD].digest)
        layer = man["layers"][0]["digest"]
        status = self.reg.request("DELETE", "/v2/%s/blobs/%s" % (self.repo, layer))[0]
        self.assertEqual(status, 202)
        r = self.mlist("verify", self.ref("v1"))
        self.assertExit(r, 1)
        self.assertIn(layer, r.stdout + r.stderr)

    def test_verify_platform_mismatch(self):
        imgs = self.seed_set([AMD, ARM])
        # a list claiming the amd64 image is s390x
        lst = {"schemaVersion": 2, "mediaType": DOCKER_LIST, "manifests": [
            {"mediaType": DOCKER_MANIFEST, "digest": imgs[AMD].digest, "size": imgs[AMD].size,
             "platform": {"os": "linux", "architecture": "s390x"}},
            {"mediaType": DOCKER_MANIFEST, "digest": imgs[ARM].digest, "size": imgs[ARM].size,
             "platform": {"os": "linux", "architecture": "arm64"}}]}
        self.reg.put_manifest(self.repo, "v1", lst, DOCKER_LIST)
        r = self.mlist("verify", self.ref("v1"))
        self.assertExit(r, 1)
        self.assertIn("s390x", r.stdout + r.stderr)

    def test_verify_nested_list_where_an_image_is_expected(self):
        """The linux/arm64 entry is itself a list holding only amd64: runtimes
        expect an image there. The inner list is verified through: its entry
        labelled s390x is the amd64 image."""
        imgs = self.seed_set([AMD, ARM])
        amd = {"mediaType": DOCKER_MANIFEST, "digest": imgs[AMD].digest, "size": imgs[AMD].size}
        inner = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
            dict(amd, platform={"os": "linux", "architecture": "s390x"})]}
        inner_body = json.dumps(inner).encode()
        inner_digest = self.reg.put_manifest(self.repo, sha256_digest(inner_body), inner_body, OCI_INDEX)
        outer = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
            dict(amd, platform={"os": "linux", "architecture": "amd64"}),
            {"mediaType": OCI_INDEX, "digest": inner_digest, "size": len(inner_body),
             "platform": {"os": "linux", "architecture": "arm64"}}]}
        self.reg.put_manifest(self.repo, "v1", outer, OCI_INDEX)
        r = self.mlist("--json", "verify", self.ref("v1"))
        self.assertExit(r, 1)
        rep = self.parse_json(r)
        self.assertFalse(rep["ok"])
        self.assertEqual(rep["children"], 3)
        self.assertEqual(len(rep["problems"]), 2, rep["problems"])
        self.assertIn("linux/arm64 %s: a list where an image is expected" % inner_digest, rep["problems"])
        self.assertIn("linux/arm64 %s > linux/s390x %s: the image config says: linux/amd64"
                      % (inner_digest, imgs[AMD].digest), rep["problems"])
        r = self.mlist("verify", self.ref("v1"))
        self.assertExit(r, 1)
        self.assertIn("problem: linux/arm64 %s: a list where an image is expected" % inner_digest,
                      r.stdout.splitlines())


if __name__ == "__main__":
    unittest.main()
