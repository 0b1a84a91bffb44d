"""The command-line contract (issue 15): each command accepts exactly the
options it uses, help per command, suggestions, --json errors, SPEC '-',
delete --dry-run, and options that accumulate (issue 14)."""

import json
import os
import re
import unittest

from fixture import DOCKER_LIST, MlistTestCase, tag_for

AMD, ARM = "linux/amd64", "linux/arm64"
DOCS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs")

GLOBAL = {"--username", "--password", "--password-stdin", "--docker-cfg", "--authfile",
          "--ca-cert", "--insecure", "--plain-http", "--cache-dir", "--no-cache",
          "--concurrency", "--retries", "--timeout", "--json", "--quiet", "-q", "--debug"}
TAKES_VALUE = {"--list", "--type", "--annotation", "--add", "--remove", "--platforms",
               "--template", "--target", "--tags", "--platform", "--var"}

# What each command (mode) must accept besides the global options: written
# here, not read from mlist, so that an option added to a command by mistake
# fails test_help_lists_exactly_the_table.
PUSH = {"--type", "--ignore-missing", "--dry-run", "--purge", "--no-attestations",
        "--annotation", "--referrers", "--force", "--trust-platforms"}
SPEC = {"--no-normalize", "--allow-duplicates"}
ACCEPTS = {
    "create": PUSH | SPEC | {"--list", "--tags", "--var"},
    "update": PUSH | SPEC | {"--list", "--tags", "--var"},
    "update --add/--remove": PUSH | {"--add", "--remove"},
    "push from-spec": PUSH | SPEC | {"--tags", "--var"},
    "push from-args": PUSH | SPEC | {"--platforms", "--template", "--target", "--tags"},
    "apply": PUSH | SPEC | {"--var", "--check"},
    "validate": SPEC | {"--type", "--var"},
    "inspect": {"--raw", "--platform", "--referrers"},
    "delete": {"--dry-run", "--force"},
    "verify": set(),
}
ALL = set().union(*ACCEPTS.values())
# argv that selects each mode; the option check comes before anything runs.
ARGV = {
    "create": ["create", "spec.yaml"],
    "update": ["update", "spec.yaml"],
    "update --add/--remove": ["update", "localhost:1/a:b", "--add", "localhost:1/a:c"],
    "push from-spec": ["push", "from-spec", "spec.yaml"],
    "push from-args": ["push", "from-args"],
    "apply": ["apply", "specs"],
    "validate": ["validate", "spec.yaml"],
    "inspect": ["inspect", "localhost:1/a:b"],
    "delete": ["delete", "localhost:1/a:b"],
    "verify": ["verify", "localhost:1/a:b"],
}


def option_arg(opt):
    return [opt, "x"] if opt in TAKES_VALUE else [opt]


