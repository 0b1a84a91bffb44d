#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform.h"

/* Architecture names other tools use, as containerd's platforms package
 * normalises them. `variant` is implied by the alias (NULL: keep). */
static const struct {
    const char *from, *to, *variant;
} arch_aliases[] = {
    {"x86_64", "amd64", NULL}, {"x86-64", "amd64", NULL}, {"aarch64", "arm64", NULL},
    {"armhf", "arm", "v7"},    {"armel", "arm", "v6"},    {"i386", "386", NULL},
    {"i686", "386", NULL},
};

static const char *or_empty(const char *s) { return s ? s : ""; }
static bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static bool value_char_valid(char c)
{
    return (c >= 'a' && c <= 'z') || is_upper(c) || is_digit(c) || c == '.' || c == '_' ||
           c == '-';
}

static bool value_valid(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!value_char_valid(s[i]))
            return false;
    return true;
}

static char *lowered(const char *s)
{
    char *copy = ml__strdup(s);
    for (char *p = copy; p && *p; p++)
        if (is_upper(*p))
            *p = (char)(*p - 'A' + 'a');
    return copy;
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!is_digit(*s))
            return false;
    return true;
}

/* ---- parse, copy, format ------------------------------------------------ */

/* The platform quoted in messages may come from a spec, a registry or the
 * command line: every message is made printable (ml__error_set_printable). */

static const char *const part_names[] = {"os", "architecture", "variant"};

static int check_part(const char *s, const char *part, size_t n, size_t index, ml_error **err)
{
    if (n == 0)
        return ml__error_set_printable(err, ML_EPLATFORM, "invalid platform \"%s\": empty %s", s, part_names[index]);
    if (!value_valid(part, n))
        return ml__error_set_printable(err, ML_EPLATFORM, "invalid platform \"%s\": %s \"%.*s\" has invalid characters "
                              "(allowed: A-Z a-z 0-9 . _ -)",
                              s, part_names[index], (int)n, part);
    return ML_OK;
}

static int store_part(ml_platform *out, size_t index, const char *part, size_t n)
{
    char **fields[] = {&out->os, &out->architecture, &out->variant};
    *fields[index] = ml__strndup(part, n);
    return *fields[index] ? ML_OK : ML_ENOMEM;
}

/* containerd's "windows(10.0.17763+win32k)" names os.version and
 * os.features in the os part: the version first, each feature after a '+'. */
static int parse_os_options(ml_platform *out, const char *s, const char *open, size_t n, ml_error **err)
{
    const char *inner = open + 1, *end = open + n - 1;
    for (const char *part = inner; part <= end; part++) {
        const char *stop = part;
        while (stop < end && *stop != '+')
            stop++;
        size_t len = (size_t)(stop - part);
        if (!value_valid(part, len) || (part != inner && len == 0))
            return ml__error_set_printable(err, ML_EPLATFORM, "invalid platform \"%s\": bad os.version or "
                                           "os.features (expected os(VERSION+FEATURE...))", s);
        int rc = part == inner ? (len ? (out->os_version = ml__strndup(part, len)) ? ML_OK : ML_ENOMEM : ML_OK)
                               : ml__strvec_push_take(&out->os_features, ml__strndup(part, len));
        if (rc != ML_OK)
            return ml__error_set(err, ML_ENOMEM, "out of memory");
        part = stop;
    }
    return ML_OK;
}

/* Length of the os name in the os part; its options, if any, go to `out`. */
static int split_os(ml_platform *out, const char *s, size_t n, size_t *name_len, ml_error **err)
{
    const char *open = memchr(s, '(', n);
    *name_len = open ? (size_t)(open - s) : n;
    if (!open)
        return ML_OK;
    if (s[n - 1] != ')' || memchr(open + 1, '(', n - *name_len - 1))
        return ml__error_set_printable(err, ML_EPLATFORM, "invalid platform \"%s\": unbalanced '(' in os", s);
    return parse_os_options(out, s, open, n - *name_len, err);
}

static int parse_parts(ml_platform *out, const char *s, ml_error **err)
{
    const char *part = s;
    for (size_t index = 0;; index++) {
        const char *slash = strchr(part, '/');
        size_t n = slash ? (size_t)(slash - part) : strlen(part);
        if (index == 2 && slash)
            break;
        int rc = index == 0 ? split_os(out, s, n, &n, err) : ML_OK;
        if (rc == ML_OK)
            rc = check_part(s, part, n, index, err);
        if (rc == ML_OK && store_part(out, index, part, n) != ML_OK)
            rc = ml__error_set(err, ML_ENOMEM, "out of memory");
        if (rc != ML_OK)
            return rc;
        if (!slash)
            return index >= 1 ? ML_OK : ml__error_set_printable(err, ML_EPLATFORM, "invalid platform \"%s\": expected os/arch[/variant]", s);
        part = slash + 1;
    }
    return ml__error_set_printable(err, ML_EPLATFORM, "invalid platform \"%s\": too many parts, expected os/arch[/variant]", s);
}

