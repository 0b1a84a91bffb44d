/*
 * libmanifestlist: publish multi-platform container images as a Docker
 * manifest list or an OCI image index.
 *
 * Thread safety: distinct objects may be used from different threads at the
 * same time. An ml_client may be shared: calls that take a client may run at
 * the same time with the same client, sharing its connections (at most
 * `concurrency` per registry in all), tokens and caches; only creating and
 * freeing it are not. One ml_list or ml_result is used by one thread at a
 * time (it may move between threads). A spec being built (ml_spec_new,
 * ml_spec_add_*) is used by one thread at a time; a spec nobody changes any
 * more, parsed or built, is read-only and may be shared.
 * ml_strerror, ml_version and ml_free are always safe. Callbacks (log,
 * credentials, progress) run inside a call with their client, on any thread
 * sharing it, and must not call back into the same client.
 *
 * Errors: functions return ML_OK (0) or a negative ML_E* code. When the last
 * argument `ml_error **err` is not NULL, a failure stores a detailed error
 * there, which the caller frees with ml_error_free.
 *
 * Ownership: a returned `const char *` is borrowed and valid until its object
 * is freed or changed; a returned `char *` belongs to the caller and is freed
 * with ml_free. Inputs are copied.
 *
 * Getters (ml_*_count, ml_*_<field>) never crash on a NULL object or an
 * index out of range: they return 0 (counts, flags, numbers), NULL
 * (strings) or -1 (sizes), and set a `size_t *len` to 0; ml_error_message
 * returns "". Calls returning a code give ML_EINVAL for a NULL object.
 *
 * Options structs (ml_*_options): NULL means defaults. A version of 0 or
 * newer than the library, or unknown flag bits, is ML_EINVAL before any
 * I/O; an older version's smaller struct is read only at its own size.
 */
#ifndef MANIFESTLIST_H
#define MANIFESTLIST_H

#include <stddef.h>
#include <stdint.h>

#if defined(ML_STATIC)
#define ML_API
#elif defined(_WIN32)
#if defined(ML_BUILDING)
#define ML_API __declspec(dllexport)
#else
#define ML_API __declspec(dllimport)
#endif
#elif defined(__GNUC__)
#define ML_API __attribute__((visibility("default")))
#else
#define ML_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define ML_VERSION_MAJOR 0
#define ML_VERSION_MINOR 1
#define ML_VERSION_PATCH 0
#define ML_VERSION_STRING "0.1.0"

/* Result codes. Append-only: a code is never renumbered or reused. */
#define ML_OK 0
#define ML_ENOMEM -1       /* out of memory */
#define ML_EINVAL -2       /* invalid argument from the caller */
#define ML_ESPEC -3        /* spec file is invalid */
#define ML_EREF -4         /* invalid image reference */
#define ML_EPLATFORM -5    /* invalid platform */
#define ML_EMANIFEST -6    /* invalid or unsupported manifest JSON */
#define ML_EDIGEST -7      /* digest invalid or not matching the content */
#define ML_EHTTP -8        /* the registry answered with an error */
#define ML_ENET -9         /* connection, TLS or timeout failure */
#define ML_EAUTH -10       /* authentication or authorization failed */
#define ML_ENOTFOUND -11   /* manifest, blob or repository not found */
#define ML_EEXISTS -12     /* the target tag exists already */
#define ML_ENOTLIST -13    /* a list operation met a single image */
#define ML_ECONFLICT -14   /* the tag was changed concurrently */
#define ML_EUNSUPPORTED -15 /* the registry does not support the operation */
#define ML_ETOOBIG -16     /* a response exceeded its size limit */
#define ML_EIO -17         /* local file error */
#define ML_ETYPE -18       /* list type cannot hold an entry or feature */
#define ML_EDUPLICATE -19  /* two entries with the same platform */

typedef struct ml_error ml_error;
typedef struct ml_spec ml_spec;
typedef struct ml_client ml_client;
typedef struct ml_list ml_list;
typedef struct ml_result ml_result;
typedef struct ml_manifest ml_manifest;
typedef struct ml_credential ml_credential;
typedef struct ml_report ml_report;
typedef struct ml_referrers ml_referrers;

/* Log levels passed to the optional log callback. */
#define ML_LOG_DEBUG 0
#define ML_LOG_INFO 1
#define ML_LOG_WARN 2
typedef void (*ml_log_fn)(int level, const char *message, void *payload);

