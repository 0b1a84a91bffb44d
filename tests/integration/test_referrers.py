"""Referrers (signatures, SBOMs, attestations) carried along with copied
children (--referrers) and listed by inspect --referrers: through the
"sha256-<hex>" tag schema on the real registry (distribution 2.8 has no
referrers API) and in OCI layouts, through the OCI 1.1 referrers API on a
small fake. Referrers are pushed here with plain HTTP requests, not mlist."""

import json
import os

from fakeregistry import FakeRegistry
from fixture import OCI_INDEX, MlistTestCase, Seeded, sha256_digest, tag_for
from test_layout import layout_problems, layout_tags

AMD, ARM = "linux/amd64", "linux/arm64"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
EMPTY = "application/vnd.oci.empty.v1+json"
SIG = "application/vnd.example.signature.v1"
SBOM = "application/vnd.example.sbom.v1"


def schema_tag(digest):
    return digest.replace(":", "-")


def referrer_manifest(subject, artifact_type, payload):
    """(manifest bytes, [(blob bytes)]) of an artifact whose subject is
    `subject` (a Seeded)."""
    empty = b"{}"
    man = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": artifact_type,
           "config": {"mediaType": EMPTY, "digest": sha256_digest(empty), "size": len(empty)},
           "layers": [{"mediaType": "application/vnd.example.payload", "digest": sha256_digest(payload),
                       "size": len(payload)}],
           "subject": {"mediaType": subject.media_type, "digest": subject.digest, "size": subject.size},
           "annotations": {"org.example.payload": payload.decode()}}
    return json.dumps(man, separators=(",", ":")).encode(), [empty, payload]


def descriptor(body, artifact_type):
    return {"mediaType": OCI_MANIFEST, "digest": sha256_digest(body), "size": len(body),
            "artifactType": artifact_type}


