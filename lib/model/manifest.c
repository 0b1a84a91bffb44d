/* Manifest JSON model: Docker schema2 image manifest and manifest list
 * (distribution/distribution docs/spec/manifest-v2-2.md), OCI image
 * manifest and index (opencontainers/image-spec manifest.md, image-index.md),
 * image config (config.md). JSON itself is read and written by json.c. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "json.h"
#include "manifest.h"
#include "util.h"

static int oom(ml_error **err) { return ml__error_set(err, ML_ENOMEM, "out of memory"); }

/* ---- Media types -------------------------------------------------------- */

static const struct {
    const char *type;
    ml__kind kind;
} kinds[] = {
    {ML__MT_DOCKER_MANIFEST, ML__KIND_DOCKER_MANIFEST},
    {ML__MT_DOCKER_LIST, ML__KIND_DOCKER_LIST},
    {ML__MT_OCI_MANIFEST, ML__KIND_OCI_MANIFEST},
    {ML__MT_OCI_INDEX, ML__KIND_OCI_INDEX},
};

/* RFC 6838 §4.2: restricted-name-first is ALPHA / DIGIT, the other
 * restricted-name-chars add "!#$&-^_.+". */
static bool name_char(char c, bool first)
{
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    return alnum || (!first && c != '\0' && strchr("!#$&-^_.+", c));
}

/* Length of the restricted-name s starts with (at most 127), 0 if none. */
static size_t restricted_name(const char *s)
{
    size_t n = 0;
    while (n < 127 && name_char(s[n], n == 0))
        n++;
    return n;
}

bool ml__media_type_valid(const char *mt)
{
    size_t type = mt ? restricted_name(mt) : 0;
    if (type == 0 || mt[type] != '/')
        return false;
    size_t sub = restricted_name(mt + type + 1);
    return sub > 0 && mt[type + 1 + sub] == '\0';
}

/* A Content-Type header may carry parameters (RFC 9110 §8.3.1) and its
 * type is case-insensitive; only a kind is taken from it, never its text. */
static bool content_type_is(const char *ct, const char *want)
{
    if (!ct)
        return false;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    size_t n = strcspn(ct, ";");
    while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    return ml__ieq_n(ct, n, want, strlen(want));
}

static ml__kind content_type_kind(const char *ct)
{
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (content_type_is(ct, kinds[i].type))
            return kinds[i].kind;
    return ML__KIND_UNKNOWN;
}

/* The text of a media type in a manifest goes on into a Content-Type
 * header: a known type is only ever that exact string. */
ml__kind ml__kind_of(const char *media_type)
{
    for (size_t i = 0; media_type && i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strcmp(media_type, kinds[i].type) == 0)
            return kinds[i].kind;
    return ML__KIND_UNKNOWN;
}

bool ml__kind_is_list(ml__kind kind)
{
    return kind == ML__KIND_DOCKER_LIST || kind == ML__KIND_OCI_INDEX;
}

static const char *kind_media_type(ml__kind kind)
{
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (kinds[i].kind == kind)
            return kinds[i].type;
    return NULL;
}

static bool is_schema1(const char *mt)
{
    return content_type_is(mt, "application/vnd.docker.distribution.manifest.v1+prettyjws") ||
           content_type_is(mt, "application/vnd.docker.distribution.manifest.v1+json");
}

/* ---- Descriptors and manifests: ownership ------------------------------- */

void ml__descriptor_clear(ml__descriptor *d)
{
    if (!d)
        return;
    free(d->media_type);
    free(d->digest);
    ml__platform_clear(&d->platform);
    ml__annotations_free(&d->annotations);
    free(d->artifact_type);
    ml__strvec_free(&d->urls);
    ml__annotations_free(&d->extra);
    ml__annotations_free(&d->platform_extra);
    memset(d, 0, sizeof(*d));
}

int ml__manifest_append(ml__manifest *m, ml__descriptor *d)
{
    size_t bytes;
    if (!ml__size_mul(m->manifest_count + 1, sizeof(*d), &bytes))
        return ML_ENOMEM;
    ml__descriptor *grown = realloc(m->manifests, bytes);
    if (!grown)
        return ML_ENOMEM;
    m->manifests = grown;
    m->manifests[m->manifest_count++] = *d;
    *d = (ml__descriptor){0};
    return ML_OK;
}