/* ---- Library ----------------------------------------------------------- */

/* Runtime version string, e.g. "0.1.0"; compare with ML_VERSION_STRING. */
ML_API const char *ml_version(void);
/* Static description of a result code; never NULL. */
ML_API const char *ml_strerror(int code);
/* Frees memory returned as `char *` by this library. NULL is accepted. */
ML_API void ml_free(void *ptr);
/* Optional: one-time process setup (libcurl, crypto). Constructors run it
 * themselves through pthread_once; call it first if other threads use
 * libcurl without CURL_VERSION_THREADSAFE. */
ML_API int ml_global_init(void);
ML_API void ml_global_cleanup(void);

/* ---- Errors ------------------------------------------------------------ */

ML_API int ml_error_code(const ml_error *err);
/* Full message with context, e.g. "push localhost:5000/app:1: PUT manifest:
 * HTTP 400 MANIFEST_INVALID: manifest invalid". */
ML_API const char *ml_error_message(const ml_error *err);
/* HTTP status of the failing registry answer, or 0. */
ML_API int ml_error_http_status(const ml_error *err);
/* Registry error code (e.g. "MANIFEST_UNKNOWN"), or NULL. */
ML_API const char *ml_error_registry_code(const ml_error *err);
/* Spec file name, 1-based line and column of a spec error; NULL / 0. */
ML_API const char *ml_error_file(const ml_error *err);
ML_API int ml_error_line(const ml_error *err);
ML_API int ml_error_column(const ml_error *err);
/* What the caller could do about the error, as ML_HINT_* bits (0: nothing
 * in particular). Messages state the problem; a program maps hints to its
 * own vocabulary (a CLI flag, a keyword argument). */
#define ML_HINT_FORCE (1u << 0)            /* overwrite anyway: ML_PUSH_FORCE */
#define ML_HINT_UPDATE (1u << 1)           /* the target exists: update it instead of creating it */
#define ML_HINT_ALLOW_DUPLICATES (1u << 2) /* keep both entries: ML_SPEC_ALLOW_DUPLICATES */
#define ML_HINT_TYPE_OCI (1u << 3)         /* build an OCI index: ML_TYPE_OCI */
#define ML_HINT_NO_ATTESTATIONS (1u << 4)  /* leave attestations out: ML_PUSH_NO_ATTESTATIONS */
#define ML_HINT_TRUST_CA (1u << 5)         /* trust the registry's CA (ca_cert), or ML_CLIENT_INSECURE */
#define ML_HINT_CREDENTIALS (1u << 6)      /* give credentials: none were found */
#define ML_HINT_TRUST_PLATFORMS (1u << 7)  /* keep the spec's platform over the config's: ML_PUSH_TRUST_PLATFORMS */
#define ML_HINT_HTTPS (1u << 8)            /* the registry speaks HTTPS: leave ML_CLIENT_PLAIN_HTTP off */
#define ML_HINT_PLAIN_HTTP (1u << 9)       /* the registry speaks plain HTTP: ML_CLIENT_PLAIN_HTTP */
ML_API uint32_t ml_error_hints(const ml_error *err);
/* Why authentication failed, for ML_EAUTH errors (0 for any other). */
#define ML_AUTH_NO_CREDENTIALS 1 /* the registry asked for credentials and none were found */
#define ML_AUTH_REJECTED 2       /* the registry or its token service refused the credentials */
#define ML_AUTH_DENIED 3         /* authenticated, but not allowed this repository or action */
ML_API int ml_error_auth_reason(const ml_error *err);
/* The image reference the error is about (a missing image of a spec), as
 * normalised, or NULL. */
ML_API const char *ml_error_ref(const ml_error *err);
ML_API void ml_error_free(ml_error *err);

/* ---- References and platforms ------------------------------------------ */

/* Normalises an image reference ("alpine" -> "docker.io/library/alpine").
 * The result keeps the tag and/or digest given; *out is freed with ml_free. */
ML_API int ml_ref_normalize(const char *ref, char **out, ml_error **err);

/* Normalises "os/arch[/variant]" as container runtimes name platforms
 * ("Linux/x86_64" -> "linux/amd64", "linux/armhf" -> "linux/arm/v7"); the
 * os may carry containerd's "(os.version+os.feature...)", which is kept:
 * "windows(10.0.17763)/amd64". */
