/* Manifest JSON model with cJSON: Docker schema2 image manifest and manifest
 * list (distribution/distribution docs/spec/manifest-v2-2.md), OCI image
 * manifest and index (opencontainers/image-spec manifest.md, image-index.md),
 * image config (config.md).
 *
 * cJSON keeps process-wide state in cJSON_InitHooks and cJSON_GetErrorPtr;
 * neither is used here. Error offsets come from the return_parse_end argument
 * of cJSON_ParseWithLengthOpts instead. */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "digest.h"
#include "manifest.h"
#include "util.h"

/* Real manifests nest 4 levels; the limit keeps recursion (ours and
 * cJSON's) shallow on hostile input. */
#define MAX_DEPTH 64
/* OCI descriptor.md: sizes beyond 2^53 lose precision in JSON parsers that
 * use doubles (cJSON among them), so they are refused. */
#define SIZE_LIMIT 9007199254740992.0
#define SIZE_LIMIT_U64 UINT64_C(9007199254740992)
/* "manifests[<20 digits>].platform.os.features[<20 digits>]" fits. */
#define PATH_LEN 128
/* Quoted values in messages are cut, a 4 MiB digest helps no one. */
#define QUOTE_LEN 80

/* ---- Error helpers ------------------------------------------------------ */

/* Sets "<path>: <message>" (or only the message when path is empty). */
static int fail(ml_error **err, int code, const char *path, const char *fmt, ...) ML__PRINTF(4, 5);
static int fail(ml_error **err, int code, const char *path, const char *fmt, ...)
{
    if (!err)
        return code;
    ml__buf b = {0};
    if (path && *path) {
        ml__buf_puts(&b, path);
        ml__buf_puts(&b, ": ");
    }
    va_list ap;
    va_start(ap, fmt);
    ml__buf_vprintf(&b, fmt, ap);
    va_end(ap);
    char *msg = ml__buf_take(&b);
    ml__error_set(err, code, "%s", msg ? msg : "out of memory");
    free(msg);
    return code;
}

static int oom(ml_error **err) { return ml__error_set(err, ML_ENOMEM, "out of memory"); }

