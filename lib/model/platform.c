#include <stdarg.h>
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

static int parse_parts(ml_platform *out, const char *s, ml_error **err)
{
    const char *part = s;
    for (size_t index = 0;; index++) {
        const char *slash = strchr(part, '/');
        size_t n = slash ? (size_t)(slash - part) : strlen(part);
        if (index == 2 && slash)
            break;
        int rc = check_part(s, part, n, index, err);
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

/* "V7" and "7" are how some tools write "v7". */
static int normalize_variant(ml_platform *p, ml__strvec *warnings)
{
    if (!p->variant)
        return ML_OK;
    char *variant = lowered(p->variant);
    if (variant && all_digits(variant)) {
        char *prefixed = ml__asprintf("v%s", variant);
        free(variant);
        variant = prefixed;
    }
    if (variant && strcmp(variant, p->variant) == 0) {
        free(variant);
        return ML_OK;
    }
    return rewrite(&p->variant, variant, warnings,
                   ml__asprintf("variant \"%s\" normalised to \"%s\"", p->variant,
                                or_empty(variant)));
}

int ml__platform_normalize(ml_platform *p, ml__strvec *warnings)
{
    int rc = normalize_os(p, warnings);
    if (rc == ML_OK)
        rc = normalize_arch(p, warnings);
    if (rc == ML_OK)
        rc = normalize_variant(p, warnings);
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
    return "";
}

static const char *effective_variant(const ml_platform *p)
{
    if (p->variant && *p->variant)
        return p->variant;
    return default_variant(or_empty(p->architecture));
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
    return c;
}

bool ml__platform_equal(const ml_platform *a, const ml_platform *b)
{
    return ml__platform_compare(a, b) == 0;
}

/* "v7" -> 7; 0 when the variant is not v<number>. amd64 without a variant
 * is the v1 baseline. */
static int variant_level(const char *arch, const char *variant)
{
    if (!*variant && strcmp(arch, "amd64") == 0)
        return 1;
    if (variant[0] != 'v' || !all_digits(variant + 1) || strlen(variant) > 3)
        return 0;
    return atoi(variant + 1);
}

/* Older variants run on newer CPUs: arm v8 runs v7/v6/v5 images, amd64 v3
 * runs v2/v1. Each step down scores lower, so the closest one wins. */
static int older_variant_score(const char *arch, const char *want, const char *have)
{
    bool arm = strcmp(arch, "arm") == 0;
    if (!arm && strcmp(arch, "amd64") != 0)
        return 0;
    int w = variant_level(arch, want), h = variant_level(arch, have);
    if (h == 0 || h >= w || (arm && h < 5))
        return 0;
    int score = 80 - (w - h) * 10;
    return score > 0 ? score : 1;
}

static int variant_score(const ml_platform *want, const ml_platform *have)
{
    const char *arch = or_empty(want->architecture);
    const char *wv = or_empty(want->variant), *hv = or_empty(have->variant);
    if (strcmp(wv, hv) == 0)
        return 100;
    const char *we = effective_variant(want), *he = effective_variant(have);
    if (strcmp(we, he) == 0)
        return 90;
    if (!*wv)
        return 50; /* no variant asked for: any will do, the default first */
    return older_variant_score(arch, we, he);
}

int ml__platform_match(const ml_platform *want, const ml_platform *have)
{
    if (strcmp(or_empty(want->os), or_empty(have->os)) != 0 ||
        strcmp(or_empty(want->architecture), or_empty(have->architecture)) != 0)
        return 0;
    int score = variant_score(want, have);
    if (score == 0)
        return 0;
    /* Windows hosts prefer the image built for their own os.version. */
    bool same_version = ml__str_eq(or_empty(want->os_version), or_empty(have->os_version));
    return score * 2 + (same_version ? 1 : 0);
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
    if (rc == ML_OK && !(*out = ml__platform_format(&p)))
        rc = ml__error_set(err, ML_ENOMEM, "out of memory");
    ml__platform_clear(&p);
    return rc;
}