int ml__descriptor_copy(ml__descriptor *dst, const ml__descriptor *src)
{
    if (!dst || !src)
        return ML_EINVAL;
    memset(dst, 0, sizeof(*dst));
    dst->size = src->size;
    dst->has_platform = src->has_platform;
    if ((src->media_type && !(dst->media_type = ml__strdup(src->media_type))) ||
        (src->digest && !(dst->digest = ml__strdup(src->digest))) ||
        (src->artifact_type && !(dst->artifact_type = ml__strdup(src->artifact_type))))
        goto nomem;
    if (src->has_platform && ml__platform_copy(&dst->platform, &src->platform) != ML_OK)
        goto nomem;
    if (ml__annotations_copy(&dst->annotations, &src->annotations) != ML_OK ||
        ml__annotations_copy(&dst->extra, &src->extra) != ML_OK ||
        ml__annotations_copy(&dst->platform_extra, &src->platform_extra) != ML_OK)
        goto nomem;
    for (size_t i = 0; i < src->urls.count; i++)
        if (ml__strvec_push(&dst->urls, src->urls.items[i]) != ML_OK)
            goto nomem;
    return ML_OK;
nomem:
    ml__descriptor_clear(dst);
    return ML_ENOMEM;
}

static void descriptors_free(ml__descriptor *items, size_t count)
{
    for (size_t i = 0; i < count; i++)
        ml__descriptor_clear(&items[i]);
    free(items);
}

void ml__manifest_clear(ml__manifest *m)
{
    if (!m)
        return;
    free(m->media_type);
    ml__descriptor_clear(&m->config);
    descriptors_free(m->layers, m->layer_count);
    descriptors_free(m->manifests, m->manifest_count);
    ml__descriptor_clear(&m->subject);
    free(m->artifact_type);
    ml__annotations_free(&m->annotations);
    ml__annotations_free(&m->extra);
    memset(m, 0, sizeof(*m));
}

/* ---- JSON reading ------------------------------------------------------- */

#define STR_REQUIRED 1u       /* missing is an error */
#define STR_NONEMPTY 2u       /* "" is an error */
#define STR_EMPTY_ABSENT 4u   /* "" reads as absent (NULL) */
#define STR_MEDIA_TYPE 8u     /* must be a media type (ml__media_type_valid) */

static int bad_media_type(ml_error **err, const char *path, const char *value)
{
    char q[ML__JSON_QUOTE_LEN];
    return ml__json_fail(err, ML_EMANIFEST, path, "invalid media type %s (RFC 6838 type/subtype, no parameters)",
                         ml__json_quote(q, value));
}

/* Copies the string member `key` of obj into *out (NULL when absent). */
static int get_string(const ml__json *obj, const char *key, const char *path, unsigned flags,
                      char **out, ml_error **err)
{
    char p[ML__JSON_PATH_LEN];
    const ml__json *it = ml__json_get(obj, key);
    const char *s = ml__json_string(it);
    *out = NULL;
    ml__json_path_key(p, path, key);
    if (!it)
        return (flags & STR_REQUIRED) ? ml__json_fail(err, ML_EMANIFEST, p, "missing") : ML_OK;
    if (!s)
        return ml__json_fail(err, ML_EMANIFEST, p, "must be a string");
    if (s[0] == '\0') {
        if (flags & STR_NONEMPTY)
            return ml__json_fail(err, ML_EMANIFEST, p, "must not be empty");
        if (flags & STR_EMPTY_ABSENT)
            return ML_OK;
    }
    if ((flags & STR_MEDIA_TYPE) && !ml__media_type_valid(s))
        return bad_media_type(err, p, s);
    if (!(*out = ml__strdup(s)))
        return oom(err);
    return ML_OK;
}

/* Appends the strings of the optional array member `key` to out. */
static int get_string_array(const ml__json *obj, const char *key, const char *path,
                            ml__strvec *out, ml_error **err)
{
    char p[ML__JSON_PATH_LEN], ip[ML__JSON_PATH_LEN];
    const ml__json *arr = ml__json_get(obj, key);
    if (!arr)
        return ML_OK;
    ml__json_path_key(p, path, key);
    if (!ml__json_is_array(arr))
        return ml__json_fail(err, ML_EMANIFEST, p, "must be an array of strings");
    size_t i = 0;
    for (const ml__json *it = ml__json_first(arr); it; it = ml__json_next(it), i++) {
        const char *s = ml__json_string(it);
        if (!s) {
            ml__json_path_index(ip, p, i);
            return ml__json_fail(err, ML_EMANIFEST, ip, "must be a string");
        }
        if (ml__strvec_push(out, s) != ML_OK)
            return oom(err);
    }
    return ML_OK;
}

