"""mlist delete REF: DESIGN §4 and §5 (delete by digest, children untouched)."""

import unittest

from fixture import MlistTestCase

AMD, ARM = "linux/amd64", "linux/arm64"


class DeleteTest(MlistTestCase):

    def test_delete_list_by_digest_keeps_children(self):
        lst, imgs = self.seeded_list([AMD, ARM])
        self.assertEqual(self.reg.manifest_digest(self.repo, "v1"), lst.digest)
        self.reg.reset_access_log()
        r = self.mlist("delete", self.ref("v1"))
        self.assertOk(r)
        self.assertFalse(self.reg.tag_exists(self.repo, "v1"))
        self.assertEqual(self.reg.get_manifest(self.repo, lst.digest)[0], 404)
        for plat, img in imgs.items():
            self.assertTrue(self.reg.manifest_exists(self.repo, img.digest), plat)
            self.assertTrue(self.reg.tag_exists(self.repo, "v1-" + plat.split("/")[1]))
        deletes = [e for e in self.reg.access_log() if e.method == "DELETE"]
        self.assertEqual([(e.path, e.status) for e in deletes],
                         [("/v2/%s/manifests/%s" % (self.repo, lst.digest), 202)],
                         "exactly one DELETE, by digest")

    def test_delete_oci_index_by_digest_reference(self):
        lst, imgs = self.seeded_list([AMD, ARM], docker=False)
        r = self.mlist("delete", "%s/%s@%s" % (self.reg.host, self.repo, lst.digest))
        self.assertOk(r)
        self.assertEqual(self.reg.get_manifest(self.repo, lst.digest)[0], 404)
        self.assertFalse(self.reg.tag_exists(self.repo, "v1"))
        for img in imgs.values():
            self.assertTrue(self.reg.manifest_exists(self.repo, img.digest))

    def test_delete_single_image_refused_unless_force(self):
        img = self.seed("v1-amd64", AMD)
        self.reg.reset_access_log()
        r = self.mlist("delete", self.ref("v1-amd64"))
        self.assertExit(r, 3)
        self.assertTrue(self.reg.manifest_exists(self.repo, img.digest))
        self.assertTrue(self.reg.tag_exists(self.repo, "v1-amd64"))
        self.assertNoWrites()
        r = self.mlist("delete", "--force", self.ref("v1-amd64"))
        self.assertOk(r)
        self.assertEqual(self.reg.get_manifest(self.repo, img.digest)[0], 404)
        self.assertFalse(self.reg.tag_exists(self.repo, "v1-amd64"))

    def test_delete_missing_reference(self):
        r = self.mlist("delete", self.ref("nope"))
        self.assertExit(r, 1)
        self.assertIn("nope", r.stderr)


class DeleteForbiddenTest(MlistTestCase):
    registry_options = {"delete": False}

    def test_registry_without_delete(self):
        lst, _ = self.seeded_list([AMD, ARM])
        r = self.mlist("delete", self.ref("v1"))
        self.assertExit(r, 1)
        self.assertRegex(r.stderr.lower(), r"delet", "a clear message about deletes")
        self.assertEqual(self.reg.manifest_digest(self.repo, "v1"), lst.digest)


if __name__ == "__main__":
    unittest.main()