class RegistryReferrersTest(MlistTestCase):

    def attach(self, repo, subject, artifact_type, payload):
        """Pushes a referrer to the real registry the way tag-schema clients
        (oras, cosign) do: blobs, manifest by digest, then the subject's
        sha256-<hex> index extended. -> Seeded of the referrer."""
        body, blobs = referrer_manifest(subject, artifact_type, payload)
        for b in blobs:
            self.reg.push_blob(repo, b)
        self.reg.put_manifest(repo, sha256_digest(body), body, OCI_MANIFEST)
        tag = schema_tag(subject.digest)
        status, _, old = self.reg.get_manifest(repo, tag)
        index = json.loads(old) if status == 200 else {"schemaVersion": 2, "mediaType": OCI_INDEX,
                                                        "manifests": []}
        index["manifests"].append(descriptor(body, artifact_type))
        self.reg.put_manifest(repo, tag, index, OCI_INDEX)
        return Seeded(sha256_digest(body), len(body), OCI_MANIFEST)

    def signed_source(self):
        """Images in <repo>-src: amd64 signed and with an SBOM, whose SBOM
        is signed too; arm64 bare."""
        src = self.repo + "-src"
        imgs = self.seed_set([AMD, ARM], repo=src)
        sig = self.attach(src, imgs[AMD], SIG, b"sig-of-amd64")
        sbom = self.attach(src, imgs[AMD], SBOM, b"sbom-of-amd64")
        sbom_sig = self.attach(src, sbom, SIG, b"sig-of-sbom")
        return src, imgs, [sig, sbom, sbom_sig]

    def index_at(self, repo, tag):
        status, _, body = self.reg.get_manifest(repo, tag)
        self.assertEqual(status, 200, "no %s:%s" % (repo, tag))
        return sorted(m["digest"] for m in json.loads(body)["manifests"])

    def test_referrers_follow_children_to_another_repository(self):
        src, imgs, (sig, sbom, sbom_sig) = self.signed_source()
        r = self.mlist("create", "--referrers", "--json", self.spec([AMD, ARM], repo=src))
        self.assertOk(r)
        self.assertEqual(self.parse_json(r)["referrersCopied"], 3)
        for ref in (sig, sbom, sbom_sig):
            _, _, body = self.reg.get_manifest(self.repo, ref.digest)
            doc = json.loads(body)
            self.assertEqual(sha256_digest(body), ref.digest)
            for blob in [doc["config"]] + doc["layers"]:
                self.assertTrue(self.reg.blob_exists(self.repo, blob["digest"]), blob)
        self.assertEqual(self.index_at(self.repo, schema_tag(imgs[AMD].digest)), sorted([sig.digest, sbom.digest]))
        self.assertEqual(self.index_at(self.repo, schema_tag(sbom.digest)), [sbom_sig.digest])
        self.assertNotIn(schema_tag(imgs[ARM].digest), self.reg.tags(self.repo))

        # inspect lists what is attached to each entry
        r = self.mlist("--json", "inspect", "--referrers", self.ref("v1"))
        self.assertOk(r)
        refs = self.parse_json(r)["referrers"]
        self.assertEqual(sorted((x["subject"], x["digest"], x["artifactType"]) for x in refs),
                         sorted([(imgs[AMD].digest, sig.digest, SIG), (imgs[AMD].digest, sbom.digest, SBOM)]))
        r = self.mlist("inspect", "--referrers", self.ref("v1"))
        self.assertOk(r)
        self.assertRegex(r.stdout, r"linux/amd64\s+%s\s+\d+\s+%s" % (sig.digest, SIG))

        # again: nothing left to copy, nothing written
        self.reg.reset_access_log()
        r = self.mlist("update", "--referrers", "--json", self.spec([AMD, ARM], repo=src, name="again.yaml"))
        self.assertOk(r)
        res = self.parse_json(r)
        self.assertTrue(res["upToDate"])
        self.assertEqual(res["referrersCopied"], 0)
        self.assertNoWrites()

    def test_new_signature_is_carried_by_an_up_to_date_update(self):
        src, imgs, _ = self.signed_source()
        self.assertOk(self.mlist("create", "--referrers", self.spec([AMD, ARM], repo=src)))
        late = self.attach(src, imgs[ARM], SIG, b"late-sig-of-arm64")
        r = self.mlist("update", "--referrers", "--json", self.spec([AMD, ARM], repo=src, name="b.yaml"))
        self.assertOk(r)
        self.assertEqual(self.parse_json(r)["referrersCopied"], 1)
        self.assertEqual(self.index_at(self.repo, schema_tag(imgs[ARM].digest)), [late.digest])

    def test_late_signature_of_a_copied_sbom_follows(self):
        src, imgs, (_, sbom, _) = self.signed_source()
        self.assertOk(self.mlist("create", "--referrers", self.spec([AMD, ARM], repo=src)))
        late = self.attach(src, sbom, SIG, b"late-sig-of-sbom")
        r = self.mlist("update", "--referrers", "--json", self.spec([AMD, ARM], repo=src, name="b.yaml"))
        self.assertOk(r)
        self.assertEqual(self.parse_json(r)["referrersCopied"], 1)
        self.assertIn(late.digest, self.index_at(self.repo, schema_tag(sbom.digest)))

    def test_a_stale_tag_schema_entry_is_left_behind_with_a_warning(self):
        src, imgs, (sig, sbom, _) = self.signed_source()
        tag = schema_tag(imgs[AMD].digest)
        # deleted after its index entry was written (the tag schema has no
        # way to keep the two in step)
        gone = self.attach(src, imgs[AMD], SIG, b"revoked-sig").digest
        self.assertEqual(self.reg.delete_manifest(src, gone), 202)
        r = self.mlist("create", "--referrers", "--json", self.spec([AMD, ARM], repo=src))
        self.assertOk(r)
        res = self.parse_json(r)
        self.assertEqual(res["referrersCopied"], 3)
        self.assertTrue(any(gone in w for w in res["warnings"]), res["warnings"])
        self.assertIn(gone, r.stderr)
        self.assertEqual(self.index_at(self.repo, tag), sorted([sig.digest, sbom.digest]))
        self.assertListAt("v1")

    def test_only_referrers_whose_subject_is_the_image_are_copied(self):
        """amd64's tag-schema index also lists amd64 itself (no subject) and
        arm64's signature: neither is copied as amd64's referrer."""
        src, imgs, (sig, sbom, sbom_sig) = self.signed_source()
        arm_sig, blobs = referrer_manifest(imgs[ARM], SIG, b"sig-of-arm64")
        for b in blobs:
            self.reg.push_blob(src, b)
        self.reg.put_manifest(src, sha256_digest(arm_sig), arm_sig, OCI_MANIFEST)
        tag = schema_tag(imgs[AMD].digest)
        _, _, old = self.reg.get_manifest(src, tag)
        index = json.loads(old)
        index["manifests"] += [{"mediaType": imgs[AMD].media_type, "digest": imgs[AMD].digest,
                                "size": imgs[AMD].size}, descriptor(arm_sig, SIG)]
        self.reg.put_manifest(src, tag, index, OCI_INDEX)
        r = self.mlist("create", "--referrers", "--json", self.spec([AMD, ARM], repo=src))
        self.assertOk(r)
        res = self.parse_json(r)
        self.assertEqual(res["referrersCopied"], 3)
        self.assertEqual(self.index_at(self.repo, tag), sorted([sig.digest, sbom.digest]))
        self.assertEqual(self.index_at(self.repo, schema_tag(sbom.digest)), [sbom_sig.digest])
        self.assertNotIn(schema_tag(imgs[ARM].digest), self.reg.tags(self.repo))
        self.assertFalse(self.reg.manifest_exists(self.repo, sha256_digest(arm_sig)))
        warnings = "\n".join(res["warnings"])
        self.assertIn("referrer %s left behind: listed as a referrer of %s, but it has no subject"
                      % (imgs[AMD].digest, imgs[AMD].digest), warnings)
        self.assertIn("referrer %s left behind: listed as a referrer of %s, but its subject is %s"
                      % (sha256_digest(arm_sig), imgs[AMD].digest, imgs[ARM].digest), warnings)

    def test_without_the_flag_referrers_stay_behind(self):
        src, imgs, (sig, _, _) = self.signed_source()
        self.assertOk(self.mlist("create", self.spec([AMD, ARM], repo=src)))
        self.assertNotIn(schema_tag(imgs[AMD].digest), self.reg.tags(self.repo))
        self.assertFalse(self.reg.manifest_exists(self.repo, sig.digest))

    def test_dry_run_plans_referrers_and_writes_nothing(self):
        src, _, refs = self.signed_source()
        self.reg.reset_access_log()
        r = self.mlist("create", "--referrers", "--dry-run", "--json", self.spec([AMD, ARM], repo=src))
        self.assertOk(r)
        plan = "\n".join(self.parse_json(r)["plan"])
        for ref in refs[:2]:
            self.assertIn("copy referrer %s" % ref.digest, plan)
        self.assertNoWrites()

    def test_referrers_into_an_oci_layout(self):
        src, imgs, (sig, sbom, sbom_sig) = self.signed_source()
        layout = os.path.join(self.tmpdir, "out")
        spec = self.write_spec("image: oci:%s:v1\nmanifests:\n%s" % (layout, "".join(
            "  - image: %s\n" % self.ref("%s:%s" % (src, tag_for(p))) for p in (AMD, ARM))))
        r = self.mlist("create", "--referrers", "--json", spec)
        self.assertOk(r)
        self.assertEqual(self.parse_json(r)["referrersCopied"], 3)
        self.assertEqual(layout_problems(layout), [])
        tags = layout_tags(layout)
        self.assertIn(schema_tag(imgs[AMD].digest), tags)
        r = self.mlist("--json", "inspect", "--referrers", "oci:%s:v1" % layout)
        self.assertOk(r)
        self.assertEqual(sorted(x["digest"] for x in self.parse_json(r)["referrers"]),
                         sorted([sig.digest, sbom.digest]))
        # and from the layout on to another repository, signatures included
        spec = self.write_spec("image: %s\nmanifests:\n  - image: oci:%s@%s\n" % (
            self.ref(self.repo + "-back:v1"), layout, imgs[AMD].digest), name="back.yaml")
        r = self.mlist("create", "--referrers", "--json", spec)
        self.assertOk(r)
        self.assertEqual(self.parse_json(r)["referrersCopied"], 3)
        self.assertEqual(self.index_at(self.repo + "-back", schema_tag(sbom.digest)), [sbom_sig.digest])