/* Writes s as a quoted, escaped, possibly shortened string for messages. */
static const char *quote(char buf[QUOTE_LEN + 16], const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    buf[o++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (o >= QUOTE_LEN) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (*p == '"' || *p == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)*p;
        } else if (*p < 0x20 || *p == 0x7f) {
            buf[o++] = '\\';
            buf[o++] = 'x';
            buf[o++] = hex[*p >> 4];
            buf[o++] = hex[*p & 0xf];
        } else {
            buf[o++] = (char)*p;
        }
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

/* Paths only label messages; a cut one still reads "...". */
static void path_done(char out[PATH_LEN], int n)
{
    if (n < 0 || n >= PATH_LEN)
        memcpy(out + PATH_LEN - 4, "...", 4);
}

static void sub_path(char out[PATH_LEN], const char *base, const char *key)
{
    path_done(out, snprintf(out, PATH_LEN, "%s%s%s", base, *base ? "." : "", key));
}

static void index_path(char out[PATH_LEN], const char *base, size_t i)
{
    path_done(out, snprintf(out, PATH_LEN, "%s[%zu]", base, i));
}

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

/* ---- Annotations -------------------------------------------------------- */

/* Index of key, or of the slot where it would be inserted. */
static size_t ann_search(const ml__annotations *a, const char *key, bool *found)
{
    size_t lo = 0, hi = a->count;
    *found = false;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(a->keys[mid], key);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int ml__annotations_set(ml__annotations *a, const char *key, const char *value)
{
    bool found;
    if (!a || !key || !value)
        return ML_EINVAL;
    size_t i = ann_search(a, key, &found);
    if (found)
        return ml__str_replace(&a->values[i], value);
    size_t n;
    if (!ml__size_add(a->count, 1, &n) || n > SIZE_MAX / sizeof(char *))
        return ML_ENOMEM;
    char *k = ml__strdup(key), *v = ml__strdup(value);
    char **keys = k && v ? realloc(a->keys, n * sizeof(char *)) : NULL;
    if (keys)
        a->keys = keys;
    char **values = keys ? realloc(a->values, n * sizeof(char *)) : NULL;
    if (!values) {
        free(k);
        free(v);
        return ML_ENOMEM;
    }
    a->values = values;
    memmove(a->keys + i + 1, a->keys + i, (a->count - i) * sizeof(char *));
    memmove(a->values + i + 1, a->values + i, (a->count - i) * sizeof(char *));
    a->keys[i] = k;
    a->values[i] = v;
    a->count = n;
    return ML_OK;
}

const char *ml__annotations_get(const ml__annotations *a, const char *key)
{
    bool found;
    if (!a || !key)
        return NULL;
    size_t i = ann_search(a, key, &found);
    return found ? a->values[i] : NULL;
}

void ml__annotations_free(ml__annotations *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->count; i++) {
        free(a->keys[i]);
        free(a->values[i]);
    }
    free(a->keys);
    free(a->values);
    memset(a, 0, sizeof(*a));
}

/* Allocates room for n pairs in an empty set; count stays 0. */
static int ann_alloc(ml__annotations *a, size_t n)
{
    memset(a, 0, sizeof(*a));
    if (n == 0)
        return ML_OK;
    a->keys = calloc(n, sizeof(char *));
    a->values = calloc(n, sizeof(char *));
    if (!a->keys || !a->values) {
        ml__annotations_free(a);
        return ML_ENOMEM;
    }
    return ML_OK;
}

int ml__annotations_copy(ml__annotations *dst, const ml__annotations *src)
{
    if (!dst || !src)
        return ML_EINVAL;
    if (ann_alloc(dst, src->count) != ML_OK)
        return ML_ENOMEM;
    for (size_t i = 0; i < src->count; i++) {
        dst->keys[i] = ml__strdup(src->keys[i]);
        dst->values[i] = ml__strdup(src->values[i]);
        dst->count++;
        if (!dst->keys[i] || !dst->values[i]) {
            ml__annotations_free(dst);
            return ML_ENOMEM;
        }
    }
    return ML_OK;
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

/* Runs before cJSON sees the bytes: refuses deep nesting (cJSON recurses
 * per level) and, for manifests, what RFC 8259 forbids but cJSON accepts:
 * raw control characters, and "\u0000", which would silently cut a C
 * string short (a digest or annotation value that is not what was sent). */
static int prescan(const char *s, size_t len, bool strict, ml_error **err)
{
    size_t depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (in_string) {
            if (c == '\\') {
                if (strict && i + 5 < len && s[i + 1] == 'u' && memcmp(s + i + 2, "0000", 4) == 0)
                    return fail(err, ML_EMANIFEST, "", "\\u0000 in a string at byte %zu", i);
                i++;
            } else if (c == '"') {
                in_string = false;
            } else if (strict && c < 0x20) {
                return fail(err, ML_EMANIFEST, "", "control character in a string at byte %zu", i);
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > MAX_DEPTH)
                return fail(err, ML_EMANIFEST, "",
                            "JSON nested deeper than %d levels at byte %zu", MAX_DEPTH, i);
        } else if (c == '}' || c == ']') {
            if (depth)
                depth--;
        } else if (strict && c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
            return fail(err, ML_EMANIFEST, "", "invalid JSON: control character at byte %zu", i);
        }
    }
    return ML_OK;
}

/* Number literals in document order. cJSON keeps only a double, so the text
 * is read again: a cJSON tree lists its number nodes in the same order. */
typedef struct num_cursor {
    const char *s;
    size_t len;
    size_t pos;
} num_cursor;

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static bool is_number_char(char c)
{
    return is_digit(c) || c == '+' || c == '-' || c == '.' || c == 'e' || c == 'E';
}

static bool next_number(num_cursor *c, size_t *start, size_t *end)
{
    bool in_string = false;
    while (c->pos < c->len) {
        char ch = c->s[c->pos];
        if (in_string) {
            if (ch == '\\')
                c->pos++;
            else if (ch == '"')
                in_string = false;
            c->pos++;
        } else if (ch == '"') {
            in_string = true;
            c->pos++;
        } else if (ch == '-' || is_digit(ch)) {
            *start = c->pos;
            while (c->pos < c->len && is_number_char(c->s[c->pos]))
                c->pos++;
            *end = c->pos;
            return true;
        } else {
            c->pos++;
        }
    }
    return false;
}

/* RFC 8259 §6 number grammar (cJSON also takes "01", "1.", "-.5"). */
static bool json_number(const char *s, size_t n, bool *integer)
{
    size_t i = 0, digits;
    *integer = true;
    if (i < n && s[i] == '-')
        i++;
    if (i < n && s[i] == '0')
        i++;
    else if (i < n && s[i] >= '1' && s[i] <= '9')
        while (i < n && is_digit(s[i]))
            i++;
    else
        return false;
    if (i < n && s[i] == '.') {
        *integer = false;
        digits = ++i;
        while (i < n && is_digit(s[i]))
            i++;
        if (i == digits)
            return false;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        *integer = false;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        digits = i;
        while (i < n && is_digit(s[i]))
            i++;
        if (i == digits)
            return false;
    }
    return i == n;
}

/* Keeps a number's text in its valuestring, which cJSON leaves unused for
 * numbers and cJSON_Delete frees whatever the type (so with cJSON's
 * allocator): members kept for other tools are written back as sent. */
static int keep_literal(cJSON *node, const char *s, size_t n)
{
    char *text = cJSON_malloc(n + 1);
    if (!text)
        return ML_ENOMEM;
    memcpy(text, s, n);
    text[n] = '\0';
    node->valuestring = text;
    return ML_OK;
}

/* Marks every number that is not an integer literal as NaN and every integer
 * beyond 2^53 as infinite, so that size checks see what the text said. */
static int check_numbers(cJSON *node, num_cursor *c, ml_error **err)
{
    for (; node; node = node->next) {
        if (cJSON_IsNumber(node)) {
            size_t start, end;
            bool integer;
            if (!next_number(c, &start, &end) || !json_number(c->s + start, end - start, &integer))
                return fail(err, ML_EMANIFEST, "", "invalid JSON number at byte %zu",
                            c->pos < c->len ? c->pos : c->len);
            if (keep_literal(node, c->s + start, end - start) != ML_OK)
                return oom(err);
            if (!integer) {
                node->valuedouble = NAN;
                continue;
            }
            bool negative = c->s[start] == '-';
            uint64_t v = 0;
            for (size_t i = start + negative; i < end && v <= SIZE_LIMIT_U64; i++)
                v = v * 10 + (uint64_t)(c->s[i] - '0');
            if (v > SIZE_LIMIT_U64)
                node->valuedouble = negative ? -INFINITY : INFINITY;
        } else if (node->child) {
            int rc = check_numbers(node->child, c, err);
            if (rc != ML_OK)
                return rc;
        }
    }
    return ML_OK;
}

/* Parses one JSON object; strict mode is for manifests (see prescan and
 * check_numbers); image configs only get the nesting limit. */
static int parse_json(const char *json, size_t len, bool strict, cJSON **out, ml_error **err)
{
    *out = NULL;
    if (!json || len == 0)
        return fail(err, ML_EMANIFEST, "", "empty document");
    int rc = prescan(json, len, strict, err);
    if (rc != ML_OK)
        return rc;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (!root) {
        size_t at = end && end >= json && end <= json + len ? (size_t)(end - json) : 0;
        return fail(err, ML_EMANIFEST, "", "invalid JSON at byte %zu", at);
    }
    size_t at = end ? (size_t)(end - json) : len;
    while (at < len && (json[at] == ' ' || json[at] == '\t' || json[at] == '\n' || json[at] == '\r'))
        at++;
    if (at < len) {
        cJSON_Delete(root);
        return fail(err, ML_EMANIFEST, "", "invalid JSON: unexpected data after the document at byte %zu", at);
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return fail(err, ML_EMANIFEST, "", "the document is not a JSON object");
    }
    if (strict) {
        num_cursor c = {json, len, 0};
        rc = check_numbers(root, &c, err);
        if (rc != ML_OK) {
            cJSON_Delete(root);
            return rc;
        }
    }
    *out = root;
    return ML_OK;
}

/* Registries and other clients use Go's encoding/json, which takes the last
 * of duplicate keys while cJSON takes the first: refuse the ambiguity. */
static int check_duplicates(const cJSON *obj, const char *const *keys, size_t nkeys,
                            const char *path, ml_error **err)
{
    uint32_t seen = 0;
    for (const cJSON *it = obj->child; it; it = it->next) {
        for (size_t k = 0; k < nkeys && it->string; k++) {
            if (strcmp(it->string, keys[k]) != 0)
                continue;
            if (seen & (UINT32_C(1) << k))
                return fail(err, ML_EMANIFEST, path, "duplicate key \"%s\"", keys[k]);
            seen |= UINT32_C(1) << k;
        }
    }
    return ML_OK;
}

#define STR_REQUIRED 1u       /* missing is an error */
#define STR_NONEMPTY 2u       /* "" is an error */
#define STR_EMPTY_ABSENT 4u   /* "" reads as absent (NULL) */
#define STR_MEDIA_TYPE 8u     /* must be a media type (ml__media_type_valid) */

static int bad_media_type(ml_error **err, const char *path, const char *value)
{
    char q[QUOTE_LEN + 16];
    return fail(err, ML_EMANIFEST, path, "invalid media type %s (RFC 6838 type/subtype, no parameters)",
                quote(q, value));
}

/* Copies the string member `key` of obj into *out (NULL when absent). */
static int get_string(const cJSON *obj, const char *key, const char *path, unsigned flags,
                      char **out, ml_error **err)
{
    char p[PATH_LEN];
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = NULL;
    sub_path(p, path, key);
    if (!it)
        return (flags & STR_REQUIRED) ? fail(err, ML_EMANIFEST, p, "missing") : ML_OK;
    if (!cJSON_IsString(it) || !it->valuestring)
        return fail(err, ML_EMANIFEST, p, "must be a string");
    if (it->valuestring[0] == '\0') {
        if (flags & STR_NONEMPTY)
            return fail(err, ML_EMANIFEST, p, "must not be empty");
        if (flags & STR_EMPTY_ABSENT)
            return ML_OK;
    }
    if ((flags & STR_MEDIA_TYPE) && !ml__media_type_valid(it->valuestring))
        return bad_media_type(err, p, it->valuestring);
    if (!(*out = ml__strdup(it->valuestring)))
        return oom(err);
    return ML_OK;
}

/* Appends the strings of the optional array member `key` to out. */
static int get_string_array(const cJSON *obj, const char *key, const char *path,
                            ml__strvec *out, ml_error **err)
{
    char p[PATH_LEN], ip[PATH_LEN];
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!arr)
        return ML_OK;
    sub_path(p, path, key);
    if (!cJSON_IsArray(arr))
        return fail(err, ML_EMANIFEST, p, "must be an array of strings");
    size_t i = 0;
    for (const cJSON *it = arr->child; it; it = it->next, i++) {
        if (!cJSON_IsString(it) || !it->valuestring) {
            index_path(ip, p, i);
            return fail(err, ML_EMANIFEST, ip, "must be a string");
        }
        if (ml__strvec_push(out, it->valuestring) != ML_OK)
            return oom(err);
    }
    return ML_OK;
}

