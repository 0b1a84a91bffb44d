"""mlist apply: many specs as the desired state, --check for drift, and
variables in specs (issue 19)."""

import json
import os
import re

from fixture import MlistTestCase, tag_for

AMD, ARM = "linux/amd64", "linux/arm64"


class ApplyTest(MlistTestCase):

    def spec_dir(self, files):
        """Writes {relative name: spec text} below tmpdir/specs -> its path."""
        root = os.path.join(self.tmpdir, "specs")
        for name, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(root, name)), exist_ok=True)
            self.write_spec(text, name=os.path.join("specs", name))
        return root

    def family(self):
        """Three files, one of them with two documents: four lists."""
        one = self.spec_text([AMD, ARM], target="one", tags=["one-latest"])
        two = self.spec_text([AMD], target="two")
        three = self.spec_text([ARM], target="three")
        four = self.spec_text([AMD, ARM], target="four")
        return {"a.yaml": one, "sub/b.yml": two + "---\n" + three, "c.yaml": four,
                "notes.txt": "not a spec\n", ".hidden/x.yaml": "broken: [\n"}

    def summary(self, proc):
        """{target tag: summary line} and the totals line of apply's output."""
        lines = proc.stdout.strip().splitlines()
        rows = {}
        for line in lines[:-1]:
            m = re.match(r"\S+:(\S+): (.*)$", line)
            if m:
                rows[m.group(1)] = m.group(2)
        return rows, lines[-1]

    def test_apply_check_drift_and_reapply(self):
        imgs = self.seed_set([AMD, ARM])
        specs = self.spec_dir(self.family())
        r = self.mlist("apply", specs)
        self.assertOk(r)
        rows, totals = self.summary(r)
        self.assertEqual(rows, {"one": "created", "two": "created", "three": "created",
                                "four": "created"})
        self.assertEqual(totals, "4 lists: 4 created, 0 updated, 0 up to date, 0 failed")
        self.assertEntries(self.assertListAt("one"), imgs)
        self.assertEqual(self.reg.manifest_digest(self.repo, "one-latest"),
                         self.reg.manifest_digest(self.repo, "one"))
        self.assertEntries(self.assertListAt("two"), {AMD: imgs[AMD]})
        self.assertEntries(self.assertListAt("three"), {ARM: imgs[ARM]})
        self.assertEntries(self.assertListAt("four"), imgs)

        # nothing to do: --check is 0 and writes nothing
        self.reg.reset_access_log()
        r = self.mlist("apply", "--check", specs)
        self.assertOk(r)
        self.assertEqual(self.summary(r)[1],
                         "4 lists: 0 would be created, 0 would be updated, 4 up to date, 0 failed")
        self.assertNoWrites()

        # a rebuilt child: drift in the lists that hold it, named with the change
        new_arm = self.seed(tag_for(ARM), ARM, salt="rebuilt")
        self.reg.reset_access_log()
        r = self.mlist("apply", "--check", specs)
        self.assertExit(r, 4)
        rows, _ = self.summary(r)
        self.assertEqual(rows["two"], "up to date")
        for tag in ("one", "three", "four"):
            self.assertEqual(rows[tag], "would be updated (change %s: %s -> %s)"
                             % (ARM, imgs[ARM].digest, new_arm.digest))
        self.assertNoWrites()

        r = self.mlist("apply", specs)
        self.assertOk(r)
        rows, totals = self.summary(r)
        self.assertEqual(rows["one"], "updated (change %s: %s -> %s)"
                         % (ARM, imgs[ARM].digest, new_arm.digest))
        self.assertEqual(totals, "4 lists: 0 created, 3 updated, 1 up to date, 0 failed")
        self.assertEntries(self.assertListAt("four"), {AMD: imgs[AMD], ARM: new_arm})
        self.assertEqual(self.reg.manifest_digest(self.repo, "one-latest"),
                         self.reg.manifest_digest(self.repo, "one"))
        self.assertOk(self.mlist("apply", "--check", specs))

    def test_apply_reports_moved_tags(self):
        self.seed_set([AMD])
        specs = self.spec_dir({"a.yaml": self.spec_text([AMD], target="t")})
        self.assertOk(self.mlist("apply", specs))
        specs = self.spec_dir({"a.yaml": self.spec_text([AMD], target="t", tags=["extra"])})
        r = self.mlist("apply", "--check", specs)
        self.assertExit(r, 4)
        self.assertEqual(self.summary(r)[0], {"t": "would be updated (tags moved: extra)"})
        self.assertFalse(self.reg.tag_exists(self.repo, "extra"))
        r = self.mlist("apply", specs)
        self.assertOk(r)
        self.assertEqual(self.summary(r)[0], {"t": "updated (tags moved: extra)"})
        self.assertEqual(self.reg.manifest_digest(self.repo, "extra"), self.reg.manifest_digest(self.repo, "t"))

    def test_apply_json_summary(self):
        imgs = self.seed_set([AMD, ARM])
        specs = self.spec_dir(self.family())
        self.assertOk(self.mlist("apply", os.path.join(specs, "a.yaml")))
        r = self.mlist("apply", "--json", specs)
        self.assertOk(r)
        rows = json.loads(r.stdout)
        self.assertIsInstance(rows, list)
        self.assertEqual([(os.path.relpath(x["file"], specs), x["target"].rsplit(":", 1)[1], x["status"])
                          for x in rows],
                         [("a.yaml", "one", "up-to-date"), ("c.yaml", "four", "created"),
                          ("sub/b.yml", "two", "created"), ("sub/b.yml", "three", "created")])
        self.assertEqual(rows[1]["result"]["digest"], self.reg.manifest_digest(self.repo, "four"))
        self.seed(tag_for(AMD), AMD, salt="rebuilt")
        r = self.mlist("apply", "--check", "--json", specs)
        self.assertExit(r, 4)
        rows = json.loads(r.stdout)
        self.assertEqual([x["status"] for x in rows], ["would-update", "would-update", "would-update", "up-to-date"])
        self.assertEqual(rows[0]["result"]["changes"][0]["previous"], imgs[AMD].digest)

    def test_apply_failed_list_does_not_stop_the_others(self):
        imgs = self.seed_set([AMD])
        specs = self.spec_dir({"a.yaml": self.spec_text([AMD], target="good"),
                               "b.yaml": self.spec_text([ARM], target="bad")})
        r = self.mlist("apply", specs)
        self.assertExit(r, 1)
        rows, totals = self.summary(r)
        self.assertEqual(rows["good"], "created")
        self.assertTrue(rows["bad"].startswith("failed ("), rows["bad"])
        self.assertIn(tag_for(ARM), rows["bad"])
        self.assertEqual(totals, "2 lists: 1 created, 0 updated, 0 up to date, 1 failed")
        self.assertEntries(self.assertListAt("good"), imgs)
        self.assertExit(self.mlist("apply", "--check", specs), 1)
        # --json: the failed list carries the same error object a failing command prints
        r = self.mlist("apply", "--json", specs)
        self.assertExit(r, 1)
        bad = [row for row in json.loads(r.stdout) if row["status"] == "failed"]
        self.assertEqual(len(bad), 1)
        self.assertEqual(bad[0]["error"]["exit"], 1)
        self.assertIn(tag_for(ARM), bad[0]["error"]["message"])

    def test_apply_bad_file_stops_everything(self):
        self.seed_set([AMD, ARM])
        files = self.family()
        files["sub/c.yaml"] = self.spec_text([AMD], target="five").replace("manifests:", "manifest:")
        specs = self.spec_dir(files)
        self.reg.reset_access_log()
        r = self.mlist("apply", specs)
        self.assertExit(r, 2)
        bad = os.path.join(specs, "sub", "c.yaml")
        self.assertIn("%s:2:1: unknown key \"manifest\"" % bad, r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertNoWrites()
        self.assertEqual(sorted(self.reg.tags(self.repo)), sorted(tag_for(p) for p in (AMD, ARM)))

    def test_apply_duplicate_target_across_files(self):
        self.seed_set([AMD, ARM])
        specs = self.spec_dir({"a.yaml": self.spec_text([AMD], target="same"),
                               "b.yaml": "# again\n" + self.spec_text([ARM], target="same")})
        self.reg.reset_access_log()
        r = self.mlist("apply", specs)
        self.assertExit(r, 2)
        self.assertIn("%s:2:1: tag %s is also pushed by %s:1:1" % (
            os.path.join(specs, "b.yaml"), self.ref("same"), os.path.join(specs, "a.yaml")), r.stderr)
        self.assertNoWrites()
        # an extra tag counts as well
        specs = self.spec_dir({"c.yaml": self.spec_text([AMD], target="x", tags=["y"]),
                               "d.yaml": self.spec_text([AMD], target="y")})
        self.assertExit(self.mlist("apply", os.path.join(specs, "c.yaml"), os.path.join(specs, "d.yaml")), 2)
        self.assertNoWrites()

    def test_apply_arguments(self):
        self.assertExit(self.mlist("apply"), 2)
        self.assertExit(self.mlist("apply", os.path.join(self.tmpdir, "missing")), 2)
        empty = os.path.join(self.tmpdir, "empty")
        os.mkdir(empty)
        r = self.mlist("apply", empty)
        self.assertExit(r, 2)
        self.assertIn("holds no *.yaml or *.yml file", r.stderr)
        self.assertExit(self.mlist("apply", "--var", "NOEQUALS", empty), 2)

    def x86_64_lists(self, targets):
        """Documents of one spec whose entry is written linux/x86_64: a
        normalisation warning the spec and each of its lists carry."""
        src = "%s:%s" % (self.repo, tag_for(AMD, "v1"))
        return "---\n".join(self.spec_text([(src, "linux/x86_64")], target=t) for t in targets)

    def test_apply_prints_a_spec_warning_once(self):
        """The warning is printed when the spec is read, not again for
        each list that carries it."""
        self.seed_set([AMD])
        specs = self.spec_dir({"a.yaml": self.x86_64_lists(["one", "two"])})
        r = self.mlist("apply", specs)
        self.assertOk(r)
        self.assertEqual(r.stderr.count('architecture "x86_64" normalised to "amd64"'), 1, r.stderr)


class VariablesTest(MlistTestCase):

    SPEC = ("image: {HOST}/{REPO}:${IT_TAG}\n"
            "tags: ['${IT_EXTRA:-edge}']\n"
            "annotations: {price: \"$$5\"}\n"
            "manifests:\n"
            "  - image: {HOST}/{REPO}:${IT_PREFIX:-v1}-amd64\n"
            "    platform: {os: linux, architecture: amd64}\n")

    def test_variables_from_flags_environment_and_defaults(self):
        imgs = self.seed_set([AMD])
        spec = self.write_spec(self.SPEC)
        # validate shows the expanded spec; --var wins over the environment
        r = self.mlist("validate", "--json", "--var", "IT_TAG=fromflag", spec, env={"IT_TAG": "fromenv"})
        self.assertOk(r)
        lst = json.loads(r.stdout)["lists"][0]
        self.assertEqual(lst["image"], self.ref("fromflag"))
        self.assertEqual(lst["tags"], ["edge"])
        self.assertEqual(lst["annotations"], {"price": "$5"})
        self.assertEqual(lst["manifests"][0]["image"], self.ref(tag_for(AMD)))
        r = self.mlist("validate", spec, env={"IT_TAG": "fromenv", "IT_EXTRA": "stable"})
        self.assertOk(r)
        self.assertIn(self.ref("fromenv"), r.stdout)
        self.assertIn("also tagged: stable", r.stdout)
        # every command that reads specs expands them
        r = self.mlist("create", "--var", "IT_TAG=c1", spec)
        self.assertOk(r)
        self.assertEntries(self.assertListAt("c1"), imgs)
        self.assertEqual(self.assertListAt("c1")["annotations"], {"price": "$5"})
        self.assertOk(self.mlist("update", spec, env={"IT_TAG": "u1"}))
        self.assertListAt("u1")
        self.assertOk(self.mlist("push", "from-spec", "--var", "IT_TAG=p1", spec))
        self.assertListAt("p1")
        r = self.mlist("apply", "--var", "IT_TAG=a1", "--var", "IT_EXTRA=a1-extra", spec)
        self.assertOk(r)
        self.assertIn(":a1: created", r.stdout)
        self.assertListAt("a1-extra")

    def test_undefined_variable(self):
        spec = self.write_spec(self.SPEC)
        for args in (("validate", spec), ("update", spec), ("apply", spec)):
            r = self.mlist(*args, env={"IT_TAG": None})
            self.assertExit(r, 2)
            self.assertIn("%s:1:%d: undefined variable \"IT_TAG\"" % (spec, len(self.ref("")) + 8), r.stderr)
        self.assertNoWrites()
        # as in the shell, an empty value takes the default
        r = self.mlist("validate", "--json", "--var", "IT_TAG=1", "--var", "IT_EXTRA=", spec)
        self.assertOk(r)
        self.assertEqual(json.loads(r.stdout)["lists"][0]["tags"], ["edge"])