ML_API int ml_platform_normalize(const char *platform, char **out, ml_error **err);

/* ---- Specs ------------------------------------------------------------- */

#define ML_SPEC_NO_NORMALIZE (1u << 0)   /* keep platform values verbatim */
#define ML_SPEC_ALLOW_DUPLICATES (1u << 1) /* two entries may share a platform */
/* Expand ${NAME}, ${NAME:-default} and $$ in every value (not in keys),
 * from `variables` (version 2). Off, a spec's text is taken as it is.
 * Parsing only: ml_spec_new refuses it (ML_EINVAL). */
#define ML_SPEC_VARIABLES (1u << 2)

#define ML_SPEC_OPTIONS_VERSION 2
typedef struct ml_spec_options {
    uint32_t version; /* ML_SPEC_OPTIONS_VERSION */
    uint32_t flags;   /* ML_SPEC_* */
    /* Version 2: "NAME=VALUE" strings for ML_SPEC_VARIABLES; where a NAME
     * is given twice the later one wins (pass the environment, then the
     * user's overrides). The library never reads the environment itself.
     * An entry without '=' is ML_EINVAL. Read during parsing only. */
    const char *const *variables;
    size_t variable_count;
} ml_spec_options;
#define ML_SPEC_OPTIONS_INIT {ML_SPEC_OPTIONS_VERSION, 0, NULL, 0}
ML_API int ml_spec_options_init(ml_spec_options *opts, uint32_t version);

/* Parses a YAML spec (manifest-tool format or the original proposal's).
 * A multi-document file holds several lists. Errors carry file:line:column. */
ML_API int ml_spec_parse_file(ml_spec **out, const char *path,
                              const ml_spec_options *opts, ml_error **err);
ML_API int ml_spec_parse_buffer(ml_spec **out, const char *data, size_t len,
                                const char *name, const ml_spec_options *opts,
                                ml_error **err);
ML_API void ml_spec_free(ml_spec *spec);
/* Number of lists (YAML documents) in the spec. */
ML_API size_t ml_spec_list_count(const ml_spec *spec);
/* Normalised target reference of list `index`. */
ML_API const char *ml_spec_target(const ml_spec *spec, size_t index);
/* Extra tags of list `index` (besides the target's own). */
ML_API size_t ml_spec_tag_count(const ml_spec *spec, size_t index);
ML_API const char *ml_spec_tag(const ml_spec *spec, size_t index, size_t tag);
/* Entries of list `index`: normalised image reference, and the platform for
 * display: "os/arch[/variant]", "os(version+feature...)/arch[/variant]" with
 * an os.version or os.features (as ml_platform_normalize writes it), then
 * " features=x,y" where set; NULL when it comes from the image config.
 * Free with ml_free. ml_spec_to_json has every field separately. */
ML_API size_t ml_spec_entry_count(const ml_spec *spec, size_t index);
ML_API const char *ml_spec_entry_image(const ml_spec *spec, size_t index, size_t entry);
ML_API int ml_spec_entry_platform(const ml_spec *spec, size_t index, size_t entry,
                                  char **platform, ml_error **err);
/* Warnings from parsing (platform rewrites); borrowed strings. */
ML_API size_t ml_spec_warning_count(const ml_spec *spec);
ML_API const char *ml_spec_warning(const ml_spec *spec, size_t index);
/* Checks offline that every list can be of `type` (ML_TYPE_*): a Docker
 * list has no annotations, artifactType or subject. ML_ETYPE naming the
 * spec location otherwise. Children's own types are known only online. */
ML_API int ml_spec_check_type(const ml_spec *spec, uint32_t type, ml_error **err);
/* The whole normalised spec as JSON ({"lists":[{"image":…,"tags":[…],
 * "manifests":[{"image":…,"platform":{…}}]}]}). */
ML_API int ml_spec_to_json(const ml_spec *spec, char **out, ml_error **err);
/* Several specs meant to be pushed together (one per file): ML_ESPEC when
 * two lists, in the same spec or in different ones, would push the same
 * tag (a target or an extra tag); the location is the second list's, the
 * message names both ("b.yaml:1:1: tag example.com/app:1 is also pushed
 * by a.yaml:4:1 (example.com/app:1)"). */