static int get_size(const cJSON *obj, const char *path, int64_t *out, ml_error **err)
{
    char p[PATH_LEN];
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, "size");
    sub_path(p, path, "size");
    if (!it)
        return fail(err, ML_EMANIFEST, p, "missing");
    if (!cJSON_IsNumber(it) || isnan(it->valuedouble))
        return fail(err, ML_EMANIFEST, p, "must be an integer");
    if (it->valuedouble < 0)
        return fail(err, ML_EMANIFEST, p, "must not be negative");
    if (it->valuedouble > SIZE_LIMIT)
        return fail(err, ML_EMANIFEST, p, "larger than 2^53");
    *out = (int64_t)it->valuedouble;
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

/* Ends reading n pairs into *out (rc: how reading them went): sorted by
 * key, a key twice is an error. Sorting once keeps large inputs
 * O(n log n) where repeated ml__annotations_set would be quadratic. Frees
 * the pairs. */
static int take_pairs(ann_pair *pairs, size_t n, int rc, const char *path, ml__annotations *out,
                      ml_error **err)
{
    char q[QUOTE_LEN + 16];
    if (rc == ML_OK)
        qsort(pairs, n, sizeof(*pairs), ann_pair_cmp);
    for (size_t i = 1; rc == ML_OK && i < n; i++)
        if (strcmp(pairs[i - 1].key, pairs[i].key) == 0)
            rc = fail(err, ML_EMANIFEST, path, "duplicate key %s", quote(q, pairs[i].key));
    if (rc == ML_OK && ann_alloc(out, n) != ML_OK)
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
static int parse_annotations(const cJSON *obj, const char *path, ml__annotations *out,
                             ml_error **err)
{
    char p[PATH_LEN], q[QUOTE_LEN + 16];
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, "annotations");
    memset(out, 0, sizeof(*out));
    if (!it)
        return ML_OK;
    sub_path(p, path, "annotations");
    if (!cJSON_IsObject(it))
        return fail(err, ML_EMANIFEST, p, "must be an object of strings");
    size_t n = (size_t)cJSON_GetArraySize(it); /* counts an object's members too */
    if (n == 0)
        return ML_OK;
    ann_pair *pairs = calloc(n, sizeof(*pairs));
    if (!pairs)
        return oom(err);
    int rc = ML_OK;
    size_t i = 0;
    for (const cJSON *c = it->child; c && rc == ML_OK; c = c->next, i++) {
        if (!c->string || !cJSON_IsString(c) || !c->valuestring) {
            rc = fail(err, ML_EMANIFEST, p, "value of %s must be a string",
                      quote(q, c->string ? c->string : ""));
            break;
        }
        pairs[i].key = ml__strdup(c->string);
        pairs[i].value = ml__strdup(c->valuestring);
        if (!pairs[i].key || !pairs[i].value)
            rc = oom(err);
    }
    return take_pairs(pairs, n, rc, p, out, err);
}