static int get_size(const ml__json *obj, const char *path, int64_t *out, ml_error **err)
{
    char p[ML__JSON_PATH_LEN];
    const ml__json *it = ml__json_get(obj, "size");
    ml__json_path_key(p, path, "size");
    if (!it)
        return ml__json_fail(err, ML_EMANIFEST, p, "missing");
    if (!ml__json_int(it, out))
        return ml__json_fail(err, ML_EMANIFEST, p, "must be an integer");
    if (*out < 0)
        return ml__json_fail(err, ML_EMANIFEST, p, "must not be negative");
    if (*out > ML__JSON_INT_MAX)
        return ml__json_fail(err, ML_EMANIFEST, p, "larger than 2^53");
    return ML_OK;
}

typedef struct ann_pair {
    char *key;
    char *value;
} ann_pair;

static int ann_pair_cmp(const void *a, const void *b)
{
    return strcmp(((const ann_pair *)a)->key, ((const ann_pair *)b)->key);
}

/* Ends reading n pairs into *out (rc: how reading them went), sorted by key
 * (the reader refused keys given twice). Sorting once keeps large inputs
 * O(n log n) where repeated ml__annotations_set would be quadratic. Frees
 * the pairs. */
static int take_pairs(ann_pair *pairs, size_t n, int rc, ml__annotations *out, ml_error **err)
{
    if (rc == ML_OK)
        qsort(pairs, n, sizeof(*pairs), ann_pair_cmp);
    if (rc == ML_OK && ml__annotations_alloc(out, n) != ML_OK)
        rc = oom(err);
    for (size_t i = 0; rc == ML_OK && i < n; i++) {
        out->keys[i] = pairs[i].key;
        out->values[i] = pairs[i].value;
        pairs[i].key = pairs[i].value = NULL;
    }
    if (rc == ML_OK)
        out->count = n;
    for (size_t i = 0; i < n; i++) {
        free(pairs[i].key);
        free(pairs[i].value);
    }
    free(pairs);
    return rc;
}

/* Reads {"k": "v", ...} sorted by key. */
static int parse_annotations(const ml__json *obj, const char *path, ml__annotations *out,
                             ml_error **err)
{
    char p[ML__JSON_PATH_LEN], q[ML__JSON_QUOTE_LEN];
    const ml__json *it = ml__json_get(obj, "annotations");
    memset(out, 0, sizeof(*out));
    if (!it)
        return ML_OK;
    ml__json_path_key(p, path, "annotations");
    if (!ml__json_is_object(it))
        return ml__json_fail(err, ML_EMANIFEST, p, "must be an object of strings");
    size_t n = ml__json_count(it);
    if (n == 0)
        return ML_OK;
    ann_pair *pairs = calloc(n, sizeof(*pairs));
    if (!pairs)
        return oom(err);
    int rc = ML_OK;
    size_t i = 0;
    for (const ml__json *c = ml__json_first(it); c && rc == ML_OK; c = ml__json_next(c), i++) {
        const char *value = ml__json_string(c);
        if (!value) {
            rc = ml__json_fail(err, ML_EMANIFEST, p, "value of %s must be a string",
                               ml__json_quote(q, ml__json_key(c)));
            break;
        }
        pairs[i].key = ml__strdup(ml__json_key(c));
        pairs[i].value = ml__strdup(value);
        if (!pairs[i].key || !pairs[i].value)
            rc = oom(err);
    }
    return take_pairs(pairs, n, rc, out, err);
}

static bool is_known(const char *key, const char *const *known, size_t nknown)
{
    for (size_t k = 0; k < nknown; k++)
        if (strcmp(key, known[k]) == 0)
            return true;
    return false;
}

/* Reads the members of obj that are not `known` (what other tools added)
 * sorted by key, so that writing the document back keeps them. */
static int parse_extra(const ml__json *obj, const char *const *known, size_t nknown,
                       ml__annotations *out, ml_error **err)
{
    size_t n = 0;
    memset(out, 0, sizeof(*out));
    for (const ml__json *c = ml__json_first(obj); c; c = ml__json_next(c))
        n += !is_known(ml__json_key(c), known, nknown);
    if (n == 0)
        return ML_OK;
    ann_pair *pairs = calloc(n, sizeof(*pairs));
    if (!pairs)
        return oom(err);
    int rc = ML_OK;
    size_t i = 0;
    for (const ml__json *c = ml__json_first(obj); c && rc == ML_OK; c = ml__json_next(c)) {
        if (is_known(ml__json_key(c), known, nknown))
            continue;
        ann_pair *pair = &pairs[i++];
        pair->key = ml__strdup(ml__json_key(c));
        pair->value = ml__json_text(c);
        if (!pair->key || !pair->value)
            rc = oom(err);
    }
    return take_pairs(pairs, n, rc, out, err);
}

