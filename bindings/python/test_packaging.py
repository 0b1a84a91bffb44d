#!/usr/bin/python3
"""Tests of the Python binding as an installed package: pip-installed into a
venv (offline), installed by `meson install`, and type-checked by mypy
(--strict; skipped, so counted as failed, without python3-mypy).

    MANIFESTLIST_LIB=$PWD/build/lib/libmanifestlist.so.0 ML_SEED=$PWD/build/tests/ml-seed \\
    ML_BUILD_ROOT=$PWD/build MESON=meson \\
        /usr/bin/python3 bindings/python/test_packaging.py [-k PATTERN]... [-x]
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from fixture import MlistTestCase, empty_docker_config, tag_for  # noqa: E402

AMD, ARM = "linux/amd64", "linux/arm64"
SYSTEM_PYTHON = "/usr/bin/python3"


def run(argv, **kw):
    """Runs argv; its output is in the failure message."""
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True, timeout=240, **kw)
    if p.returncode != 0:
        raise AssertionError("%s exited %d:\n%s" % (" ".join(argv), p.returncode, p.stdout))
    return p.stdout


def clean_env(**extra):
    """The environment without anything that points Python at the source
    tree or at a library."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "MANIFESTLIST_LIB", "LD_LIBRARY_PATH")}
    env.update(extra)
    return env


class PipVenvTest(MlistTestCase):

    def test_pip_install_then_push_a_built_spec(self):
        imgs = self.seed_set([AMD, ARM])
        venv = os.path.join(self.tmpdir, "venv")
        # setuptools and wheel come from the system (python3-setuptools)
        run([SYSTEM_PYTHON, "-m", "venv", "--system-site-packages", venv])
        # a copy: setuptools builds inside the source directory
        src = os.path.join(self.tmpdir, "src")
        shutil.copytree(HERE, src, ignore=shutil.ignore_patterns(
            "build", "*.egg-info", "__pycache__"))
        py = os.path.join(venv, "bin", "python")
        run([py, "-m", "pip", "install", "--no-build-isolation", "--no-index", "--quiet", src],
            env=clean_env())
        script = textwrap.dedent("""\
            import json, sys
            import manifestlist as ml
            target, tag, images, config = sys.argv[1:5]
            spec = ml.Spec.new()
            i = spec.add_list(target, tags=[tag])
            for image, platform in json.loads(images):
                spec.add_entry(i, image, platform)
            with ml.Client(plain_http=True, docker_config_dir=config) as c:
                res = c.push(spec)
            print(json.dumps({"file": ml.__file__, "digest": res.digest}))
            """)
        images = [(self.ref(tag_for(p)), p) for p in (AMD, ARM)]
        out = run([py, "-c", script, self.ref("v1"), "latest", json.dumps(images),
                   empty_docker_config()],
                  env=clean_env(MANIFESTLIST_LIB=os.environ["MANIFESTLIST_LIB"]), cwd=self.tmpdir)
        got = json.loads(out.strip().splitlines()[-1])
        pkg = os.path.dirname(got["file"])
        self.assertTrue(pkg.startswith(venv + os.sep), got)
        self.assertTrue(os.path.isfile(os.path.join(pkg, "py.typed")), "type hints marker")
        doc = self.assertListAt("v1", digest=got["digest"])
        self.assertEntries(doc, imgs)
        self.assertListAt("latest", digest=got["digest"])