class OptionTableTest(MlistTestCase):

    def test_every_command_refuses_every_option_it_does_not_use(self):
        for mode, argv in ARGV.items():
            # --add and --remove turn "update SPEC" into the other mode
            selectors = {"--add", "--remove"} if mode == "update" else set()
            for opt in sorted(ALL - ACCEPTS[mode] - selectors):
                with self.subTest(mode=mode, option=opt):
                    r = self.mlist(*(argv + option_arg(opt)))
                    self.assertExit(r, 2)
                    self.assertIn("mlist %s: option '%s' does not apply to %s" % (mode, opt, mode),
                                  r.stderr)
        self.assertEqual(self.reg.access_log(), [])

    def help_options(self, command):
        """{mode label: options} from `mlist help COMMAND`."""
        r = self.mlist("help", command)
        self.assertOk(r)
        modes, current = {}, None
        for line in r.stdout.splitlines():
            m = re.match(r"Usage: mlist (\S+)(?: (from-\S+))?(.*)", line)
            if m:
                current = m.group(1) + (" " + m.group(2) if m.group(2) else "")
                if "--add" in m.group(3):
                    current += " --add/--remove"
                modes[current] = set()
            m = re.match(r"  (-[-a-z]+)", line)
            if m and current:
                modes[current].add(m.group(1))
        return modes

    def test_help_lists_exactly_the_table(self):
        seen = {}
        for command in ("create", "update", "push", "apply", "validate", "inspect", "delete",
                        "verify"):
            seen.update(self.help_options(command))
        self.assertEqual(seen, ACCEPTS)
        r = self.mlist("--help")
        global_opts = set(re.findall(r"^  (-[-a-z]+)", r.stdout.split("Global options:")[1], re.M))
        self.assertEqual(global_opts - {"--version"}, GLOBAL - {"-q"})

    def test_global_options_anywhere(self):
        spec = self.spec([AMD])
        for argv in (["--json", "--quiet", "validate", spec], ["validate", spec, "--json", "-q"]):
            r = self.mlist(*argv)
            self.assertOk(r)
            self.assertIn("lists", self.parse_json(r))

    def test_help_per_command(self):
        by_word = self.mlist("help", "delete")
        by_flag = self.mlist("delete", "--help")
        self.assertOk(by_word)
        self.assertOk(by_flag)
        self.assertEqual(by_word.stdout, by_flag.stdout)
        self.assertIn("Usage: mlist delete REF", by_word.stdout)
        self.assertIn("--dry-run", by_word.stdout)
        self.assertNotIn("--purge", by_word.stdout)
        glob = self.mlist("help")
        self.assertOk(glob)
        self.assertEqual(glob.stdout, self.mlist("--help").stdout)
        for command in ("create", "update", "push from-spec", "inspect", "delete", "verify"):
            self.assertIn("  " + command, glob.stdout)
        r = self.mlist("help", "delet")
        self.assertExit(r, 2)
        self.assertIn("did you mean 'delete'?", r.stderr)

    def test_suggestions(self):
        r = self.mlist("delete", "--dryrun", "x")
        self.assertExit(r, 2)
        self.assertIn("mlist delete: unknown option '--dryrun'; did you mean '--dry-run'?", r.stderr)
        r = self.mlist("creat", "spec.yaml")
        self.assertExit(r, 2)
        self.assertIn("unknown command 'creat'; did you mean 'create'?", r.stderr)
        # only options of the command are suggested
        r = self.mlist("inspect", "--dryrun", "x")
        self.assertExit(r, 2)
        self.assertNotIn("--dry-run", r.stderr)
        r = self.mlist("inspect", "--platfrom", "linux/amd64", "x")
        self.assertIn("did you mean '--platform'?", r.stderr)
        # a mistyped option before the command: its value is not taken for the command
        r = self.mlist("--concurency", "4", "validate", "x")
        self.assertExit(r, 2)
        self.assertIn("unknown option '--concurency'; did you mean '--concurrency'?", r.stderr)
        self.assertNotIn("unknown command", r.stderr)

    def test_json_usage_error(self):
        for argv in (["--json", "delete", "--dryrun", "x"], ["verify", "--force", "x", "--json"]):
            r = self.mlist(*argv)
            self.assertExit(r, 2)
            err = self.parse_json(r)["error"]
            self.assertEqual(err["code"], "usage")
            self.assertEqual(err["exit"], 2)
            self.assertIn("--", err["message"])


class DocsTest(MlistTestCase):
    """The man page and both completions list each command's options as the
    table above says."""

    def read(self, *path):
        with open(os.path.join(DOCS, *path)) as f:
            return f.read()

    def test_man_page_options_by_command(self):
        man = self.read("mlist.1")
        section = man.split(".SS Options by command")[1].split("\n.S")[0]
        got = {}
        for label, opts in re.findall(r"^\.TP\n\.B (.+)\n(.+)$", section, re.M):
            label = label.replace("\\-", "-").strip('"')
            got[label] = set(re.findall(r"--?[a-z][-a-z]*", opts.replace("\\-", "-")))
        self.assertEqual(got, ACCEPTS)

    def test_man_page_exit_code_of_unreadable_spec(self):
        man = self.read("mlist.1")
        self.assertFalse("1 when the file cannot be read" in man, "the man page says exit 1")
        self.assertTrue("2 for an invalid spec or one that cannot be read" in man)

    def test_bash_completion_options_by_command(self):
        text = self.read("completions", "mlist.bash")
        names = {"create": "create", "update": "update", "update --add/--remove": "edit",
                 "push from-spec": "from_spec", "push from-args": "from_args", "apply": "apply",
                 "validate": "validate", "inspect": "inspect", "delete": "delete",
                 "verify": "verify"}
        for mode, var in names.items():
            m = re.search(r"^_mlist_opts_%s='([^']*)'" % var, text, re.M)
            self.assertIsNotNone(m, var)
            words = set(m.group(1).split())
            expanded = set()
            for w in words:
                if w.startswith("$"):
                    ref = re.search(r"^%s='([^']*)'" % re.escape(w[1:]), text, re.M)
                    expanded |= set(ref.group(1).split())
                else:
                    expanded.add(w)
            self.assertEqual(expanded, ACCEPTS[mode], mode)
        m = re.search(r"^_mlist_global_opts='([^']*)'", text, re.M)
        self.assertEqual(set(m.group(1).split()) - {"--version", "-h", "--help"}, GLOBAL)

    def test_zsh_completion_options_by_command(self):
        text = self.read("completions", "_mlist")
        arrays = {}
        for name, body in re.findall(r"^\s*(\w+)_opts=\(\n(.*?)^\s*\)$", text, re.M | re.S):
            opts = set(re.findall(r"^\s*'(?:\([^)]*\))?\*?(--?[a-z][-a-z]*)", body, re.M))
            for short, long in re.findall(r"\{(-[-a-z]+),(--[-a-z]+)\}", body):
                opts |= {short, long}
            for ref in re.findall(r"^\s*\$(\w+)_opts$", body, re.M):
                opts |= arrays[ref]
            arrays[name] = opts
        names = {"create": "create", "update": "update", "update --add/--remove": "edit",
                 "push from-spec": "from_spec", "push from-args": "from_args", "apply": "apply",
                 "validate": "validate", "inspect": "inspect", "delete": "delete",
                 "verify": "verify"}
        for mode, name in names.items():
            self.assertIn(name, arrays, name)
            self.assertEqual(arrays[name], ACCEPTS[mode], mode)
        self.assertEqual(arrays["global"] - {"--version", "-h", "--help"}, GLOBAL)


