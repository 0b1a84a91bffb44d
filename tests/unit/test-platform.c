#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>

#include "platform.h"
#include "test.h"

static ml_platform make(const char *os, const char *arch, const char *variant)
{
    ml_platform p = {0};
    p.os = ml__strdup(os);
    p.architecture = ml__strdup(arch);
    p.variant = ml__strdup(variant);
    return p;
}

/* Normalises os/arch/variant and checks the result and the warnings. */
static void expect_normal(const char *os, const char *arch, const char *variant,
                          const char *want_os, const char *want_arch, const char *want_variant,
                          size_t want_warnings, const char *warning)
{
    ml_platform p = make(os, arch, variant);
    ml__strvec warnings = {0};
    CHECK_INT(ml__platform_normalize(&p, &warnings), ML_OK);
    CHECK_STR(p.os, want_os);
    CHECK_STR(p.architecture, want_arch);
    CHECK_STR(p.variant, want_variant);
    CHECK_INT(warnings.count, want_warnings);
    if (warning) {
        bool found = false;
        for (size_t i = 0; i < warnings.count; i++)
            found = found || strcmp(warnings.items[i], warning) == 0;
        CHECK(found);
        if (!found)
            fprintf(stderr, "  missing warning: %s (first: %s)\n", warning,
                    warnings.count ? warnings.items[0] : "none");
    }
    ml__strvec_free(&warnings);
    ml__platform_clear(&p);
}

static void test_normalize_architectures(void)
{
    expect_normal("linux", "x86_64", NULL, "linux", "amd64", NULL, 1,
                  "architecture \"x86_64\" normalised to \"amd64\"");
    expect_normal("linux", "x86-64", NULL, "linux", "amd64", NULL, 1,
                  "architecture \"x86-64\" normalised to \"amd64\"");
    expect_normal("linux", "X86_64", NULL, "linux", "amd64", NULL, 1,
                  "architecture \"X86_64\" normalised to \"amd64\"");
    expect_normal("linux", "aarch64", NULL, "linux", "arm64", NULL, 1,
                  "architecture \"aarch64\" normalised to \"arm64\"");
    expect_normal("linux", "armhf", NULL, "linux", "arm", "v7", 1,
                  "architecture \"armhf\" normalised to \"arm\" variant \"v7\"");
    expect_normal("linux", "armel", NULL, "linux", "arm", "v6", 1,
                  "architecture \"armel\" normalised to \"arm\" variant \"v6\"");
    expect_normal("linux", "i386", NULL, "linux", "386", NULL, 1,
                  "architecture \"i386\" normalised to \"386\"");
    expect_normal("linux", "i686", NULL, "linux", "386", NULL, 1,
                  "architecture \"i686\" normalised to \"386\"");
    expect_normal("linux", "ppc64", "ppc64le", "linux", "ppc64le", NULL, 1,
                  "architecture \"ppc64\" variant \"ppc64le\" normalised to \"ppc64le\"");
    expect_normal("linux", "AMD64", NULL, "linux", "amd64", NULL, 1,
                  "architecture \"AMD64\" normalised to \"amd64\"");
    /* Big-endian ppc64 stays what it is. */
    expect_normal("linux", "ppc64", NULL, "linux", "ppc64", NULL, 0, NULL);
}

static void test_normalize_os_and_variants(void)
{
    expect_normal("Linux", "amd64", NULL, "linux", "amd64", NULL, 1,
                  "os \"Linux\" normalised to \"linux\"");
    expect_normal("WINDOWS", "amd64", NULL, "windows", "amd64", NULL, 1, NULL);
    expect_normal("linux", "arm", "7", "linux", "arm", "v7", 1,
                  "variant \"7\" normalised to \"v7\"");
    expect_normal("linux", "arm64", "8", "linux", "arm64", "v8", 1,
                  "variant \"8\" normalised to \"v8\"");
    expect_normal("linux", "arm", "V6", "linux", "arm", "v6", 1, NULL);
    /* arm64's v8 is kept: dropping it would change what is pushed. */
    expect_normal("linux", "arm64", "v8", "linux", "arm64", "v8", 0, NULL);
    expect_normal("linux", "arm", NULL, "linux", "arm", NULL, 0, NULL);
    /* Several rewrites: one warning each. */
    expect_normal("Linux", "x86_64", NULL, "linux", "amd64", NULL, 2, NULL);
    expect_normal("Linux", "PPC64", "PPC64LE", "linux", "ppc64le", NULL, 2, NULL);
    /* Canonical values produce no warnings. */
    expect_normal("linux", "s390x", NULL, "linux", "s390x", NULL, 0, NULL);
    expect_normal("windows", "amd64", NULL, "windows", "amd64", NULL, 0, NULL);
}