ML_API int ml_spec_check_targets(const ml_spec *const *specs, size_t count, ml_error **err);

/* Building a spec without YAML. A built spec goes through the same
 * normalisation and checks, with the same codes, as a parsed one: images
 * and targets as in a spec file (no tag means latest; ML_EREF), platforms
 * normalised unless ML_SPEC_NO_NORMALIZE with each rewrite as a warning
 * ("IMAGE: architecture "x86_64" normalised to "amd64""), validated
 * (ML_EPLATFORM). Its errors name the offending value and carry no file or
 * line. A failed call leaves the spec as it was. Lists and entries are
 * numbered from 0 in the order they are added, as the getters above read
 * them. The checks over a whole list (at least one entry, no two entries
 * with the same platform) run in ml_spec_check and in ml_list_build, as
 * parsing runs them at the end of each document. */

/* An empty spec (no lists); `opts` as for parsing, NULL for defaults. */
ML_API int ml_spec_new(ml_spec **out, const ml_spec_options *opts, ml_error **err);
/* Appends a list to be pushed to `target` (a tag, not a digest: ML_EREF);
 * *index (may be NULL) gets its index. */
ML_API int ml_spec_add_list(ml_spec *spec, const char *target, size_t *index, ml_error **err);
/* Adds an extra tag to list `index`. The target's own tag and repeats are
 * ignored, as in a spec file; ML_EREF for an invalid tag. */
ML_API int ml_spec_add_tag(ml_spec *spec, size_t index, const char *tag, ml_error **err);
/* Adds an index annotation to list `index` (an OCI index only). `value`
 * NULL is "". ML_ESPEC for an empty key or one given already. */
ML_API int ml_spec_list_annotate(ml_spec *spec, size_t index, const char *key, const char *value,
                                 ml_error **err);
/* Appends an entry to list `index`: `image`, and `platform`
 * "os/arch[/variant]", or NULL to read the platform from the image config
 * when the list is built. *entry (may be NULL) gets its index. */
ML_API int ml_spec_add_entry(ml_spec *spec, size_t index, const char *image, const char *platform,
                             size_t *entry, ml_error **err);
/* os.version and os.features of an entry given a platform (ML_EPLATFORM
 * for one read from the image config, or an invalid value). An empty
 * os_version removes it, as in a spec file. */
ML_API int ml_spec_entry_set_os_version(ml_spec *spec, size_t index, size_t entry,
                                        const char *os_version, ml_error **err);
ML_API int ml_spec_entry_add_os_feature(ml_spec *spec, size_t index, size_t entry,
                                        const char *feature, ml_error **err);
/* Adds an annotation to the entry's descriptor (an OCI index only); as
 * ml_spec_list_annotate. */
ML_API int ml_spec_entry_annotate(ml_spec *spec, size_t index, size_t entry, const char *key,
                                  const char *value, ml_error **err);
/* The checks over every whole list: ML_ESPEC for a spec without lists or
 * a list without entries, ML_EDUPLICATE for two entries of a list with the
 * same platform (unless ML_SPEC_ALLOW_DUPLICATES). Always passes for a
 * parsed spec nobody added to. */
ML_API int ml_spec_check(const ml_spec *spec, ml_error **err);

/* ---- Clients ----------------------------------------------------------- */

#define ML_CLIENT_INSECURE (1u << 0)   /* skip TLS verification */
#define ML_CLIENT_PLAIN_HTTP (1u << 1) /* talk plain HTTP to every registry */
/* Resolve each image reference (registry, repository, tag or digest) once
 * for the client's lifetime: lists built with it, by any of the threads
 * sharing it, that name the same child ask the registry once. For one
 * publish run: a client kept longer would not see a tag move. */
#define ML_CLIENT_RESOLVE_ONCE (1u << 2)

/* Credential provider: called once per registry ("docker.io",
 * "localhost:5000") that asks for authentication. Store credentials with
 * ml_credential_set, or store nothing for anonymous access; return ML_OK, or
 * an error code to stop. Without a provider the library looks in
 * auth.json, then docker's config.json (credHelpers, credsStore, auths). */
typedef int (*ml_credential_fn)(const char *registry, ml_credential *cred, void *payload);
/* Copies the strings. identity_token: `secret` is an OAuth2 refresh token. */
ML_API int ml_credential_set(ml_credential *cred, const char *username, const char *secret,
                             int identity_token);