class MesonInstallTest(unittest.TestCase):

    def setUp(self):
        self.destdir = tempfile.mkdtemp(prefix="ml-destdir-")
        self.addCleanup(shutil.rmtree, self.destdir, True)

    def test_meson_install_puts_the_package_where_python_finds_it(self):
        build = os.environ["ML_BUILD_ROOT"]
        meson = os.environ.get("MESON", "meson")
        run([meson, "install", "-C", build, "--destdir", self.destdir, "--no-rebuild", "--quiet"])
        found = [os.path.join(d, "__init__.py") for d, _, files in os.walk(self.destdir)
                 if os.path.basename(d) == "manifestlist" and "__init__.py" in files]
        self.assertEqual(len(found), 1, found)
        site_dir = os.path.dirname(os.path.dirname(found[0]))
        installed_site = site_dir[len(self.destdir):]
        options = json.loads(run([meson, "introspect", "--buildoptions", build]))
        prefix = next(o["value"] for o in options if o["name"] == "prefix")
        if prefix in ("/usr", "/usr/local"):  # elsewhere only PYTHONPATH can find it
            path = json.loads(run([SYSTEM_PYTHON, "-c", "import json, sys; print(json.dumps(sys.path))"],
                                  env=clean_env()))
            self.assertIn(installed_site, path)
        self.assertTrue(os.path.isfile(os.path.join(site_dir, "manifestlist", "py.typed")))
        script = textwrap.dedent("""\
            import json
            import manifestlist as ml
            spec = ml.Spec.new()
            i = spec.add_list("registry.example.com/app:1")
            spec.add_entry(i, "registry.example.com/app:1-amd64", "Linux/x86_64")
            print(json.dumps({"file": ml.__file__, "lib": ml.library_path(),
                              "version": ml.library_version(), "lists": spec.lists}))
            """)
        out = run([SYSTEM_PYTHON, "-c", script], env=clean_env(PYTHONPATH=site_dir),
                  cwd=self.destdir)
        got = json.loads(out.strip().splitlines()[-1])
        self.assertEqual(got["file"], found[0])
        # the installed copy of the library, not the build's nor a system one
        self.assertTrue(os.path.realpath(got["lib"]).startswith(
            os.path.realpath(self.destdir) + os.sep), got)
        self.assertRegex(got["version"], r"^0\.\d+\.\d+")
        self.assertEqual(got["lists"], [["registry.example.com/app:1", [],
                                         [["registry.example.com/app:1-amd64", "linux/amd64"]]]])


TYPED_USE = """\
import manifestlist as ml

def publish(target: str, images: dict[str, str]) -> str:
    spec = ml.Spec.new()
    i: int = spec.add_list(target, tags=["latest"], annotations={"k": "v"})
    for image, platform in images.items():
        spec.add_entry(i, image, platform, os_features=["win32k"])
    steps: list[tuple[str, int, int]] = []
    with ml.Client(plain_http=True, progress=lambda s, d, t: steps.append((s, d, t)),
                   credentials=lambda registry: ("user", "secret")) as c:
        res: ml.Result = c.push(spec, type="oci")
        with c.inspect(res.target) as m:
            entry: ml.ManifestEntry = m.select("linux/amd64")
        refs: list[ml.Referrer] = c.referrers(res.target)
        problems: list[str] = c.verify(res.target)
        deleted: str = c.delete(res.target)
    return res.digest + entry.digest + str(len(refs) + len(problems)) + deleted
"""

MISTYPED_USE = """\
import manifestlist as ml

spec = ml.Spec.new()
spec.add_entry("0", "registry.example.com/app:1-amd64")
size: str = ml.Client().push(spec).size
"""


class MypyTest(unittest.TestCase):

    def mypy(self, *args):
        """-> (exit status, output) of mypy --strict over args."""
        if subprocess.run([SYSTEM_PYTHON, "-c", "import mypy"],
                          stderr=subprocess.DEVNULL).returncode != 0:
            self.skipTest("mypy is not installed for %s (Debian: python3-mypy)" % SYSTEM_PYTHON)
        tmp = tempfile.mkdtemp(prefix="ml-mypy-")
        self.addCleanup(shutil.rmtree, tmp, True)
        argv = [SYSTEM_PYTHON, "-m", "mypy", "--strict", "--cache-dir", os.path.join(tmp, "cache")]
        for i, a in enumerate(args):
            if a.startswith("import "):  # source text
                path = os.path.join(tmp, "use%d.py" % i)
                with open(path, "w") as f:
                    f.write(a)
                a = path
            argv.append(a)
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True, cwd=HERE, env=clean_env(MYPYPATH=HERE),
                           timeout=240)
        return p.returncode, p.stdout

    def test_the_binding_is_fully_typed(self):
        rc, out = self.mypy("-p", "manifestlist")
        self.assertEqual(rc, 0, out)

    def test_code_using_it_is_checked(self):
        rc, out = self.mypy(TYPED_USE)
        self.assertEqual(rc, 0, out)
        rc, out = self.mypy(MISTYPED_USE)
        self.assertEqual(rc, 1, out)
        self.assertIn('Argument 1 to "add_entry" of "Spec" has incompatible type "str"', out)
        self.assertIn('(expression has type "int", variable has type "str")', out)

if __name__ == "__main__":
    import run as runner  # noqa: E402  (tests/integration is on sys.path)
    sys.exit(runner.cli(None, __doc__.split("\n\n")[0],
                        ("MANIFESTLIST_LIB", "ML_SEED", "ML_BUILD_ROOT", "MESON"),
                        lambda: unittest.TestLoader().loadTestsFromModule(sys.modules[__name__])))