class DeleteDryRunTest(MlistTestCase):

    def alias(self, tag, to_tag):
        """Points another tag at the manifest of to_tag (same bytes)."""
        status, headers, body = self.reg.get_manifest(self.repo, to_tag)
        self.assertEqual(status, 200)
        self.reg.put_manifest(self.repo, tag, body, headers["Content-Type"])

    def test_dry_run_lists_every_tag_and_deletes_nothing(self):
        lst, _ = self.seeded_list([AMD, ARM])
        self.alias("stable", "v1")
        self.reg.reset_access_log()
        r = self.mlist("delete", "--dry-run", self.ref("v1"))
        self.assertOk(r)
        self.assertIn("Would delete: %s" % lst.digest, r.stdout)
        self.assertIn("  tag v1\n", r.stdout)
        self.assertIn("  tag stable\n", r.stdout)
        self.assertNotIn("tag v1-amd64", r.stdout)
        self.assertIn("deletes by digest", r.stderr)
        self.assertNoWrites()
        self.assertEqual(self.reg.manifest_digest(self.repo, "v1"), lst.digest)
        self.assertOk(self.mlist("inspect", self.ref("stable")))
        # JSON, then the real run names both tags
        r = self.mlist("--json", "delete", "--dry-run", self.ref("stable"))
        doc = self.parse_json(r)
        self.assertEqual((doc["dryRun"], doc["wouldDelete"]), (True, lst.digest))
        self.assertEqual(sorted(doc["tags"]), ["stable", "v1"])
        r = self.mlist("delete", self.ref("v1"))
        self.assertOk(r)
        self.assertIn("Deleted: %s" % lst.digest, r.stdout)
        self.assertIn("  tag stable\n", r.stdout)
        self.assertIn("  tag v1\n", r.stdout)
        self.assertIn("deletes by digest", r.stderr)
        self.assertFalse(self.reg.tag_exists(self.repo, "stable"))
        self.assertFalse(self.reg.tag_exists(self.repo, "v1"))

    def test_dry_run_refuses_a_single_image_like_delete(self):
        img = self.seed("v1-amd64", AMD)
        r = self.mlist("delete", "--dry-run", self.ref("v1-amd64"))
        self.assertExit(r, 3)
        self.assertIn("single image", r.stderr)
        r = self.mlist("delete", "--dry-run", "--force", self.ref("v1-amd64"))
        self.assertOk(r)
        self.assertIn("Would delete: %s" % img.digest, r.stdout)
        self.assertTrue(self.reg.manifest_exists(self.repo, img.digest))

    def test_dry_run_in_a_layout(self):
        self.seed_set([AMD])
        layout = os.path.join(self.tmpdir, "layout")
        spec = self.write_spec("image: oci:%s:v1\ntags: [stable]\nmanifests:\n"
                               "  - image: %s\n    platform: {os: linux, architecture: amd64}\n"
                               % (layout, self.ref(tag_for(AMD))))
        self.create_ok(spec)
        r = self.mlist("--json", "delete", "--dry-run", "oci:%s:stable" % layout)
        self.assertOk(r)
        self.assertEqual(sorted(self.parse_json(r)["tags"]), ["stable", "v1"])
        self.assertOk(self.mlist("inspect", "oci:%s:v1" % layout))


