"""Python binding of libmanifestlist (ctypes, no compiled extension).

Publishes multi-platform container images as a Docker manifest list or an
OCI image index::

    import manifestlist as ml

    spec = ml.Spec.parse_file("app.yaml")
    # or without YAML: the same normalisation and checks
    spec = ml.Spec.new()
    i = spec.add_list("registry.example.com/app:1.2", tags=["latest"])
    spec.add_entry(i, "registry.example.com/app:1.2-amd64", "linux/amd64")
    spec.add_entry(i, "registry.example.com/app:1.2-arm64")  # platform from the config
    with ml.Client(plain_http=True) as client:
        res = client.push(spec)
        print(res.digest, res.size, res.up_to_date)
        m = client.inspect(res.target)
        print(m.select("linux/arm64").digest)
        for r in client.referrers(m):      # signatures, SBOMs of the entries
            print(r.subject, r.artifact_type, r.digest)

References may be registry references or OCI image layout directories,
"oci:PATH[:TAG]" or "oci:PATH@DIGEST", wherever a reference goes (push
targets, spec sources, inspect, referrers, verify, delete, edit).

Library lookup: $MANIFESTLIST_LIB (a path) first, then the library
`meson install` installed with this package, then
ctypes.util.find_library("manifestlist"), then "libmanifestlist.so.0". The
library is loaded on first use; its ml_version() must have the major
version this module was written for (EXPECTED_MAJOR).

Thread safety (from manifestlist.h): distinct objects may be used from
different threads at the same time. One ml_client is used by one thread at a
time; this module serialises the calls on a Client with a lock, so a Client
may be shared between Python threads (calls run one after the other; use one
Client per thread for parallel work). A Spec nobody adds to any more is
read-only and may be shared; do not close() it while another thread pushes
it. ctypes releases the GIL during every library call; the log, progress and
credential callbacks run on the thread that made the call and take the GIL
again.

Memory: every `char *` the library returns is copied into a Python str and
released with ml_free; every ml_error is released with ml_error_free; handles
are released by close() / the context managers, and by __del__ as a safety
net.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import importlib
import json
import logging
import os
import threading
import warnings
from typing import (Any, Callable, Dict, Iterable, Iterator, List, Mapping, NamedTuple,
                    NoReturn, Optional, Tuple, TypeVar, Union)

__all__ = [
    "ManifestListError", "Client", "Spec", "SpecList", "SpecEntry",
    "Result", "Tag", "Manifest", "ManifestEntry", "Referrer", "VerifyReport",
    "normalize_ref", "normalize_platform", "library_version", "strerror",
    "CODE_NAMES", "LOG_DEBUG", "LOG_INFO", "LOG_WARN",
    "StrPath", "LogCallback", "Credentials", "CredentialsCallback", "ProgressCallback",
]

__version__ = "0.1.0"

# What the public functions take (and give to callbacks).
StrPath = Union[str, bytes, "os.PathLike[str]"]
Strings = Union[str, bytes, Iterable[Union[str, bytes]]]
Annotations = Mapping[str, str]
LogCallback = Callable[[int, str], object]
# -> None (anonymous), (username, secret) or (username, secret, identity_token)
Credentials = Union[None, Tuple[str, str], Tuple[str, str, bool]]
CredentialsCallback = Callable[[str], Credentials]
ProgressCallback = Callable[[str, int, int], object]

# The header this module mirrors.
EXPECTED_MAJOR = 0
EXPECTED_MINOR = 1
SPEC_OPTIONS_VERSION = 2
CLIENT_OPTIONS_VERSION = 3
PUSH_OPTIONS_VERSION = 1

# ---- constants (manifestlist.h) -------------------------------------------

# Result codes: append-only in the header, never renumbered.
ML_OK = 0
ML_ENOMEM = -1        # out of memory
ML_EINVAL = -2        # invalid argument from the caller
ML_ESPEC = -3         # spec file is invalid
ML_EREF = -4          # invalid image reference
ML_EPLATFORM = -5     # invalid platform
ML_EMANIFEST = -6     # invalid or unsupported manifest JSON
ML_EDIGEST = -7       # digest invalid or not matching the content
ML_EHTTP = -8         # the registry answered with an error
ML_ENET = -9          # connection, TLS or timeout failure
ML_EAUTH = -10        # authentication or authorization failed
ML_ENOTFOUND = -11    # manifest, blob or repository not found
ML_EEXISTS = -12      # the target tag exists already
ML_ENOTLIST = -13     # a list operation met a single image
ML_ECONFLICT = -14    # the tag was changed concurrently
ML_EUNSUPPORTED = -15  # the registry does not support the operation
ML_ETOOBIG = -16      # a response exceeded its size limit
ML_EIO = -17          # local file error
ML_ETYPE = -18        # list type cannot hold an entry or feature
ML_EDUPLICATE = -19   # two entries with the same platform

# {code: "ML_E..."}
CODE_NAMES = {v: k for k, v in sorted(globals().items())
              if k == "ML_OK" or (k.startswith("ML_E") and isinstance(v, int))}
__all__ += sorted(CODE_NAMES.values())

LOG_DEBUG, LOG_INFO, LOG_WARN = 0, 1, 2

# ML_HINT_* bits: what the caller could do about an error, named after this
# binding's keyword arguments.
_HINTS = {1 << 0: "force", 1 << 1: "update", 1 << 2: "allow_duplicates", 1 << 3: "type_oci",
          1 << 4: "no_attestations", 1 << 5: "trust_ca", 1 << 6: "credentials",
          1 << 7: "trust_platforms", 1 << 8: "https", 1 << 9: "plain_http"}
# ML_AUTH_*: why authentication failed.
_AUTH_REASONS = {1: "no_credentials", 2: "rejected", 3: "denied"}

_SPEC_NO_NORMALIZE = 1 << 0
_SPEC_ALLOW_DUPLICATES = 1 << 1
_CLIENT_INSECURE = 1 << 0
_CLIENT_PLAIN_HTTP = 1 << 1
_TYPE_AUTO, _TYPE_DOCKER, _TYPE_OCI = 0, 1, 2
_PUSH_FORCE = 1 << 0
_PUSH_CREATE = 1 << 1
_PUSH_IGNORE_MISSING = 1 << 2
_PUSH_DRY_RUN = 1 << 3
_PUSH_PURGE = 1 << 4
_PUSH_NO_ATTESTATIONS = 1 << 5
_PUSH_REFERRERS = 1 << 6
_PUSH_TRUST_PLATFORMS = 1 << 7
_DELETE_FORCE = 1 << 0
_UINT32_MAX = 0xFFFFFFFF

# ---- C types -----------------------------------------------------------------

c_int, c_uint32, c_int64 = ctypes.c_int, ctypes.c_uint32, ctypes.c_int64
c_size_t, c_char_p, c_void_p = ctypes.c_size_t, ctypes.c_char_p, ctypes.c_void_p
P = ctypes.POINTER


class _Opaque(ctypes.Structure):
    _fields_: List[Tuple[str, Any]] = []


class _Error(_Opaque): pass          # ml_error
class _SpecH(_Opaque): pass          # ml_spec
class _ClientH(_Opaque): pass        # ml_client
class _ListH(_Opaque): pass          # ml_list
class _ResultH(_Opaque): pass        # ml_result
class _ManifestH(_Opaque): pass      # ml_manifest
class _CredentialH(_Opaque): pass    # ml_credential
class _ReportH(_Opaque): pass        # ml_report
class _ReferrersH(_Opaque): pass     # ml_referrers


# typedef void (*ml_log_fn)(int level, const char *message, void *payload);
_LOG_FN = ctypes.CFUNCTYPE(None, c_int, c_char_p, c_void_p)
# typedef int (*ml_credential_fn)(const char *registry, ml_credential *, void *);
_CRED_FN = ctypes.CFUNCTYPE(c_int, c_char_p, P(_CredentialH), c_void_p)
# typedef void (*ml_progress_fn)(const char *step, uint64_t done, uint64_t total, void *);
_PROGRESS_FN = ctypes.CFUNCTYPE(None, c_char_p, ctypes.c_uint64, ctypes.c_uint64, c_void_p)


class _SpecOptions(ctypes.Structure):
    """struct ml_spec_options (ML_SPEC_OPTIONS_VERSION 2; variables are not offered)."""
    _fields_ = [
        ("version", c_uint32),
        ("flags", c_uint32),
        ("variables", ctypes.c_void_p),
        ("variable_count", ctypes.c_size_t),
    ]


class _ClientOptions(ctypes.Structure):
    """struct ml_client_options (ML_CLIENT_OPTIONS_VERSION 3)."""
    _fields_ = [
        ("version", c_uint32),
        ("flags", c_uint32),
        ("concurrency", c_uint32),
        ("retries", c_uint32),
        ("timeout_ms", c_uint32),
        ("ca_cert", c_char_p),
        ("username", c_char_p),
        ("password", c_char_p),
        ("docker_config_dir", c_char_p),
        ("auth_file", c_char_p),
        ("user_agent", c_char_p),
        ("log", _LOG_FN),
        ("log_payload", c_void_p),
        ("credentials", _CRED_FN),
        ("credentials_payload", c_void_p),
        ("progress", _PROGRESS_FN),
        ("progress_payload", c_void_p),
        ("cache_dir", c_char_p),  # version 2
        ("progress_event", c_void_p),  # version 3: not offered
        ("progress_event_payload", c_void_p),
        ("certs_dirs", c_char_p),
    ]


class _PushOptions(ctypes.Structure):
    """struct ml_push_options (ML_PUSH_OPTIONS_VERSION 1)."""
    _fields_ = [
        ("version", c_uint32),
        ("flags", c_uint32),
        ("type", c_uint32),
        ("annotations", P(c_char_p)),
        ("annotation_count", c_size_t),
    ]


# name: (restype, argtypes). Borrowed `const char *` results are c_char_p
# (ctypes copies them to bytes at once); owned `char *` come back through
# `char **` out-parameters typed P(c_void_p) so the pointer survives for
# ml_free. Byte buffers with a length are c_void_p + string_at.
_PROTOS = {
    "ml_version": (c_char_p, []),
    "ml_strerror": (c_char_p, [c_int]),
    "ml_free": (None, [c_void_p]),
    "ml_global_init": (c_int, []),
    "ml_global_cleanup": (None, []),

    "ml_error_code": (c_int, [P(_Error)]),
    "ml_error_message": (c_char_p, [P(_Error)]),
    "ml_error_http_status": (c_int, [P(_Error)]),
    "ml_error_registry_code": (c_char_p, [P(_Error)]),
    "ml_error_file": (c_char_p, [P(_Error)]),
    "ml_error_line": (c_int, [P(_Error)]),
    "ml_error_column": (c_int, [P(_Error)]),
    "ml_error_hints": (c_uint32, [P(_Error)]),
    "ml_error_auth_reason": (c_int, [P(_Error)]),
    "ml_error_free": (None, [P(_Error)]),

    "ml_ref_normalize": (c_int, [c_char_p, P(c_void_p), P(P(_Error))]),
    "ml_platform_normalize": (c_int, [c_char_p, P(c_void_p), P(P(_Error))]),

    "ml_spec_options_init": (c_int, [P(_SpecOptions), c_uint32]),
    "ml_spec_parse_file": (c_int, [P(P(_SpecH)), c_char_p, P(_SpecOptions), P(P(_Error))]),
    "ml_spec_parse_buffer": (c_int, [P(P(_SpecH)), c_char_p, c_size_t, c_char_p,
                                     P(_SpecOptions), P(P(_Error))]),
    "ml_spec_free": (None, [P(_SpecH)]),
    "ml_spec_list_count": (c_size_t, [P(_SpecH)]),
    "ml_spec_target": (c_char_p, [P(_SpecH), c_size_t]),
    "ml_spec_tag_count": (c_size_t, [P(_SpecH), c_size_t]),
    "ml_spec_tag": (c_char_p, [P(_SpecH), c_size_t, c_size_t]),
    "ml_spec_entry_count": (c_size_t, [P(_SpecH), c_size_t]),
    "ml_spec_entry_image": (c_char_p, [P(_SpecH), c_size_t, c_size_t]),
    "ml_spec_entry_platform": (c_int, [P(_SpecH), c_size_t, c_size_t, P(c_void_p),
                                       P(P(_Error))]),
    "ml_spec_warning_count": (c_size_t, [P(_SpecH)]),
    "ml_spec_warning": (c_char_p, [P(_SpecH), c_size_t]),
    "ml_spec_to_json": (c_int, [P(_SpecH), P(c_void_p), P(P(_Error))]),
    # The spec builder (symbol node MANIFESTLIST_0.2).
    "ml_spec_new": (c_int, [P(P(_SpecH)), P(_SpecOptions), P(P(_Error))]),
    "ml_spec_add_list": (c_int, [P(_SpecH), c_char_p, P(c_size_t), P(P(_Error))]),
    "ml_spec_add_tag": (c_int, [P(_SpecH), c_size_t, c_char_p, P(P(_Error))]),
    "ml_spec_list_annotate": (c_int, [P(_SpecH), c_size_t, c_char_p, c_char_p, P(P(_Error))]),
    "ml_spec_add_entry": (c_int, [P(_SpecH), c_size_t, c_char_p, c_char_p, P(c_size_t),
                                  P(P(_Error))]),
    "ml_spec_entry_set_os_version": (c_int, [P(_SpecH), c_size_t, c_size_t, c_char_p,
                                             P(P(_Error))]),
    "ml_spec_entry_add_os_feature": (c_int, [P(_SpecH), c_size_t, c_size_t, c_char_p,
                                             P(P(_Error))]),
    "ml_spec_entry_annotate": (c_int, [P(_SpecH), c_size_t, c_size_t, c_char_p, c_char_p,
                                       P(P(_Error))]),
    "ml_spec_check": (c_int, [P(_SpecH), P(P(_Error))]),

    "ml_credential_set": (c_int, [P(_CredentialH), c_char_p, c_char_p, c_int]),
    "ml_client_options_init": (c_int, [P(_ClientOptions), c_uint32]),
    "ml_client_new": (c_int, [P(P(_ClientH)), P(_ClientOptions), P(P(_Error))]),
    "ml_client_free": (None, [P(_ClientH)]),

    "ml_push_options_init": (c_int, [P(_PushOptions), c_uint32]),
    "ml_list_build": (c_int, [P(P(_ListH)), P(_ClientH), P(_SpecH), c_size_t,
                              P(_PushOptions), P(P(_Error))]),
    "ml_list_free": (None, [P(_ListH)]),
    "ml_list_bytes": (c_void_p, [P(_ListH), P(c_size_t)]),
    "ml_list_digest": (c_char_p, [P(_ListH)]),
    "ml_list_media_type": (c_char_p, [P(_ListH)]),
    "ml_list_warning_count": (c_size_t, [P(_ListH)]),
    "ml_list_warning": (c_char_p, [P(_ListH), c_size_t]),
    "ml_list_push": (c_int, [P(_ListH), P(_ClientH), P(_PushOptions), P(P(_ResultH)),
                             P(P(_Error))]),
    "ml_list_edit": (c_int, [P(_ClientH), c_char_p, P(c_char_p), c_size_t, P(c_char_p),
                             c_size_t, P(_PushOptions), P(P(_ResultH)), P(P(_Error))]),
    "ml_list_edit_spec": (c_int, [P(_ClientH), P(_SpecH), c_size_t, P(c_char_p), c_size_t,
                                  P(_PushOptions), P(P(_ResultH)), P(P(_Error))]),

    "ml_result_free": (None, [P(_ResultH)]),
    "ml_result_target": (c_char_p, [P(_ResultH)]),
    "ml_result_digest": (c_char_p, [P(_ResultH)]),
    "ml_result_size": (c_int64, [P(_ResultH)]),
    "ml_result_up_to_date": (c_int, [P(_ResultH)]),
    "ml_result_plan_count": (c_size_t, [P(_ResultH)]),
    "ml_result_plan": (c_char_p, [P(_ResultH), c_size_t]),
    "ml_result_tag_count": (c_size_t, [P(_ResultH)]),
    "ml_result_tag": (c_char_p, [P(_ResultH), c_size_t]),
    "ml_result_tag_moved": (c_int, [P(_ResultH), c_size_t]),
    "ml_result_referrers_copied": (c_size_t, [P(_ResultH)]),
    "ml_result_change_count": (c_size_t, [P(_ResultH)]),
    "ml_result_change": (c_char_p, [P(_ResultH), c_size_t]),
    "ml_result_to_json": (c_int, [P(_ResultH), P(c_void_p), P(P(_Error))]),

    "ml_manifest_fetch": (c_int, [P(P(_ManifestH)), P(_ClientH), c_char_p, P(P(_Error))]),
    "ml_manifest_free": (None, [P(_ManifestH)]),
    "ml_manifest_ref": (c_char_p, [P(_ManifestH)]),
    "ml_manifest_digest": (c_char_p, [P(_ManifestH)]),
    "ml_manifest_media_type": (c_char_p, [P(_ManifestH)]),
    "ml_manifest_bytes": (c_void_p, [P(_ManifestH), P(c_size_t)]),
    "ml_manifest_is_list": (c_int, [P(_ManifestH)]),
    "ml_manifest_entry_count": (c_size_t, [P(_ManifestH)]),
    "ml_manifest_entry_digest": (c_char_p, [P(_ManifestH), c_size_t]),
    "ml_manifest_entry_media_type": (c_char_p, [P(_ManifestH), c_size_t]),
    "ml_manifest_entry_size": (c_int64, [P(_ManifestH), c_size_t]),
    "ml_manifest_entry_platform": (c_char_p, [P(_ManifestH), c_size_t]),
    "ml_manifest_select": (c_int, [P(_ManifestH), c_char_p, P(c_size_t), P(P(_Error))]),
    "ml_manifest_to_json": (c_int, [P(_ManifestH), P(c_void_p), P(P(_Error))]),

    "ml_referrers_fetch": (c_int, [P(P(_ReferrersH)), P(_ClientH), P(_ManifestH),
                                   P(P(_Error))]),
    "ml_referrers_free": (None, [P(_ReferrersH)]),
    "ml_referrers_count": (c_size_t, [P(_ReferrersH)]),
    "ml_referrers_subject": (c_char_p, [P(_ReferrersH), c_size_t]),
    "ml_referrers_digest": (c_char_p, [P(_ReferrersH), c_size_t]),
    "ml_referrers_media_type": (c_char_p, [P(_ReferrersH), c_size_t]),
    "ml_referrers_artifact_type": (c_char_p, [P(_ReferrersH), c_size_t]),
    "ml_referrers_size": (c_int64, [P(_ReferrersH), c_size_t]),
    "ml_referrers_to_json": (c_int, [P(_ReferrersH), P(c_void_p), P(P(_Error))]),

    "ml_verify": (c_int, [P(P(_ReportH)), P(_ClientH), c_char_p, P(P(_Error))]),
    "ml_report_free": (None, [P(_ReportH)]),
    "ml_report_problem_count": (c_size_t, [P(_ReportH)]),
    "ml_report_problem": (c_char_p, [P(_ReportH), c_size_t]),
    "ml_report_to_json": (c_int, [P(_ReportH), P(c_void_p), P(P(_Error))]),

    "ml_delete": (c_int, [P(_ClientH), c_char_p, c_uint32, P(c_void_p), P(P(_Error))]),
}

# Declared in manifestlist.h but not exported by early 0.1.0 builds (it was
# missing from lib/manifestlist.sym). Without it a credentials callback
# cannot store anything, so Client(credentials=...) refuses clearly.
# The spec builder came later (MANIFESTLIST_0.2): without it Spec.new()
# refuses, parsing still works.
_BUILDER = frozenset({
    "ml_spec_new", "ml_spec_add_list", "ml_spec_add_tag", "ml_spec_list_annotate",
    "ml_spec_add_entry", "ml_spec_entry_set_os_version", "ml_spec_entry_add_os_feature",
    "ml_spec_entry_annotate", "ml_spec_check"})
_OPTIONAL = {"ml_credential_set"} | _BUILDER

# ---- loading -------------------------------------------------------------------

_lib_handle = None
_lib_lock = threading.Lock()


def _installed_library() -> Optional[str]:
    """The library `meson install` put beside this package: it writes
    _libpath.py then (a pip install has none)."""
    try:  # by name: type checkers do not look for a module made at install
        libpath = importlib.import_module(__name__ + "._libpath")
    except ImportError:
        return None
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), str(libpath.LIBRARY))


def _candidates() -> List[str]:
    env = os.environ.get("MANIFESTLIST_LIB")
    if env:
        return [env]  # explicit: no silent fallback to another copy
    found = ctypes.util.find_library("manifestlist")
    return [c for c in (_installed_library(), found, "libmanifestlist.so.0") if c]


def _load() -> Any:
    errors = []
    for name in _candidates():
        try:
            lib: Any = ctypes.CDLL(name)
            break
        except OSError as e:
            errors.append("%s: %s" % (name, e))
    else:
        raise ImportError("cannot load libmanifestlist (set MANIFESTLIST_LIB to "
                          "the library's path): " + "; ".join(errors))
    missing = []
    for fname, (restype, argtypes) in _PROTOS.items():
        try:
            fn = getattr(lib, fname)
        except AttributeError:
            if fname in _OPTIONAL:
                missing.append(fname)
                continue
            raise ImportError("libmanifestlist at %s lacks %s (too old?)"
                              % (lib._name, fname)) from None
        fn.restype = restype
        fn.argtypes = argtypes
    version = (lib.ml_version() or b"").decode("ascii", "replace")
    try:
        major, minor = (int(x) for x in version.split(".")[:2])
    except ValueError:
        raise ImportError("libmanifestlist at %s reports version %r"
                          % (lib._name, version)) from None
    if major != EXPECTED_MAJOR or minor < EXPECTED_MINOR:
        raise ImportError("libmanifestlist %s at %s does not match this binding "
                          "(needs %d.x with x >= %d)"
                          % (version, lib._name, EXPECTED_MAJOR, EXPECTED_MINOR))
    lib.ml_missing = frozenset(missing)
    return lib


def _lib() -> Any:
    global _lib_handle
    lib = _lib_handle
    if lib is None:
        with _lib_lock:
            if _lib_handle is None:
                _lib_handle = _load()
            lib = _lib_handle
    return lib


def library_version() -> str:
    """The loaded library's ml_version(), e.g. "0.1.0"."""
    return str(_lib().ml_version().decode())


