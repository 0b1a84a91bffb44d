"""mlist validate SPEC (offline) and spec errors: DESIGN §3 and §4."""

import unittest

from fixture import MlistTestCase

GOOD = (
    'image: {HOST}/{REPO}:v1\n'
    'tags: [latest]\n'
    'manifests:\n'
    '  - image: {HOST}/{REPO}:v1-amd64\n'
    '    platform: {architecture: amd64, os: linux}\n'
    '  - image: {HOST}/{REPO}:v1-arm\n'
    '    platform: {architecture: arm, os: linux, variant: v7}\n'
    '  - image: {HOST}/{REPO}:v1-win\n'
    '    platform: {architecture: amd64, os: windows, os.version: 10.0.17763.5576}\n')


class ValidateTest(MlistTestCase):
    """The registry runs only so that the tests can prove validate never
    contacts it."""

    def test_validate_prints_plan_offline(self):
        spec = self.write_spec(GOOD)
        r = self.mlist("validate", spec)
        self.assertOk(r)
        out = r.stdout
        for s in ("%s/%s:v1" % (self.reg.host, self.repo), "latest",
                  "v1-amd64", "v1-arm", "v1-win",
                  "linux/amd64", "linux/arm/v7", "windows(10.0.17763.5576)/amd64"):
            self.assertIn(s, out, "plan lacks %r" % s)
        self.assertEqual(self.reg.access_log(), [], "validate contacted the registry")

    def test_validate_reads_a_spec_from_a_pipe(self):
        """Unlike the files the library finds itself, a spec may be a pipe
        (<(...), /dev/stdin)."""
        spec = GOOD.replace("{HOST}", self.reg.host).replace("{REPO}", self.repo)
        r = self.mlist("validate", "/dev/stdin", input=spec)
        self.assertOk(r)
        self.assertIn("v1-amd64", r.stdout)

    def test_validate_normalises_with_warnings(self):
        spec = self.write_spec(
            'image: {HOST}/{REPO}:v1\n'
            'manifests:\n'
            '  - image: {HOST}/{REPO}:v1-amd64\n'
            '    platform:\n'
            '      "architecture": x86_64\n'
            '      "os": Linux\n'
            '  - image: {HOST}/{REPO}:v1-ppc\n'
            '    platform:\n'
            '      "architecture": ppc64\n'
            '      "os": Linux\n'
            '      "variant": ppc64le\n'
            '  - image: {HOST}/{REPO}:v1-arm\n'
            '    platform: {architecture: armhf, os: linux}\n')
        r = self.mlist("validate", spec)
        self.assertOk(r)
        for s in ("linux/amd64", "linux/ppc64le", "linux/arm/v7"):
            self.assertIn(s, r.stdout)
        for s in ("x86_64", "ppc64", "armhf"):
            self.assertIn(s, r.stderr, "no warning about %r" % s)
        self.assertEqual(self.reg.access_log(), [])

    def test_validate_bad_yaml_exit_2_with_file_and_line(self):
        spec = self.write_spec(
            'image: {HOST}/{REPO}:v1\n'
            'manifests:\n'
            '  - image: {HOST}/{REPO}:a\n'
            '    platform: linux: amd64\n')
        r = self.mlist("validate", spec)
        self.assertExit(r, 2)
        self.assertRegex(r.stderr, r"spec\.yaml:4\b", "file:line of the YAML error")
        self.assertEqual(r.stdout.strip(), "")

    def test_validate_unknown_key_names_key_and_line(self):
        spec = self.write_spec(
            'image: {HOST}/{REPO}:v1\n'
            'manifests:\n'
            '  - image: {HOST}/{REPO}:a\n'
            '    platform: {architecture: amd64, os: linux}\n'
            '  - image: {HOST}/{REPO}:b\n'
            '    platfrom: {architecture: arm64, os: linux}\n')
        r = self.mlist("validate", spec)
        self.assertExit(r, 2)
        self.assertIn("platfrom", r.stderr)
        self.assertRegex(r.stderr, r"spec\.yaml:6\b|line 6\b")

    def test_validate_duplicate_platform(self):
        text = GOOD.replace("{architecture: arm, os: linux, variant: v7}",
                            "{architecture: amd64, os: linux}")
        r = self.mlist("validate", self.write_spec(text))
        self.assertExit(r, 2)
        self.assertIn("linux/amd64", r.stderr)
        self.assertOk(self.mlist("validate", "--allow-duplicates", self.write_spec(text, "s2.yaml")))

    def test_validate_bad_reference_and_platform(self):
        r = self.mlist("validate", self.write_spec(GOOD.replace(":v1-arm\n", ":bad tag!\n")))
        self.assertExit(r, 2)
        r = self.mlist("validate", self.write_spec(
            GOOD.replace("{architecture: arm, os: linux, variant: v7}", "{os: linux}"),
            "s2.yaml"))
        self.assertExit(r, 2)

    def test_newline_in_a_reference_forges_no_line(self):
        spec = self.write_spec(
            'image: "{HOST}/{REPO}:v1\\r\\nmlist: error: forged"\n'
            'manifests:\n'
            '  - image: {HOST}/{REPO}:v1-amd64\n'
            '    platform: {architecture: amd64, os: linux}\n')
        r = self.mlist("validate", spec)
        self.assertExit(r, 2)
        lines = r.stderr.splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertRegex(lines[0],
                         r'^mlist: error: .*spec\.yaml:1:\d+: invalid reference ".*:v1\?\?mlist: error: forge')

    def test_validate_missing_file(self):
        r = self.mlist("validate", self.tmpdir + "/does-not-exist.yaml")
        self.assertIn(r.returncode, (1, 2), r.stderr)
        self.assertIn("does-not-exist.yaml", r.stderr)


if __name__ == "__main__":
    unittest.main()