class TagsAndPlatformsTest(MlistTestCase):

    def test_update_spec_tags_add_tags(self):
        self.seed_set([AMD, ARM])
        spec = self.spec([AMD, ARM])
        digest, _ = self.create_ok(spec, "--tags", "c1")
        self.assertEqual(self.reg.manifest_digest(self.repo, "c1"), digest)
        r = self.mlist("update", spec, "--tags", "extra1, extra2", "--tags", "extra3")
        self.assertOk(r)
        for tag in ("v1", "c1", "extra1", "extra2", "extra3"):
            self.assertEqual(self.reg.manifest_digest(self.repo, tag), digest, tag)

    def test_tags_refused_for_two_lists_of_one_repository(self):
        """One tag cannot name two lists: the last push would win silently."""
        self.seed_set([AMD])
        path = self.write_spec(self.spec_text([AMD], target="v1") + "---\n" +
                               self.spec_text([AMD], target="v2"))
        self.reg.reset_access_log()
        r = self.mlist("update", path, "--tags", "latest")
        self.assertExit(r, 2)
        # The library's check names both lists by file:line.
        self.assertRegex(r.stderr, r"%s:\d+:1: tag \S+/%s:latest is also pushed by %s:1:1 "
                         % (re.escape(path), re.escape(self.repo), re.escape(path)))
        self.assertEqual(self.reg.access_log(), [])
        other = self.spec_text([AMD], target="%s-other:v1" % self.repo)
        path = self.write_spec(self.spec_text([AMD], target="v1") + "---\n" + other)
        self.assertOk(self.mlist("update", path, "--tags", "latest"))
        self.assertEqual(self.reg.manifest_digest(self.repo, "latest"),
                         self.reg.manifest_digest(self.repo, "v1"))
        self.assertEqual(self.reg.manifest_digest(self.repo + "-other", "latest"),
                         self.reg.manifest_digest(self.repo + "-other", "v1"))

    def test_repeated_platforms_and_tags_accumulate(self):
        imgs = self.seed_set([AMD, ARM])
        r = self.mlist("push", "from-args", "--platforms", AMD, "--platforms", ARM,
                       "--template", self.ref("v1-ARCH"), "--target", self.ref("v1"),
                       "--tags", "a", "--tags", "b")
        self.assertOk(r)
        digest, _ = self.parse_digest_line(r)
        doc = self.assertListAt("v1", digest=digest)
        self.assertEntries(doc, imgs)
        self.assertEqual(self.reg.manifest_digest(self.repo, "a"), digest)
        self.assertEqual(self.reg.manifest_digest(self.repo, "b"), digest)

    def test_space_after_comma_tolerated(self):
        imgs = self.seed_set([AMD, ARM])
        r = self.mlist("push", "from-args", "--platforms", "linux/amd64, linux/arm64",
                       "--template", self.ref("v1-ARCH"), "--target", self.ref("v1"))
        self.assertOk(r)
        self.assertEntries(self.assertListAt("v1"), imgs)

    def test_platforms_parsed_strictly(self):
        for bad in ("linux/arm64/v8/extra", "linux//arm64", "/linux/arm64", "linux/amd64,",
                    "a,,b", "", "linux", "linux/amd64/"):
            with self.subTest(platforms=bad):
                r = self.mlist("push", "from-args", "--platforms", bad, "--template",
                               self.ref("v1-ARCH"), "--target", self.ref("v1"))
                self.assertExit(r, 2)
                self.assertIn("--platforms: expected OS/ARCH[/VARIANT]", r.stderr)
        self.assertEqual(self.reg.access_log(), [])


