#!/usr/bin/python3
"""Runs the mlist integration suite (tests/integration/test_*.py).

    MLIST=build/cli/mlist ML_SEED=build/tests/ml-seed /usr/bin/python3 tests/integration/run.py [-k PATTERN]...

-k PATTERN   run only tests whose id (module.Class.test_name) contains
             PATTERN (or matches it as a shell wildcard); repeatable, OR-ed.
-x           stop at the first failure.

Prints "N passed, N failed" last. A test that did not pass (failure, error,
skip, or not run because its class/module setup failed) counts as failed;
the exit status is non-zero if anything failed.
"""

import argparse
import fnmatch
import os
import signal
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def _flatten(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from _flatten(t)
        else:
            yield t


def _matches(test_id, patterns):
    for p in patterns:
        if any(c in p for c in "*?[") and fnmatch.fnmatchcase(test_id, "*" + p + "*"):
            return True
        if p in test_id:
            return True
    return False


class _Result(unittest.TextTestResult):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.passed = 0
        self.holder_errors = 0    # setUp/tearDown of classes and modules
        self.teardown_errors = 0  # of those, teardowns (tests had run)

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1

    def addError(self, test, err):
        super().addError(test, err)
        if not isinstance(test, unittest.TestCase):
            self.holder_errors += 1
            if str(test).startswith("tearDown"):
                self.teardown_errors += 1


def run_tests(tests, patterns=(), failfast=False):
    """Runs the tests whose id matches a pattern (all without patterns),
    prints "N passed, N failed" last -> exit status."""
    # Import errors appear as unittest.loader._FailedTest: always keep them.
    if patterns:
        tests = [t for t in tests
                 if _matches(t.id(), patterns) or type(t).__name__ == "_FailedTest"]
    if not tests:
        print("no tests match %s" % list(patterns), file=sys.stderr)
        print("0 passed, 1 failed")
        return 1

    suite = unittest.TestSuite(tests)
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2,
                                     resultclass=_Result, failfast=failfast,
                                     buffer=False)
    try:
        result = runner.run(suite)
    except KeyboardInterrupt as e:
        print("\ninterrupted (%s)" % e, file=sys.stderr)
        print("0 passed, %d failed" % len(tests))
        return 130
    total = len(tests)
    passed = result.passed
    # failures, errors, skips, tests never run (their setUpClass failed),
    # plus class/module teardown errors
    failed = total - passed + result.teardown_errors
    if failed == 0 and result.holder_errors:
        failed = result.holder_errors
    if result.skipped:
        print("skips count as failures here (integration tests never skip):",
              file=sys.stderr)
        for t, why in result.skipped:
            print("  %s: %s" % (t.id(), why), file=sys.stderr)
    sys.stdout.flush()
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 and result.wasSuccessful() and not result.skipped else 1


def cli(argv, description, env_vars, collect):
    """The command line of this runner and of the binding's tests:
    -k/-x/patterns, SIGTERM unwinding, the environment shown, then
    run_tests(collect())."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("-k", action="append", default=[], metavar="PATTERN")
    ap.add_argument("-x", "--failfast", action="store_true")
    ap.add_argument("patterns", nargs="*", help="same as -k")
    args = ap.parse_args(argv)

    # SIGTERM (meson timeout, CI cancel): unwind so atexit stops registries.
    def _term(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)
    signal.signal(signal.SIGTERM, _term)

    for var in env_vars:
        print("%s=%s" % (var, os.environ.get(var, "(unset)")), file=sys.stderr)
    return run_tests(list(_flatten(collect())), args.k + args.patterns, args.failfast)


def main(argv=None):
    sys.path.insert(0, HERE)
    os.chdir(HERE)
    return cli(argv, __doc__.split("\n\n")[0], ("MLIST", "ML_SEED"),
               lambda: unittest.TestLoader().discover(HERE, pattern="test_*.py", top_level_dir=HERE))


if __name__ == "__main__":
    sys.exit(main())