static const char *const platform_keys[] = {
    "architecture", "os", "os.version", "os.features", "variant", "features",
};
#define PLATFORM_KEYS (sizeof(platform_keys) / sizeof(platform_keys[0]))

static int parse_platform_fields(const ml__json *obj, const char *path, bool with_features,
                                 ml_platform *p, ml_error **err)
{
    int rc;
    memset(p, 0, sizeof(*p));
    if ((rc = get_string(obj, "architecture", path, STR_REQUIRED | STR_NONEMPTY, &p->architecture, err)) ||
        (rc = get_string(obj, "os", path, STR_REQUIRED | STR_NONEMPTY, &p->os, err)) ||
        (rc = get_string(obj, "os.version", path, STR_EMPTY_ABSENT, &p->os_version, err)) ||
        (rc = get_string_array(obj, "os.features", path, &p->os_features, err)) ||
        (rc = get_string(obj, "variant", path, STR_EMPTY_ABSENT, &p->variant, err)) ||
        (with_features && (rc = get_string_array(obj, "features", path, &p->features, err)))) {
        ml__platform_clear(p);
        memset(p, 0, sizeof(*p));
        return rc;
    }
    return ML_OK;
}


static const char *const descriptor_keys[] = {
    "mediaType", "artifactType", "digest", "size", "urls", "platform", "annotations",
};
#define DESCRIPTOR_KEYS (sizeof(descriptor_keys) / sizeof(descriptor_keys[0]))

static int parse_platform(const ml__json *plat, const char *path, ml__descriptor *d, ml_error **err)
{
    char p[ML__JSON_PATH_LEN];
    ml__json_path_key(p, path, "platform");
    if (!ml__json_is_object(plat))
        return ml__json_fail(err, ML_EMANIFEST, p, "must be an object");
    int rc = parse_platform_fields(plat, p, true, &d->platform, err);
    if (rc == ML_OK)
        rc = parse_extra(plat, platform_keys, PLATFORM_KEYS, &d->platform_extra, err);
    d->has_platform = rc == ML_OK;
    return rc;
}

static int parse_descriptor(const ml__json *obj, const char *path, ml__descriptor *d, ml_error **err)
{
    char p[ML__JSON_PATH_LEN], q[ML__JSON_QUOTE_LEN];
    int rc;
    memset(d, 0, sizeof(*d));
    if (!ml__json_is_object(obj))
        return ml__json_fail(err, ML_EMANIFEST, path, "must be an object");
    if ((rc = get_string(obj, "mediaType", path, STR_REQUIRED | STR_NONEMPTY | STR_MEDIA_TYPE, &d->media_type, err)) ||
        (rc = get_string(obj, "artifactType", path, STR_EMPTY_ABSENT | STR_MEDIA_TYPE, &d->artifact_type, err)) ||
        (rc = get_string(obj, "digest", path, STR_REQUIRED, &d->digest, err)))
        goto fail;
    if (!ml__digest_valid(d->digest)) {
        ml__json_path_key(p, path, "digest");
        rc = ml__json_fail(err, ML_EMANIFEST, p, "invalid digest %s", ml__json_quote(q, d->digest));
        goto fail;
    }
    const ml__json *plat = ml__json_get(obj, "platform");
    if ((rc = get_size(obj, path, &d->size, err)) ||
        (rc = get_string_array(obj, "urls", path, &d->urls, err)) ||
        (plat && (rc = parse_platform(plat, path, d, err))))
        goto fail;
    /* OCI 1.1 descriptor.md: "data" is the content in base64; it is kept
     * as written (in extra), with the entry it describes. */
    const ml__json *data = ml__json_get(obj, "data");
    if (data && !ml__json_string(data)) {
        ml__json_path_key(p, path, "data");
        rc = ml__json_fail(err, ML_EMANIFEST, p, "must be a string");
        goto fail;
    }
    if ((rc = parse_annotations(obj, path, &d->annotations, err)) ||
        (rc = parse_extra(obj, descriptor_keys, DESCRIPTOR_KEYS, &d->extra, err)))
        goto fail;
    return ML_OK;
fail:
    ml__descriptor_clear(d);
    return rc;
}