def library_path() -> str:
    """The name/path the library was loaded from."""
    return str(_lib()._name)


def strerror(code: int) -> str:
    """ml_strerror(code): static description of a result code."""
    return str(_lib().ml_strerror(int(code)).decode("utf-8", "replace"))


# ---- helpers ---------------------------------------------------------------------

def _s(b: Optional[bytes]) -> Optional[str]:
    """Borrowed const char * (already bytes via c_char_p) -> str or None."""
    return None if b is None else b.decode("utf-8", "replace")


def _str(b: Optional[bytes]) -> str:
    """A `const char *` the library does not leave NULL -> str."""
    return _s(b) or ""


def _enc(s: Optional[StrPath], what: str = "argument") -> Optional[bytes]:
    """str/bytes/PathLike -> bytes for a `const char *` parameter (None stays)."""
    if s is None:
        return None
    if isinstance(s, bytes):
        b = s
    elif isinstance(s, str):
        b = s.encode("utf-8")
    elif isinstance(s, os.PathLike):
        b = os.fsencode(s)
    else:
        raise TypeError("%s must be str, bytes or a path, not %s" % (what, type(s).__name__))
    if b"\0" in b:
        raise ValueError("%s contains a NUL byte" % what)
    return b


def _take_string(lib: Any, ptr: ctypes.c_void_p) -> Optional[str]:
    """Owned `char *` (c_void_p) -> str; always ml_free'd."""
    if not ptr.value:
        return None
    try:
        return ctypes.string_at(ptr.value).decode("utf-8", "replace")
    finally:
        lib.ml_free(ptr)
        ptr.value = None