/* Progress of the step a call is in: "resolve" (manifests), "configs",
 * "blobs" (mounted or copied), "children" (manifests copied in) count
 * requests; "copy bytes" counts the bytes of the blob being copied. Called
 * during a call with the client (on a shared client, by any of its threads,
 * one at a time). */
typedef void (*ml_progress_fn)(const char *step, uint64_t done, uint64_t total, void *payload);

/* Progress of one blob being copied (client option progress_event). A copy
 * is START, BYTES as they move (several a second for a large blob), then
 * DONE; a blob mounted from another repository of the same registry is one
 * MOUNTED event. Several copies may be under way at once, told apart by
 * digest. */
#define ML_PROGRESS_START 1
#define ML_PROGRESS_BYTES 2
#define ML_PROGRESS_DONE 3
#define ML_PROGRESS_MOUNTED 4
#define ML_PROGRESS_EVENT_VERSION 1
typedef struct ml_progress_event {
    uint32_t version;    /* ML_PROGRESS_EVENT_VERSION; later versions only append fields */
    uint32_t kind;       /* ML_PROGRESS_* */
    const char *image;   /* reference of the image the blob is copied from */
    const char *digest;  /* the blob */
    uint64_t done;       /* bytes moved so far */
    uint64_t total;      /* the blob's size */
    uint64_t elapsed_ms; /* since the copy started */
} ml_progress_event;
/* The event and its strings are valid during the call only. Called on the
 * thread doing the copy, possibly several at once: synchronise. */
typedef void (*ml_progress_event_fn)(const ml_progress_event *event, void *payload);

#define ML_CLIENT_OPTIONS_VERSION 3
typedef struct ml_client_options {
    uint32_t version;     /* ML_CLIENT_OPTIONS_VERSION */
    uint32_t flags;       /* ML_CLIENT_* */
    uint32_t concurrency; /* parallel requests; 0 = 8 */
    uint32_t retries;     /* retries of transient failures; 0 = default 3, UINT32_MAX = none */
    uint32_t timeout_ms;  /* per request (blob copies: at least 1 KiB per window), and for a layout's lock; 0 = 30000 */
    const char *ca_cert;  /* PEM file of CAs trusted besides the system's, or NULL */
    const char *username; /* explicit credentials, or NULL */
    const char *password;
    const char *docker_config_dir; /* NULL = $DOCKER_CONFIG or ~/.docker */
    const char *auth_file;         /* NULL = $REGISTRY_AUTH_FILE */
    const char *user_agent;        /* NULL = "libmanifestlist/VERSION" */
    ml_log_fn log;                 /* warnings and debug traces, or NULL */
    void *log_payload;
    ml_credential_fn credentials;  /* NULL = the default provider */
    void *credentials_payload;
    ml_progress_fn progress;       /* or NULL */
    void *progress_payload;
    /* Version 2. A directory where the platforms read from image configs
     * are kept, by config digest (content-addressed: never stale), so that
     * later runs need not fetch those configs again, and where blobs were
     * seen (registry, repository), so that a copy into that registry
     * mounts them; NULL = no cache. */
    const char *cache_dir;
    /* Version 3. Per-blob copy progress (ml_progress_event), or NULL. */
    ml_progress_event_fn progress_event;
    void *progress_event_payload;
    /* containers-certs.d(5) directories holding HOST:PORT/ with a
     * registry's CAs (*.crt, added to the system trust) and client
     * certificate (*.cert, *.key), colon-separated, first found first;
     * NULL = ML_CERTS_DIRS_SYSTEM. A program that honours the user's
     * $HOME/.config/containers/certs.d puts it first. */
    const char *certs_dirs;
} ml_client_options;
#define ML_CERTS_DIRS_SYSTEM "/etc/containers/certs.d:/etc/docker/certs.d"
#define ML_CLIENT_OPTIONS_INIT {ML_CLIENT_OPTIONS_VERSION, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL}
ML_API int ml_client_options_init(ml_client_options *opts, uint32_t version);

ML_API int ml_client_new(ml_client **out, const ml_client_options *opts,
                         ml_error **err);
ML_API void ml_client_free(ml_client *client);

/* ---- Building and pushing lists ---------------------------------------- */