static void test_normalize_without_warning_list(void)
{
    ml_platform p = make("Linux", "armhf", NULL);
    CHECK_INT(ml__platform_normalize(&p, NULL), ML_OK);
    CHECK_STR(p.architecture, "arm");
    CHECK_STR(p.variant, "v7");
    ml__platform_clear(&p);
}

static void expect_parse(const char *s, const char *os, const char *arch, const char *variant)
{
    ml_platform p;
    CHECK_INT(ml__platform_parse(&p, s, NULL), ML_OK);
    CHECK_STR(p.os, os);
    CHECK_STR(p.architecture, arch);
    CHECK_STR(p.variant, variant);
    ml__platform_clear(&p);
}

static void expect_parse_error(const char *s, const char *words)
{
    ml_platform p;
    ml_error *err = NULL;
    CHECK_INT(ml__platform_parse(&p, s, &err), ML_EPLATFORM);
    CHECK(test_contains(ml_error_message(err), words));
    if (!test_contains(ml_error_message(err), words))
        fprintf(stderr, "  %s: got \"%s\"\n", s ? s : "(null)", ml_error_message(err));
    CHECK(p.os == NULL && p.architecture == NULL && p.variant == NULL);
    ml_error_free(err);
}

static void test_parse(void)
{
    expect_parse("linux/amd64", "linux", "amd64", NULL);
    expect_parse("linux/arm/v7", "linux", "arm", "v7");
    expect_parse("Linux/x86_64", "Linux", "x86_64", NULL); /* parse does not normalise */
    expect_parse("windows/amd64", "windows", "amd64", NULL);
    expect_parse_error("", "expected os/arch[/variant]");
    expect_parse_error(NULL, "expected os/arch[/variant]");
    expect_parse_error("linux", "invalid platform \"linux\": expected os/arch[/variant]");
    expect_parse_error("linux/", "invalid platform \"linux/\": empty architecture");
    expect_parse_error("/amd64", "empty os");
    expect_parse_error("linux/arm/", "empty variant");
    expect_parse_error("linux/arm/v7/x", "too many parts");
    expect_parse_error("linux/am d64", "architecture \"am d64\" has invalid characters");
    expect_parse_error("lin:ux/amd64", "os \"lin:ux\" has invalid characters");
}

static void test_parse_os_options(void)
{
    ml_platform p;
    CHECK_INT(ml__platform_parse(&p, "windows(10.0.17763.5576+win32k)/amd64", NULL), ML_OK);
    CHECK_STR(p.os, "windows");
    CHECK_STR(p.os_version, "10.0.17763.5576");
    CHECK_INT(p.os_features.count, 1);
    CHECK_STR(ml__strvec_at(&p.os_features, 0), "win32k");
    ml__platform_clear(&p);
    expect_parse_error("windows(10.0/amd64", "unbalanced");
    expect_parse_error("windows(10.0))/amd64", "bad os.version");
    expect_parse_error("windows((10.0)/amd64", "unbalanced");
    expect_parse_error("windows(10.0+)/amd64", "bad os.version");
    expect_parse_error("windows(10 0)/amd64", "bad os.version");
    expect_parse_error("(10.0)/amd64", "empty os");
}

/* A removal names a platform: os.version and os.features count only
 * where it gives them. */