def _c_array(items: Optional[Strings], what: str) -> Tuple[Any, int]:
    """A `const char *const *` array (ctypes keeps the bytes alive) and its
    length; (None, 0) for no items."""
    if items is None:
        return None, 0
    if isinstance(items, (str, bytes)):
        items = [items]
    enc = [_enc(x, what) for x in items]
    if not enc:
        return None, 0
    return (c_char_p * len(enc))(*enc), len(enc)


# ---- errors --------------------------------------------------------------------------

class ManifestListError(Exception):
    """A failed library call.

    code           negative ML_E* result code (compare with ML_EEXISTS, ...)
    code_name      "ML_EEXISTS", ...
    message        the full message with context (ml_error_message)
    http_status    HTTP status of the failing registry answer, or 0
    registry_code  registry error code ("MANIFEST_UNKNOWN") or None
    file, line, column   spec errors: file name and 1-based position
    hints          what could be done about it: a frozenset of "force",
                   "update", "allow_duplicates", "type_oci",
                   "no_attestations", "trust_ca", "credentials",
                   "trust_platforms" (the image config contradicts the
                   given platform), "https" (leave plain_http off),
                   "plain_http"
    auth_reason    ML_EAUTH: "no_credentials", "rejected" or "denied"; else None
    result         push/edit failures: a Result describing what happened
                   (tags moved before the failure...), or None
    """

    def __init__(self, code: int, message: Optional[str] = None, http_status: int = 0,
                 registry_code: Optional[str] = None, file: Optional[str] = None,
                 line: int = 0, column: int = 0, result: Optional[Result] = None,
                 hints: int = 0, auth_reason: int = 0) -> None:
        self.code = code
        self.code_name = CODE_NAMES.get(code, "ML_E(%d)" % code)
        if message is None:
            try:
                message = strerror(code)
            except ImportError:
                message = self.code_name
        self.message = message
        self.http_status = http_status
        self.registry_code = registry_code
        self.file = file
        self.line = line
        self.column = column
        self.result = result
        self.hints = frozenset(name for bit, name in _HINTS.items() if hints & bit)
        self.auth_reason: Optional[str] = _AUTH_REASONS.get(auth_reason)
        super().__init__(message)

    def __str__(self) -> str:
        return "%s (%s)" % (self.message, self.code_name)

    def __repr__(self) -> str:
        return "ManifestListError(%s, %r)" % (self.code_name, self.message)


