#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ref.h"
#include "util.h"

#define LEGACY_REGISTRY "index.docker.io"
#define DOCKER_API_HOST "registry-1.docker.io"
#define TAG_MAX 128
/* Longer inputs are cut in messages: a 4 KiB reference helps nobody. */
#define QUOTE_MAX 80

static bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
static bool is_alnum(char c) { return is_lower_alnum(c) || is_upper(c); }
static bool is_hex_lower(char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }

static bool has_upper(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (is_upper(s[i]))
            return true;
    return false;
}

static bool all_digits(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_digit(s[i]))
            return false;
    return true;
}

static int ref_error(ml_error **err, const char *ref, const char *fmt, ...) ML__PRINTF(3, 4);

/* Every message names the reference the way the user wrote it, made
 * printable: a reference from a spec or a registry may hold anything. */
static int ref_error(ml_error **err, const char *ref, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = ml__error_vset_printable(err, ML_EREF, fmt, ap);
    va_end(ap);
    char *quoted = rc == ML_EREF ? ml__sanitize(ref, strlen(ref), QUOTE_MAX) : NULL;
    if (quoted)
        ml__error_prefix(err, rc, "invalid reference \"%s\"", quoted);
    else if (rc == ML_EREF)
        rc = ml__error_set(err, ML_ENOMEM, "out of memory");
    free(quoted);
    return rc;
}

/* Path component: [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)* */
static bool path_component_valid(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (!is_lower_alnum(s[i]))
            return false;
        while (i < n && is_lower_alnum(s[i]))
            i++;
        if (i == n)
            return true;
        if (s[i] == '.') {
            i++;
        } else if (s[i] == '_') {
            i += (i + 1 < n && s[i + 1] == '_') ? 2 : 1;
        } else if (s[i] == '-') {
            while (i < n && s[i] == '-')
                i++;
        } else {
            return false;
        }
        if (i == n)
            return false; /* a separator must be followed by [a-z0-9] */
    }
    return n > 0;
}

static int validate_path(const char *ref, const char *path, ml_error **err)
{
    if (has_upper(path, strlen(path)))
        return ref_error(err, ref, "repository name must be lowercase");
    const char *p = path;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0)
            return ref_error(err, ref, "repository name has an empty path component");
        if (!path_component_valid(p, n))
            return ref_error(err, ref,
                             "repository name has invalid characters (allowed: a-z 0-9 and "
                             "separators . _ __ - between them)");
        if (!slash)
            return ML_OK;
        p = slash + 1;
    }
}

/* Host label: [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9] */
static bool host_valid(const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '.')
            continue;
        size_t len = i - start;
        if (len == 0 || !is_alnum(s[start]) || !is_alnum(s[i - 1]))
            return false;
        for (size_t j = start; j < i; j++)
            if (!is_alnum(s[j]) && s[j] != '-')
                return false;
        start = i + 1;
    }
    return n > 0;
}

static bool port_valid(const char *s, size_t n)
{
    if (!all_digits(s, n) || n > 5)
        return false;
    unsigned long port = strtoul(s, NULL, 10);
    return port >= 1 && port <= 65535;
}

/* host[:port] or [ipv6][:port] */
static bool registry_valid(const char *s)
{
    size_t n = strlen(s);
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close == s + 1)
            return false;
        for (const char *p = s + 1; p < close; p++)
            if (!is_digit(*p) && !strchr("abcdefABCDEF:", *p))
                return false;
        const char *rest = close + 1;
        return *rest == '\0' || (*rest == ':' && port_valid(rest + 1, strlen(rest + 1)));
    }
    const char *colon = strchr(s, ':');
    if (!colon)
        return host_valid(s, n);
    return host_valid(s, (size_t)(colon - s)) &&
           port_valid(colon + 1, n - (size_t)(colon - s) - 1);
}

bool ml__repository_valid(const char *path)
{
    return path && strlen(path) <= ML__REF_MAX_PATH && validate_path(path, path, NULL) == ML_OK;
}

bool ml__tag_valid(const char *tag)
{
    if (!tag || !(is_alnum(tag[0]) || tag[0] == '_'))
        return false;
    size_t n = 1;
    for (; tag[n]; n++)
        if (!is_alnum(tag[n]) && !strchr("_.-", tag[n]))
            return false;
    return n <= TAG_MAX;
}