static void test_covers(void)
{
    ml_platform pattern, a, b;
    CHECK_INT(ml__platform_parse(&pattern, "windows/amd64", NULL), ML_OK);
    CHECK_INT(ml__platform_parse(&a, "windows(10.0.17763.1+win32k)/amd64", NULL), ML_OK);
    CHECK_INT(ml__platform_parse(&b, "windows(10.0.20348.1)/amd64", NULL), ML_OK);
    CHECK(ml__platform_covers(&pattern, &a));
    CHECK(ml__platform_covers(&pattern, &b));
    ml__platform_clear(&pattern);
    CHECK_INT(ml__platform_parse(&pattern, "windows(10.0.17763.1)/amd64", NULL), ML_OK);
    CHECK(ml__platform_covers(&pattern, &a));
    CHECK(!ml__platform_covers(&pattern, &b));
    ml__platform_clear(&pattern);
    CHECK_INT(ml__platform_parse(&pattern, "linux/amd64", NULL), ML_OK);
    CHECK(!ml__platform_covers(&pattern, &a));
    ml__platform_clear(&pattern);
    ml__platform_clear(&a);
    ml__platform_clear(&b);
}

static void test_check_known(void)
{
    ml_platform p = make("linx", "amd46", NULL);
    ml__strvec warnings = {0};
    CHECK_INT(ml__platform_check_known(&p, &warnings), ML_OK);
    CHECK_INT(warnings.count, 2);
    CHECK_STR(ml__strvec_at(&warnings, 0), "os \"linx\" is not a known GOOS value (a typo?)");
    CHECK_STR(ml__strvec_at(&warnings, 1), "architecture \"amd46\" is not a known GOARCH value (a typo?)");
    ml__strvec_free(&warnings);
    ml__platform_clear(&p);
    p = make("windows", "arm64", NULL);
    CHECK_INT(ml__platform_check_known(&p, &warnings), ML_OK);
    CHECK_INT(warnings.count, 0);
    ml__platform_clear(&p);
}

static void test_format_and_copy(void)
{
    ml_platform p = make("linux", "arm", "v7");
    CHECK_INT(ml__strvec_push(&p.features, "sse"), ML_OK);
    CHECK_INT(ml__strvec_push(&p.os_features, "win32k"), ML_OK);
    p.os_version = ml__strdup("10.0");
    char *s = ml__platform_format(&p);
    CHECK_STR(s, "linux/arm/v7");
    free(s);
    ml_platform copy;
    CHECK_INT(ml__platform_copy(&copy, &p), ML_OK);
    CHECK(copy.os != p.os);
    CHECK_STR(copy.variant, "v7");
    CHECK_STR(copy.os_version, "10.0");
    CHECK_INT(copy.features.count, 1);
    CHECK_STR(copy.os_features.items[0], "win32k");
    CHECK(ml__platform_equal(&copy, &p));
    ml__platform_clear(&copy);
    ml__platform_clear(&p);
    p = make("linux", "amd64", NULL);
    s = ml__platform_format(&p);
    CHECK_STR(s, "linux/amd64");
    free(s);
    ml__platform_clear(&p);
    ml__platform_clear(NULL);
}

static void expect_invalid(ml_platform *p, const char *words)
{
    ml_error *err = NULL;
    CHECK_INT(ml__platform_validate(p, &err), ML_EPLATFORM);
    CHECK(test_contains(ml_error_message(err), words));
    ml_error_free(err);
    ml__platform_clear(p);
}

static void test_validate(void)
{
    ml_platform p = make("linux", "amd64", NULL);
    CHECK_INT(ml__platform_validate(&p, NULL), ML_OK);
    ml__platform_clear(&p);
    p = make(NULL, "amd64", NULL);
    expect_invalid(&p, "no os");
    p = make("linux", "", NULL);
    expect_invalid(&p, "no architecture");
    p = make("linux", "arm", "v7 ");
    expect_invalid(&p, "variant \"v7 \" has invalid characters");
    p = make("windows", "amd64", NULL);
    p.os_version = ml__strdup("10.0/1");
    expect_invalid(&p, "os.version");
    p = make("linux", "amd64", NULL);
    ml__strvec_push(&p.features, "");
    expect_invalid(&p, "features has an empty entry");
    p = make("linux", "amd64", NULL);
    ml__strvec_push(&p.os_features, "a\"b");
    expect_invalid(&p, "os.features");
}