#define ML_TYPE_AUTO 0   /* OCI if an entry is OCI or annotations are used */
#define ML_TYPE_DOCKER 1 /* Docker manifest list v2.2 */
#define ML_TYPE_OCI 2    /* OCI image index */

#define ML_PUSH_FORCE (1u << 0)           /* create: replace an existing tag; update: ignore a concurrent move,
                                             replace a single image */
#define ML_PUSH_CREATE (1u << 1)          /* refuse when the target tag exists (ML_EEXISTS) */
#define ML_PUSH_IGNORE_MISSING (1u << 2)  /* skip entries whose image is missing */
#define ML_PUSH_DRY_RUN (1u << 3)         /* resolve and plan; write nothing */
#define ML_PUSH_PURGE (1u << 4)           /* delete the replaced list afterwards */
#define ML_PUSH_NO_ATTESTATIONS (1u << 5) /* drop buildx attestation entries */
#define ML_PUSH_REFERRERS (1u << 6)       /* carry children's referrers (signatures, SBOMs) along */
/* Take a platform given in the spec as it is: no image config is read to
 * fill its variant, os.version and os.features or to check it (for images
 * whose configs are wrong). */
#define ML_PUSH_TRUST_PLATFORMS (1u << 7)

#define ML_PUSH_OPTIONS_VERSION 1
typedef struct ml_push_options {
    uint32_t version; /* ML_PUSH_OPTIONS_VERSION */
    uint32_t flags;   /* ML_PUSH_* */
    uint32_t type;    /* ML_TYPE_* */
    /* Extra index annotations "key=value" (OCI only). */
    const char *const *annotations;
    size_t annotation_count;
} ml_push_options;
#define ML_PUSH_OPTIONS_INIT {ML_PUSH_OPTIONS_VERSION, 0, ML_TYPE_AUTO, NULL, 0}
ML_API int ml_push_options_init(ml_push_options *opts, uint32_t version);

/* Resolves every entry of list `index` of `spec` (digest, size, media type,
 * platform from the image config where the spec has none) and assembles the
 * list. Nothing is written to any registry. */
ML_API int ml_list_build(ml_list **out, ml_client *client, const ml_spec *spec,
                         size_t index, const ml_push_options *opts,
                         ml_error **err);
ML_API void ml_list_free(ml_list *list);
/* The assembled list: exact bytes, digest, media type. */
ML_API const char *ml_list_bytes(const ml_list *list, size_t *len);
ML_API const char *ml_list_digest(const ml_list *list);
ML_API const char *ml_list_media_type(const ml_list *list);
/* Warnings gathered while building (skipped entries, rewrites). */
ML_API size_t ml_list_warning_count(const ml_list *list);
ML_API const char *ml_list_warning(const ml_list *list, size_t index);

/* Makes every child available in the target repository, then pushes the
 * list under its tag(s). With ML_PUSH_DRY_RUN only compares with the
 * registry. *out describes what happened (also on failure when not NULL).
 * The list is pushed as ml_list_build made it: of `opts`, push reads the
 * push-phase flags (FORCE, CREATE, DRY_RUN, PURGE, REFERRERS); a type,
 * annotation or IGNORE_MISSING/NO_ATTESTATIONS flag the build did not use
 * is ML_EINVAL (pass the build's options, or defaults). */
ML_API int ml_list_push(ml_list *list, ml_client *client,
                        const ml_push_options *opts, ml_result **out,
                        ml_error **err);

/* Edits the list at `target` without a spec. Each `add` is
 * "SRC[=OS/ARCH[/VARIANT]]" (platform from the image config when omitted)
 * and replaces the entry of the same platform; each `remove` is a platform
 * or a digest. Entries left alone are not re-resolved. Safe against
 * concurrent writers: the edit is re-checked before and after the PUT and
 * re-applied on top of a concurrent change (bounded), else ML_ECONFLICT.
 * A missing target is created from the additions. */
ML_API int ml_list_edit(ml_client *client, const char *target, const char *const *add,
                        size_t add_count, const char *const *remove, size_t remove_count,
                        const ml_push_options *opts, ml_result **out, ml_error **err);
/* The same edit, with the additions described as list `index` of a spec
 * (parsed or built with ml_spec_new): its target is the list edited, its
 * extra tags are moved too, its index annotations are set over the list's,
 * and each entry (image, full platform or none, annotations) replaces the
 * entry of its platform. `remove` as for ml_list_edit. */
