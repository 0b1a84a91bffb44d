"""Interop: skopeo and the docker CLI read what mlist pushed (DESIGN §6).
A missing skopeo or docker is a FAILURE, never a skip."""

import hashlib
import json
import os
import unittest

from fixture import (DOCKER_LIST, OCI_INDEX, MlistTestCase, describe,
                     empty_docker_config, require_binary, run_tool,
                     sha256_digest, _isolated_env)

AMD, ARM = "linux/amd64", "linux/arm64"


class InteropTest(MlistTestCase):

    def tool_env(self):
        return _isolated_env(docker_config=empty_docker_config())

    def push_list(self, tag="v1", type_=None, oci=()):
        imgs = self.seed_set([AMD, ARM], oci=oci)
        args = ["create"] + (["--type", type_] if type_ else []) + [
            self.spec([AMD, ARM], target=tag, name=tag + ".yaml")]
        r = self.mlist(*args)
        self.assertOk(r)
        digest, size = self.parse_digest_line(r)
        _, _, body = self.reg.get_manifest(self.repo, tag)
        self.assertEqual(sha256_digest(body), digest)
        return digest, body, imgs

    def test_skopeo_inspect_raw(self):
        skopeo = require_binary("skopeo")
        for tag, type_ in (("v1", None), ("v2", "oci")):
            with self.subTest(type=type_ or "default"):
                digest, body, _ = self.push_list(tag, type_)
                r = run_tool([skopeo, "inspect", "--raw", "--tls-verify=false",
                              "docker://%s/%s:%s" % (self.reg.host, self.repo, tag)],
                             env=self.tool_env(), text=False)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout, body)
                self.assertEqual(json.loads(r.stdout)["mediaType"],
                                 OCI_INDEX if type_ == "oci" else DOCKER_LIST)

    def test_skopeo_copy_override_arch(self):
        skopeo = require_binary("skopeo")
        _, _, imgs = self.push_list()
        for arch, plat in (("arm64", ARM), ("amd64", AMD)):
            with self.subTest(arch=arch):
                dest = os.path.join(self.tmpdir, "copy-" + arch)
                r = run_tool([skopeo, "copy", "--override-os", "linux", "--override-arch", arch,
                              "--src-tls-verify=false", "--dest-tls-verify=false",
                              "docker://%s/%s:v1" % (self.reg.host, self.repo), "dir:" + dest],
                             env=self.tool_env())
                self.assertEqual(r.returncode, 0, describe(r))
                with open(os.path.join(dest, "manifest.json"), "rb") as f:
                    got = "sha256:" + hashlib.sha256(f.read()).hexdigest()
                self.assertEqual(got, imgs[plat].digest, "skopeo picked the wrong child")

    def test_docker_manifest_inspect(self):
        docker = require_binary("docker")
        _, body, imgs = self.push_list()
        pushed = json.loads(body)
        r = run_tool([docker, "manifest", "inspect", "--insecure",
                      "%s/%s:v1" % (self.reg.host, self.repo)], env=self.tool_env())
        self.assertEqual(r.returncode, 0, describe(r))
        doc = json.loads(r.stdout)
        self.assertEqual(doc["mediaType"], DOCKER_LIST)
        self.assertEqual([m["digest"] for m in doc["manifests"]],
                         [m["digest"] for m in pushed["manifests"]])
        self.assertEqual(sorted(m["digest"] for m in doc["manifests"]),
                         sorted(i.digest for i in imgs.values()))
        self.assertEqual([m["platform"] for m in doc["manifests"]],
                         [m["platform"] for m in pushed["manifests"]])

    def test_skopeo_copy_from_mlist_cross_repo_list(self):
        """The copied-in children are complete: skopeo can copy the whole
        list (--all) from the target repository."""
        skopeo = require_binary("skopeo")
        src = self.repo + "-src"
        imgs = self.seed_set([AMD, ARM], repo=src)
        self.assertOk(self.mlist("create", self.spec([AMD, ARM], repo=src)))
        dest = os.path.join(self.tmpdir, "all")
        r = run_tool([skopeo, "copy", "--all", "--src-tls-verify=false",
                      "docker://%s/%s:v1" % (self.reg.host, self.repo), "dir:" + dest],
                     env=self.tool_env())
        self.assertEqual(r.returncode, 0, describe(r))
        names = os.listdir(dest)
        for img in imgs.values():
            self.assertIn(img.digest.split(":")[1] + ".manifest.json", names,
                          "child %s not copied" % img.digest)

if __name__ == "__main__":
    unittest.main()