static bool equal(const char *os1, const char *a1, const char *v1, const char *os2,
                  const char *a2, const char *v2)
{
    ml_platform x = make(os1, a1, v1), y = make(os2, a2, v2);
    bool eq = ml__platform_equal(&x, &y);
    /* compare agrees with equal, both ways round. */
    CHECK_INT(ml__platform_compare(&x, &y) == 0, eq);
    CHECK_INT(ml__platform_compare(&y, &x) == 0, eq);
    CHECK((ml__platform_compare(&x, &y) < 0) == (ml__platform_compare(&y, &x) > 0));
    ml__platform_clear(&x);
    ml__platform_clear(&y);
    return eq;
}

static void test_equal(void)
{
    CHECK(equal("linux", "amd64", NULL, "linux", "amd64", NULL));
    CHECK(equal("linux", "arm64", NULL, "linux", "arm64", "v8"));
    CHECK(equal("linux", "arm64", "", "linux", "arm64", "v8"));
    CHECK(equal("linux", "arm", NULL, "linux", "arm", "v7"));
    CHECK(!equal("linux", "arm", NULL, "linux", "arm", "v6"));
    CHECK(!equal("linux", "arm", "v7", "linux", "arm64", "v7"));
    CHECK(!equal("linux", "arm64", "v9", "linux", "arm64", NULL));
    CHECK(!equal("linux", "amd64", NULL, "windows", "amd64", NULL));
    CHECK(!equal("linux", "amd64", NULL, "linux", "amd64", "v2"));

    ml_platform a = make("windows", "amd64", NULL), b = make("windows", "amd64", NULL);
    a.os_version = ml__strdup("10.0.17763.5576");
    CHECK(!ml__platform_equal(&a, &b));
    b.os_version = ml__strdup("10.0.17763.5576");
    CHECK(ml__platform_equal(&a, &b));
    /* Features do not make a platform different. */
    ml__strvec_push(&a.features, "sse");
    CHECK(ml__platform_equal(&a, &b));
    ml__platform_clear(&a);
    ml__platform_clear(&b);
}

static int match(const char *want, const char *have)
{
    ml_platform w, h;
    CHECK_INT(ml__platform_parse(&w, want, NULL), ML_OK);
    CHECK_INT(ml__platform_parse(&h, have, NULL), ML_OK);
    int score = ml__platform_match(&w, &h);
    ml__platform_clear(&w);
    ml__platform_clear(&h);
    return score;
}

static void test_match(void)
{
    CHECK(match("linux/amd64", "linux/amd64") > 0);
    CHECK_INT(match("linux/amd64", "linux/arm64"), 0);
    CHECK_INT(match("linux/arm/v7", "linux/arm64/v8"), 0);
    /* Exact and default-equivalent are the same platform. */
    CHECK_INT(match("linux/arm64/v8", "linux/arm64/v8"), match("linux/arm64/v8", "linux/arm64"));
    /* arm64 hosts run 32-bit arm images, after their own. */
    CHECK(match("linux/arm64", "linux/arm/v7") > 0);
    CHECK(match("linux/arm64", "linux/arm64") > match("linux/arm64", "linux/arm/v7"));
}

static void test_match_os_version(void)
{
    ml_platform want = make("windows", "amd64", NULL);
    ml_platform a = make("windows", "amd64", NULL), b = make("windows", "amd64", NULL);
    want.os_version = ml__strdup("10.0.26100.1");
    a.os_version = ml__strdup("10.0.20348.1");
    b.os_version = ml__strdup("10.0.26100.1");
    CHECK(ml__platform_match(&want, &a) > 0);
    CHECK(ml__platform_match(&want, &b) > ml__platform_match(&want, &a));
    ml__platform_clear(&want);
    ml__platform_clear(&a);
    ml__platform_clear(&b);
}

/* ---- containerd's table tests, as data (tests/data/platform/) ---------- */

static char *normalized_all(const char *s)
{
    ml_platform p;
    ml_error *err = NULL;
    if (ml__platform_parse(&p, s, &err) != ML_OK) {
        fprintf(stderr, "  %s: %s\n", s, ml_error_message(err));
        ml_error_free(err);
        return NULL;
    }
    char *out = ml__platform_normalize(&p, NULL) == ML_OK ? ml__platform_format_all(&p) : NULL;
    ml__platform_clear(&p);
    return out;
}