ML_API int ml_list_edit_spec(ml_client *client, const ml_spec *spec, size_t index,
                             const char *const *remove, size_t remove_count,
                             const ml_push_options *opts, ml_result **out, ml_error **err);

/* ---- Results ----------------------------------------------------------- */

ML_API void ml_result_free(ml_result *result);
ML_API const char *ml_result_target(const ml_result *result);
ML_API const char *ml_result_digest(const ml_result *result);
ML_API int64_t ml_result_size(const ml_result *result);
/* 1 when the registry already held this exact list under every tag. */
ML_API int ml_result_up_to_date(const ml_result *result);
/* Dry run: what would be copied ("copy manifest …", "mount blob …",
 * "copy blob …"). */
ML_API size_t ml_result_plan_count(const ml_result *result);
ML_API const char *ml_result_plan(const ml_result *result, size_t index);
/* The tags of the list, the target's own first; whether each moved. */
ML_API size_t ml_result_tag_count(const ml_result *result);
ML_API const char *ml_result_tag(const ml_result *result, size_t index);
ML_API int ml_result_tag_moved(const ml_result *result, size_t index);
/* The digest the tag held before the push (or the dry run), NULL when it
 * did not exist: a NULL for the target's own tag means the list is new. */
ML_API const char *ml_result_tag_previous(const ml_result *result, size_t index);
/* Referrer manifests (signatures, SBOMs, attestations) copied into the
 * target with ML_PUSH_REFERRERS. */
ML_API size_t ml_result_referrers_copied(const ml_result *result);
/* Human-readable change lines ("add linux/arm64/v8: sha256:…",
 * "change linux/amd64: sha256:old -> sha256:new", "remove …"). */
ML_API size_t ml_result_change_count(const ml_result *result);
ML_API const char *ml_result_change(const ml_result *result, size_t index);
/* The result as JSON: target, digest, size, mediaType, upToDate, dryRun,
 * tags [{tag, moved, previous}], changes [{op, platform, digest, previous}],
 * childrenCopied, blobsMounted, blobsCopied, referrersCopied, purged,
 * warnings, plan, and
 * for a dry run the list itself. */
ML_API int ml_result_to_json(const ml_result *result, char **out, ml_error **err);

/* ---- Inspect and delete ------------------------------------------------ */

/* Fetches a manifest (image, list or index) by tag or digest. */
ML_API int ml_manifest_fetch(ml_manifest **out, ml_client *client,
                             const char *ref, ml_error **err);
ML_API void ml_manifest_free(ml_manifest *manifest);
ML_API const char *ml_manifest_ref(const ml_manifest *m);
ML_API const char *ml_manifest_digest(const ml_manifest *m);
ML_API const char *ml_manifest_media_type(const ml_manifest *m);
/* Exact bytes as served. */
ML_API const char *ml_manifest_bytes(const ml_manifest *m, size_t *len);
/* 1 for a Docker manifest list or OCI index. */
ML_API int ml_manifest_is_list(const ml_manifest *m);
ML_API size_t ml_manifest_entry_count(const ml_manifest *m);
ML_API const char *ml_manifest_entry_digest(const ml_manifest *m, size_t i);
ML_API const char *ml_manifest_entry_media_type(const ml_manifest *m, size_t i);
ML_API int64_t ml_manifest_entry_size(const ml_manifest *m, size_t i);
/* "os/arch[/variant]", or NULL when the entry has no platform. */
ML_API const char *ml_manifest_entry_platform(const ml_manifest *m, size_t i);
/* The entry's platform fields as the list states them; NULL (count 0) when
 * absent or when the entry has no platform. */