static int parse_descriptor_array(const ml__json *obj, const char *key, ml__descriptor **items,
                                  size_t *count, ml_error **err)
{
    char p[ML__JSON_PATH_LEN];
    const ml__json *arr = ml__json_get(obj, key);
    *items = NULL;
    *count = 0;
    if (!arr)
        return ml__json_fail(err, ML_EMANIFEST, key, "missing");
    if (!ml__json_is_array(arr))
        return ml__json_fail(err, ML_EMANIFEST, key, "must be an array");
    size_t n = ml__json_count(arr);
    if (n == 0)
        return ML_OK;
    ml__descriptor *d = calloc(n, sizeof(*d));
    if (!d)
        return oom(err);
    size_t i = 0;
    for (const ml__json *it = ml__json_first(arr); it; it = ml__json_next(it), i++) {
        ml__json_path_index(p, key, i);
        int rc = parse_descriptor(it, p, &d[i], err);
        if (rc != ML_OK) {
            descriptors_free(d, i);
            return rc;
        }
    }
    *items = d;
    *count = n;
    return ML_OK;
}

/* Image manifests read the first seven, lists the last six. */
static const char *const manifest_keys[] = {
    "config", "layers", "schemaVersion", "mediaType", "artifactType", "subject", "annotations", "manifests",
};

/* The top-level keys the model reads for a kind; other tools' go to extra. */
static const char *const *kind_keys(ml__kind kind, size_t *n)
{
    bool list = ml__kind_is_list(kind);
    *n = list ? 6 : 7;
    return manifest_keys + (list ? 2 : 0);
}

/* Kind from the document's mediaType, else the Content-Type, else the
 * fields present (OCI makes mediaType optional; Docker requires it). */
static int resolve_kind(const ml__json *root, const char *content_type, ml__manifest *m,
                        ml_error **err)
{
    char q[ML__JSON_QUOTE_LEN], q2[ML__JSON_QUOTE_LEN];
    const ml__json *mt = ml__json_get(root, "mediaType");
    const char *doc_type = ml__json_string(mt);
    if (mt && !doc_type)
        return ml__json_fail(err, ML_EMANIFEST, "mediaType", "must be a string");
    /* A registry answering application/json or octet-stream says nothing
     * about the kind, so only a known manifest type is compared. */
    ml__kind ct_kind = content_type_kind(content_type);
    if (doc_type) {
        if (!ml__media_type_valid(doc_type))
            return bad_media_type(err, "mediaType", doc_type);
        m->kind = ml__kind_of(doc_type);
        if (m->kind == ML__KIND_UNKNOWN)
            return ml__json_fail(err, ML_EMANIFEST, "mediaType", "unsupported media type %s",
                                 ml__json_quote(q, doc_type));
        if (ct_kind != ML__KIND_UNKNOWN && ct_kind != m->kind)
            return ml__json_fail(err, ML_EMANIFEST, "", "mediaType %s does not match Content-Type %s",
                                 ml__json_quote(q, doc_type), ml__json_quote(q2, content_type));
    } else if (ct_kind != ML__KIND_UNKNOWN) {
        m->kind = ct_kind;
        doc_type = kind_media_type(m->kind); /* the header's text stays out of the model */
    } else {
        bool has_manifests = ml__json_get(root, "manifests") != NULL;
        bool has_config = ml__json_get(root, "config") != NULL;
        if (has_manifests == has_config)
            return ml__json_fail(err, ML_EMANIFEST, "",
                                 has_config ? "no mediaType, and both manifests and config: cannot tell an index from a manifest"
                                            : "no mediaType, manifests or config: not an image manifest or index");
        m->kind = has_manifests ? ML__KIND_OCI_INDEX : ML__KIND_OCI_MANIFEST;
        doc_type = kind_media_type(m->kind);
    }
    if (!(m->media_type = ml__strdup(doc_type)))
        return oom(err);
    return ML_OK;
}

