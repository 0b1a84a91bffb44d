"""Platform truth: what a spec leaves out comes from the image config (as
manifest-tool fills it), what it says is checked against the config, and
every list written here passes a `crane validate`-like check: each entry's
platform equals its image config's."""

import json
import re

from fixture import MlistTestCase, fresh_cache_dir, is_attestation, platform_key
from imagedata import OCI_LAYER, OCI_MANIFEST, sha256_digest

WIN_1809 = "windows(10.0.17763.5576)/amd64"
WIN_2022 = "windows(10.0.20348.2113+win32k)/amd64"


def config_platform(reg, repo, digest):
    """The platform fields of an image's config, as a list entry states them."""
    status, _, body = reg.get_manifest(repo, digest)
    assert status == 200, (repo, digest, status)
    cfg_digest = json.loads(body)["config"]["digest"]
    cfg = json.loads(reg.get_blob(repo, cfg_digest))
    wanted = {"os": cfg.get("os"), "architecture": cfg.get("architecture")}
    for key in ("variant", "os.version", "os.features"):
        if cfg.get(key):
            wanted[key] = cfg[key]
    return wanted


def entry_platform(entry):
    p = dict(entry.get("platform") or {})
    return {k: v for k, v in p.items() if v and k != "features"}


class PlatformTruthTest(MlistTestCase):

    # Lists this test wrote knowingly untrue (--trust-platforms), by tag.
    untrue = ()

    def tearDown(self):
        """crane validate, as far as platforms go, on every list in the
        test's repository."""
        for tag in self.reg.tags(self.repo):
            if tag in self.untrue:
                continue
            status, _, body = self.reg.get_manifest(self.repo, tag)
            doc = json.loads(body)
            for m in doc.get("manifests", []):
                if is_attestation(m):
                    continue
                self.assertEqual(entry_platform(m), config_platform(self.reg, self.repo, m["digest"]),
                                 "%s:%s entry %s" % (self.repo, tag, m["digest"]))
        super().tearDown()

    def write(self, text, name="spec.yaml"):
        return self.write_spec(text.replace("{R}", "{HOST}/{REPO}"), name=name)

    def seed_manifest_tool_images(self):
        """manifest-tool's release images: two Windows builds, arm ones
        whose specs give no variant."""
        return {
            "win1809": self.seed("win1809", WIN_1809),
            "win2022": self.seed("win2022", WIN_2022),
            "armv6": self.seed("armv6", "linux/arm/v6"),
            "armv7": self.seed("armv7", "linux/arm/v7"),
            "arm64": self.seed("arm64", "linux/arm64/v8"),
            "amd64": self.seed("amd64", "linux/amd64"),
        }

    MANIFEST_TOOL_SPEC = (
        "image: {R}:v1\n"
        "manifests:\n"
        "  - image: {R}:amd64\n"
        "    platform: {architecture: amd64, os: linux}\n"
        "  - image: {R}:armv6\n"
        "    platform: {architecture: arm, os: linux}\n"
        "  - image: {R}:armv7\n"
        "    platform: {architecture: arm, os: linux}\n"
        "  - image: {R}:arm64\n"
        "    platform: {architecture: arm64, os: linux}\n"
        "  - image: {R}:win1809\n"
        "    platform: {architecture: amd64, os: windows}\n"
        "  - image: {R}:win2022\n"
        "    platform: {architecture: amd64, os: windows}\n")

    def test_manifest_tool_spec_gets_platforms_from_configs(self):
        imgs = self.seed_manifest_tool_images()
        spec = self.write(self.MANIFEST_TOOL_SPEC)
        # offline, two windows/amd64 and two linux/arm are not duplicates yet
        self.assertOk(self.mlist("validate", spec))
        r = self.mlist("update", spec)
        self.assertOk(r)
        doc = self.assertListAt("v1")
        got = {m["digest"]: m["platform"] for m in doc["manifests"]}
        # what manifest-tool publishes: the spec's os/architecture, the
        # config's variant, os.version and os.features
        self.assertEqual(got[imgs["armv6"].digest], {"os": "linux", "architecture": "arm", "variant": "v6"})
        self.assertEqual(got[imgs["armv7"].digest], {"os": "linux", "architecture": "arm", "variant": "v7"})
        self.assertEqual(got[imgs["arm64"].digest], {"os": "linux", "architecture": "arm64", "variant": "v8"})
        self.assertEqual(got[imgs["amd64"].digest], {"os": "linux", "architecture": "amd64"})
        self.assertEqual(got[imgs["win1809"].digest],
                         {"os": "windows", "architecture": "amd64", "os.version": "10.0.17763.5576"})
        self.assertEqual(got[imgs["win2022"].digest],
                         {"os": "windows", "architecture": "amd64", "os.version": "10.0.20348.2113",
                          "os.features": ["win32k"]})

    def test_same_platform_twice_after_configs_is_a_duplicate(self):
        self.seed("armv7", "linux/arm/v7")
        self.seed("armv7b", "linux/arm/v7", salt="other")
        spec = self.write("image: {R}:v1\nmanifests:\n"
                          "  - {image: '{R}:armv7', platform: {os: linux, architecture: arm}}\n"
                          "  - {image: '{R}:armv7b', platform: {os: linux, architecture: arm}}\n")
        self.assertOk(self.mlist("validate", spec))
        self.reg.reset_access_log()
        r = self.mlist("update", spec)
        self.assertExit(r, 2)
        self.assertIn("linux/arm/v7 appears twice", r.stderr)
        self.assertNoWrites()

    def test_contradiction_is_refused_before_anything_is_written(self):
        amd = self.seed("amd", "linux/amd64")
        for label, said, line in (("arm64", "linux/arm64", 3), ("typo", "linx/amd46", 3)):
            with self.subTest(label):
                os_, arch = said.split("/")
                spec = self.write("image: {R}:%s\nmanifests:\n"
                                  "  - image: {R}:amd\n"
                                  "    platform: {os: %s, architecture: %s}\n" % (label, os_, arch),
                                  name=label + ".yaml")
                self.reg.reset_access_log()
                r = self.mlist("update", spec)
                self.assertExit(r, 2)
                self.assertIn(said, r.stderr)
                self.assertIn("linux/amd64", r.stderr, "the config's value is named")
                self.assertRegex(r.stderr, r"%s\.yaml:%d:" % (label, line))
                self.assertIn("--trust-platforms", r.stderr)
                self.assertNoWrites()
                self.assertFalse(self.reg.tag_exists(self.repo, label))
        self.assertTrue(amd.digest)

    def test_trust_platforms_keeps_the_spec(self):
        amd = self.seed("amd", "linux/amd64")
        self.untrue = ("v1",)
        spec = self.write("image: {R}:v1\nmanifests:\n"
                          "  - {image: '{R}:amd', platform: {os: linux, architecture: arm64}}\n")
        self.reg.reset_access_log()
        r = self.mlist("update", "--trust-platforms", spec)
        self.assertOk(r)
        (entry,) = self.assertListAt("v1")["manifests"]
        self.assertEqual((entry["digest"], entry["platform"]),
                         (amd.digest, {"os": "linux", "architecture": "arm64"}))
        # nothing read beyond the HEAD: no manifest body, no config
        reads = [e for e in self.reg.access_log()
                 if e.method == "GET" and ("/manifests/amd" in e.path or "/blobs/" in e.path)]
        self.assertEqual(reads, [])

    def test_verify_takes_an_entry_without_os_features(self):
        """An entry that leaves out os.features its config has (another
        tool's list, or a trusted spec) still names the config's platform."""
        self.untrue = ("v1",)
        self.seed("win2022", WIN_2022)
        spec = self.write("image: {R}:v1\nmanifests:\n"
                          "  - {image: '{R}:win2022', platform: {os: windows, architecture: amd64,"
                          " os.version: 10.0.20348.2113}}\n")
        self.assertOk(self.mlist("update", "--trust-platforms", spec))
        (entry,) = self.assertListAt("v1")["manifests"]
        self.assertNotIn("os.features", entry["platform"])
        self.assertOk(self.mlist("verify", self.ref("v1")))

    def test_unknown_os_and_architecture_warn_offline(self):
        spec = self.write("image: {R}:v1\nmanifests:\n"
                          "  - {image: '{R}:x', platform: {os: linx, architecture: amd46}}\n")
        r = self.mlist("validate", spec)
        self.assertOk(r)
        self.assertRegex(r.stderr, r'spec\.yaml:3:\d+: .*os "linx" is not a known GOOS value')
        self.assertIn('architecture "amd46" is not a known GOARCH value', r.stderr)
        self.assertNotIn("GOOS", self.mlist("--quiet", "validate", spec).stderr)

    def test_rerun_costs_one_head_per_image(self):
        self.seed_manifest_tool_images()
        spec = self.write(self.MANIFEST_TOOL_SPEC)
        cache = fresh_cache_dir()
        env = {"XDG_CACHE_HOME": cache}
        self.assertOk(self.mlist("update", spec, env=env))
        spec2 = self.write(self.MANIFEST_TOOL_SPEC.replace(":v1\n", ":v2\n"), name="again.yaml")
        self.reg.reset_access_log()
        r = self.mlist("update", spec2, env=env)
        self.assertOk(r)
        images = ("amd64", "armv6", "armv7", "arm64", "win1809", "win2022")
        log = [e for e in self.reg.access_log()
               if "/manifests/" in e.path and e.path.rsplit("/", 1)[-1] not in ("v1", "v2")]
        self.assertEqual(sorted((e.method, e.path.rsplit("/", 1)[-1]) for e in log),
                         sorted(("HEAD", i) for i in images), "one HEAD per image, nothing else")
        self.assertEqual([e for e in self.reg.access_log() if "/blobs/" in e.path], [], "no config read")

    def test_remove_matching_nothing_lists_the_platforms(self):
        self.seed_manifest_tool_images()
        self.assertOk(self.mlist("update", self.write(self.MANIFEST_TOOL_SPEC)))
        target = self.ref("v1")
        self.reg.reset_access_log()
        r = self.mlist("update", target, "--remove", "linux/s390x")
        self.assertExit(r, 2)
        self.assertIn("linux/s390x matches no entry", r.stderr)
        for p in ("linux/arm/v6", "linux/arm64/v8", "windows(10.0.17763.5576)/amd64",
                  "windows(10.0.20348.2113+win32k)/amd64"):
            self.assertIn(p, r.stderr)
        self.assertNoWrites()

    def test_remove_windows_build_by_os_version(self):
        imgs = self.seed_manifest_tool_images()
        self.assertOk(self.mlist("update", self.write(self.MANIFEST_TOOL_SPEC)))
        r = self.mlist("update", self.ref("v1"), "--remove", "windows(10.0.17763.5576)/amd64")
        self.assertOk(r)
        digests = {m["digest"] for m in self.assertListAt("v1")["manifests"]}
        self.assertNotIn(imgs["win1809"].digest, digests)
        self.assertIn(imgs["win2022"].digest, digests)
        self.assertEqual(len(digests), 5)

    def test_update_spec_over_a_single_image_needs_force(self):
        img = self.seed("v1", "linux/amd64")
        self.seed("amd64", "linux/amd64", salt="the list's")
        spec = self.write("image: {R}:v1\nmanifests:\n"
                          "  - {image: '{R}:amd64', platform: {os: linux, architecture: amd64}}\n")
        self.reg.reset_access_log()
        r = self.mlist("update", spec)
        self.assertExit(r, 3)
        self.assertIn("single image", r.stderr)
        self.assertIn("--force", r.stderr)
        self.assertNoWrites()
        self.assertEqual(self.reg.manifest_digest(self.repo, "v1"), img.digest)
        self.assertOk(self.mlist("update", "--force", spec))
        self.assertListAt("v1")

    def test_inspect_selects_and_shows_os_version(self):
        imgs = self.seed_manifest_tool_images()
        self.assertOk(self.mlist("update", self.write(self.MANIFEST_TOOL_SPEC)))
        target = self.ref("v1")
        r = self.mlist("inspect", target)
        self.assertOk(r)
        self.assertIn("OS VERSION", r.stdout)
        rows = [l for l in r.stdout.splitlines() if l.startswith(("linux/", "windows/"))]
        self.assertEqual(len(rows), 6)
        self.assertEqual(len({l.index("sha256:") for l in rows}), 1, "aligned columns:\n" + r.stdout)
        self.assertTrue(any("windows/amd64" in l and "10.0.17763.5576" in l for l in rows))
        for want, seeded in (("windows(10.0.20348.2113)/amd64", "win2022"),
                             ("windows(10.0.17763)/amd64", "win1809"),
                             ("linux/amd64/v1", "amd64"), ("linux/arm64/v8.0", "arm64"),
                             ("linux/arm/v8", "armv7")):
            with self.subTest(want):
                r = self.mlist("inspect", "--platform", want, target)
                self.assertOk(r)
                self.assertTrue(r.stdout.startswith(imgs[seeded].digest), r.stdout)
        # The entry in the notation --platform and --remove take.
        r = self.mlist("inspect", "--platform", "windows(10.0.20348.2113)/amd64", target)
        self.assertIn(" windows(10.0.20348.2113+win32k)/amd64\n", r.stdout)

    def test_validate_shows_os_version_aligned(self):
        spec = self.write("image: {R}:v1\nmanifests:\n"
                          "  - {image: '{R}:a', platform: {os: linux, architecture: amd64}}\n"
                          "  - {image: '{R}:w', platform: {os: windows, architecture: amd64,"
                          " os.version: 10.0.17763.5576}}\n")
        r = self.mlist("validate", spec)
        self.assertOk(r)
        rows = [l for l in r.stdout.splitlines() if self.repo in l and l.startswith("  ")]
        self.assertEqual(len(rows), 2, r.stdout)
        self.assertIn("  windows(10.0.17763.5576)/amd64 ", r.stdout)
        self.assertEqual(len({l.index(self.reg.host) for l in rows}), 1, "aligned:\n" + r.stdout)

    def test_add_with_platform_fills_from_config(self):
        imgs = self.seed_manifest_tool_images()
        target = self.ref("v1")
        r = self.mlist("update", target, "--add", "%s=linux/arm" % self.ref("armv6"),
                       "--add", "%s=windows/amd64" % self.ref("win1809"))
        self.assertOk(r)
        got = {m["digest"]: platform_key(m["platform"]) for m in self.assertListAt("v1")["manifests"]}
        self.assertEqual(got[imgs["armv6"].digest], "linux/arm/v6")
        r = self.mlist("update", target, "--add", "%s=linux/arm64" % self.ref("amd64"))
        self.assertExit(r, 2)
        self.assertIn("linux/amd64", r.stderr)

    def test_platforms_of_from_args_are_filled_from_configs(self):
        self.seed("fa-arm", "linux/arm/v6")
        r = self.mlist("push", "from-args", "--platforms", "linux/arm",
                       "--template", self.ref("fa-ARCH"), "--target", self.ref("v2"))
        self.assertOk(r)
        (entry,) = self.assertListAt("v2")["manifests"]
        self.assertEqual(entry["platform"], {"os": "linux", "architecture": "arm", "variant": "v6"})


    def test_each_rewrite_is_warned_once(self):
        # configs written with other tools' names: normalised on purpose,
        # so these lists are not the configs' words
        self.untrue = ("v1", "v2")
        self.seed("x86", "linux/x86_64")
        self.seed("s390x", "linux/s390x")
        self.seed("arm64", "linux/arm64/v8")
        doc = ("image: {R}:%s\nmanifests:\n"
               "  - {image: '{R}:x86'}\n"
               "  - {image: '{R}:s390x', platform: {os: Linux, architecture: s390x}}\n"
               "  - {image: '{R}:arm64', platform: {os: Linux, architecture: arm64}}\n")
        spec = self.write(doc % "v1" + "---\n" + doc % "v2")
        r = self.mlist("update", spec)
        self.assertOk(r)
        lines = r.stderr.splitlines()
        arch = [l for l in lines if 'architecture "x86_64" normalised to "amd64"' in l]
        self.assertEqual(len(arch), 1, r.stderr)
        os_ = [l for l in lines if 'os "Linux" normalised to "linux"' in l]
        self.assertEqual(len(os_), 1, r.stderr)
        self.assertRegex(os_[0], r"spec\.yaml:4:\d+: .*\(and 3 more entries\)")
        self.assertEqual(self.mlist("--quiet", "update", spec).stderr, "")
        results = self.parse_json(self.mlist("--json", "--quiet", "update", spec))
        for res in results:
            self.assertTrue(any("x86_64" in w for w in res["warnings"]), res)
            self.assertTrue(any('os "Linux"' in w for w in res["warnings"]), res)


    def test_artifact_config_without_platform_keeps_the_spec(self):
        """An OCI artifact's empty config states no platform: nothing to
        check against, so the spec's platform stands, with a warning."""
        self.untrue = ("v1",)
        cfg, layer = b"{}", b"payload"
        self.reg.push_blob(self.repo, cfg)
        self.reg.push_blob(self.repo, layer)
        man = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
               "config": {"mediaType": "application/vnd.oci.empty.v1+json", "size": len(cfg),
                          "digest": sha256_digest(cfg)},
               "layers": [{"mediaType": OCI_LAYER, "size": len(layer), "digest": sha256_digest(layer)}]}
        digest = self.reg.put_manifest(self.repo, "artifact", json.dumps(man).encode(), OCI_MANIFEST)
        spec = self.write("image: {R}:v1\nmanifests:\n"
                          "  - {image: '{R}:artifact', platform: {os: linux, architecture: amd64}}\n")
        r = self.mlist("update", spec)
        self.assertOk(r)
        self.assertIn("states no platform", r.stderr)
        (entry,) = self.assertListAt("v1")["manifests"]
        self.assertEqual((entry["digest"], entry["platform"]), (digest, {"os": "linux", "architecture": "amd64"}))


if __name__ == "__main__":
    import unittest
    unittest.main()