static bool is_known(const char *key, const char *const *known, size_t nknown)
{
    for (size_t k = 0; k < nknown; k++)
        if (strcmp(key, known[k]) == 0)
            return true;
    return false;
}

/* Number nodes holding their text (keep_literal) become raw JSON. */
static void raw_numbers(cJSON *node)
{
    for (; node; node = node->next) {
        if (cJSON_IsNumber(node) && node->valuestring)
            node->type = cJSON_Raw;
        else
            raw_numbers(node->child);
    }
}

/* A value as compact JSON text, numbers as written; NULL on ENOMEM. */
static char *value_text(const cJSON *value)
{
    cJSON *copy = cJSON_Duplicate(value, true);
    if (!copy)
        return NULL;
    raw_numbers(copy);
    char *printed = cJSON_PrintUnformatted(copy);
    cJSON_Delete(copy);
    /* Copied so that the model is freed with free() whatever cJSON's hooks. */
    char *text = printed ? ml__strdup(printed) : NULL;
    cJSON_free(printed);
    return text;
}

/* Reads the members of obj that are not `known` (what other tools added)
 * sorted by key, so that writing the document back keeps them. */
static int parse_extra(const cJSON *obj, const char *const *known, size_t nknown, const char *path,
                       ml__annotations *out, ml_error **err)
{
    size_t n = 0;
    memset(out, 0, sizeof(*out));
    for (const cJSON *c = obj->child; c; c = c->next)
        n += c->string && !is_known(c->string, known, nknown);
    if (n == 0)
        return ML_OK;
    ann_pair *pairs = calloc(n, sizeof(*pairs));
    if (!pairs)
        return oom(err);
    int rc = ML_OK;
    size_t i = 0;
    for (const cJSON *c = obj->child; c && rc == ML_OK; c = c->next) {
        if (!c->string || is_known(c->string, known, nknown))
            continue;
        ann_pair *pair = &pairs[i++];
        pair->key = ml__strdup(c->string);
        pair->value = value_text(c);
        if (!pair->key || !pair->value)
            rc = oom(err);
    }
    return take_pairs(pairs, n, rc, path, out, err);
}

static const char *const platform_keys[] = {
    "architecture", "os", "os.version", "os.features", "variant", "features",
};

