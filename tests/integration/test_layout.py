"""OCI image layout directories as a store (oci:PATH[:TAG]): mlist writes
layouts skopeo reads, reads layouts skopeo writes, and a write killed at any
moment leaves a valid layout. A missing skopeo is a FAILURE, never a skip."""

import base64
import fcntl
import json
import os
import random
import signal
import subprocess
import time

from fixture import (OCI_INDEX, MlistTestCase, SlowProxy, _isolated_env, _tool_from_env, describe,
                     empty_docker_config, require_binary, run_tool, sha256_digest, tag_for)

AMD, ARM = "linux/amd64", "linux/arm64"
REF_NAME = "org.opencontainers.image.ref.name"
MANIFEST_TYPES = (OCI_INDEX, "application/vnd.oci.image.manifest.v1+json",
                  "application/vnd.docker.distribution.manifest.v2+json",
                  "application/vnd.docker.distribution.manifest.list.v2+json")


def read_json(path):
    with open(path, "rb") as f:
        return json.loads(f.read())


def blob_path(layout, digest):
    alg, hexpart = digest.split(":")
    return os.path.join(layout, "blobs", alg, hexpart)


def layout_problems(layout):
    """What makes `layout` not a valid OCI image layout, checked from the
    image-spec alone: oci-layout, index.json, every blob named by index.json
    and by the manifests it reaches present and hashing to its name."""
    problems = []
    try:
        if read_json(os.path.join(layout, "oci-layout")).get("imageLayoutVersion") != "1.0.0":
            problems.append("oci-layout: wrong imageLayoutVersion")
        index = read_json(os.path.join(layout, "index.json"))
    except (OSError, ValueError) as e:
        return ["cannot read oci-layout/index.json: %s" % e]
    todo = list(index.get("manifests", []))
    seen = set()
    while todo:
        d = todo.pop()
        if d["digest"] in seen:
            continue
        seen.add(d["digest"])
        try:
            with open(blob_path(layout, d["digest"]), "rb") as f:
                data = f.read()
        except OSError:
            problems.append("missing blob %s" % d["digest"])
            continue
        if sha256_digest(data) != d["digest"] or len(data) != d["size"]:
            problems.append("blob %s has other content" % d["digest"])
            continue
        if d.get("mediaType") in MANIFEST_TYPES:
            doc = json.loads(data)
            todo += doc.get("manifests", [])
            if "config" in doc:
                todo.append(doc["config"])
            todo += doc.get("layers", [])
    return problems


def layout_tags(layout):
    index = read_json(os.path.join(layout, "index.json"))
    return {m.get("annotations", {}).get(REF_NAME): m["digest"] for m in index["manifests"]}