def _null(ptr: Any) -> None:
    """Sets a ctypes pointer object to NULL in place (after its object was
    freed), so a later `if ptr: free(ptr)` cannot free it twice."""
    ctypes.memset(ctypes.addressof(ptr), 0, ctypes.sizeof(ptr))


def _free_error(lib: Any, err: Any) -> None:
    if err:
        lib.ml_error_free(err)
        _null(err)


def _error_from(lib: Any, rc: int, err: Any) -> ManifestListError:
    """Builds the exception from an ml_error (may be NULL); frees it and
    NULLs the pointer."""
    if not err:
        return ManifestListError(rc)
    try:
        code = lib.ml_error_code(err)
        return ManifestListError(
            code if code else rc,
            message=_s(lib.ml_error_message(err)),
            http_status=lib.ml_error_http_status(err),
            registry_code=_s(lib.ml_error_registry_code(err)),
            file=_s(lib.ml_error_file(err)),
            line=lib.ml_error_line(err),
            column=lib.ml_error_column(err),
            hints=lib.ml_error_hints(err),
            auth_reason=lib.ml_error_auth_reason(err))
    finally:
        _free_error(lib, err)


def _check(lib: Any, rc: int, err: Any) -> None:
    """Raises for rc != ML_OK; frees err either way."""
    if rc == ML_OK:
        _free_error(lib, err)
        return
    raise _error_from(lib, rc, err)


def _init_options(lib: Any, fn: Any, struct: Any, version: int) -> Any:
    o = struct()
    rc = fn(ctypes.byref(o), version)
    if rc != ML_OK:
        raise ManifestListError(rc, "%s(version %d) refused by library %s"
                                % (fn.__name__, version, library_version()))
    return o


# ---- references and platforms ---------------------------------------------------------

def _normalize(fname: str, value: StrPath) -> str:
    lib = _lib()
    out = c_void_p()
    err = P(_Error)()
    rc = getattr(lib, fname)(_enc(value), ctypes.byref(out), ctypes.byref(err))
    try:
        _check(lib, rc, err)
    finally:
        s = _take_string(lib, out)
    return s or ""


def normalize_ref(ref: str) -> str:
    """"alpine" -> "docker.io/library/alpine" (tag and/or digest kept).
    Raises ManifestListError (ML_EREF) for an invalid reference."""
    return _normalize("ml_ref_normalize", ref)


def normalize_platform(platform: str) -> str:
    """"Linux/x86_64" -> "linux/amd64", "linux/armhf" -> "linux/arm/v7".
    Raises ManifestListError (ML_EPLATFORM) for an invalid platform."""
    return _normalize("ml_platform_normalize", platform)


# ---- specs ---------------------------------------------------------------------------------

class SpecEntry(NamedTuple):
    """One entry: normalised image reference, and the platform for display
    ("os/arch[/variant]", "os(version+feature)/arch" with an OS version or
    features, then " features=x,y" where set), or None when it comes from
    the image config."""
    image: str
    platform: Optional[str]


class SpecList(NamedTuple):
    """One list (YAML document): normalised target, extra tags, entries."""
    target: str
    tags: List[str]
    entries: List[SpecEntry]


_H = TypeVar("_H", bound="_Handle")


class _Handle:
    """Owns one library handle (self._h), freed by the function named in
    _FREE: on close(), at the end of a with block, or when collected."""
    _FREE = ""
    _h: Any

    def close(self) -> None:
        h, self._h = getattr(self, "_h", None), None
        if h:
            getattr(_lib(), self._FREE)(h)

    def __enter__(self: _H) -> _H:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