static int parse_platform_fields(const cJSON *obj, const char *path, bool with_features,
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

static int parse_descriptor(const cJSON *obj, const char *path, ml__descriptor *d, ml_error **err)
{
    char p[PATH_LEN], q[QUOTE_LEN + 16];
    int rc;
    memset(d, 0, sizeof(*d));
    if (!cJSON_IsObject(obj))
        return fail(err, ML_EMANIFEST, path, "must be an object");
    if ((rc = check_duplicates(obj, descriptor_keys, sizeof(descriptor_keys) / sizeof(descriptor_keys[0]), path, err)) ||
        (rc = get_string(obj, "mediaType", path, STR_REQUIRED | STR_NONEMPTY | STR_MEDIA_TYPE, &d->media_type, err)) ||
        (rc = get_string(obj, "artifactType", path, STR_EMPTY_ABSENT | STR_MEDIA_TYPE, &d->artifact_type, err)) ||
        (rc = get_string(obj, "digest", path, STR_REQUIRED, &d->digest, err)))
        goto fail;
    if (!ml__digest_valid(d->digest)) {
        sub_path(p, path, "digest");
        rc = fail(err, ML_EMANIFEST, p, "invalid digest %s", quote(q, d->digest));
        goto fail;
    }
    if ((rc = get_size(obj, path, &d->size, err)) ||
        (rc = get_string_array(obj, "urls", path, &d->urls, err)))
        goto fail;
    const cJSON *plat = cJSON_GetObjectItemCaseSensitive(obj, "platform");
    if (plat) {
        sub_path(p, path, "platform");
        if (!cJSON_IsObject(plat)) {
            rc = fail(err, ML_EMANIFEST, p, "must be an object");
            goto fail;
        }
        if ((rc = check_duplicates(plat, platform_keys, sizeof(platform_keys) / sizeof(platform_keys[0]), p, err)) ||
            (rc = parse_platform_fields(plat, p, true, &d->platform, err)) ||
            (rc = parse_extra(plat, platform_keys, sizeof(platform_keys) / sizeof(platform_keys[0]), p,
                              &d->platform_extra, err)))
            goto fail;
        d->has_platform = true;
    }
    /* OCI 1.1 descriptor.md: "data" is the content in base64; it is kept
     * as written (in extra), with the entry it describes. */
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(obj, "data");
    if (data && !cJSON_IsString(data)) {
        sub_path(p, path, "data");
        rc = fail(err, ML_EMANIFEST, p, "must be a string");
        goto fail;
    }
    if ((rc = parse_annotations(obj, path, &d->annotations, err)) ||
        (rc = parse_extra(obj, descriptor_keys, sizeof(descriptor_keys) / sizeof(descriptor_keys[0]), path,
                          &d->extra, err)))
        goto fail;
    return ML_OK;
fail:
    ml__descriptor_clear(d);
    return rc;
}

static int parse_descriptor_array(const cJSON *obj, const char *key, ml__descriptor **items,
                                  size_t *count, ml_error **err)
{
    char p[PATH_LEN];
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, key);
    *items = NULL;
    *count = 0;
    if (!arr)
        return fail(err, ML_EMANIFEST, key, "missing");
    if (!cJSON_IsArray(arr))
        return fail(err, ML_EMANIFEST, key, "must be an array");
    size_t n = (size_t)cJSON_GetArraySize(arr);
    if (n == 0)
        return ML_OK;
    ml__descriptor *d = calloc(n, sizeof(*d));
    if (!d)
        return oom(err);
    size_t i = 0;
    for (const cJSON *it = arr->child; it; it = it->next, i++) {
        index_path(p, key, i);
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
#define MANIFEST_KEYS (sizeof(manifest_keys) / sizeof(manifest_keys[0]))

/* The top-level keys the model reads for a kind; other tools' go to extra. */
static const char *const *kind_keys(ml__kind kind, size_t *n)
{
    bool list = ml__kind_is_list(kind);
    *n = list ? 6 : 7;
    return manifest_keys + (list ? 2 : 0);
}

/* Kind from the document's mediaType, else the Content-Type, else the
 * fields present (OCI makes mediaType optional; Docker requires it). */
static int resolve_kind(const cJSON *root, const char *content_type, ml__manifest *m,
                        ml_error **err)
{
    char q[QUOTE_LEN + 16], q2[QUOTE_LEN + 16];
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "mediaType");
    const char *doc_type = NULL;
    if (mt) {
        if (!cJSON_IsString(mt) || !mt->valuestring)
            return fail(err, ML_EMANIFEST, "mediaType", "must be a string");
        doc_type = mt->valuestring;
    }
    /* A registry answering application/json or octet-stream says nothing
     * about the kind, so only a known manifest type is compared. */
    ml__kind ct_kind = content_type_kind(content_type);
    if (doc_type) {
        if (!ml__media_type_valid(doc_type))
            return bad_media_type(err, "mediaType", doc_type);
        m->kind = ml__kind_of(doc_type);
        if (m->kind == ML__KIND_UNKNOWN)
            return fail(err, ML_EMANIFEST, "mediaType", "unsupported media type %s",
                        quote(q, doc_type));
        if (ct_kind != ML__KIND_UNKNOWN && ct_kind != m->kind)
            return fail(err, ML_EMANIFEST, "", "mediaType %s does not match Content-Type %s",
                        quote(q, doc_type), quote(q2, content_type));
    } else if (ct_kind != ML__KIND_UNKNOWN) {
        m->kind = ct_kind;
        doc_type = kind_media_type(m->kind); /* the header's text stays out of the model */
    } else {
        bool has_manifests = cJSON_GetObjectItemCaseSensitive(root, "manifests") != NULL;
        bool has_config = cJSON_GetObjectItemCaseSensitive(root, "config") != NULL;
        if (has_manifests == has_config)
            return fail(err, ML_EMANIFEST, "",
                        has_config ? "no mediaType, and both manifests and config: cannot tell an index from a manifest"
                                   : "no mediaType, manifests or config: not an image manifest or index");
        m->kind = has_manifests ? ML__KIND_OCI_INDEX : ML__KIND_OCI_MANIFEST;
        doc_type = kind_media_type(m->kind);
    }
    if (!(m->media_type = ml__strdup(doc_type)))
        return oom(err);
    return ML_OK;
}

static int parse_manifest_body(const cJSON *root, const char *content_type, ml__manifest *m,
                               ml_error **err)
{
    int rc;
    const cJSON *sv = cJSON_GetObjectItemCaseSensitive(root, "schemaVersion");
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "mediaType");
    if ((rc = check_duplicates(root, manifest_keys, MANIFEST_KEYS, "", err)))
        return rc;
    if ((cJSON_IsNumber(sv) && sv->valuedouble == 1) || is_schema1(content_type) ||
        (cJSON_IsString(mt) && is_schema1(mt->valuestring)))
        return fail(err, ML_EMANIFEST, "", "Docker schema 1 manifests are not supported");
    if (!sv)
        return fail(err, ML_EMANIFEST, "schemaVersion", "missing");
    if (!cJSON_IsNumber(sv) || sv->valuedouble != 2)
        return fail(err, ML_EMANIFEST, "schemaVersion", "must be 2");
    if ((rc = resolve_kind(root, content_type, m, err)) ||
        (rc = get_string(root, "artifactType", "", STR_EMPTY_ABSENT | STR_MEDIA_TYPE, &m->artifact_type, err)))
        return rc;
    if (ml__kind_is_list(m->kind)) {
        if ((rc = parse_descriptor_array(root, "manifests", &m->manifests, &m->manifest_count, err)))
            return rc;
    } else {
        const cJSON *config = cJSON_GetObjectItemCaseSensitive(root, "config");
        if (!config)
            return fail(err, ML_EMANIFEST, "config", "missing");
        if ((rc = parse_descriptor(config, "config", &m->config, err)) ||
            (rc = parse_descriptor_array(root, "layers", &m->layers, &m->layer_count, err)))
            return rc;
    }
    const cJSON *subject = cJSON_GetObjectItemCaseSensitive(root, "subject");
    if (subject) {
        if ((rc = parse_descriptor(subject, "subject", &m->subject, err)))
            return rc;
        m->has_subject = true;
    }
    size_t nknown;
    const char *const *known = kind_keys(m->kind, &nknown);
    if ((rc = parse_annotations(root, "", &m->annotations, err)))
        return rc;
    return parse_extra(root, known, nknown, "", &m->extra, err);
}