int ml__platform_parse(ml_platform *out, const char *s, ml_error **err)
{
    *out = (ml_platform){0};
    if (!s || !*s)
        return ml__error_set(err, ML_EPLATFORM,
                             "invalid platform \"\": expected os/arch[/variant]");
    int rc = parse_parts(out, s, err);
    if (rc != ML_OK)
        ml__platform_clear(out);
    return rc;
}

void ml__platform_clear(ml_platform *p)
{
    if (!p)
        return;
    free(p->os);
    free(p->architecture);
    free(p->variant);
    free(p->os_version);
    ml__strvec_free(&p->os_features);
    ml__strvec_free(&p->features);
    *p = (ml_platform){0};
}

static int copy_strvec(ml__strvec *dst, const ml__strvec *src)
{
    for (size_t i = 0; i < src->count; i++)
        if (ml__strvec_push(dst, src->items[i]) != ML_OK)
            return ML_ENOMEM;
    return ML_OK;
}

static int copy_string(char **dst, const char *src)
{
    *dst = ml__strdup(src);
    return (src && !*dst) ? ML_ENOMEM : ML_OK;
}

int ml__platform_copy(ml_platform *dst, const ml_platform *src)
{
    ml_platform copy = {0};
    int rc = copy_string(&copy.os, src->os);
    if (rc == ML_OK)
        rc = copy_string(&copy.architecture, src->architecture);
    if (rc == ML_OK)
        rc = copy_string(&copy.variant, src->variant);
    if (rc == ML_OK)
        rc = copy_string(&copy.os_version, src->os_version);
    if (rc == ML_OK)
        rc = copy_strvec(&copy.os_features, &src->os_features);
    if (rc == ML_OK)
        rc = copy_strvec(&copy.features, &src->features);
    if (rc != ML_OK) {
        ml__platform_clear(&copy);
        return rc;
    }
    *dst = copy;
    return ML_OK;
}

char *ml__platform_format(const ml_platform *p)
{
    bool has_variant = p->variant && *p->variant;
    return ml__asprintf("%s/%s%s%s", or_empty(p->os), or_empty(p->architecture),
                        has_variant ? "/" : "", has_variant ? p->variant : "");
}

/* containerd's FormatAll: "windows(10.0.17763+win32k)/amd64". */
char *ml__platform_format_all(const ml_platform *p)
{
    if (!p->os_version && !p->os_features.count)
        return ml__platform_format(p);
    ml__buf b = {0};
    ml__buf_printf(&b, "%s(%s", or_empty(p->os), or_empty(p->os_version));
    for (size_t i = 0; i < p->os_features.count; i++)
        ml__buf_printf(&b, "+%s", p->os_features.items[i]);
    ml__buf_printf(&b, ")/%s", or_empty(p->architecture));
    if (p->variant && *p->variant)
        ml__buf_printf(&b, "/%s", p->variant);
    return ml__buf_take(&b);
}

/* ---- normalisation -------------------------------------------------------- */

static int warn(ml__strvec *warnings, char *message)
{
    if (!warnings) {
        free(message);
        return ML_OK;
    }
    return ml__strvec_push_take(warnings, message);
}

/* Replaces *field with `value` (taken) and reports the rewrite. */
static int rewrite(char **field, char *value, ml__strvec *warnings, char *message)
{
    if (!value || !message) {
        free(value);
        free(message);
        return ML_ENOMEM;
    }
    free(*field);
    *field = value;
    return warn(warnings, message);
}

static int normalize_os(ml_platform *p, ml__strvec *warnings)
{
    if (!p->os)
        return ML_OK;
    char *os = lowered(p->os);
    if (os && strcmp(os, "macos") == 0) {
        free(os);
        os = ml__strdup("darwin");
    }
    if (os && strcmp(os, p->os) == 0) {
        free(os);
        return ML_OK;
    }
    return rewrite(&p->os, os, warnings,
                   ml__asprintf("os \"%s\" normalised to \"%s\"", p->os, or_empty(os)));
}

