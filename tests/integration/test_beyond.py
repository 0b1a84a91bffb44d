"""Beyond the peers: cross-registry copies, concurrent edits, dry-run plans,
multi-document specs, digests pinned against an independent computation."""
import hashlib
import json
import subprocess
import unittest

from faultproxy import FaultProxy
from fixture import (MlistTestCase, TwoRegistriesTestCase, _isolated_env, _tool_from_env,
                     empty_docker_config, entries_by_platform, tag_for)

AMD, ARM, S390X = "linux/amd64", "linux/arm64/v8", "linux/s390x"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"


def independent_list(entries):
    """The Docker list mlist must emit, built here from the format alone:
    compact JSON, keys in the order the docs give."""
    manifests = []
    for seeded, platform in entries:
        os_, arch, *variant = platform.split("/")
        plat = {"architecture": arch, "os": os_}
        if variant:
            plat["variant"] = variant[0]
        manifests.append({"mediaType": seeded.media_type, "digest": seeded.digest,
                          "size": seeded.size, "platform": plat})
    doc = {"schemaVersion": 2, "mediaType": DOCKER_LIST, "manifests": manifests}
    return json.dumps(doc, separators=(",", ":")).encode()


class BeyondTest(MlistTestCase):

    def test_digest_matches_independent_computation(self):
        imgs = self.seed_set([AMD, ARM])
        expected = independent_list([(imgs[AMD], AMD), (imgs[ARM], ARM)])
        digest, size = self.create_ok(self.spec([AMD, ARM]))
        self.assertEqual(digest, "sha256:" + hashlib.sha256(expected).hexdigest())
        self.assertEqual(size, len(expected))
        # and again, from a fresh spec file and another target: same bytes
        r = self.mlist("update", self.spec([AMD, ARM], name="again.yaml", target="v2"))
        self.assertOk(r)
        self.assertEqual(self.parse_digest_line(r), (digest, size))

    def test_dry_run_plans_mounts_and_writes_nothing(self):
        src = self.repo + "-src"
        imgs = self.seed_set([AMD], repo=src)
        spec = self.spec([AMD], repo=src)
        self.reg.reset_access_log()
        r = self.mlist("update", "--dry-run", "--json", spec)
        self.assertOk(r)
        res = self.parse_json(r)
        self.assertIs(res["dryRun"], True)
        man, _, _, _ = self.reg.manifest_json(src, imgs[AMD].digest)
        blobs = [man["config"]["digest"]] + [l["digest"] for l in man["layers"]]
        plan = "\n".join(res["plan"])
        self.assertIn("copy manifest", plan)
        for b in blobs:
            self.assertRegex(plan, "mount blob %s .* from %s/%s" % (b, self.reg.host, src))
        self.assertEqual(res["list"]["manifests"][0]["digest"], imgs[AMD].digest)
        self.assertNoWrites()
        self.assertFalse(self.reg.tag_exists(self.repo, "v1"))

    def test_multi_document_spec_pushes_each_list(self):
        imgs = self.seed_set([AMD, ARM])
        text = self.spec_text([AMD, ARM], target="one") + "---\n" + self.spec_text([ARM], target="two")
        r = self.mlist("create", "--json", self.write_spec(text))
        self.assertOk(r)
        results = json.loads(r.stdout)
        self.assertEqual([x["target"].rsplit(":", 1)[1] for x in results], ["one", "two"])
        for x, tag in zip(results, ["one", "two"]):
            self.assertListAt(tag, digest=x["digest"])
        self.assertEqual(sorted(entries_by_platform(self.assertListAt("two"))), [ARM])
        self.assertEqual(len(imgs), 2)

    def test_artifact_type_and_subject_on_an_index(self):
        imgs = self.seed_set([AMD, ARM])
        text = self.spec_text([AMD]) + ("artifactType: application/vnd.example.sbom.v1\n"
                                         "subject: %s\n" % self.ref(tag_for(ARM)))
        spec = self.write_spec(text)
        self.reg.reset_access_log()
        r = self.mlist("create", "--type", "docker", spec)
        self.assertExit(r, 2)
        self.assertIn("--type oci", r.stderr)
        self.assertEqual(self.writes(self.reg.access_log()), [])
        digest, _ = self.create_ok(spec)
        doc = self.assertListAt("v1", digest=digest)
        self.assertEqual(doc["mediaType"], "application/vnd.oci.image.index.v1+json")
        self.assertEqual(doc["artifactType"], "application/vnd.example.sbom.v1")
        self.assertEqual(doc["subject"], {"mediaType": imgs[ARM].media_type, "digest": imgs[ARM].digest,
                                          "size": imgs[ARM].size})

    def test_progress_only_on_a_terminal(self):
        self.seed_set([AMD, ARM])
        spec = self.spec([AMD, ARM], with_platform=False)
        piped = self.mlist("create", spec)
        self.assertOk(piped)
        self.assertNotIn("\r", piped.stderr)
        self.assertNotIn("resolve", piped.stderr)
        mlist = _tool_from_env("MLIST")
        env = _isolated_env(None, docker_config=empty_docker_config())
        # script(1) gives mlist a terminal
        tty = subprocess.run(["script", "-qec", "%s update --force %s" % (mlist, spec), "/dev/null"],
                             env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(tty.returncode, 0, tty.stdout)
        self.assertIn("mlist: resolve 2/2", tty.stdout)
        self.assertIn("mlist: configs 2/2", tty.stdout)
        self.assertRegex(tty.stdout, r"configs 2/2\s*\x1b\[K", "the progress line is erased")

    def test_purge_keeps_a_list_another_tag_uses(self):
        imgs = self.seed_set([AMD, ARM])
        old, _ = self.create_ok(self.spec([AMD]))
        # someone else tagged the same list as "stable"
        _, _, body = self.reg.get_manifest(self.repo, "v1")
        self.reg.put_manifest(self.repo, "stable", body, DOCKER_LIST)
        r = self.mlist("update", "--purge", self.spec([AMD, ARM], name="two.yaml"))
        self.assertOk(r)
        self.assertIn("kept", r.stderr)
        self.assertEqual(self.reg.manifest_digest(self.repo, "stable"), old)
        self.assertTrue(self.reg.manifest_exists(self.repo, old))
        self.assertEntries(self.assertListAt("v1"), imgs)

    def test_manifest_tool_command_lines_run_unchanged(self):
        """Global flags before the command, as manifest-tool's users write them."""
        imgs = self.seed_set([AMD, ARM])
        cfg = empty_docker_config()
        spec = self.spec([AMD, ARM])
        r = self.mlist("--docker-cfg", cfg, "--plain-http", "--debug", "push", "from-spec", spec)
        self.assertOk(r)
        digest, _ = self.parse_digest_line(r)
        self.assertEntries(self.assertListAt("v1", digest=digest), imgs)
        r = self.mlist("--docker-cfg", cfg, "--plain-http", "push", "from-args",
                       "--platforms", "linux/amd64,linux/arm64/v8",
                       "--template", self.ref("v1-ARCHVARIANT"), "--target", self.ref("v2"),
                       "--tags", "v2.0,latest")
        self.assertOk(r)
        digest, _ = self.parse_digest_line(r)
        for tag in ("v2", "v2.0", "latest"):
            self.assertEntries(self.assertListAt(tag, digest=digest), imgs)

    def test_head_without_digest_falls_back_to_get(self):
        """A registry may answer HEAD without Docker-Content-Digest: those
        manifests are read (in one batch) and hashed instead."""
        imgs = self.seed_set([AMD, ARM])

        def strip(status, headers, body):
            return status, [(k, v) for k, v in headers if k.lower() != "docker-content-digest"], body

        with FaultProxy(self.reg.port) as px:
            px.add("HEAD", r"/manifests/v1-", "rewrite", fn=strip)
            spec = self.spec([AMD, ARM])
            with open(spec) as f:
                text = f.read().replace(self.reg.host, px.host)
            with open(spec, "w") as f:
                f.write(text)
            r = self.mlist("create", spec)
            gets = px.entries("GET", r"/manifests/v1-")
        self.assertOk(r)
        self.assertEqual(len(gets), 2, "one GET per entry whose HEAD had no digest")
        self.assertEntries(self.assertListAt("v1"), imgs)

    def run_edits_together(self, target, edits):
        mlist = _tool_from_env("MLIST")
        env = _isolated_env(None, docker_config=empty_docker_config())
        procs = [subprocess.Popen([mlist, "update", target] + e, env=env, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE) for e in edits]
        outs = [p.communicate(timeout=120) for p in procs]
        for p, (out, err) in zip(procs, outs):
            self.assertEqual(p.returncode, 0, "edit failed:\n%s\n%s" % (out, err))

    def test_concurrent_edits_both_survive(self):
        imgs = self.seed_set([AMD, ARM, S390X])
        target = self.ref("v1")
        for attempt in range(3):
            self.create_ok("--force", self.spec([AMD], name="base%d.yaml" % attempt))
            self.run_edits_together(target, [["--add", self.ref(tag_for(ARM))],
                                             ["--add", self.ref(tag_for(S390X))]])
            doc = self.assertListAt("v1")
            self.assertEntries(doc, imgs)


class CrossRegistryTest(TwoRegistriesTestCase):
    """Sources on another registry are copied, blobs streamed and verified."""

    def test_sources_on_another_registry_are_copied(self):
        remote = self.other.seed_image("team/app:v1-arm64v8", ARM)
        local = self.seed(tag_for(AMD), AMD)
        spec = self.write_spec(
            "image: {HOST}/{REPO}:v1\nmanifests:\n"
            "  - image: {HOST}/{REPO}:%s\n"
            "  - image: %s/team/app:v1-arm64v8\n" % (tag_for(AMD), self.other.host))
        r = self.mlist("create", "--json", spec)
        self.assertOk(r)
        res = self.parse_json(r)
        self.assertEqual(res["childrenCopied"], 1)
        self.assertGreaterEqual(res["blobsCopied"], 2)
        doc = self.assertListAt("v1", digest=res["digest"])
        self.assertEntries(doc, {AMD: local, ARM: remote})
        # the copy is complete: manifest and every blob, byte for byte
        self.assertTrue(self.reg.manifest_exists(self.repo, remote.digest))
        man, _, _, _ = self.reg.manifest_json(self.repo, remote.digest)
        for blob in [man["config"]] + man["layers"]:
            data = self.reg.get_blob(self.repo, blob["digest"])
            self.assertEqual("sha256:" + hashlib.sha256(data).hexdigest(), blob["digest"])
        # a second run copies nothing
        r = self.mlist("update", "--json", spec)
        self.assertOk(r)
        self.assertIs(self.parse_json(r)["upToDate"], True)

    def test_broken_download_is_started_again(self):
        remote = self.other.seed_image("team/app:v1-s390x", S390X)
        with FaultProxy(self.other.port) as px:
            px.add("GET", r"/blobs/sha256:", "truncate", times=1)
            # the platform is given: the first blob read is the streamed copy
            spec = self.write_spec("image: {HOST}/{REPO}:v1\nmanifests:\n  - image: %s/team/app:v1-s390x\n"
                                   "    platform: {os: linux, architecture: s390x}\n" % px.host)
            r = self.mlist("create", "--json", "--retries", "2", spec)
            self.assertGreaterEqual(len(px.entries("GET", r"/blobs/sha256:", "truncate")), 1)
        self.assertOk(r)
        self.assertGreaterEqual(self.parse_json(r)["blobsCopied"], 1)
        self.assertEntries(self.assertListAt("v1"), {S390X: remote})
        man, _, _, _ = self.reg.manifest_json(self.repo, remote.digest)
        for blob in [man["config"]] + man["layers"]:
            data = self.reg.get_blob(self.repo, blob["digest"])
            self.assertEqual("sha256:" + hashlib.sha256(data).hexdigest(), blob["digest"])


if __name__ == "__main__":
    unittest.main()