static void table_normalize(const char *input, const char *expected)
{
    char *got = normalized_all(input);
    CHECK_STR(got, expected);
    if (!ml__str_eq(got, expected))
        fprintf(stderr, "  normalize %s\n", input);
    free(got);
}

static void table_match(const char *want, const char *have, const char *answer)
{
    bool expected = strcmp(answer, "yes") == 0;
    CHECK_INT(match(want, have) > 0, expected);
    if ((match(want, have) > 0) != expected)
        fprintf(stderr, "  match %s %s: expected %s\n", want, have, answer);
}

static void table_prefer(const char *want, const char *better, const char *worse)
{
    int b = match(want, better), w = match(want, worse);
    CHECK(w > 0 && b > w);
    if (!(w > 0 && b > w))
        fprintf(stderr, "  prefer %s: %s (%d) over %s (%d)\n", want, better, b, worse, w);
}

static void test_containerd_table(void)
{
    FILE *f = fopen("data/platform/containerd.tsv", "r");
    CHECK(f != NULL);
    char line[512];
    size_t rows = 0;
    while (f && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '#' || !line[0])
            continue;
        char *save = NULL, *kind = strtok_r(line, "\t", &save), *a = strtok_r(NULL, "\t", &save),
             *b = strtok_r(NULL, "\t", &save), *c = strtok_r(NULL, "\t", &save);
        rows++;
        if (strcmp(kind, "normalize") == 0 && b)
            table_normalize(a, b);
        else if (strcmp(kind, "match") == 0 && c)
            table_match(a, b, c);
        else if (strcmp(kind, "prefer") == 0 && c)
            table_prefer(a, b, c);
        else
            CHECK(!"malformed row");
    }
    CHECK(rows > 200);
    if (f)
        fclose(f);
}

static void test_public_normalize(void)
{
    char *out = NULL;
    ml_error *err = NULL;
    CHECK_INT(ml_platform_normalize("Linux/x86_64", &out, &err), ML_OK);
    CHECK_STR(out, "linux/amd64");
    ml_free(out);
    CHECK_INT(ml_platform_normalize("linux/armhf", &out, &err), ML_OK);
    CHECK_STR(out, "linux/arm/v7");
    ml_free(out);
    CHECK_INT(ml_platform_normalize("linux/armel", &out, &err), ML_OK);
    CHECK_STR(out, "linux/arm/v6");
    ml_free(out);
    CHECK_INT(ml_platform_normalize("linux/arm64/v8", &out, &err), ML_OK);
    CHECK_STR(out, "linux/arm64/v8");
    ml_free(out);
    CHECK_INT(ml_platform_normalize("linux/ppc64/ppc64le", &out, &err), ML_OK);
    CHECK_STR(out, "linux/ppc64le");
    ml_free(out);
    CHECK_INT(ml_platform_normalize("linux/arm/7", &out, &err), ML_OK);
    CHECK_STR(out, "linux/arm/v7");
    ml_free(out);
    CHECK_INT(ml_platform_normalize("Windows(10.0.17763+win32k)/AMD64", &out, &err), ML_OK);
    CHECK_STR(out, "windows(10.0.17763+win32k)/amd64");
    ml_free(out);
    CHECK(err == NULL);
    CHECK_INT(ml_platform_normalize("linux", &out, &err), ML_EPLATFORM);
    CHECK(out == NULL);
    CHECK(test_contains(ml_error_message(err), "\"linux\""));
    ml_error_free(err);
    CHECK_INT(ml_platform_normalize("linux/amd64", NULL, NULL), ML_EINVAL);
}

int main(void)
{
    TEST_RUN(test_normalize_architectures);
    TEST_RUN(test_normalize_os_and_variants);
    TEST_RUN(test_normalize_without_warning_list);
    TEST_RUN(test_parse);
    TEST_RUN(test_parse_os_options);
    TEST_RUN(test_covers);
    TEST_RUN(test_check_known);
    TEST_RUN(test_format_and_copy);
    TEST_RUN(test_validate);
    TEST_RUN(test_equal);
    TEST_RUN(test_match);
    TEST_RUN(test_match_os_version);
    TEST_RUN(test_containerd_table);
    TEST_RUN(test_public_normalize);
    TEST_END();
}