class Spec(_Handle):
    """A spec: parsed from YAML (manifest-tool format or the original
    proposal's) with parse()/parse_file(), or built with new(), add_list()
    and add_entry(). A built spec is normalised and checked as a parsed one.
    A multi-document file holds several lists: .lists[i] is pushed with
    client.push(spec, index=i).

    Attributes: lists [SpecList], warnings [str]; they stay readable after
    close(). A spec nobody adds to any more may be shared between threads.
    Free the C object with close() or `with`; __del__ does it otherwise."""
    _lists: Optional[List[SpecList]]  # None: read again when next used
    _warnings: Optional[List[str]]

    def __init__(self, _handle: Any) -> None:
        if not isinstance(_handle, P(_SpecH)) or not _handle:
            raise TypeError("use Spec.parse(), Spec.parse_file() or Spec.new()")
        self._h = _handle
        try:
            self._read()
        except BaseException:
            self.close()
            raise

    def _read(self) -> Tuple[List[SpecList], List[str]]:
        lib, h = _lib(), self._handle()
        lists = self._read_lists()
        found = [_str(lib.ml_spec_warning(h, i)) for i in range(lib.ml_spec_warning_count(h))]
        self._lists, self._warnings = lists, found
        return lists, found

    @property
    def lists(self) -> List[SpecList]:
        return self._lists if self._lists is not None else self._read()[0]

    @property
    def warnings(self) -> List[str]:
        return self._warnings if self._warnings is not None else self._read()[1]

    def close(self) -> None:
        if getattr(self, "_h", None) and getattr(self, "_lists", 0) is None:
            self._read()  # what was added last stays readable
        super().close()

    @staticmethod
    def _options(no_normalize: bool, allow_duplicates: bool) -> Any:
        lib = _lib()
        o = _init_options(lib, lib.ml_spec_options_init, _SpecOptions, SPEC_OPTIONS_VERSION)
        o.flags = ((_SPEC_NO_NORMALIZE if no_normalize else 0)
                   | (_SPEC_ALLOW_DUPLICATES if allow_duplicates else 0))
        return o

    @classmethod
    def parse_file(cls, path: StrPath, no_normalize: bool = False,
                   allow_duplicates: bool = False) -> Spec:
        """Parses the spec file at `path`. no_normalize keeps platform values
        verbatim; allow_duplicates lets two entries share a platform.
        Raises ManifestListError (ML_ESPEC with .file/.line/.column, ML_EIO)."""
        lib = _lib()
        opts = cls._options(no_normalize, allow_duplicates)
        h = P(_SpecH)()
        err = P(_Error)()
        rc = lib.ml_spec_parse_file(ctypes.byref(h), _enc(path, "path"),
                                    ctypes.byref(opts), ctypes.byref(err))
        _check_handle(lib, rc, err, h, lib.ml_spec_free)
        return cls(h)

    @classmethod
    def parse(cls, text: Union[str, bytes], name: StrPath = "<string>",
              no_normalize: bool = False, allow_duplicates: bool = False) -> Spec:
        """Parses YAML from a str or bytes; `name` is the file name errors
        carry."""
        lib = _lib()
        data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        opts = cls._options(no_normalize, allow_duplicates)
        h = P(_SpecH)()
        err = P(_Error)()
        rc = lib.ml_spec_parse_buffer(ctypes.byref(h), data, len(data), _enc(name, "name"),
                                      ctypes.byref(opts), ctypes.byref(err))
        _check_handle(lib, rc, err, h, lib.ml_spec_free)
        return cls(h)

    @classmethod
    def new(cls, no_normalize: bool = False, allow_duplicates: bool = False) -> Spec:
        """An empty spec (ml_spec_new) to fill with add_list() and
        add_entry(). Options as for parsing. Needs a library with the spec
        builder (ML_EUNSUPPORTED otherwise)."""
        lib = _lib()
        missing = _BUILDER & lib.ml_missing
        if missing:
            raise ManifestListError(ML_EUNSUPPORTED, "spec builder unavailable: %s does not "
                                    "export %s (library too old)"
                                    % (lib._name, ", ".join(sorted(missing))))
        opts = cls._options(no_normalize, allow_duplicates)
        h = P(_SpecH)()
        err = P(_Error)()
        rc = lib.ml_spec_new(ctypes.byref(h), ctypes.byref(opts), ctypes.byref(err))
        _check_handle(lib, rc, err, h, lib.ml_spec_free)
        return cls(h)

    def _call(self, fname: str, *args: Any) -> None:
        """One builder call: raises ManifestListError; .lists and .warnings
        are read again when next used."""
        lib = _lib()
        err = P(_Error)()
        rc = getattr(lib, fname)(self._handle(), *(args + (ctypes.byref(err),)))
        self._lists = self._warnings = None
        _check(lib, rc, err)

    def add_list(self, target: str, tags: Strings = (),
                 annotations: Optional[Annotations] = None) -> int:
        """Appends a list pushed to `target` (a tag; no tag means latest),
        with extra `tags` and index `annotations` (a dict, OCI only) -> its
        index. Tags repeating the target's own or each other are ignored.
        Each value is one library call: if a tag or annotation is refused,
        the list stays, with what was added before it."""
        index = c_size_t()
        self._call("ml_spec_add_list", _enc(target, "target"), ctypes.byref(index))
        for tag in [tags] if isinstance(tags, (str, bytes)) else tags:
            self._call("ml_spec_add_tag", index, _enc(tag, "tag"))
        for key, value in (annotations or {}).items():
            self._call("ml_spec_list_annotate", index, _enc(key, "annotation key"),
                       _enc(value, "annotation value"))
        return index.value

    def add_entry(self, index: int, image: str, platform: Optional[str] = None,
                  os_version: Optional[str] = None, os_features: Strings = (),
                  annotations: Optional[Annotations] = None) -> int:
        """Appends an entry to list `index` -> its index in the list.
        platform: "os/arch[/variant]", or None to read it from the image
        config when pushed; os_version and os_features (a list) complete a
        given platform; annotations: a dict (OCI only). Platforms are
        normalised (a warning per rewrite) unless no_normalize. As with
        add_list, if os_version, a feature or an annotation is refused, the
        entry stays, with what was set before it."""
        entry = c_size_t()
        self._call("ml_spec_add_entry", index, _enc(image, "image"), _enc(platform, "platform"),
                   ctypes.byref(entry))
        if os_version is not None:
            self._call("ml_spec_entry_set_os_version", index, entry, _enc(os_version, "os_version"))
        for feature in [os_features] if isinstance(os_features, (str, bytes)) else os_features:
            self._call("ml_spec_entry_add_os_feature", index, entry, _enc(feature, "os feature"))
        for key, value in (annotations or {}).items():
            self._call("ml_spec_entry_annotate", index, entry, _enc(key, "annotation key"),
                       _enc(value, "annotation value"))
        return entry.value

    def check(self) -> None:
        """The checks over whole lists (ml_spec_check): every list has an
        entry (ML_ESPEC), no two entries of a list share a platform
        (ML_EDUPLICATE, unless allow_duplicates). push() runs them too."""
        self._call("ml_spec_check")

    def _read_lists(self) -> List[SpecList]:
        lib, h = _lib(), self._h
        lists = []
        for i in range(lib.ml_spec_list_count(h)):
            tags = [_str(lib.ml_spec_tag(h, i, t)) for t in range(lib.ml_spec_tag_count(h, i))]
            entries = []
            for e in range(lib.ml_spec_entry_count(h, i)):
                plat = c_void_p()
                err = P(_Error)()
                rc = lib.ml_spec_entry_platform(h, i, e, ctypes.byref(plat), ctypes.byref(err))
                try:
                    _check(lib, rc, err)
                finally:
                    platform = _take_string(lib, plat)
                entries.append(SpecEntry(_str(lib.ml_spec_entry_image(h, i, e)), platform))
            lists.append(SpecList(_str(lib.ml_spec_target(h, i)), tags, entries))
        return lists

    def _handle(self) -> Any:
        if not self._h:
            raise ValueError("Spec is closed")
        return self._h

    def to_json(self) -> str:
        """The whole normalised spec as JSON text ({"lists":[...]}), every
        platform field separately."""
        lib = _lib()
        out = c_void_p()
        err = P(_Error)()
        rc = lib.ml_spec_to_json(self._handle(), ctypes.byref(out), ctypes.byref(err))
        try:
            _check(lib, rc, err)
        finally:
            s = _take_string(lib, out)
        return s or ""

    @property
    def json(self) -> Dict[str, Any]:
        """to_json() parsed into a dict."""
        doc: Dict[str, Any] = json.loads(self.to_json())
        return doc

    _FREE = "ml_spec_free"

    def __repr__(self) -> str:
        return "<Spec %s>" % ", ".join(l.target for l in self.lists)


def _check_handle(lib: Any, rc: int, err: Any, handle: Any, free: Any) -> None:
    """Constructor call: on failure also free a handle a library might have
    left (defensive: it leaves NULL), then raise."""
    if rc != ML_OK:
        if handle:
            free(handle)
            _null(handle)
        raise _error_from(lib, rc, err)
    _free_error(lib, err)
    if not handle:
        raise ManifestListError(ML_ENOMEM, "library returned ML_OK and no object")


# ---- results -------------------------------------------------------------------------------

class Tag(NamedTuple):
    """A tag the push or edit set, and whether it moved from another
    digest."""
    tag: str
    moved: bool



class Result:
    """What a push or edit did (everything copied from the ml_result).

    target, digest, size, up_to_date (the registry already held this exact
    list under every tag), dry_run, tags [Tag(tag, moved)] (the target's own
    first), changes ["+ linux/arm64 sha256:..."], plan (dry run: "copy
    manifest ...", "mount blob ..."), json (dict from ml_result_to_json),
    warnings (from building the list), list_bytes / media_type (the
    assembled list, for push(); None for edit()), referrers_copied (referrer
    manifests copied into the target with referrers=True; 0 otherwise)."""

    def __init__(self, lib: Any, h: Any, list_h: Any = None) -> None:
        self.target = _str(lib.ml_result_target(h))
        self.digest = _str(lib.ml_result_digest(h))
        self.size: int = lib.ml_result_size(h)
        self.up_to_date = bool(lib.ml_result_up_to_date(h))
        self.tags = [Tag(_str(lib.ml_result_tag(h, i)), bool(lib.ml_result_tag_moved(h, i)))
                     for i in range(lib.ml_result_tag_count(h))]
        self.changes = [_str(lib.ml_result_change(h, i))
                        for i in range(lib.ml_result_change_count(h))]
        self.plan = [_str(lib.ml_result_plan(h, i)) for i in range(lib.ml_result_plan_count(h))]
        self.referrers_copied: int = lib.ml_result_referrers_copied(h)
        out = c_void_p()
        err = P(_Error)()
        rc = lib.ml_result_to_json(h, ctypes.byref(out), ctypes.byref(err))
        try:
            _check(lib, rc, err)
        finally:
            text = _take_string(lib, out)
        self.json: Dict[str, Any] = json.loads(text) if text else {}
        self.dry_run = bool(self.json.get("dryRun", False))
        self.warnings: List[str] = list(self.json.get("warnings") or [])
        self.list_bytes: Optional[bytes] = None
        self.media_type: Optional[str] = self.json.get("mediaType")
        if list_h:
            n = c_size_t()
            p = lib.ml_list_bytes(list_h, ctypes.byref(n))
            self.list_bytes = ctypes.string_at(p, n.value) if p else None
            self.media_type = _s(lib.ml_list_media_type(list_h))
            for i in range(lib.ml_list_warning_count(list_h)):
                w = _str(lib.ml_list_warning(list_h, i))
                if w not in self.warnings:
                    self.warnings.append(w)

    def __repr__(self) -> str:
        return "<Result %s %s%s>" % (self.target, self.digest,
                                     " up-to-date" if self.up_to_date else "")


# ---- manifests -----------------------------------------------------------------------------

class ManifestEntry(NamedTuple):
    """A list entry: platform "os/arch[/variant]" (None when the entry has
    none), digest, media type, size."""
    platform: Optional[str]
    digest: str
    media_type: str
    size: int