int ml__manifest_parse(ml__manifest *out, const char *json, size_t len,
                       const char *content_type, ml_error **err)
{
    if (!out)
        return ml__error_set(err, ML_EINVAL, "no output for the manifest");
    memset(out, 0, sizeof(*out));
    if (!json && len)
        return ml__error_set(err, ML_EINVAL, "no manifest data");
    if (len > ML__MANIFEST_MAX)
        return ml__error_set(err, ML_ETOOBIG, "manifest of %zu bytes is over the limit of %u bytes (4 MiB)",
                             len, ML__MANIFEST_MAX);
    cJSON *root;
    int rc = parse_json(json, len, true, &root, err);
    if (rc != ML_OK)
        return rc;
    rc = parse_manifest_body(root, content_type, out, err);
    cJSON_Delete(root);
    if (rc != ML_OK)
        ml__manifest_clear(out);
    return rc;
}

int ml__config_platform(const char *json, size_t len, ml_platform *out, ml_error **err)
{
    if (!out)
        return ml__error_set(err, ML_EINVAL, "no output for the platform");
    memset(out, 0, sizeof(*out));
    if (!json && len)
        return ml__error_set(err, ML_EINVAL, "no image config data");
    if (len > ML__CONFIG_MAX)
        return ml__error_set(err, ML_ETOOBIG, "image config of %zu bytes is over the limit of %u bytes",
                             len, ML__CONFIG_MAX);
    cJSON *root;
    int rc = parse_json(json, len, false, &root, err);
    /* Only the platform fields matter; the config may carry anything else.
     * "features" is not an image config field. */
    if (rc == ML_OK)
        rc = check_duplicates(root, platform_keys, sizeof(platform_keys) / sizeof(platform_keys[0]), "", err);
    if (rc == ML_OK)
        rc = parse_platform_fields(root, "", false, out, err);
    cJSON_Delete(root);
    if (rc != ML_OK)
        return ml__error_prefix(err, rc, "image config");
    return ML_OK;
}

/* ---- Emission ----------------------------------------------------------- */

/* Adds item to an object (key) or an array (key NULL); takes item. */
static int add(cJSON *parent, const char *key, cJSON *item)
{
    if (!item)
        return ML_ENOMEM;
    if (!(key ? cJSON_AddItemToObject(parent, key, item) : cJSON_AddItemToArray(parent, item))) {
        cJSON_Delete(item);
        return ML_ENOMEM;
    }
    return ML_OK;
}