static int apply_alias(ml_platform *p, const char *arch, ml__strvec *warnings)
{
    for (size_t i = 0; i < sizeof(arch_aliases) / sizeof(arch_aliases[0]); i++) {
        if (strcmp(arch, arch_aliases[i].from) != 0)
            continue;
        const char *to = arch_aliases[i].to, *variant = arch_aliases[i].variant;
        if (variant && ml__str_replace(&p->variant, variant) != ML_OK)
            return ML_ENOMEM;
        char *message = variant ? ml__asprintf("architecture \"%s\" normalised to \"%s\" "
                                               "variant \"%s\"", p->architecture, to, variant)
                                : ml__asprintf("architecture \"%s\" normalised to \"%s\"",
                                               p->architecture, to);
        return rewrite(&p->architecture, ml__strdup(to), warnings, message);
    }
    return 1; /* no alias */
}

/* ppc64 with variant ppc64le is how the proposal wrote little-endian
 * POWER; runtimes know it only as the architecture ppc64le. */
static bool is_ppc64le_pair(const char *arch, const char *variant)
{
    char *v = lowered(variant);
    bool pair = strcmp(arch, "ppc64") == 0 && v && strcmp(v, "ppc64le") == 0;
    free(v);
    return pair;
}

static int apply_ppc64le(ml_platform *p, ml__strvec *warnings)
{
    char *message = ml__asprintf("architecture \"%s\" variant \"%s\" normalised to \"ppc64le\"",
                                 p->architecture, p->variant);
    free(p->variant);
    p->variant = NULL;
    return rewrite(&p->architecture, ml__strdup("ppc64le"), warnings, message);
}

static int normalize_arch(ml_platform *p, ml__strvec *warnings)
{
    if (!p->architecture)
        return ML_OK;
    char *arch = lowered(p->architecture);
    if (!arch)
        return ML_ENOMEM;
    int rc = apply_alias(p, arch, warnings);
    if (rc == 1 && p->variant && is_ppc64le_pair(arch, p->variant))
        rc = apply_ppc64le(p, warnings);
    if (rc == 1 && strcmp(arch, p->architecture) != 0) {
        char *message = ml__asprintf("architecture \"%s\" normalised to \"%s\"",
                                     p->architecture, arch);
        rc = rewrite(&p->architecture, arch, warnings, message);
        arch = NULL;
    }
    free(arch);
    return rc == 1 ? ML_OK : rc;
}

/* Variants that name an architecture's baseline, as containerd's
 * normalizeArch reads them. `to` NULL: the variant is dropped (amd64 and
 * 386 have no v1 apart from the plain architecture). arm64's baseline
 * stays "v8", as buildx and docker write it; it equals no variant. */
static const struct {
    const char *arch, *from, *to;
} variant_aliases[] = {
    {"amd64", "v1", NULL}, {"386", "v1", NULL},  {"arm64", "v8.0", "v8"},
    {"arm64", "9", "v9"},  {"arm64", "9.0", "v9"}, {"arm64", "v9.0", "v9"},
};

/* The canonical spelling of a lower-cased variant; `*drop` when none. */
static char *canonical_variant(const char *arch, char *variant, bool *drop)
{
    *drop = false;
    for (size_t i = 0; i < sizeof(variant_aliases) / sizeof(variant_aliases[0]); i++) {
        if (strcmp(arch, variant_aliases[i].arch) != 0 || strcmp(variant, variant_aliases[i].from) != 0)
            continue;
        free(variant);
        *drop = !variant_aliases[i].to;
        return ml__strdup(*drop ? "" : variant_aliases[i].to);
    }
    if (!all_digits(variant))
        return variant;
    /* "7" is how some tools write "v7". */
    char *prefixed = ml__asprintf("v%s", variant);
    free(variant);
    return prefixed;
}