static int validate_tag(const char *ref, const char *tag, ml_error **err)
{
    if (!*tag)
        return ref_error(err, ref, "tag is empty");
    if (strlen(tag) > TAG_MAX)
        return ref_error(err, ref, "tag is longer than 128 characters");
    if (!ml__tag_valid(tag))
        return ref_error(err, ref, "tag \"%s\" has invalid characters (allowed: A-Z a-z 0-9 _ . -, "
                                   "not starting with . or -)", tag);
    return ML_OK;
}

/* Algorithm syntax of the OCI image spec: [a-z0-9]+([+._-][a-z0-9]+)* */
static bool algorithm_valid(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        bool sep = strchr("+._-", s[i]) != NULL;
        if (!sep && !is_lower_alnum(s[i]))
            return false;
        if (sep && (i == 0 || i + 1 == n || strchr("+._-", s[i - 1])))
            return false;
    }
    return true;
}

static bool hex_valid(const char *s, size_t want)
{
    size_t n = strlen(s);
    if (n != want)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_hex_lower(s[i]))
            return false;
    return true;
}

static int validate_digest(const char *ref, const char *digest, ml_error **err)
{
    const char *colon = strchr(digest, ':');
    if (!colon || !algorithm_valid(digest, (size_t)(colon - digest)))
        return ref_error(err, ref, "digest \"%s\" is not algorithm:hex", digest);
    size_t want;
    if (ml__has_prefix(digest, "sha256:"))
        want = 64;
    else if (ml__has_prefix(digest, "sha512:"))
        want = 128;
    else
        return ref_error(err, ref, "unsupported digest algorithm \"%.*s\" (use sha256 or sha512)",
                         (int)(colon - digest), digest);
    if (!hex_valid(colon + 1, want))
        return ref_error(err, ref,
                         "digest \"%s\" must have %zu lowercase hex digits", digest, want);
    return ML_OK;
}

/* A first component names a registry when it cannot be a Docker Hub
 * namespace: it has a dot, a port colon, or is localhost. */
static bool looks_like_registry(const char *s, size_t n)
{
    if (memchr(s, '.', n) || memchr(s, ':', n))
        return true;
    return n == strlen("localhost") && memcmp(s, "localhost", n) == 0;
}

/* Splits "name" into registry and repository the way docker does. */
static int split_name(ml_ref *out, const char *ref, const char *name, ml_error **err)
{
    const char *slash = strchr(name, '/');
    size_t first = slash ? (size_t)(slash - name) : strlen(name);
    if (slash && looks_like_registry(name, first)) {
        out->registry = ml__strndup(name, first);
        out->repository = ml__strdup(slash + 1);
    } else if (slash && has_upper(name, first)) {
        /* distribution would read "Foo/bar" as registry host "Foo"; a
         * capitalised single-label host is nearly always a mistyped
         * repository, so say that instead of failing to connect. */
        return ref_error(err, ref, "repository name must be lowercase");
    } else {
        out->registry = ml__strdup(ML__REF_DEFAULT_REGISTRY);
        out->repository = slash ? ml__strdup(name) : ml__asprintf("library/%s", name);
    }
    if (!out->registry || !out->repository)
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    if (strcmp(out->registry, LEGACY_REGISTRY) == 0 &&
        ml__str_replace(&out->registry, ML__REF_DEFAULT_REGISTRY) != ML_OK)
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    return ML_OK;
}

/* "docker.io/alpine" is the official image too. */
static int add_library_prefix(ml_ref *out, ml_error **err)
{
    if (strcmp(out->registry, ML__REF_DEFAULT_REGISTRY) != 0 || strchr(out->repository, '/'))
        return ML_OK;
    char *full = ml__asprintf("library/%s", out->repository);
    if (!full)
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    free(out->repository);
    out->repository = full;
    return ML_OK;
}

static int validate_name(const ml_ref *out, const char *ref, ml_error **err)
{
    if (!registry_valid(out->registry))
        return ref_error(err, ref, "registry \"%s\" is not a valid host[:port]", out->registry);
    int rc = validate_path(ref, out->repository, err);
    if (rc != ML_OK)
        return rc;
    if (strlen(out->registry) + 1 + strlen(out->repository) > ML__REF_MAX_PATH)
        return ref_error(err, ref, "repository name is longer than 255 characters");
    return ML_OK;
}