static int add_string(cJSON *parent, const char *key, const char *value)
{
    return add(parent, key, cJSON_CreateString(value));
}

/* cJSON prints doubles; an int64 is written as its exact decimal text. */
static int add_int(cJSON *parent, const char *key, int64_t value)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%" PRId64, value);
    return add(parent, key, cJSON_CreateRaw(buf));
}

static int add_string_array(cJSON *parent, const char *key, const ml__strvec *v)
{
    if (v->count == 0)
        return ML_OK;
    cJSON *arr = cJSON_CreateArray();
    int rc = add(parent, key, arr);
    for (size_t i = 0; rc == ML_OK && i < v->count; i++)
        rc = v->items[i] ? add_string(arr, NULL, v->items[i]) : ML_EINVAL;
    return rc;
}

static bool present(const char *s) { return s && *s; }

/* rc from add*: ML_ENOMEM, or ML_EINVAL for a NULL inside a vector. */
static int add_failed(int rc, const char *path, ml_error **err)
{
    if (rc == ML_ENOMEM)
        return oom(err);
    return fail(err, rc, path, "NULL string in a list");
}

static int check_sorted(const ml__annotations *a, const char *path, ml_error **err)
{
    for (size_t i = 0; i < a->count; i++) {
        if (!a->keys[i] || !a->values[i])
            return fail(err, ML_EINVAL, path, "NULL key or value");
        /* The set is kept sorted (ml__annotations_set); anything else would
         * make the bytes depend on how the model was built. */
        if (i > 0 && strcmp(a->keys[i - 1], a->keys[i]) >= 0)
            return fail(err, ML_EINVAL, path, "keys not sorted or duplicated");
    }
    return ML_OK;
}

static int emit_annotations(cJSON *parent, const ml__annotations *a, const char *path,
                            ml_error **err)
{
    char p[PATH_LEN];
    if (a->count == 0)
        return ML_OK;
    sub_path(p, path, "annotations");
    int rc = check_sorted(a, p, err);
    if (rc != ML_OK)
        return rc;
    cJSON *obj = cJSON_CreateObject();
    rc = add(parent, "annotations", obj);
    for (size_t i = 0; rc == ML_OK && i < a->count; i++)
        rc = add_string(obj, a->keys[i], a->values[i]);
    return rc == ML_OK ? ML_OK : oom(err);
}

static bool is_json(const char *text)
{
    cJSON *value = cJSON_ParseWithOpts(text, NULL, true);
    bool ok = value != NULL;
    cJSON_Delete(value);
    return ok;
}

/* Writes back the members of obj other tools added (parse_extra), after
 * the model's: a key of the model would be there twice. */
static int emit_extra(cJSON *obj, const ml__annotations *x, const char *const *known, size_t nknown,
                      const char *path, ml_error **err)
{
    char q[QUOTE_LEN + 16];
    int rc = check_sorted(x, path, err);
    if (rc != ML_OK)
        return rc;
    for (size_t i = 0; i < x->count; i++) {
        if (is_known(x->keys[i], known, nknown))
            return fail(err, ML_EINVAL, path, "extra member %s is one of the model's keys", quote(q, x->keys[i]));
        if (!is_json(x->values[i]))
            return fail(err, ML_EINVAL, path, "extra member %s is not JSON", quote(q, x->keys[i]));
        if (add(obj, x->keys[i], cJSON_CreateRaw(x->values[i])) != ML_OK)
            return oom(err);
    }
    return ML_OK;
}

static int emit_platform(cJSON *parent, const ml__descriptor *d, const char *path, ml_error **err)
{
    const ml_platform *pl = &d->platform;
    char p[PATH_LEN];
    sub_path(p, path, "platform");
    if (!present(pl->architecture) || !present(pl->os))
        return fail(err, ML_EINVAL, p, "architecture and os are required");
    cJSON *obj = cJSON_CreateObject();
    int rc;
    if ((rc = add(parent, "platform", obj)) ||
        (rc = add_string(obj, "architecture", pl->architecture)) ||
        (rc = add_string(obj, "os", pl->os)) ||
        (present(pl->os_version) && (rc = add_string(obj, "os.version", pl->os_version))) ||
        (rc = add_string_array(obj, "os.features", &pl->os_features)) ||
        (present(pl->variant) && (rc = add_string(obj, "variant", pl->variant))) ||
        (rc = add_string_array(obj, "features", &pl->features)))
        return add_failed(rc, p, err);
    return emit_extra(obj, &d->platform_extra, platform_keys, sizeof(platform_keys) / sizeof(platform_keys[0]), p,
                      err);
}

/* Descriptor key order: mediaType, artifactType, digest, size, urls,
 * platform, annotations. `docker` names the Docker format for fields that
 * only OCI has, NULL for OCI. */