static int parse_manifest_body(const ml__json *root, const char *content_type, ml__manifest *m,
                               ml_error **err)
{
    int rc;
    const ml__json *sv = ml__json_get(root, "schemaVersion");
    const char *mt = ml__json_string(ml__json_get(root, "mediaType"));
    int64_t version = 0;
    bool integer = ml__json_int(sv, &version);
    if ((integer && version == 1) || is_schema1(content_type) || (mt && is_schema1(mt)))
        return ml__json_fail(err, ML_EMANIFEST, "", "Docker schema 1 manifests are not supported");
    if (!sv)
        return ml__json_fail(err, ML_EMANIFEST, "schemaVersion", "missing");
    if (!integer || version != 2)
        return ml__json_fail(err, ML_EMANIFEST, "schemaVersion", "must be 2");
    if ((rc = resolve_kind(root, content_type, m, err)) ||
        (rc = get_string(root, "artifactType", "", STR_EMPTY_ABSENT | STR_MEDIA_TYPE, &m->artifact_type, err)))
        return rc;
    if (ml__kind_is_list(m->kind)) {
        if ((rc = parse_descriptor_array(root, "manifests", &m->manifests, &m->manifest_count, err)))
            return rc;
    } else {
        const ml__json *config = ml__json_get(root, "config");
        if (!config)
            return ml__json_fail(err, ML_EMANIFEST, "config", "missing");
        if ((rc = parse_descriptor(config, "config", &m->config, err)) ||
            (rc = parse_descriptor_array(root, "layers", &m->layers, &m->layer_count, err)))
            return rc;
    }
    const ml__json *subject = ml__json_get(root, "subject");
    if (subject) {
        if ((rc = parse_descriptor(subject, "subject", &m->subject, err)))
            return rc;
        m->has_subject = true;
    }
    size_t nknown;
    const char *const *known = kind_keys(m->kind, &nknown);
    if ((rc = parse_annotations(root, "", &m->annotations, err)))
        return rc;
    return parse_extra(root, known, nknown, &m->extra, err);
}

/* A document of at most `max` bytes, read strictly. */
static int read_document(const char *json, size_t len, size_t max, const char *what, ml__json **root,
                         ml_error **err)
{
    *root = NULL;
    if (!json && len)
        return ml__error_set(err, ML_EINVAL, "no %s data", what);
    if (len > max)
        return ml__error_set(err, ML_ETOOBIG, "%s of %zu bytes is over the limit of %zu bytes (%zu MiB)", what, len,
                             max, max >> 20);
    return ml__json_parse(root, json, len, ML_EMANIFEST, err);
}

int ml__manifest_parse(ml__manifest *out, const char *json, size_t len,
                       const char *content_type, ml_error **err)
{
    if (!out)
        return ml__error_set(err, ML_EINVAL, "no output for the manifest");
    memset(out, 0, sizeof(*out));
    ml__json *root;
    int rc = read_document(json, len, ML__MANIFEST_MAX, "manifest", &root, err);
    if (rc != ML_OK)
        return rc;
    rc = parse_manifest_body(root, content_type, out, err);
    ml__json_free(root);
    if (rc != ML_OK)
        ml__manifest_clear(out);
    return rc;
}

int ml__config_platform(const char *json, size_t len, ml_platform *out, ml_error **err)
{
    if (!out)
        return ml__error_set(err, ML_EINVAL, "no output for the platform");
    memset(out, 0, sizeof(*out));
    ml__json *root;
    int rc = read_document(json, len, ML__CONFIG_MAX, "image config", &root, err);
    /* Only the platform fields matter; the config may carry anything else.
     * "features" is not an image config field. */
    if (rc == ML_OK)
        rc = parse_platform_fields(root, "", false, out, err);
    ml__json_free(root);
    if (rc != ML_OK)
        return ml__error_prefix(err, rc, "image config");
    return ML_OK;
}

/* ---- Emission ----------------------------------------------------------- */

static bool present(const char *s) { return s && *s; }

static int check_strings(const ml__strvec *v, const char *path, ml_error **err)
{
    for (size_t i = 0; i < v->count; i++)
        if (!v->items[i])
            return ml__json_fail(err, ML_EINVAL, path, "NULL string in a list");
    return ML_OK;
}

/* Empty lists are left out. */
static void write_strings(ml__json_writer *w, const char *key, const ml__strvec *v)
{
    if (v->count)
        ml__jw_strings(w, key, v);
}

static int check_sorted(const ml__annotations *a, const char *path, ml_error **err)
{
    for (size_t i = 0; i < a->count; i++) {
        if (!a->keys[i] || !a->values[i])
            return ml__json_fail(err, ML_EINVAL, path, "NULL key or value");
        /* The set is kept sorted (ml__annotations_set); anything else would
         * make the bytes depend on how the model was built. */
        if (i > 0 && strcmp(a->keys[i - 1], a->keys[i]) >= 0)
            return ml__json_fail(err, ML_EINVAL, path, "keys not sorted or duplicated");
    }
    return ML_OK;
}