class Manifest(_Handle):
    """A fetched manifest (image, list or index).

    ref, digest, media_type, raw (exact bytes as served), is_list, entries
    [ManifestEntry] (lists only), json (dict from ml_manifest_to_json).
    select(platform) needs the C object: close() (or `with`) frees it."""

    def __init__(self, lib: Any, h: Any) -> None:
        self._h = h
        try:
            self.ref = _str(lib.ml_manifest_ref(h))
            self.digest = _str(lib.ml_manifest_digest(h))
            self.media_type = _str(lib.ml_manifest_media_type(h))
            n = c_size_t()
            p = lib.ml_manifest_bytes(h, ctypes.byref(n))
            self.raw = ctypes.string_at(p, n.value) if p else b""
            self.is_list = bool(lib.ml_manifest_is_list(h))
            self.entries = [ManifestEntry(_s(lib.ml_manifest_entry_platform(h, i)),
                                          _str(lib.ml_manifest_entry_digest(h, i)),
                                          _str(lib.ml_manifest_entry_media_type(h, i)),
                                          lib.ml_manifest_entry_size(h, i))
                            for i in range(lib.ml_manifest_entry_count(h))]
            out = c_void_p()
            err = P(_Error)()
            rc = lib.ml_manifest_to_json(h, ctypes.byref(out), ctypes.byref(err))
            try:
                _check(lib, rc, err)
            finally:
                text = _take_string(lib, out)
            self.json: Dict[str, Any] = json.loads(text) if text else {}
        except BaseException:
            self.close()
            raise

    def select_index(self, platform: str) -> int:
        """Index of the entry a runtime on `platform` would pick; raises
        ManifestListError ML_ENOTFOUND (or ML_EPLATFORM)."""
        if not self._h:
            raise ValueError("Manifest is closed")
        lib = _lib()
        idx = c_size_t()
        err = P(_Error)()
        rc = lib.ml_manifest_select(self._h, _enc(platform, "platform"),
                                    ctypes.byref(idx), ctypes.byref(err))
        _check(lib, rc, err)
        return idx.value

    def select(self, platform: str) -> ManifestEntry:
        """The ManifestEntry a runtime on `platform` ("os/arch[/variant]")
        would pick."""
        return self.entries[self.select_index(platform)]

    _FREE = "ml_manifest_free"

    def __repr__(self) -> str:
        return "<Manifest %s %s %s>" % (self.ref, self.digest, self.media_type)


class Referrer(NamedTuple):
    """A manifest attached to a subject (signature, SBOM, attestation):
    subject (digest of the manifest it refers to: the inspected one or one
    of its entries), digest, media_type, artifact_type (None when it has
    none), size, annotations ({} when none)."""
    subject: str
    digest: str
    media_type: str
    artifact_type: Optional[str]
    size: int
    annotations: Dict[str, str]


class VerifyReport(List[str]):
    """The problems found by Client.verify (a list of str; empty = ok), with
    .json (dict: ref, digest, ok, children, blobs, problems)."""
    json: Dict[str, Any] = {}

    @property
    def ok(self) -> bool:
        return not self


# ---- client ----------------------------------------------------------------------------------

class _Callbacks:
    """The C callbacks of one Client and the exception one raised. Holds
    no reference to the Client (no cycle: the Client's __del__ stays
    prompt)."""

    def __init__(self, log: Any, credentials: Optional[CredentialsCallback],
                 progress: Optional[ProgressCallback]) -> None:
        self.log = log
        self.credentials = credentials
        self.progress = progress
        self.exc: Optional[BaseException] = None
        self.log_fn = _LOG_FN(self._log) if log is not None else None
        self.cred_fn = _CRED_FN(self._cred) if credentials is not None else None
        self.progress_fn = _PROGRESS_FN(self._progress) if progress is not None else None

    def _log(self, level: int, message: Optional[bytes], payload: Any) -> None:
        try:
            msg = message.decode("utf-8", "replace") if message else ""
            log = self.log
            if hasattr(log, "log") and hasattr(log, "isEnabledFor"):  # logging.Logger
                import logging
                log.log({LOG_DEBUG: logging.DEBUG, LOG_INFO: logging.INFO,
                         LOG_WARN: logging.WARNING}.get(level, logging.INFO), "%s", msg)
            else:
                log(level, msg)
        except BaseException as e:  # never unwind through C
            self._keep(e)

    def _progress(self, step: Optional[bytes], done: int, total: int, payload: Any) -> None:
        try:
            assert self.progress is not None
            self.progress(step.decode("utf-8", "replace") if step else "", done, total)
        except BaseException as e:
            self._keep(e)

    def _keep(self, e: BaseException) -> None:
        """The first exception a callback raised, for after the call."""
        if self.exc is None:
            self.exc = e

    def _cred(self, registry: bytes, cred: Any, payload: Any) -> int:
        try:
            assert self.credentials is not None
            got: Any = self.credentials(registry.decode("utf-8", "replace"))
            if got is None:
                return ML_OK  # anonymous
            if isinstance(got, (str, bytes)):
                raise TypeError("credentials callback returned a string, not a tuple")
            if len(got) == 2:
                user, secret, ident = got[0], got[1], False
            elif len(got) == 3:
                user, secret, ident = got
            else:
                raise ValueError("credentials callback must return None, "
                                 "(username, secret) or (username, secret, identity_token)")
            if secret is None:
                raise ValueError("credentials callback returned no secret")
            return int(_lib().ml_credential_set(cred, _enc(user, "username"),
                                            _enc(secret, "secret"), 1 if ident else 0))
        except BaseException as e:
            self._keep(e)
            return ML_EAUTH

    def take(self) -> Optional[BaseException]:
        e, self.exc = self.exc, None
        return e


def _push_options(lib: Any, create: bool = False, force: bool = False, dry_run: bool = False,
                  type: Optional[str] = None,
                  annotations: Union[None, Annotations, Strings] = None,
                  ignore_missing: bool = False, purge: bool = False,
                  no_attestations: bool = False, referrers: bool = False,
                  trust_platforms: bool = False) -> Tuple[Any, Any]:
    """-> (ml_push_options, objects to keep alive during the call)."""
    o = _init_options(lib, lib.ml_push_options_init, _PushOptions, PUSH_OPTIONS_VERSION)
    o.flags = ((_PUSH_CREATE if create else 0) | (_PUSH_FORCE if force else 0)
               | (_PUSH_DRY_RUN if dry_run else 0) | (_PUSH_PURGE if purge else 0)
               | (_PUSH_IGNORE_MISSING if ignore_missing else 0)
               | (_PUSH_NO_ATTESTATIONS if no_attestations else 0)
               | (_PUSH_REFERRERS if referrers else 0)
               | (_PUSH_TRUST_PLATFORMS if trust_platforms else 0))
    types = {None: _TYPE_AUTO, "auto": _TYPE_AUTO, "docker": _TYPE_DOCKER, "oci": _TYPE_OCI}
    if type not in types:
        raise ValueError("type must be None, 'docker' or 'oci', not %r" % (type,))
    o.type = types[type]
    if isinstance(annotations, Mapping):
        annotations = ["%s=%s" % kv for kv in annotations.items()]
    arr, n = _c_array(annotations, "annotation")
    o.annotations = arr
    o.annotation_count = n
    return o, arr