static int emit_descriptor(cJSON *parent, const char *key, const ml__descriptor *d,
                           const char *path, const char *docker, ml_error **err)
{
    char p[PATH_LEN], q[QUOTE_LEN + 16];
    if (!present(d->media_type)) {
        sub_path(p, path, "mediaType");
        return fail(err, ML_EINVAL, p, "missing");
    }
    if (!ml__digest_valid(d->digest)) {
        sub_path(p, path, "digest");
        return fail(err, ML_EINVAL, p, "invalid digest %s", quote(q, d->digest ? d->digest : ""));
    }
    if (d->size < 0 || (uint64_t)d->size > SIZE_LIMIT_U64) {
        sub_path(p, path, "size");
        return fail(err, ML_EINVAL, p, "%" PRId64 " is out of range", d->size);
    }
    if (docker && present(d->artifact_type)) {
        sub_path(p, path, "artifactType");
        return fail(err, ML_ETYPE, p, "not part of the %s format", docker);
    }
    if (docker && d->annotations.count) {
        sub_path(p, path, "annotations");
        return fail(err, ML_ETYPE, p, "not part of the %s format", docker);
    }
    cJSON *obj = cJSON_CreateObject();
    int rc;
    if ((rc = add(parent, key, obj)) ||
        (rc = add_string(obj, "mediaType", d->media_type)) ||
        (present(d->artifact_type) && (rc = add_string(obj, "artifactType", d->artifact_type))) ||
        (rc = add_string(obj, "digest", d->digest)) ||
        (rc = add_int(obj, "size", d->size)) ||
        (rc = add_string_array(obj, "urls", &d->urls))) {
        sub_path(p, path, "urls");
        return add_failed(rc, p, err);
    }
    if ((d->has_platform && (rc = emit_platform(obj, d, path, err))) ||
        (rc = emit_annotations(obj, &d->annotations, path, err)))
        return rc;
    return emit_extra(obj, &d->extra, descriptor_keys, sizeof(descriptor_keys) / sizeof(descriptor_keys[0]), path,
                      err);
}

static int emit_descriptors(cJSON *parent, const char *key, const ml__descriptor *items,
                            size_t count, const char *docker, ml_error **err)
{
    char p[PATH_LEN];
    if (count && !items)
        return fail(err, ML_EINVAL, key, "count without items");
    cJSON *arr = cJSON_CreateArray();
    if (add(parent, key, arr) != ML_OK)
        return oom(err);
    for (size_t i = 0; i < count; i++) {
        index_path(p, key, i);
        int rc = emit_descriptor(arr, NULL, &items[i], p, docker, err);
        if (rc != ML_OK)
            return rc;
    }
    return ML_OK;
}

static int build_tree(cJSON *root, const ml__manifest *m, ml_error **err)
{
    const char *media_type = kind_media_type(m->kind);
    const char *docker = m->kind == ML__KIND_DOCKER_LIST ? "Docker manifest list"
                         : m->kind == ML__KIND_DOCKER_MANIFEST ? "Docker image manifest"
                                                               : NULL;
    if (!media_type)
        return fail(err, ML_EINVAL, "", "manifest kind %d cannot be written", (int)m->kind);
    /* Dropping these would publish something other than what was asked. */
    if (docker && present(m->artifact_type))
        return fail(err, ML_ETYPE, "artifactType", "not part of the %s format", docker);
    if (docker && m->has_subject)
        return fail(err, ML_ETYPE, "subject", "not part of the %s format", docker);
    if (docker && m->annotations.count)
        return fail(err, ML_ETYPE, "annotations", "not part of the %s format", docker);
    int rc;
    if (add(root, "schemaVersion", cJSON_CreateNumber(2)) ||
        add_string(root, "mediaType", media_type) ||
        (present(m->artifact_type) && add_string(root, "artifactType", m->artifact_type)))
        return oom(err);
    if (ml__kind_is_list(m->kind)) {
        if ((rc = emit_descriptors(root, "manifests", m->manifests, m->manifest_count, docker, err)))
            return rc;
    } else if ((rc = emit_descriptor(root, "config", &m->config, "config", docker, err)) ||
               (rc = emit_descriptors(root, "layers", m->layers, m->layer_count, docker, err))) {
        return rc;
    }
    if ((m->has_subject && (rc = emit_descriptor(root, "subject", &m->subject, "subject", docker, err))) ||
        (rc = emit_annotations(root, &m->annotations, "", err)))
        return rc;
    size_t nknown;
    const char *const *known = kind_keys(m->kind, &nknown);
    return emit_extra(root, &m->extra, known, nknown, "", err);
}

int ml__manifest_emit(const ml__manifest *m, char **out, size_t *len, ml_error **err)
{
    if (!m || !out)
        return ml__error_set(err, ML_EINVAL, "no manifest or output to write");
    *out = NULL;
    if (len)
        *len = 0;
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return oom(err);
    int rc = build_tree(root, m, err);
    char *printed = rc == ML_OK ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (rc != ML_OK)
        return rc;
    if (!printed)
        return oom(err);
    size_t n = strlen(printed);
    /* Copied so callers free with free()/ml_free whatever cJSON's hooks are. */
    char *copy = n <= ML__MANIFEST_MAX ? ml__strndup(printed, n) : NULL;
    cJSON_free(printed);
    if (n > ML__MANIFEST_MAX)
        return ml__error_set(err, ML_ETOOBIG, "manifest of %zu bytes would be over the limit of %u bytes (4 MiB)",
                             n, ML__MANIFEST_MAX);
    if (!copy)
        return oom(err);
    *out = copy;
    if (len)
        *len = n;
    return ML_OK;
}

bool ml__descriptor_is_attestation(const ml__descriptor *d)
{
    const char *type = ml__annotations_get(&d->annotations, "vnd.docker.reference.type");
    return type && strcmp(type, "attestation-manifest") == 0;
}