class ErrorsTest(MlistTestCase):

    def test_missing_image_names_spec_line_and_json_error(self):
        self.seed_set([AMD])
        text = self.spec_text([AMD, ARM])
        path = self.write_spec(text)
        line = text.splitlines().index("  - image: %s" % self.ref(tag_for(ARM))) + 1
        r = self.mlist("--json", "create", path)
        self.assertExit(r, 1)
        self.assertIn("%s:%d:" % (path, line), r.stderr)
        self.assertIn(tag_for(ARM), r.stderr)
        doc = self.parse_json(r)
        err = doc["error"]
        self.assertEqual(err["code"], "ML_ENOTFOUND")
        self.assertEqual(err["exit"], 1)
        self.assertEqual((err["file"], err["line"]), (path, line))
        self.assertEqual(err["ref"], self.ref(tag_for(ARM)))
        self.assertFalse(self.reg.tag_exists(self.repo, "v1"))

    def test_json_error_of_registry_answer(self):
        r = self.mlist("--json", "inspect", self.ref("nope"))
        self.assertExit(r, 1)
        err = self.parse_json(r)["error"]
        self.assertEqual(err["code"], "ML_ENOTFOUND")
        self.assertEqual(err["httpStatus"], 404)
        self.assertEqual(err["registryCode"], "MANIFEST_UNKNOWN")
        self.assertEqual(err["ref"], self.ref("nope"))
        self.assertIn("nope", r.stderr)

    def test_json_verify_problems_are_an_error(self):
        _, imgs = self.seeded_list([AMD, ARM])
        self.assertEqual(self.reg.delete_manifest(self.repo, imgs[ARM].digest), 202)
        r = self.mlist("--json", "verify", self.ref("v1"))
        self.assertExit(r, 1)
        doc = self.parse_json(r)
        self.assertFalse(doc["ok"])
        self.assertEqual(len(doc["problems"]), 1)
        self.assertEqual((doc["error"]["code"], doc["error"]["exit"]), ("problems", 1))
        self.assertEqual(doc["error"]["ref"], self.ref("v1"))
        self.assertIn("1 problem found", r.stderr)
        r = self.mlist("--json", "verify", self.ref("v1-amd64"))
        self.assertExit(r, 3)
        self.assertEqual(self.parse_json(r)["error"]["code"], "ML_ENOTLIST")

    def test_json_spec_error_location(self):
        path = self.write_spec("image: {HOST}/{REPO}:v1\nmanifests:\n  - image: [\n")
        r = self.mlist("validate", path, "--json")
        self.assertExit(r, 2)
        err = self.parse_json(r)["error"]
        self.assertEqual(err["code"], "ML_ESPEC")
        self.assertEqual(err["file"], path)
        self.assertGreater(err["line"], 0)
        self.assertGreater(err["column"], 0)

    def test_json_multi_list_push_is_one_document(self):
        self.seed_set([AMD])
        good = self.spec_text([AMD], target="good")
        bad = self.spec_text([AMD, ARM], target="bad")
        path = self.write_spec(good + "---\n" + bad)
        r = self.mlist("--json", "update", path)
        self.assertExit(r, 1)
        try:
            doc = json.loads(r.stdout)
        except ValueError as e:
            self.fail("stdout is not one JSON document (%s): %r" % (e, r.stdout))
        self.assertEqual(len(doc), 2)
        self.assertNotIn("error", doc[0])
        self.assertEqual(self.reg.manifest_digest(self.repo, "good"), doc[0]["digest"])
        self.assertEqual(doc[1]["error"]["code"], "ML_ENOTFOUND")
        self.assertEqual(doc[1]["error"]["ref"], self.ref(tag_for(ARM)))

    def test_missing_spec_file_is_bad_input(self):
        r = self.mlist("--json", "create", os.path.join(self.tmpdir, "missing.yaml"))
        self.assertExit(r, 2)
        err = self.parse_json(r)["error"]
        self.assertEqual((err["code"], err["exit"]), ("ML_EIO", 2))

    def test_spec_from_stdin(self):
        imgs = self.seed_set([AMD, ARM])
        text = self.spec_text([AMD, ARM])
        r = self.mlist("create", "-", input=text)
        self.assertOk(r)
        self.assertEntries(self.assertListAt("v1"), imgs)
        r = self.mlist("validate", "-", input="image: x\nmanifests: {\n")
        self.assertExit(r, 2)
        self.assertRegex(r.stderr, r"<stdin>:\d+:\d+")
        r = self.mlist("--password-stdin", "validate", "-", input="secret\n" + text)
        self.assertExit(r, 2)
        self.assertIn("cannot both read standard input", r.stderr)
        r = self.mlist("update", "--dry-run", "--list", "-", input=text)
        self.assertOk(r)
        self.assertEqual(json.loads(r.stdout.split("Digest:")[0])["mediaType"], DOCKER_LIST)


if __name__ == "__main__":
    unittest.main()