/* Cuts "[name][:tag][@digest]" into its parts (owned copies). */
static int split_ref(const char *s, char **name, char **tag, char **digest)
{
    const char *at = strchr(s, '@');
    size_t name_len = at ? (size_t)(at - s) : strlen(s);
    const char *colon = NULL; /* a tag colon comes after the last slash */
    for (const char *p = s; p < s + name_len; p++) {
        if (*p == '/')
            colon = NULL;
        else if (*p == ':')
            colon = p;
    }
    *name = ml__strndup(s, colon ? (size_t)(colon - s) : name_len);
    *tag = colon ? ml__strndup(colon + 1, name_len - (size_t)(colon - s) - 1) : NULL;
    *digest = at ? ml__strdup(at + 1) : NULL;
    if (!*name || (colon && !*tag) || (at && !*digest))
        return ML_ENOMEM;
    return ML_OK;
}

/* A bare 64-hex string is an image ID; distribution refuses it as a name. */
static bool is_image_id(const char *s) { return hex_valid(s, 64); }

static int parse_parts(ml_ref *out, const char *s, ml_error **err)
{
    char *name = NULL;
    if (split_ref(s, &name, &out->tag, &out->digest) != ML_OK) {
        free(name);
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    }
    int rc = ML_OK;
    if (!*name)
        rc = ref_error(err, s, "repository name is empty");
    else if (is_image_id(name))
        rc = ref_error(err, s, "a 64-hex image ID is not a repository name");
    if (rc == ML_OK)
        rc = split_name(out, s, name, err);
    free(name);
    if (rc == ML_OK)
        rc = add_library_prefix(out, err);
    if (rc == ML_OK)
        rc = validate_name(out, s, err);
    if (rc == ML_OK && out->tag)
        rc = validate_tag(s, out->tag, err);
    if (rc == ML_OK && out->digest)
        rc = validate_digest(s, out->digest, err);
    return rc;
}

/* "./a//b/" and "a/b" name one directory: one spelling, so that two
 * references to it are one repository. ".." is kept (symbolic links). */
static void tidy_path(char *p)
{
    char *out = p;
    const char *in = p;
    bool absolute = *p == '/';
    while (*in) {
        while (*in == '/')
            in++;
        const char *end = in + strcspn(in, "/");
        size_t n = (size_t)(end - in);
        bool dot = n == 1 && in[0] == '.';
        if (n && !dot) {
            if (out > p || absolute)
                *out++ = '/';
            memmove(out, in, n);
            out += n;
        }
        in = end;
    }
    if (out == p)
        *out++ = absolute ? '/' : '.';
    *out = '\0';
}

/* oci:PATH[:TAG][@DIGEST]. The path ends at its first colon, as skopeo
 * reads it; "oci:PATH:@DIGEST" (newer skopeo) has an empty tag. */
static int parse_layout(ml_ref *out, const char *s, ml_error **err)
{
    const char *path = s + strlen(ML__LAYOUT_PREFIX);
    const char *at = strstr(path, "@sha");
    const char *colon = strchr(path, ':');
    if (colon && at && colon > at)
        colon = NULL; /* the digest's own colon */
    const char *end = path + strlen(path);
    const char *tag_end = at ? at : end;
    size_t n = (size_t)((colon ? colon : tag_end) - path);
    out->layout = true;
    if (n == 0)
        return ref_error(err, s, "layout path is empty (oci:PATH[:TAG])");
    if (!(out->repository = ml__strndup(path, n)))
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    tidy_path(out->repository);
    if (colon && (!at || tag_end > colon + 1)) {
        if (!(out->tag = ml__strndup(colon + 1, (size_t)(tag_end - colon - 1))))
            return ml__error_set(err, ML_ENOMEM, "out of memory");
        int rc = validate_tag(s, out->tag, err);
        if (rc != ML_OK)
            return rc;
    }
    if (!at)
        return ML_OK;
    if (!(out->digest = ml__strdup(at + 1)))
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    return validate_digest(s, out->digest, err);
}

/* A layout path that would read as a port after "oci:" ("5000/app"). */
static bool port_like(const char *path)
{
    size_t digits = strspn(path, "0123456789");
    return digits > 0 && path[digits] == '/';
}

/* "oci:PATH…", but not "oci:5000/app", a registry host named oci with a
 * port (a layout of that path is written "oci:./5000/app"). */
static bool is_layout(const char *s)
{
    return ml__has_prefix(s, ML__LAYOUT_PREFIX) && !port_like(s + strlen(ML__LAYOUT_PREFIX));
}