ML_API const char *ml_manifest_entry_os(const ml_manifest *m, size_t i);
ML_API const char *ml_manifest_entry_architecture(const ml_manifest *m, size_t i);
ML_API const char *ml_manifest_entry_variant(const ml_manifest *m, size_t i);
ML_API const char *ml_manifest_entry_os_version(const ml_manifest *m, size_t i);
ML_API size_t ml_manifest_entry_os_feature_count(const ml_manifest *m, size_t i);
ML_API const char *ml_manifest_entry_os_feature(const ml_manifest *m, size_t i, size_t feature);
/* The entry's artifactType, or NULL. */
ML_API const char *ml_manifest_entry_artifact_type(const ml_manifest *m, size_t i);
/* The entry descriptor's annotations, sorted by key. */
ML_API size_t ml_manifest_entry_annotation_count(const ml_manifest *m, size_t i);
ML_API const char *ml_manifest_entry_annotation_key(const ml_manifest *m, size_t i, size_t a);
ML_API const char *ml_manifest_entry_annotation_value(const ml_manifest *m, size_t i, size_t a);
/* The platform of a single image, read from its config through `client`
 * (one blob read): "os/arch[/variant]" as the config states it, freed with
 * ml_free. ML_EINVAL for a list; ML_EMANIFEST when the config names no
 * os or architecture. */
ML_API int ml_manifest_platform(const ml_manifest *m, ml_client *client, char **platform, ml_error **err);
/* Index of the entry a runtime on `platform` ("os/arch[/variant]") would
 * pick, or ML_ENOTFOUND. */
ML_API int ml_manifest_select(const ml_manifest *m, const char *platform,
                              size_t *index, ml_error **err);
/* Structured JSON view: ref, digest, mediaType, size, manifests/layers. */
ML_API int ml_manifest_to_json(const ml_manifest *m, char **out, ml_error **err);

/* The tags of m's repository that point at m's digest (a tag listing, then
 * one HEAD per tag), kept in m and read with ml_manifest_tag_count and
 * ml_manifest_tag. Deleting a manifest removes them all, as registries
 * delete by digest. *complete (may be NULL) is 0 when the listing was cut
 * short or a tag could not be read: more tags may point at it. */
ML_API int ml_manifest_fetch_tags(ml_manifest *m, ml_client *client, int *complete, ml_error **err);
ML_API size_t ml_manifest_tag_count(const ml_manifest *m);
ML_API const char *ml_manifest_tag(const ml_manifest *m, size_t i);

/* What is attached to the manifest `m` and, for a list, to each of its
 * entries: signatures, SBOMs, attestations (manifests whose subject they
 * are). Read through the OCI 1.1 referrers API, or the "sha256-<hex>" tag
 * schema where the registry lacks it (and always for OCI layouts). */
ML_API int ml_referrers_fetch(ml_referrers **out, ml_client *client, const ml_manifest *m, ml_error **err);
ML_API void ml_referrers_free(ml_referrers *referrers);
ML_API size_t ml_referrers_count(const ml_referrers *r);
/* Digest of the manifest that referrer i refers to (m's own, or an entry's). */
ML_API const char *ml_referrers_subject(const ml_referrers *r, size_t i);
ML_API const char *ml_referrers_digest(const ml_referrers *r, size_t i);
ML_API const char *ml_referrers_media_type(const ml_referrers *r, size_t i);
/* The artifactType, or NULL when the referrer has none. */
ML_API const char *ml_referrers_artifact_type(const ml_referrers *r, size_t i);
ML_API int64_t ml_referrers_size(const ml_referrers *r, size_t i);
/* [{"subject","digest","mediaType","artifactType","size","annotations"}] */
ML_API int ml_referrers_to_json(const ml_referrers *r, char **out, ml_error **err);

/* Checks a list in place: every child exists in the list's repository,
 * each child's config matches its entry's platform, every blob is present,
 * an entry with a platform is an image; lists inside the list are checked
 * through. Returns ML_OK when the check ran (problems or not); *out lists
 * them. */
ML_API int ml_verify(ml_report **out, ml_client *client, const char *ref, ml_error **err);
ML_API void ml_report_free(ml_report *report);
ML_API size_t ml_report_problem_count(const ml_report *report);
ML_API const char *ml_report_problem(const ml_report *report, size_t index);
/* {"ref","digest","ok","children","blobs","problems":[…]} */
ML_API int ml_report_to_json(const ml_report *report, char **out, ml_error **err);

#define ML_DELETE_FORCE (1u << 0) /* also delete a single image manifest */
/* Deletes the list (resolved to its digest) that `ref` names, and with it
 * every tag pointing at that digest. Referenced images are never touched. *deleted_digest (may be NULL) gets the digest. */
ML_API int ml_delete(ml_client *client, const char *ref, uint32_t flags,
                     char **deleted_digest, ml_error **err);

#ifdef __cplusplus
}
#endif
#endif /* MANIFESTLIST_H */