class LayoutScanReferrersTest(MlistTestCase):
    """Referrers that oras or notation wrote into a layout: listed in
    index.json by digest, with no tag-schema index."""

    def add_untagged_referrer(self, layout, subject, artifact_type, payload):
        body, blobs = referrer_manifest(subject, artifact_type, payload)
        for b in blobs + [body]:
            with open(os.path.join(layout, "blobs", "sha256", sha256_digest(b).split(":")[1]), "wb") as f:
                f.write(b)
        path = os.path.join(layout, "index.json")
        with open(path) as f:
            index = json.load(f)
        index["manifests"].append({"mediaType": OCI_MANIFEST, "digest": sha256_digest(body),
                                   "size": len(body), "artifactType": artifact_type})
        with open(path, "w") as f:
            json.dump(index, f)
        return sha256_digest(body)

    def test_referrers_listed_by_digest_in_index_json(self):
        imgs = self.seed_set([AMD, ARM])
        layout = os.path.join(self.tmpdir, "oras")
        spec = self.write_spec("image: oci:%s:v1\nmanifests:\n%s" % (layout, "".join(
            "  - image: %s\n" % self.ref(tag_for(p)) for p in (AMD, ARM))))
        self.assertOk(self.mlist("create", spec))
        sig = self.add_untagged_referrer(layout, imgs[AMD], SIG, b"oras-style-sig")
        r = self.mlist("--json", "inspect", "--referrers", "oci:%s:v1" % layout)
        self.assertOk(r)
        self.assertEqual([(x["subject"], x["digest"], x["artifactType"]) for x in self.parse_json(r)["referrers"]],
                         [(imgs[AMD].digest, sig, SIG)])
        target = self.repo + "-out"
        spec = self.write_spec("image: %s\nmanifests:\n  - image: oci:%s@%s\n" % (
            self.ref(target + ":v1"), layout, imgs[AMD].digest), name="out.yaml")
        r = self.mlist("create", "--referrers", "--json", spec)
        self.assertOk(r)
        self.assertEqual(self.parse_json(r)["referrersCopied"], 1)
        self.assertTrue(self.reg.manifest_exists(target, sig))
        _, _, body = self.reg.get_manifest(target, schema_tag(imgs[AMD].digest))
        self.assertEqual([m["digest"] for m in json.loads(body)["manifests"]], [sig])


