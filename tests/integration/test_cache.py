"""The config cache: platforms read from image configs are kept by config
digest, so a later run (same images, or other images sharing a config)
reads no config at all, and a damaged entry is only a miss."""

import os

from fixture import MlistTestCase, fresh_cache_dir

AMD, ARM = "linux/amd64", "linux/arm64/v8"


class ConfigCacheTest(MlistTestCase):

    def config_gets(self):
        return [e for e in self.reg.access_log() if e.method == "GET" and "/blobs/" in e.path]

    def run_spec(self, spec, cache, *flags):
        self.reg.reset_access_log()
        r = self.mlist(*flags, "update", spec, env={"XDG_CACHE_HOME": cache})
        self.assertOk(r)
        return self.parse_digest_line(r)[0]

    def test_second_run_reads_no_config(self):
        self.seed_set([AMD, ARM])
        spec = self.spec([AMD, ARM], with_platform=False)
        cache = fresh_cache_dir()
        first = self.run_spec(spec, cache)
        self.assertEqual(len(self.config_gets()), 2)
        entries = os.listdir(os.path.join(cache, "mlist", "configs", "sha256"))
        self.assertEqual(len(entries), 2, entries)
        # by manifest digest too, as second names of the same files (one
        # file per image to create, not two)
        by_manifest = os.listdir(os.path.join(cache, "mlist", "manifests", "sha256"))
        self.assertEqual(len(by_manifest), 2, by_manifest)
        inodes = {os.stat(os.path.join(cache, "mlist", "configs", "sha256", e)).st_ino for e in entries}
        self.assertEqual({os.stat(os.path.join(cache, "mlist", "manifests", "sha256", e)).st_ino
                          for e in by_manifest}, inodes)
        # another target, same images: the platforms come from the cache
        again = self.run_spec(self.spec([AMD, ARM], with_platform=False, target="v2", name="b.yaml"), cache)
        self.assertEqual(self.config_gets(), [])
        self.assertEqual(again, first, "same entries, same list")
        doc = self.assertListAt("v2")
        self.assertEqual(sorted((m["platform"]["architecture"], m["platform"].get("variant"))
                                for m in doc["manifests"]), [("amd64", None), ("arm64", "v8")])

    def test_damaged_entry_is_a_miss_and_no_cache_reads_every_config(self):
        self.seed_set([AMD])
        spec = self.spec([AMD], with_platform=False)
        cache = fresh_cache_dir()
        first = self.run_spec(spec, cache)
        entry_dir = os.path.join(cache, "mlist", "configs", "sha256")
        (entry,) = os.listdir(entry_dir)
        with open(os.path.join(entry_dir, entry), "w") as f:
            f.write('{"os": ')
        second = self.run_spec(self.spec([AMD], with_platform=False, target="v2", name="b.yaml"), cache)
        self.assertEqual(len(self.config_gets()), 1, "a damaged entry must be fetched again")
        self.assertEqual(second, first)
        with open(os.path.join(entry_dir, entry)) as f:
            self.assertIn('"os":"linux"', f.read(), "the entry is written anew")
        self.run_spec(self.spec([AMD], with_platform=False, target="v3", name="c.yaml"), cache, "--no-cache")
        self.assertEqual(len(self.config_gets()), 1)
        self.run_spec(self.spec([AMD], with_platform=False, target="v4", name="d.yaml"), cache,
                      "--cache-dir", os.path.join(self.tmpdir, "elsewhere"))
        self.assertEqual(len(self.config_gets()), 1)
        self.assertTrue(os.path.isdir(os.path.join(self.tmpdir, "elsewhere", "configs")))

    def test_verify_always_reads_configs(self):
        """verify checks configs against entries: it must not trust the cache."""
        self.seed_set([AMD])
        cache = fresh_cache_dir()
        self.run_spec(self.spec([AMD], with_platform=False), cache)
        self.reg.reset_access_log()
        self.assertOk(self.mlist("verify", self.ref("v1"), env={"XDG_CACHE_HOME": cache}))
        self.assertEqual(len(self.config_gets()), 1)


if __name__ == "__main__":
    import unittest
    unittest.main()