class LayoutTest(MlistTestCase):

    def tool_env(self):
        return _isolated_env(docker_config=empty_docker_config())

    def skopeo(self, *args, text=True):
        r = run_tool([require_binary("skopeo")] + list(args), env=self.tool_env(), text=text)
        self.assertEqual(r.returncode, 0, describe(r))
        return r

    def layout_spec(self, target, sources, name="layout.yaml"):
        """A manifest-tool spec; sources are (reference, platform) pairs."""
        lines = ["image: %s" % target, "manifests:"]
        for src, plat in sources:
            lines.append("  - image: %s" % src)
            if plat:
                os_, arch = plat.split("/")[:2]
                lines.append("    platform: {os: %s, architecture: %s}" % (os_, arch))
        return self.write_spec("\n".join(lines) + "\n", name=name)

    def create_in_layout(self, layout, tag="v1", platforms=(AMD, ARM)):
        imgs = self.seed_set(list(platforms))
        spec = self.layout_spec("oci:%s:%s" % (layout, tag),
                                [(self.ref(tag_for(p)), p) for p in platforms])
        r = self.mlist("create", "--json", spec)
        self.assertOk(r)
        return self.parse_json(r), imgs

    # ---- writing layouts ------------------------------------------------------

    def test_create_into_layout_that_skopeo_reads(self):
        layout = os.path.join(self.tmpdir, "out")
        res, imgs = self.create_in_layout(layout)
        self.assertEqual(layout_problems(layout), [])
        self.assertEqual(layout_tags(layout), {"v1": res["digest"]})
        with open(blob_path(layout, res["digest"]), "rb") as f:
            pushed = f.read()
        raw = self.skopeo("inspect", "--raw", "oci:%s:v1" % layout, text=False).stdout
        self.assertEqual(raw, pushed)
        self.assertEqual(sorted(m["digest"] for m in json.loads(raw)["manifests"]),
                         sorted(i.digest for i in imgs.values()))
        # skopeo picks the arm64 child out of the layout's list
        r = self.skopeo("inspect", "--override-os", "linux", "--override-arch", "arm64",
                        "oci:%s:v1" % layout)
        self.assertEqual(json.loads(r.stdout)["Architecture"], "arm64")
        # and copies the whole list from the layout into a registry unchanged
        self.skopeo("copy", "--all", "--preserve-digests", "--dest-tls-verify=false",
                    "oci:%s:v1" % layout, "docker://%s/%s-copy:v1" % (self.reg.host, self.repo))
        self.assertListAt("v1", digest=res["digest"], repo=self.repo + "-copy")
        self.assertEqual(os.listdir(self.tmpdir).count("out"), 1)
        self.assertEqual([n for n in os.listdir(layout) if n.startswith(".")], [],
                         "temporary files left in the layout")

    def test_second_tag_keeps_the_first_and_update_is_idempotent(self):
        layout = os.path.join(self.tmpdir, "out")
        first, _ = self.create_in_layout(layout, tag="v1")
        second, _ = self.create_in_layout(layout, tag="v2", platforms=(AMD,))
        self.assertEqual(layout_tags(layout), {"v1": first["digest"], "v2": second["digest"]})
        index_path = os.path.join(layout, "index.json")
        before = os.stat(index_path)
        spec = self.layout_spec("oci:%s:v1" % layout, [(self.ref(tag_for(p)), p) for p in (AMD, ARM)],
                                name="again.yaml")
        r = self.mlist("update", spec)
        self.assertOk(r)
        self.assertIn("up to date", r.stderr)
        self.assertEqual(os.stat(index_path).st_ino, before.st_ino, "index.json was rewritten")

    def test_rewrites_keep_what_other_tools_wrote(self):
        """index.json rewritten by an edit, then by a delete: the entries
        mlist leaves alone and the top level keep other tools' fields (OCI
        1.1 "data", extension keys) with their values."""
        layout = os.path.join(self.tmpdir, "out")
        self.create_in_layout(layout, tag="v1", platforms=(AMD,))
        self.create_in_layout(layout, tag="v2", platforms=(ARM,))
        index_path = os.path.join(layout, "index.json")
        index = read_json(index_path)
        for n, m in enumerate(index["manifests"]):
            with open(blob_path(layout, m["digest"]), "rb") as f:
                m["data"] = base64.b64encode(f.read()).decode()
            m["io.example.entry"] = {"list": [1, "two", False, None, {"deep": [2.5]}], "n": n}
            m["io.example.big"] = 12345678901234567890
        index["io.example.index"] = {"generator": "other-tool", "version": [1, 2, 3]}
        index["io.example.flag"] = True
        with open(index_path, "w") as f:
            json.dump(index, f, indent=2)
        v2 = next(m for m in index["manifests"] if m["annotations"][REF_NAME] == "v2")

        def top(doc):
            return {k: v for k, v in doc.items() if k != "manifests"}

        r = self.mlist("update", "oci:%s:v1" % layout, "--add", self.ref(tag_for(ARM)))
        self.assertOk(r)
        after = read_json(index_path)
        self.assertEqual(top(after), top(index))
        by_tag = {m["annotations"][REF_NAME]: m for m in after["manifests"]}
        self.assertEqual(by_tag["v2"], v2)
        # v1 points at a new list: a new entry, without the old one's fields
        self.assertEqual(sorted(by_tag["v1"]), ["annotations", "digest", "mediaType", "size"])
        self.assertEqual(layout_problems(layout), [])

        self.assertOk(self.mlist("delete", "oci:%s:v1" % layout))
        after = read_json(index_path)
        self.assertEqual(top(after), top(index))
        self.assertEqual(after["manifests"], [v2])

    def test_create_refuses_existing_layout_tag(self):
        layout = os.path.join(self.tmpdir, "out")
        self.create_in_layout(layout)
        spec = self.layout_spec("oci:%s:v1" % layout, [(self.ref(tag_for(AMD)), AMD)], name="b.yaml")
        r = self.mlist("create", spec)
        self.assertExit(r, 3)
        self.assertIn("exists", r.stderr)

    def test_inspect_verify_delete_on_a_layout(self):
        layout = os.path.join(self.tmpdir, "out")
        res, imgs = self.create_in_layout(layout)
        r = self.mlist("--json", "inspect", "oci:%s:v1" % layout)
        self.assertOk(r)
        doc = self.parse_json(r)
        self.assertEqual(doc["digest"], res["digest"])
        self.assertEqual(sorted(m["digest"] for m in doc["manifests"]),
                         sorted(i.digest for i in imgs.values()))
        self.assertOk(self.mlist("verify", "oci:%s:v1" % layout))
        # a corrupted child blob is found by verify
        child = blob_path(layout, imgs[AMD].digest)
        os.chmod(child, 0o644)
        with open(child, "ab") as f:
            f.write(b" ")
        r = self.mlist("verify", "oci:%s:v1" % layout)
        self.assertExit(r, 1)
        self.assertIn(imgs[AMD].digest, r.stdout + r.stderr)
        r = self.mlist("delete", "oci:%s:v1" % layout)
        self.assertOk(r)
        self.assertEqual(layout_tags(layout), {})
        self.assertFalse(os.path.exists(blob_path(layout, res["digest"])))
        self.assertTrue(os.path.exists(blob_path(layout, imgs[ARM].digest)), "a child was deleted")

    def test_bad_layout_references_are_clear(self):
        notlayout = os.path.join(self.tmpdir, "plain")
        os.mkdir(notlayout)
        r = self.mlist("inspect", "oci:%s:v1" % notlayout)
        self.assertExit(r, 1)
        self.assertIn("not an OCI image layout", r.stderr)
        r = self.mlist("inspect", "oci::v1")
        self.assertExit(r, 2)
        self.assertIn("layout path is empty", r.stderr)
        r = self.mlist("inspect", "oci:%s:bad tag" % notlayout)
        self.assertExit(r, 2)
        layout = os.path.join(self.tmpdir, "out")
        self.create_in_layout(layout)
        r = self.mlist("inspect", "oci:%s:nope" % layout)
        self.assertExit(r, 1)
        self.assertIn('tag "nope" not found', r.stderr)
        self.assertIn("(tags: v1)", r.stderr, "the message names the tags there are")
        self.assertOk(self.mlist("delete", "oci:%s:v1" % layout))
        r = self.mlist("inspect", "oci:%s:v1" % layout)
        self.assertExit(r, 1)
        self.assertIn("(no tags)", r.stderr)

    # ---- reading layouts --------------------------------------------------------

    def test_push_from_layouts_skopeo_wrote(self):
        self.seed_set([AMD, ARM])
        layout = os.path.join(self.tmpdir, "skopeo")
        for p in (AMD, ARM):
            self.skopeo("copy", "--src-tls-verify=false", "docker://%s" % self.ref(tag_for(p)),
                        "oci:%s:%s" % (layout, p.split("/")[1]))
        tags = layout_tags(layout)
        target = self.repo + "-new"
        spec = self.layout_spec(self.ref(target + ":v1"), [("oci:%s:amd64" % layout, None),
                                                           ("oci:%s:arm64" % layout, None)])
        r = self.mlist("create", "--json", spec)
        self.assertOk(r)
        res = self.parse_json(r)
        self.assertEqual(res["childrenCopied"], 2)
        self.assertGreater(res["blobsCopied"], 0)
        doc = self.assertListAt("v1", digest=res["digest"], repo=target)
        by_digest = {m["digest"]: m["platform"] for m in doc["manifests"]}
        self.assertEqual(sorted(by_digest), sorted([tags["amd64"], tags["arm64"]]))
        self.assertEqual(by_digest[tags["arm64"]]["architecture"], "arm64")
        self.assertOk(self.mlist("verify", self.ref(target + ":v1")))
        # the registry serves the uploaded children to a real client
        r = run_tool([require_binary("skopeo"), "inspect", "--tls-verify=false", "--override-arch", "arm64",
                      "docker://%s" % self.ref(target + ":v1")], env=self.tool_env())
        self.assertEqual(r.returncode, 0, describe(r))
        self.assertEqual(json.loads(r.stdout)["Architecture"], "arm64")

    def test_layout_to_layout(self):
        src = os.path.join(self.tmpdir, "src")
        res, imgs = self.create_in_layout(src)
        dst = os.path.join(self.tmpdir, "dst")
        spec = self.layout_spec("oci:%s:copy" % dst, [("oci:%s@%s" % (src, imgs[p].digest), p) for p in (AMD, ARM)])
        r = self.mlist("create", "--json", spec)
        self.assertOk(r)
        self.assertEqual(self.parse_json(r)["digest"], res["digest"])
        self.assertEqual(layout_problems(dst), [])
        self.skopeo("inspect", "--raw", "oci:%s:copy" % dst)

    def test_concurrent_edits_all_land(self):
        """Six `update --add` at once on one layout tag: the write is a
        compare-and-swap under the layout's lock, so every edit lands."""
        platforms = ["linux/amd64", "linux/arm64", "linux/s390x", "linux/ppc64le", "linux/386", "linux/arm/v7"]
        imgs = self.seed_set(platforms)
        layout = os.path.join(self.tmpdir, "edits")
        mlist = _tool_from_env("MLIST")
        procs = [subprocess.Popen([mlist, "update", "oci:%s:v1" % layout, "--add", self.ref(tag_for(p)) + "=" + p],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_isolated_env())
                 for p in platforms]
        for p in procs:
            out, err = p.communicate(timeout=120)
            self.assertEqual(p.returncode, 0, err)
        r = self.mlist("--json", "inspect", "oci:%s:v1" % layout)
        self.assertOk(r)
        self.assertEqual(sorted(m["digest"] for m in self.parse_json(r)["manifests"]),
                         sorted(i.digest for i in imgs.values()))
        self.assertEqual(layout_problems(layout), [])

    def test_a_tag_moved_meanwhile_is_refused(self):
        """create --force aside, a push whose tag changed since it was read
        is refused at the write (exit 3) and leaves the other list alone."""
        layout = os.path.join(self.tmpdir, "out")
        first, _ = self.create_in_layout(layout, tag="v1", platforms=(AMD,))
        self.seed(tag_for(ARM), ARM, layers=3, salt="slow")
        with SlowProxy(self.reg.port, delay=0.2) as px:
            spec = self.layout_spec("oci:%s:v1" % layout,
                                    [("%s/%s:%s" % (px.host, self.repo, tag_for(p)), p) for p in (AMD, ARM)],
                                    name="slow.yaml")
            p = subprocess.Popen([_tool_from_env("MLIST"), "--plain-http", "update", spec],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_isolated_env())
            # once it copies blobs (it has read the tag by then), someone
            # else moves v1 (mlist too, fast, without the proxy)
            blobs = os.path.join(layout, "blobs", "sha256")
            before, deadline = set(os.listdir(blobs)), time.monotonic() + 60
            while set(os.listdir(blobs)) == before and not any(
                    n.startswith(".mlist-tmp-") for n in os.listdir(layout)) and time.monotonic() < deadline:
                time.sleep(0.01)
            other = self.layout_spec("oci:%s:v1" % layout, [(self.ref(tag_for(ARM)), ARM)], name="other.yaml")
            self.assertOk(self.mlist("update", other))
            theirs = layout_tags(layout)["v1"]
            out, err = p.communicate(timeout=120)
        self.assertEqual(p.returncode, 3, err)
        self.assertIn("changed by someone else", err)
        self.assertEqual(layout_tags(layout)["v1"], theirs)
        self.assertNotEqual(theirs, first["digest"])

    # ---- hostile layouts -----------------------------------------------------------

    def test_a_held_lock_is_waited_for_only_until_the_timeout(self):
        """A writer stopped while holding the layout's lock (on oci-layout)
        does not hang later runs: they give up after --timeout."""
        layout = os.path.join(self.tmpdir, "out")
        first, _ = self.create_in_layout(layout, platforms=(AMD,))
        self.seed_set([ARM])
        with open(os.path.join(layout, "oci-layout"), "rb") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            start = time.monotonic()
            r = self.mlist("--timeout", "2", "update", "oci:%s:v1" % layout,
                           "--add", "%s=%s" % (self.ref(tag_for(ARM)), ARM), timeout=30)
            took = time.monotonic() - start
        self.assertExit(r, 1)
        self.assertLess(took, 15)
        self.assertIn("another process holds the lock of layout %s" % layout, r.stderr)
        self.assertEqual(layout_tags(layout), {"v1": first["digest"]})

    def test_fifos_in_a_layout_are_refused_not_waited_for(self):
        layout = os.path.join(self.tmpdir, "out")
        res, _ = self.create_in_layout(layout)
        for path in (os.path.join(layout, "index.json"), blob_path(layout, res["digest"])):
            with self.subTest(path=os.path.relpath(path, layout)):
                saved = os.path.join(self.tmpdir, "saved")
                os.rename(path, saved)
                os.mkfifo(path)
                r = self.mlist("inspect", "oci:%s:v1" % layout, timeout=20)
                os.unlink(path)
                os.rename(saved, path)
                self.assertExit(r, 1)
                self.assertIn("%s is a FIFO, not a regular file" % path, r.stderr)
        self.assertOk(self.mlist("inspect", "oci:%s:v1" % layout))

    def test_create_through_a_symlink_to_an_empty_directory(self):
        target = os.path.join(self.tmpdir, "target")
        os.mkdir(target)
        link = os.path.join(self.tmpdir, "lnk")
        os.symlink("target", link)
        res, _ = self.create_in_layout(link)
        self.assertTrue(os.path.islink(link), "the link was replaced")
        self.assertEqual(layout_problems(target), [])
        self.assertEqual(layout_tags(target), {"v1": res["digest"]})
        raw = self.skopeo("inspect", "--raw", "oci:%s:v1" % link, text=False).stdout
        self.assertEqual(sha256_digest(raw), res["digest"])

    def test_blob_directories_leading_outside_are_refused(self):
        layout = os.path.join(self.tmpdir, "out")
        first, _ = self.create_in_layout(layout, platforms=(AMD,))
        sha = os.path.join(layout, "blobs", "sha256")
        outside = os.path.join(self.tmpdir, "outside")
        os.rename(sha, outside)
        os.symlink(outside, sha)
        before = sorted(os.listdir(outside))
        self.seed_set([ARM])
        spec = self.layout_spec("oci:%s:v2" % layout, [(self.ref(tag_for(ARM)), ARM)], name="v2.yaml")
        r = self.mlist("create", spec)
        self.assertExit(r, 1)
        self.assertIn("%s leads outside the layout" % sha, r.stderr)
        r = self.mlist("inspect", "oci:%s:v1" % layout)
        self.assertExit(r, 1)
        self.assertIn("leads outside the layout", r.stderr)
        r = self.mlist("delete", "oci:%s:v1" % layout)
        self.assertExit(r, 1)
        self.assertEqual(sorted(os.listdir(outside)), before, "files written or deleted outside the layout")
        self.assertEqual(layout_tags(layout), {"v1": first["digest"]})

    # ---- crash safety -------------------------------------------------------------

    def test_killed_writes_leave_a_valid_layout(self):
        """SIGKILL at random moments of a slow copy into an existing layout:
        afterwards the layout is valid, its old tag intact, and the new tag
        either absent or complete. Then a full run succeeds."""
        layout = os.path.join(self.tmpdir, "out")
        first, _ = self.create_in_layout(layout, tag="v0", platforms=(AMD,))
        killed = 0
        with SlowProxy(self.reg.port, delay=0.1) as px:
            spec = self.layout_spec("oci:%s:v1" % layout,
                                    [("%s/%s:%s" % (px.host, self.repo, tag_for(p)), p) for p in (AMD, ARM)],
                                    name="slow.yaml")
            rng = random.Random(7)
            mlist = _tool_from_env("MLIST")
            for attempt in range(8):
                # new content each time, so every run has blobs to write
                self.seed(tag_for(ARM), ARM, layers=3, salt="attempt %d" % attempt)
                p = subprocess.Popen([mlist, "--plain-http", "create", "--force", spec],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     env=_isolated_env())
                time.sleep(rng.uniform(0.05, 1.0))
                p.send_signal(signal.SIGKILL)
                p.communicate()
                killed += p.returncode == -signal.SIGKILL
                with self.subTest(attempt=attempt):
                    self.assertEqual(layout_problems(layout), [])
                    tags = layout_tags(layout)
                    self.assertEqual(tags.get("v0"), first["digest"])
                    self.skopeo("inspect", "--raw", "oci:%s:v0" % layout)
            r = self.mlist("--plain-http", "create", "--force", spec)
            self.assertOk(r)
        self.assertGreaterEqual(killed, 4, "most runs must be killed mid-way")
        self.assertEqual(layout_problems(layout), [])
        self.skopeo("inspect", "--raw", "oci:%s:v1" % layout)

    def test_killed_first_write_leaves_nothing_or_a_valid_layout(self):
        self.seed_set([AMD, ARM])
        with SlowProxy(self.reg.port, delay=0.05) as px:
            for attempt, delay in enumerate((0.02, 0.1, 0.3)):
                layout = os.path.join(self.tmpdir, "new%d" % attempt)
                spec = self.layout_spec("oci:%s:v1" % layout,
                                        [("%s/%s:%s" % (px.host, self.repo, tag_for(p)), p) for p in (AMD, ARM)],
                                        name="new%d.yaml" % attempt)
                p = subprocess.Popen([_tool_from_env("MLIST"), "--plain-http", "create", spec],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_isolated_env())
                time.sleep(delay)
                p.send_signal(signal.SIGKILL)
                p.wait()
                if os.path.exists(layout):
                    self.assertEqual(layout_problems(layout), [], "attempt %d" % attempt)


if __name__ == "__main__":
    import unittest
    unittest.main()