class ApiReferrersTest(MlistTestCase):
    """A registry with the referrers API (the fake) needs no tag schema."""

    def fake_referrer(self, fr, repo, subject, artifact_type, payload):
        body, blobs = referrer_manifest(subject, artifact_type, payload)
        for b in blobs:
            fr.add_blob(repo, b)
        fr.add_manifest(repo, None, body, OCI_MANIFEST)
        return Seeded(sha256_digest(body), len(body), OCI_MANIFEST)

    def fake_image(self, fr, repo, tag, platform):
        return Seeded(*fr.add_image(repo, tag, platform))

    def test_referrers_api_on_both_sides(self):
        with FakeRegistry(referrers=True) as fr:
            amd = self.fake_image(fr, "it/src", "amd", AMD)
            sig = self.fake_referrer(fr, "it/src", amd, SIG, b"api-sig")
            spec = self.write_spec("image: %s\nmanifests:\n  - image: %s\n" % (
                fr.ref("it/dst:v1"), fr.ref("it/src:amd")))
            r = self.mlist("--plain-http", "create", "--referrers", "--json", spec)
            self.assertOk(r)
            self.assertEqual(self.parse_json(r)["referrersCopied"], 1)
            self.assertIsNotNone(fr.manifest("it/dst", sig.digest))
            self.assertEqual([d["digest"] for d in fr.referrers_of("it/dst", amd.digest)], [sig.digest])
            self.assertNotIn(("it/dst", schema_tag(amd.digest)), fr.tags, "tag schema used with the API")
            self.assertTrue(any(e.method == "GET" and e.path == "/v2/it/src/referrers/" + amd.digest
                                for e in fr.log))
            r = self.mlist("--plain-http", "--json", "inspect", "--referrers", fr.ref("it/dst:v1"))
            self.assertOk(r)
            self.assertEqual([x["digest"] for x in self.parse_json(r)["referrers"]], [sig.digest])

    def test_referrers_api_in_pages(self):
        with FakeRegistry(referrers=True, referrers_page=2) as fr:
            amd = self.fake_image(fr, "it/src", "amd", AMD)
            sigs = sorted(self.fake_referrer(fr, "it/src", amd, SIG, b"paged-%d" % i).digest for i in range(5))
            r = self.mlist("--plain-http", "--json", "inspect", "--referrers", fr.ref("it/src:amd"))
            self.assertOk(r)
            self.assertEqual(sorted(x["digest"] for x in self.parse_json(r)["referrers"]), sigs)
            pages = [e for e in fr.log if e.method == "GET" and "/referrers/" in e.path]
            self.assertEqual(len(pages), 3, pages)
            spec = self.write_spec("image: %s\nmanifests:\n  - image: %s\n" % (
                fr.ref("it/dst:v1"), fr.ref("it/src:amd")))
            r = self.mlist("--plain-http", "create", "--referrers", "--json", spec)
            self.assertOk(r)
            self.assertEqual(self.parse_json(r)["referrersCopied"], 5)

    def test_next_page_naming_the_page_read_is_not_followed(self):
        with FakeRegistry(referrers=True, referrers_loop=True) as fr:
            amd = self.fake_image(fr, "it/src", "amd", AMD)
            sig = self.fake_referrer(fr, "it/src", amd, SIG, b"looped-sig")
            r = self.mlist("--plain-http", "--json", "inspect", "--referrers", fr.ref("it/src:amd"))
            self.assertOk(r)
            self.assertEqual([x["digest"] for x in self.parse_json(r)["referrers"]], [sig.digest])
            self.assertIn("referrers of %s: the registry's next page is one read already" % amd.digest, r.stderr)
            pages = [e for e in fr.log if e.method == "GET" and "/referrers/" in e.path]
            self.assertEqual(len(pages), 1, pages)
            spec = self.write_spec("image: %s\nmanifests:\n  - image: %s\n" % (
                fr.ref("it/dst:v1"), fr.ref("it/src:amd")))
            r = self.mlist("--plain-http", "create", "--referrers", "--json", spec)
            self.assertOk(r)
            self.assertEqual(self.parse_json(r)["referrersCopied"], 1)

    def test_pages_past_the_limit_are_reported(self):
        with FakeRegistry(referrers=True, referrers_page=1) as fr:
            amd = self.fake_image(fr, "it/src", "amd", AMD)
            sigs = sorted(self.fake_referrer(fr, "it/src", amd, SIG, b"many-%d" % i).digest for i in range(66))
            r = self.mlist("--plain-http", "--json", "inspect", "--referrers", fr.ref("it/src:amd"))
            self.assertOk(r)
            self.assertEqual([x["digest"] for x in self.parse_json(r)["referrers"]], sigs[:64])
            self.assertIn("referrers of %s: more than 64 pages; the rest is not listed" % amd.digest, r.stderr)

    def test_tag_schema_source_to_api_target(self):
        src = self.repo + "-src"
        amd = self.seed(tag_for(AMD), AMD, repo=src)
        body, blobs = referrer_manifest(amd, SIG, b"cross-sig")
        for b in blobs:
            self.reg.push_blob(src, b)
        self.reg.put_manifest(src, sha256_digest(body), body, OCI_MANIFEST)
        self.reg.put_manifest(src, schema_tag(amd.digest), {"schemaVersion": 2, "mediaType": OCI_INDEX,
                                                           "manifests": [descriptor(body, SIG)]}, OCI_INDEX)
        with FakeRegistry(referrers=True) as fr:
            spec = self.write_spec("image: %s\nmanifests:\n  - image: %s\n" % (
                fr.ref("it/dst:v1"), self.ref("%s:%s" % (src, tag_for(AMD)))))
            r = self.mlist("create", "--referrers", "--json", spec)
            self.assertOk(r)
            self.assertEqual(self.parse_json(r)["referrersCopied"], 1)
            self.assertEqual([d["digest"] for d in fr.referrers_of("it/dst", amd.digest)],
                             [sha256_digest(body)])
            self.assertNotIn(("it/dst", schema_tag(amd.digest)), fr.tags)


if __name__ == "__main__":
    import unittest
    unittest.main()