static int emit_annotations(ml__json_writer *w, const ml__annotations *a, const char *path,
                            ml_error **err)
{
    char p[ML__JSON_PATH_LEN];
    if (a->count == 0)
        return ML_OK;
    ml__json_path_key(p, path, "annotations");
    int rc = check_sorted(a, p, err);
    if (rc != ML_OK)
        return rc;
    ml__jw_object(w, "annotations");
    for (size_t i = 0; i < a->count; i++)
        ml__jw_string(w, a->keys[i], a->values[i]);
    ml__jw_end_object(w);
    return ML_OK;
}

/* Writes back the members of an object other tools added (parse_extra),
 * after the model's: a key of the model would be there twice. */
static int emit_extra(ml__json_writer *w, const ml__annotations *x, const char *const *known, size_t nknown,
                      const char *path, ml_error **err)
{
    char q[ML__JSON_QUOTE_LEN];
    int rc = check_sorted(x, path, err);
    if (rc != ML_OK)
        return rc;
    for (size_t i = 0; i < x->count; i++) {
        if (is_known(x->keys[i], known, nknown))
            return ml__json_fail(err, ML_EINVAL, path, "extra member %s is one of the model's keys",
                                 ml__json_quote(q, x->keys[i]));
        if (!ml__json_valid(x->values[i]))
            return ml__json_fail(err, ML_EINVAL, path, "extra member %s is not JSON", ml__json_quote(q, x->keys[i]));
        ml__jw_raw(w, x->keys[i], x->values[i]);
    }
    return ML_OK;
}

static int emit_platform(ml__json_writer *w, const ml__descriptor *d, const char *path, ml_error **err)
{
    const ml_platform *pl = &d->platform;
    char p[ML__JSON_PATH_LEN];
    int rc;
    ml__json_path_key(p, path, "platform");
    if (!present(pl->architecture) || !present(pl->os))
        return ml__json_fail(err, ML_EINVAL, p, "architecture and os are required");
    if ((rc = check_strings(&pl->os_features, p, err)) || (rc = check_strings(&pl->features, p, err)))
        return rc;
    ml__jw_object(w, "platform");
    ml__jw_string(w, "architecture", pl->architecture);
    ml__jw_string(w, "os", pl->os);
    if (present(pl->os_version))
        ml__jw_string(w, "os.version", pl->os_version);
    write_strings(w, "os.features", &pl->os_features);
    if (present(pl->variant))
        ml__jw_string(w, "variant", pl->variant);
    write_strings(w, "features", &pl->features);
    rc = emit_extra(w, &d->platform_extra, platform_keys, PLATFORM_KEYS, p, err);
    ml__jw_end_object(w);
    return rc;
}

/* What a descriptor must hold to be written. `docker` names the Docker
 * format for fields that only OCI has, NULL for OCI. */
static int check_descriptor(const ml__descriptor *d, const char *path, const char *docker, ml_error **err)
{
    char p[ML__JSON_PATH_LEN], q[ML__JSON_QUOTE_LEN];
    if (!present(d->media_type)) {
        ml__json_path_key(p, path, "mediaType");
        return ml__json_fail(err, ML_EINVAL, p, "missing");
    }
    if (!ml__digest_valid(d->digest)) {
        ml__json_path_key(p, path, "digest");
        return ml__json_fail(err, ML_EINVAL, p, "invalid digest %s", ml__json_quote(q, d->digest ? d->digest : ""));
    }
    if (d->size < 0 || d->size > ML__JSON_INT_MAX) {
        ml__json_path_key(p, path, "size");
        return ml__json_fail(err, ML_EINVAL, p, "%" PRId64 " is out of range", d->size);
    }
    if (docker && present(d->artifact_type)) {
        ml__json_path_key(p, path, "artifactType");
        return ml__json_fail(err, ML_ETYPE, p, "not part of the %s format", docker);
    }
    if (docker && d->annotations.count) {
        ml__json_path_key(p, path, "annotations");
        return ml__json_fail(err, ML_ETYPE, p, "not part of the %s format", docker);
    }
    ml__json_path_key(p, path, "urls");
    return check_strings(&d->urls, p, err);
}

/* Descriptor key order: mediaType, artifactType, digest, size, urls,
 * platform, annotations. */