static int normalize_variant(ml_platform *p, ml__strvec *warnings)
{
    if (!p->variant)
        return ML_OK;
    bool drop = false;
    char *variant = lowered(p->variant);
    if (variant)
        variant = canonical_variant(or_empty(p->architecture), variant, &drop);
    if (variant && !drop && strcmp(variant, p->variant) == 0) {
        free(variant);
        return ML_OK;
    }
    char *message = drop ? ml__asprintf("variant \"%s\" of %s dropped (it is the baseline)", p->variant,
                                        or_empty(p->architecture))
                         : ml__asprintf("variant \"%s\" normalised to \"%s\"", p->variant, or_empty(variant));
    int rc = rewrite(&p->variant, variant, warnings, message);
    if (rc == ML_OK && drop) {
        free(p->variant);
        p->variant = NULL;
    }
    return rc;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* os.features are a set: sorted and de-duplicated, as containerd's
 * Normalize keeps them, so equal sets compare equal. */
static void normalize_os_features(ml_platform *p)
{
    ml__strvec *v = &p->os_features;
    if (v->count < 2)
        return;
    qsort(v->items, v->count, sizeof(*v->items), compare_strings);
    size_t kept = 1;
    for (size_t i = 1; i < v->count; i++) {
        if (strcmp(v->items[i], v->items[kept - 1]) == 0)
            free(v->items[i]);
        else
            v->items[kept++] = v->items[i];
    }
    v->count = kept;
}

int ml__platform_normalize(ml_platform *p, ml__strvec *warnings)
{
    int rc = normalize_os(p, warnings);
    if (rc == ML_OK)
        rc = normalize_arch(p, warnings);
    if (rc == ML_OK)
        rc = normalize_variant(p, warnings);
    if (rc == ML_OK)
        normalize_os_features(p);
    return rc;
}

/* Go's GOOS and GOARCH lists (go/build/syslist.go), as containerd's
 * database.go has them. */
static const char *const known_os[] = {
    "aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js",
    "linux", "nacl", "netbsd", "openbsd", "plan9", "solaris", "wasip1", "windows", "zos",
};
static const char *const known_arch[] = {
    "386", "amd64", "amd64p32", "arm", "armbe", "arm64", "arm64be", "ppc64", "ppc64le",
    "loong64", "mips", "mipsle", "mips64", "mips64le", "mips64p32", "mips64p32le", "ppc",
    "riscv", "riscv64", "s390", "s390x", "sparc", "sparc64", "wasm",
};

static bool in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; s && i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

int ml__platform_check_known(const ml_platform *p, ml__strvec *warnings)
{
    int rc = ML_OK;
    if (p->os && !in_list(p->os, known_os, sizeof(known_os) / sizeof(known_os[0])))
        rc = ml__strvec_pushf(warnings, "os \"%s\" is not a known GOOS value (a typo?)", p->os);
    if (rc == ML_OK && p->architecture &&
        !in_list(p->architecture, known_arch, sizeof(known_arch) / sizeof(known_arch[0])))
        rc = ml__strvec_pushf(warnings, "architecture \"%s\" is not a known GOARCH value (a typo?)",
                              p->architecture);
    return rc;
}

/* ---- validation ------------------------------------------------------------ */

static int check_value(const char *field, const char *value, ml_error **err)
{
    if (!value || value_valid(value, strlen(value)))
        return ML_OK;
    return ml__error_set_printable(err, ML_EPLATFORM, "platform %s \"%s\" has invalid characters (allowed: A-Z a-z 0-9 . _ -)", field,
                          value);
}

static int check_list(const char *field, const ml__strvec *v, ml_error **err)
{
    for (size_t i = 0; i < v->count; i++) {
        if (!*v->items[i])
            return ml__error_set(err, ML_EPLATFORM, "platform %s has an empty entry", field);
        int rc = check_value(field, v->items[i], err);
        if (rc != ML_OK)
            return rc;
    }
    return ML_OK;
}

int ml__platform_validate(const ml_platform *p, ml_error **err)
{
    if (!p->os || !*p->os)
        return ml__error_set(err, ML_EPLATFORM, "platform has no os");
    if (!p->architecture || !*p->architecture)
        return ml__error_set(err, ML_EPLATFORM, "platform has no architecture");
    int rc = check_value("os", p->os, err);
    if (rc == ML_OK)
        rc = check_value("architecture", p->architecture, err);
    if (rc == ML_OK)
        rc = check_value("variant", p->variant, err);
    if (rc == ML_OK)
        rc = check_value("os.version", p->os_version, err);
    if (rc == ML_OK)
        rc = check_list("os.features", &p->os_features, err);
    if (rc == ML_OK)
        rc = check_list("features", &p->features, err);
    return rc;
}

/* ---- comparison and runtime matching ------------------------------------- */

/* Runtimes treat a missing variant as the architecture's baseline. */
static const char *default_variant(const char *arch)
{
    if (strcmp(arch, "arm64") == 0)
        return "v8";
    if (strcmp(arch, "arm") == 0)
        return "v7";
    if (strcmp(arch, "amd64") == 0)
        return "v1";
    return "";
}

static const char *effective_variant(const ml_platform *p)
{
    if (p->variant && *p->variant)
        return p->variant;
    return default_variant(or_empty(p->architecture));
}

static int compare_features(const ml__strvec *a, const ml__strvec *b)
{
    if (a->count != b->count)
        return a->count < b->count ? -1 : 1;
    for (size_t i = 0; i < a->count; i++) {
        int c = strcmp(a->items[i], b->items[i]);
        if (c)
            return c;
    }
    return 0;
}

int ml__platform_compare(const ml_platform *a, const ml_platform *b)
{
    int c = strcmp(or_empty(a->os), or_empty(b->os));
    if (c == 0)
        c = strcmp(or_empty(a->architecture), or_empty(b->architecture));
    if (c == 0)
        c = strcmp(effective_variant(a), effective_variant(b));
    if (c == 0)
        c = strcmp(or_empty(a->os_version), or_empty(b->os_version));
    if (c == 0)
        c = compare_features(&a->os_features, &b->os_features);
    return c;
}

bool ml__platform_equal(const ml_platform *a, const ml_platform *b)
{
    return ml__platform_compare(a, b) == 0;
}

bool ml__platform_covers(const ml_platform *pattern, const ml_platform *p)
{
    ml_platform narrowed = *p;
    if (!pattern->os_version)
        narrowed.os_version = NULL;
    if (!pattern->os_features.count)
        narrowed.os_features = pattern->os_features;
    return ml__platform_compare(pattern, &narrowed) == 0;
}

/* What a runtime on one platform runs, best first: containerd's
 * platformVector (compare.go). amd64/vN runs vN..v1 and then 386; arm/vN
 * runs vN..v5; arm64 runs its older v8.x/v9.x levels and then arm v8..v5. */
#define VECTOR_MAX 32

typedef struct candidate {
    const char *arch;
    char variant[16];
} candidate;

typedef struct vector {
    candidate items[VECTOR_MAX];
    size_t count;
} vector;

static void vector_add(vector *v, const char *arch, const char *variant)
{
    if (v->count == VECTOR_MAX)
        return;
    candidate *c = &v->items[v->count++];
    c->arch = arch;
    snprintf(c->variant, sizeof(c->variant), "%s", variant);
}

static void vector_add_level(vector *v, const char *arch, int major, int minor)
{
    char variant[16];
    if (minor > 0)
        snprintf(variant, sizeof(variant), "v%d.%d", major, minor);
    else
        snprintf(variant, sizeof(variant), "v%d", major);
    vector_add(v, arch, variant);
}

/* "v7" -> 7; -1 when the variant is not v<number>. */
static int variant_number(const char *variant)
{
    if (variant[0] != 'v' || !all_digits(variant + 1) || strlen(variant) > 3)
        return -1;
    return atoi(variant + 1);
}

static void arm_vector(vector *v, const char *variant)
{
    int level = variant_number(variant);
    if (level <= 5) {
        vector_add(v, "arm", variant);
        return;
    }
    for (; level >= 5; level--)
        vector_add_level(v, "arm", level, 0);
}

/* v9.N is v8.(N+5) and older; v8.N is v8.N..v8. */
static void arm64_vector(vector *v, const char *variant)
{
    int major = 0, minor = 0;
    char end = 0;
    int n = sscanf(variant, "v%d.%d%c", &major, &minor, &end);
    bool known = (n == 1 || n == 2) && ((major == 8 && minor <= 9) || (major == 9 && minor <= 7)) && minor >= 0;
    if (!known)
        vector_add(v, "arm64", variant);
    for (int m = major; known && m >= 8; m--) {
        int top = m == major ? minor : (minor + 5 > 9 ? 9 : minor + 5);
        for (int k = top; k >= 0; k--)
            vector_add_level(v, "arm64", m, k);
    }
    arm_vector(v, ml__has_prefix(variant, "v8") || ml__has_prefix(variant, "v9") ? "v8" : variant);
}

static void build_vector(vector *v, const ml_platform *want)
{
    const char *arch = or_empty(want->architecture), *variant = effective_variant(want);
    v->count = 0;
    if (strcmp(arch, "arm64") == 0) {
        arm64_vector(v, variant);
    } else if (strcmp(arch, "arm") == 0) {
        arm_vector(v, variant);
    } else if (strcmp(arch, "amd64") == 0) {
        int level = variant_number(variant);
        if (level < 1)
            vector_add(v, "amd64", variant);
        for (; level >= 1; level--)
            vector_add_level(v, "amd64", level, 0);
        vector_add(v, "386", "");
    } else {
        vector_add(v, arch, variant);
    }
}

static size_t vector_rank(const vector *v, const ml_platform *have)
{
    for (size_t i = 0; i < v->count; i++)
        if (strcmp(v->items[i].arch, or_empty(have->architecture)) == 0 &&
            strcmp(v->items[i].variant, effective_variant(have)) == 0)
            return i;
    return SIZE_MAX;
}

/* An image needing os.features runs only where they all are; Windows
 * hosts ignore win32k (containerd's windowsStripFeaturesMatcher). */
static bool features_supported(const ml_platform *want, const ml_platform *have)
{
    bool windows = ml__str_eq(want->os, "windows");
    for (size_t i = 0; i < have->os_features.count; i++) {
        const char *f = have->os_features.items[i];
        if (!(windows && strcmp(f, "win32k") == 0) && !ml__strvec_contains(&want->os_features, f))
            return false;
    }
    return true;
}

typedef struct windows_version {
    unsigned major, minor, build;
} windows_version;

/* "10.0.17763[.N]"; false when it is not one. */
static bool windows_version_parse(const char *s, windows_version *out)
{
    char end = 0;
    int n = s ? sscanf(s, "%u.%u.%u%c", &out->major, &out->minor, &out->build, &end) : 0;
    return n == 3 || (n == 4 && end == '.');
}

/* containerd's checkWindowsHostAndContainerCompat: before Windows Server
 * 2022 only the same build runs; since, a host runs the LTSC releases from
 * the one at or below its build up to its own build. */
static bool windows_compatible(const windows_version *host, const windows_version *image)
{
    static const unsigned ltsc[] = {20348, 26100};
    if (host->major != image->major || host->minor != image->minor)
        return false;
    if (host->build < ltsc[0])
        return host->build == image->build;
    unsigned oldest = ltsc[0];
    for (size_t i = sizeof(ltsc) / sizeof(ltsc[0]); i-- > 0;)
        if (host->build > ltsc[i]) {
            oldest = ltsc[i];
            break;
        }
    return oldest <= image->build && image->build <= host->build;
}

/* 0: the host cannot run it; 1: it can; higher: the same build, the same
 * version (Windows hosts prefer the image built for their os.version). */
static int windows_score(const ml_platform *want, const ml_platform *have)
{
    windows_version host, image;
    if (!ml__str_eq(want->os, "windows") || !windows_version_parse(want->os_version, &host) ||
        !have->os_version || !*have->os_version)
        return 1;
    if (!windows_version_parse(have->os_version, &image) || !windows_compatible(&host, &image))
        return 0;
    if (strcmp(want->os_version, have->os_version) == 0)
        return 4;
    return host.build == image.build ? 3 : 2;
}

static int match_normalized(const ml_platform *want, const ml_platform *have)
{
    if (strcmp(or_empty(want->os), or_empty(have->os)) != 0 || !features_supported(want, have))
        return 0;
    vector v;
    build_vector(&v, want);
    size_t rank = vector_rank(&v, have);
    int windows = windows_score(want, have);
    if (rank == SIZE_MAX || windows == 0)
        return 0;
    return (int)(VECTOR_MAX - rank) * 8 + windows;
}

int ml__platform_match(const ml_platform *want, const ml_platform *have)
{
    ml_platform w = {0}, h = {0};
    int score = 0;
    if (ml__platform_copy(&w, want) == ML_OK && ml__platform_copy(&h, have) == ML_OK &&
        ml__platform_normalize(&w, NULL) == ML_OK && ml__platform_normalize(&h, NULL) == ML_OK)
        score = match_normalized(&w, &h);
    ml__platform_clear(&w);
    ml__platform_clear(&h);
    return score;
}

int ml_platform_normalize(const char *platform, char **out, ml_error **err)
{
    if (!out)
        return ml__error_set(err, ML_EINVAL, "ml_platform_normalize: out is NULL");
    *out = NULL;
    ml_platform p;
    int rc = ml__platform_parse(&p, platform, err);
    if (rc != ML_OK)
        return rc;
    rc = ml__platform_normalize(&p, NULL);
    if (rc != ML_OK)
        rc = ml__error_set(err, ML_ENOMEM, "out of memory");
    if (rc == ML_OK)
        rc = ml__platform_validate(&p, err);
    if (rc == ML_OK && !(*out = ml__platform_format_all(&p)))
        rc = ml__error_set(err, ML_ENOMEM, "out of memory");
    ml__platform_clear(&p);
    return rc;
}