int ml__ref_parse(ml_ref *out, const char *s, ml_error **err)
{
    *out = (ml_ref){0};
    if (!s || !*s)
        return ml__error_set(err, ML_EREF, "invalid reference \"\": reference is empty");
    if (strlen(s) > ML__REF_MAX_LEN)
        return ref_error(err, s, "reference is longer than 4096 characters");
    bool layout = is_layout(s);
    int rc = layout ? parse_layout(out, s, err) : parse_parts(out, s, err);
    if (rc != ML_OK)
        ml__ref_clear(out);
    return rc;
}

void ml__ref_clear(ml_ref *ref)
{
    if (!ref)
        return;
    free(ref->registry);
    free(ref->repository);
    free(ref->tag);
    free(ref->digest);
    *ref = (ml_ref){0};
}

int ml__ref_copy(ml_ref *dst, const ml_ref *src)
{
    ml_ref copy = {
        .registry = ml__strdup(src->registry),
        .repository = ml__strdup(src->repository),
        .tag = ml__strdup(src->tag),
        .digest = ml__strdup(src->digest),
        .layout = src->layout,
    };
    if ((src->registry && !copy.registry) || (src->repository && !copy.repository) ||
        (src->tag && !copy.tag) || (src->digest && !copy.digest)) {
        ml__ref_clear(&copy);
        return ML_ENOMEM;
    }
    *dst = copy;
    return ML_OK;
}

char *ml__ref_format(const ml_ref *ref)
{
    ml__buf b = {0};
    if (ref->layout)
        ml__buf_printf(&b, "%s%s%s", ML__LAYOUT_PREFIX, port_like(ref->repository) ? "./" : "", ref->repository);
    else
        ml__buf_printf(&b, "%s/%s", ref->registry, ref->repository);
    if (ref->tag)
        ml__buf_printf(&b, ":%s", ref->tag);
    if (ref->digest)
        ml__buf_printf(&b, "@%s", ref->digest);
    return ml__buf_take(&b);
}

char *ml__ref_repo_name(const ml_ref *ref)
{
    if (ref->layout)
        return ml__asprintf("%s%s%s", ML__LAYOUT_PREFIX, port_like(ref->repository) ? "./" : "", ref->repository);
    return ml__asprintf("%s/%s", ref->registry, ref->repository);
}

const char *ml__ref_api_host(const ml_ref *ref)
{
    if (strcmp(ref->registry, ML__REF_DEFAULT_REGISTRY) == 0)
        return DOCKER_API_HOST;
    return ref->registry;
}

/* Dotted quad whose first octet is 127. */
static bool is_ipv4_loopback(const char *s, size_t n)
{
    if (n < 4 || memcmp(s, "127.", 4) != 0)
        return false;
    int dots = 0;
    size_t digits = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.') {
            if (digits == 0 || digits > 3)
                return false;
            dots++;
            digits = 0;
        } else if (is_digit(s[i])) {
            digits++;
        } else {
            return false;
        }
    }
    return dots == 3 && digits >= 1 && digits <= 3;
}

bool ml__ref_is_loopback(const ml_ref *ref)
{
    const char *r = ref->registry;
    if (!r)
        return false;
    if (ml__has_prefix(r, "[::1]"))
        return r[5] == '\0' || r[5] == ':';
    const char *colon = strchr(r, ':');
    size_t host_len = colon ? (size_t)(colon - r) : strlen(r);
    if (host_len == strlen("localhost") && memcmp(r, "localhost", host_len) == 0)
        return true;
    return is_ipv4_loopback(r, host_len);
}

/* Two spellings of one directory ("out" and "/work/out"). */
static bool same_directory(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

bool ml__ref_same_repo(const ml_ref *a, const ml_ref *b)
{
    if (a->layout != b->layout)
        return false;
    if (a->layout)
        return ml__str_eq(a->repository, b->repository) || same_directory(a->repository, b->repository);
    return ml__str_eq(a->registry, b->registry) && ml__str_eq(a->repository, b->repository);
}

int ml_ref_normalize(const char *ref, char **out, ml_error **err)
{
    if (!out)
        return ml__error_set(err, ML_EINVAL, "ml_ref_normalize: out is NULL");
    *out = NULL;
    ml_ref parsed;
    int rc = ml__ref_parse(&parsed, ref, err);
    if (rc != ML_OK)
        return rc;
    *out = ml__ref_format(&parsed);
    ml__ref_clear(&parsed);
    return *out ? ML_OK : ml__error_set(err, ML_ENOMEM, "out of memory");
}