class Client(_Handle):
    """A registry client (ml_client): connections, tokens and credentials
    are cached across calls.

    concurrency   parallel requests (None: 8)
    retries       retries of transient failures (None: 3; 0: none)
    timeout_ms    per request (None: 30000)
    ca_cert       PEM bundle trusted instead of the default CA bundle file
    username, password   explicit credentials for every registry
    insecure      skip TLS verification;  plain_http: HTTP to every registry
    docker_config_dir, auth_file   where default credentials are looked up
                  (None: $DOCKER_CONFIG or ~/.docker; $REGISTRY_AUTH_FILE)
    credentials   callable(registry) -> None (anonymous) | (username, secret)
                  | (username, secret, identity_token); called once per
                  registry that asks for authentication. Replaces the
                  default lookup. An exception in it fails the call with
                  ML_EAUTH; the exception is the __cause__.
    log           callable(level, message) with LOG_DEBUG/INFO/WARN, or a
                  logging.Logger
    progress      callable(step, done, total): "resolve", "configs",
                  "blobs", "children" count requests, "copy bytes" the
                  bytes of the blob being copied. An exception in it is
                  kept until the call ends: re-raised as a warning when the
                  call succeeded, as the __cause__ when it failed.
    user_agent    None: "libmanifestlist/VERSION"
    cache_dir     where platforms read from image configs are kept by
                  config digest, so later builds read no config (None: no
                  cache); needs a library with ML_CLIENT_OPTIONS_VERSION 2

    Thread safety: the library allows one thread at a time per client; this
    class serialises calls with a lock. Callbacks run on the calling
    thread. Use `with Client(...) as c:` or close()."""

    def __init__(self, concurrency: Optional[int] = None, retries: Optional[int] = None,
                 timeout_ms: Optional[int] = None, ca_cert: Optional[StrPath] = None,
                 username: Optional[str] = None, password: Optional[str] = None,
                 insecure: bool = False, plain_http: bool = False,
                 docker_config_dir: Optional[StrPath] = None,
                 auth_file: Optional[StrPath] = None,
                 credentials: Optional[CredentialsCallback] = None,
                 log: Union[None, LogCallback, logging.Logger] = None,
                 user_agent: Optional[str] = None, cache_dir: Optional[StrPath] = None,
                 progress: Optional[ProgressCallback] = None) -> None:
        self._h = None
        self._lock = threading.Lock()
        self._owner: Optional[int] = None  # thread inside a library call on this client
        if credentials is not None and not callable(credentials):
            raise TypeError("credentials must be callable")
        if log is not None and not callable(log) and not hasattr(log, "log"):
            raise TypeError("log must be callable or a logging.Logger")
        if progress is not None and not callable(progress):
            raise TypeError("progress must be callable")
        lib = _lib()
        if credentials is not None and "ml_credential_set" in lib.ml_missing:
            raise ManifestListError(
                ML_EUNSUPPORTED, "credentials callback unavailable: %s does not export "
                "ml_credential_set (library too old); use username/"
                "password or auth_file instead" % lib._name)
        # Alive as long as the client: the library calls them until
        # ml_client_free.
        self._cb = _Callbacks(log, credentials, progress)
        # A version-1 library knows no cache_dir; without one, version 1 does.
        version = 2 if cache_dir is not None else 1  # the oldest that has what is used
        o = _init_options(lib, lib.ml_client_options_init, _ClientOptions, version)
        o.flags = ((_CLIENT_INSECURE if insecure else 0)
                   | (_CLIENT_PLAIN_HTTP if plain_http else 0))
        if concurrency is not None:
            o.concurrency = _u32(concurrency, "concurrency", 1)
        if retries is not None:
            o.retries = _UINT32_MAX if retries == 0 else _u32(retries, "retries", 1)
        if timeout_ms is not None:
            o.timeout_ms = _u32(timeout_ms, "timeout_ms", 1)
        # c_char_p fields keep their bytes referenced by the struct.
        o.ca_cert = _enc(ca_cert, "ca_cert")
        o.username = _enc(username, "username")
        o.password = _enc(password, "password")
        o.docker_config_dir = _enc(docker_config_dir, "docker_config_dir")
        o.auth_file = _enc(auth_file, "auth_file")
        o.user_agent = _enc(user_agent, "user_agent")
        if cache_dir is not None:
            o.cache_dir = _enc(os.fspath(cache_dir), "cache_dir")
        if self._cb.log_fn is not None:
            o.log = self._cb.log_fn
        if self._cb.cred_fn is not None:
            o.credentials = self._cb.cred_fn
        if self._cb.progress_fn is not None:
            o.progress = self._cb.progress_fn
        h = P(_ClientH)()
        err = P(_Error)()
        rc = lib.ml_client_new(ctypes.byref(h), ctypes.byref(o), ctypes.byref(err))
        _check_handle(lib, rc, err, h, lib.ml_client_free)
        self._h = h

    # ---- lifecycle

    @contextlib.contextmanager
    def _using(self) -> Iterator[Any]:
        """Holds the client for one library call: one thread at a time (the
        header's rule); a callback calling back into its own client would
        re-enter the ml_client, so that is refused instead of deadlocking."""
        if self._owner == threading.get_ident():
            raise RuntimeError("a Client cannot be used from its own log, progress "
                               "or credentials callback")
        with self._lock:
            h = self._handle()
            self._owner = threading.get_ident()
            try:
                yield h
            finally:
                self._owner = None

    def close(self) -> None:
        """Frees the ml_client (idempotent). Waits for a call running in
        another thread; refused from the client's own callback."""
        lock = getattr(self, "_lock", None)
        if lock is None:
            return
        if self._owner == threading.get_ident():
            raise RuntimeError("a Client cannot be closed from its own callback")
        with lock:
            h, self._h = self._h, None
            if h:
                _lib().ml_client_free(h)
        # the callbacks (self._cb) may go now: nothing calls them any more

    def _handle(self) -> Any:
        if not self._h:
            raise ValueError("Client is closed")
        return self._h

    def _raise(self, lib: Any, rc: int, err: Any, result: Optional[Result] = None) -> NoReturn:
        """Raises the library error with a callback's exception as cause."""
        e = _error_from(lib, rc, err)
        e.result = result
        cause = self._cb.take()
        if cause is not None and not isinstance(cause, Exception):
            raise cause  # KeyboardInterrupt, SystemExit from a callback
        raise e from cause

    def _finish(self, lib: Any, rc: int, err: Any, result: Optional[Result] = None) -> None:
        """Raises on failure; on success frees err and reports an exception
        a callback swallowed (the call itself succeeded, so as a warning)."""
        if rc != ML_OK:
            self._raise(lib, rc, err, result)
        _free_error(lib, err)
        cause = self._cb.take()
        if cause is not None:
            if not isinstance(cause, Exception):
                raise cause
            warnings.warn("libmanifestlist callback raised %r (ignored: the call "
                          "succeeded)" % (cause,), RuntimeWarning, stacklevel=3)

    # ---- operations

    def push(self, spec: Spec, index: int = 0, create: bool = False, force: bool = False,
             dry_run: bool = False, type: Optional[str] = None,
             annotations: Union[None, Annotations, Strings] = None,
             ignore_missing: bool = False, purge: bool = False,
             no_attestations: bool = False, referrers: bool = False,
                  trust_platforms: bool = False) -> Result:
        """Builds list `index` of `spec` (ml_list_build: every entry resolved)
        and pushes it (ml_list_push: children made available in the target
        repository, then the list under its tags) -> Result.

        create        refuse when the target tag exists (ML_EEXISTS)
        force         create: replace an existing tag; update: ignore a
                      concurrent move
        dry_run       resolve and plan only; nothing is written
        type          None (auto: OCI if an entry is OCI or annotations are
                      used), 'docker' or 'oci'
        annotations   ["key=value", ...] or a dict: index annotations (OCI)
        ignore_missing  skip entries whose image is missing
        purge         delete the replaced list afterwards
        no_attestations  drop buildx attestation entries
        trust_platforms  take given platforms as written, unchecked by configs
        referrers     carry the children's referrers (signatures, SBOMs,
                      attestations: manifests whose subject they are) into
                      the target too; Result.referrers_copied counts them
        The target (and any source in the spec) may be a registry reference
        or an OCI image layout directory: "oci:PATH[:TAG]", "oci:PATH@DIGEST".
        On failure the ManifestListError's .result tells what happened."""
        if not isinstance(spec, Spec):
            raise TypeError("spec must be a Spec")
        if not 0 <= index < len(spec.lists):
            raise IndexError("spec has %d list(s), no index %d" % (len(spec.lists), index))
        lib = _lib()
        opts, keep = _push_options(lib, create, force, dry_run, type, annotations,
                                   ignore_missing, purge, no_attestations, referrers,
                                   trust_platforms)
        with self._using() as client:
            lst = P(_ListH)()
            res = P(_ResultH)()
            err = P(_Error)()
            try:
                rc = lib.ml_list_build(ctypes.byref(lst), client, spec._handle(), index,
                                       ctypes.byref(opts), ctypes.byref(err))
                if rc == ML_OK:
                    rc = lib.ml_list_push(lst, client, ctypes.byref(opts),
                                          ctypes.byref(res), ctypes.byref(err))
                result = Result(lib, res, lst if rc == ML_OK else None) if res else None
                self._finish(lib, rc, err, result)
                return _returned(result, "result")
            finally:
                _free_error(lib, err)
                lib.ml_result_free(res)
                lib.ml_list_free(lst)
                del keep

    def edit(self, target: str, add: Strings = (), remove: Strings = (),
             create: bool = False, force: bool = False, dry_run: bool = False,
             type: Optional[str] = None,
             annotations: Union[None, Annotations, Strings] = None,
             ignore_missing: bool = False, purge: bool = False,
             no_attestations: bool = False, referrers: bool = False,
                  trust_platforms: bool = False) -> Result:
        """Edits the list at `target` without a spec (ml_list_edit) -> Result.
        add: ["SRC[=OS/ARCH[/VARIANT]]", ...] (platform from the image config
        when omitted; replaces the entry of the same platform); remove:
        [platform or digest, ...]. Safe against concurrent writers
        (ML_ECONFLICT when it cannot re-apply). A missing target is created
        from the additions. Push options as for push() (referrers: carry
        the added children's referrers along). target and sources may be
        OCI layouts ("oci:PATH[:TAG]", "oci:PATH@DIGEST")."""
        lib = _lib()
        opts, keep = _push_options(lib, create, force, dry_run, type, annotations,
                                   ignore_missing, purge, no_attestations, referrers,
                                   trust_platforms)
        add_arr, add_n = _c_array(add, "add")
        rm_arr, rm_n = _c_array(remove, "remove")
        try:
            return self._edit_call(lib, lambda client, res, err: lib.ml_list_edit(
                client, _enc(target, "target"), add_arr, add_n, rm_arr, rm_n,
                ctypes.byref(opts), res, err))
        finally:
            del keep, add_arr, rm_arr

    def _edit_call(self, lib: Any, call: Callable[[Any, Any, Any], Any]) -> Result:
        """Runs an edit call(client, &result, &err) and returns its Result."""
        with self._using() as client:
            res = P(_ResultH)()
            err = P(_Error)()
            try:
                rc = call(client, ctypes.byref(res), ctypes.byref(err))
                result = Result(lib, res) if res else None
                self._finish(lib, rc, err, result)
                return _returned(result, "result")
            finally:
                _free_error(lib, err)
                lib.ml_result_free(res)

    def edit_spec(self, spec: Spec, index: int = 0, remove: Strings = (),
                  create: bool = False, force: bool = False, dry_run: bool = False,
                  type: Optional[str] = None,
                  annotations: Union[None, Annotations, Strings] = None,
                  ignore_missing: bool = False, purge: bool = False,
                  no_attestations: bool = False, referrers: bool = False,
                  trust_platforms: bool = False) -> Result:
        """Edits the list at the target of list `index` of `spec`
        (ml_list_edit_spec) -> Result: as edit(), with each of the spec's
        entries as an addition (full platform, annotations), its extra tags
        moved too and its index annotations set."""
        lib = _lib()
        opts, keep = _push_options(lib, create, force, dry_run, type, annotations,
                                   ignore_missing, purge, no_attestations, referrers,
                                   trust_platforms)
        rm_arr, rm_n = _c_array(remove, "remove")
        try:
            return self._edit_call(lib, lambda client, res, err: lib.ml_list_edit_spec(
                client, spec._handle(), index, rm_arr, rm_n, ctypes.byref(opts), res, err))
        finally:
            del keep, rm_arr

    def inspect(self, ref: str) -> Manifest:
        """Fetches a manifest (image, list or index) by tag or digest ->
        Manifest. `ref` may name an OCI layout ("oci:PATH[:TAG]",
        "oci:PATH@DIGEST")."""
        lib = _lib()
        with self._using() as client:
            h = P(_ManifestH)()
            err = P(_Error)()
            rc = lib.ml_manifest_fetch(ctypes.byref(h), client, _enc(ref, "ref"),
                                       ctypes.byref(err))
            if rc != ML_OK:
                lib.ml_manifest_free(h)
                self._raise(lib, rc, err)
            self._finish(lib, rc, err)
        return Manifest(lib, h)

    def referrers(self, ref: Union[str, Manifest]) -> List[Referrer]:
        """What is attached to a manifest and, for a list, to each of its
        entries (ml_referrers_fetch) -> [Referrer], in the library's order.
        `ref`: a reference (tag or digest; registry or OCI layout) that is
        fetched first, or a Manifest from inspect() (still open). Read
        through the OCI 1.1 referrers API, or the "sha256-<hex>" tag schema
        where the registry lacks it (always for OCI layouts)."""
        lib = _lib()
        if isinstance(ref, Manifest):
            if not ref._h:
                raise ValueError("Manifest is closed")
            with self._using() as client:
                return self._referrers(lib, client, ref._h)
        with self._using() as client:
            h = P(_ManifestH)()
            err = P(_Error)()
            try:
                rc = lib.ml_manifest_fetch(ctypes.byref(h), client, _enc(ref, "ref"),
                                           ctypes.byref(err))
                self._finish(lib, rc, err)
                return self._referrers(lib, client, h)
            finally:
                _free_error(lib, err)
                lib.ml_manifest_free(h)

    def _referrers(self, lib: Any, client: Any, manifest_h: Any) -> List[Referrer]:
        """ml_referrers_fetch on a held client -> [Referrer]; frees all."""
        rh = P(_ReferrersH)()
        err = P(_Error)()
        try:
            rc = lib.ml_referrers_fetch(ctypes.byref(rh), client, manifest_h,
                                        ctypes.byref(err))
            self._finish(lib, rc, err)
            out = c_void_p()
            rc = lib.ml_referrers_to_json(rh, ctypes.byref(out), ctypes.byref(err))
            try:
                _check(lib, rc, err)
            finally:
                text = _take_string(lib, out)
            # annotations only travel in the JSON; the rest from the accessors
            doc = json.loads(text) if text else []
            n = lib.ml_referrers_count(rh)
            if len(doc) != n:
                raise ManifestListError(ML_EMANIFEST, "ml_referrers_to_json lists %d "
                                        "referrers, ml_referrers_count %d" % (len(doc), n))
            return [Referrer(_str(lib.ml_referrers_subject(rh, i)),
                             _str(lib.ml_referrers_digest(rh, i)),
                             _str(lib.ml_referrers_media_type(rh, i)),
                             _s(lib.ml_referrers_artifact_type(rh, i)),
                             lib.ml_referrers_size(rh, i),
                             dict(doc[i].get("annotations") or {}))
                    for i in range(n)]
        finally:
            _free_error(lib, err)
            lib.ml_referrers_free(rh)

    def verify(self, ref: str) -> VerifyReport:
        """Checks the list at `ref` in place (children exist in its
        repository, their configs match the entries' platforms, blobs are
        present) -> VerifyReport (list of problem strings; empty = ok).
        Raises only when the check could not run."""
        lib = _lib()
        with self._using() as client:
            rep = P(_ReportH)()
            err = P(_Error)()
            try:
                rc = lib.ml_verify(ctypes.byref(rep), client, _enc(ref, "ref"),
                                   ctypes.byref(err))
                self._finish(lib, rc, err)
                report = VerifyReport(_str(lib.ml_report_problem(rep, i))
                                      for i in range(lib.ml_report_problem_count(rep)))
                out = c_void_p()
                e2 = P(_Error)()
                rc = lib.ml_report_to_json(rep, ctypes.byref(out), ctypes.byref(e2))
                try:
                    _check(lib, rc, e2)
                finally:
                    text = _take_string(lib, out)
                report.json = json.loads(text) if text else {}
                return report
            finally:
                _free_error(lib, err)
                lib.ml_report_free(rep)

    def delete(self, ref: str, force: bool = False) -> str:
        """Deletes the list `ref` names (resolved to its digest; referenced
        images untouched) -> the deleted digest. force: also delete a
        single image manifest."""
        lib = _lib()
        with self._using() as client:
            out = c_void_p()
            err = P(_Error)()
            try:
                rc = lib.ml_delete(client, _enc(ref, "ref"),
                                   _DELETE_FORCE if force else 0, ctypes.byref(out),
                                   ctypes.byref(err))
                self._finish(lib, rc, err)
            finally:
                _free_error(lib, err)
                digest = _take_string(lib, out)
            return _returned(digest, "digest")


_T = TypeVar("_T")


def _returned(obj: Optional[_T], what: str) -> _T:
    """What a successful call returns (defensive: never missing)."""
    if obj is None:
        raise ManifestListError(ML_ENOMEM, "library returned ML_OK and no " + what)
    return obj


def _u32(v: int, what: str, minimum: int = 0) -> int:
    v = int(v)
    if not minimum <= v < _UINT32_MAX:
        raise ValueError("%s out of range: %d" % (what, v))
    return v