static int emit_descriptor(ml__json_writer *w, const char *key, const ml__descriptor *d,
                           const char *path, const char *docker, ml_error **err)
{
    int rc = check_descriptor(d, path, docker, err);
    if (rc != ML_OK)
        return rc;
    ml__jw_object(w, key);
    ml__jw_string(w, "mediaType", d->media_type);
    if (present(d->artifact_type))
        ml__jw_string(w, "artifactType", d->artifact_type);
    ml__jw_string(w, "digest", d->digest);
    ml__jw_int(w, "size", d->size);
    write_strings(w, "urls", &d->urls);
    if ((d->has_platform && (rc = emit_platform(w, d, path, err))) ||
        (rc = emit_annotations(w, &d->annotations, path, err)) ||
        (rc = emit_extra(w, &d->extra, descriptor_keys, DESCRIPTOR_KEYS, path, err)))
        return rc;
    ml__jw_end_object(w);
    return ML_OK;
}

static int emit_descriptors(ml__json_writer *w, const char *key, const ml__descriptor *items,
                            size_t count, const char *docker, ml_error **err)
{
    char p[ML__JSON_PATH_LEN];
    if (count && !items)
        return ml__json_fail(err, ML_EINVAL, key, "count without items");
    ml__jw_array(w, key);
    for (size_t i = 0; i < count; i++) {
        ml__json_path_index(p, key, i);
        int rc = emit_descriptor(w, NULL, &items[i], p, docker, err);
        if (rc != ML_OK)
            return rc;
    }
    ml__jw_end_array(w);
    return ML_OK;
}

static int emit_manifest(ml__json_writer *w, const ml__manifest *m, ml_error **err)
{
    const char *media_type = kind_media_type(m->kind);
    const char *docker = m->kind == ML__KIND_DOCKER_LIST ? "Docker manifest list"
                         : m->kind == ML__KIND_DOCKER_MANIFEST ? "Docker image manifest"
                                                               : NULL;
    if (!media_type)
        return ml__json_fail(err, ML_EINVAL, "", "manifest kind %d cannot be written", (int)m->kind);
    /* Dropping these would publish something other than what was asked. */
    if (docker && present(m->artifact_type))
        return ml__json_fail(err, ML_ETYPE, "artifactType", "not part of the %s format", docker);
    if (docker && m->has_subject)
        return ml__json_fail(err, ML_ETYPE, "subject", "not part of the %s format", docker);
    if (docker && m->annotations.count)
        return ml__json_fail(err, ML_ETYPE, "annotations", "not part of the %s format", docker);
    int rc;
    ml__jw_object(w, NULL);
    ml__jw_int(w, "schemaVersion", 2);
    ml__jw_string(w, "mediaType", media_type);
    if (present(m->artifact_type))
        ml__jw_string(w, "artifactType", m->artifact_type);
    if (ml__kind_is_list(m->kind)) {
        if ((rc = emit_descriptors(w, "manifests", m->manifests, m->manifest_count, docker, err)))
            return rc;
    } else if ((rc = emit_descriptor(w, "config", &m->config, "config", docker, err)) ||
               (rc = emit_descriptors(w, "layers", m->layers, m->layer_count, docker, err))) {
        return rc;
    }
    size_t nknown;
    const char *const *known = kind_keys(m->kind, &nknown);
    if ((m->has_subject && (rc = emit_descriptor(w, "subject", &m->subject, "subject", docker, err))) ||
        (rc = emit_annotations(w, &m->annotations, "", err)) ||
        (rc = emit_extra(w, &m->extra, known, nknown, "", err)))
        return rc;
    ml__jw_end_object(w);
    return ML_OK;
}

int ml__manifest_emit(const ml__manifest *m, char **out, size_t *len, ml_error **err)
{
    if (!m || !out)
        return ml__error_set(err, ML_EINVAL, "no manifest or output to write");
    *out = NULL;
    if (len)
        *len = 0;
    ml__json_writer w = {0};
    int rc = emit_manifest(&w, m, err);
    size_t n;
    char *text = ml__jw_take(&w, &n);
    if (rc == ML_OK && !text)
        rc = oom(err);
    else if (rc == ML_OK && n > ML__MANIFEST_MAX)
        rc = ml__error_set(err, ML_ETOOBIG, "manifest of %zu bytes would be over the limit of %u bytes (4 MiB)",
                           n, ML__MANIFEST_MAX);
    if (rc != ML_OK) {
        free(text);
        return rc;
    }
    *out = text;
    if (len)
        *len = n;
    return ML_OK;
}

bool ml__descriptor_is_attestation(const ml__descriptor *d)
{
    const char *type = ml__annotations_get(&d->annotations, "vnd.docker.reference.type");
    return type && strcmp(type, "attestation-manifest") == 0;
}
