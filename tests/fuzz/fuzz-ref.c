/* Fuzz target for image references and platforms: parsing must never crash
 * or leak, and normalising must be idempotent (the normalised form parses to
 * itself). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "platform.h"
#include "ref.h"

static void fuzz_ref(const char *s)
{
    ml_ref ref;
    ml_error *err = NULL;
    if (ml__ref_parse(&ref, s, &err) != ML_OK) {
        require(ml_error_code(err) == ML_EREF || ml_error_code(err) == ML_ENOMEM);
        require(ref.registry == NULL && ref.repository == NULL);
        ml_error_free(err);
        return;
    }
    /* A layout (oci:PATH) has a directory and no registry. */
    require(ref.repository && (ref.layout ? ref.registry == NULL : ref.registry != NULL));
    require(ref.tag == NULL || ml__tag_valid(ref.tag));
    (void)ml__ref_is_loopback(&ref);
    require(ref.layout || ml__ref_api_host(&ref) != NULL);
    char *formatted = ml__ref_format(&ref);
    char *name = ml__ref_repo_name(&ref);
    require(formatted && name && (ref.layout || strlen(name) <= ML__REF_MAX_PATH));
    ml_ref again;
    require(ml__ref_parse(&again, formatted, NULL) == ML_OK);
    char *twice = ml__ref_format(&again);
    require(twice && strcmp(formatted, twice) == 0);
    require(ml__ref_same_repo(&ref, &again));
    free(twice);
    free(name);
    free(formatted);
    ml__ref_clear(&again);
    ml__ref_clear(&ref);
}

static char *normalized_platform(const char *s)
{
    ml_platform p;
    ml_error *err = NULL;
    if (ml__platform_parse(&p, s, &err) != ML_OK) {
        require(ml_error_code(err) == ML_EPLATFORM || ml_error_code(err) == ML_ENOMEM);
        ml_error_free(err);
        return NULL;
    }
    ml__strvec warnings = {0};
    char *out = NULL;
    if (ml__platform_normalize(&p, &warnings) == ML_OK &&
        ml__platform_validate(&p, NULL) == ML_OK) {
        out = ml__platform_format(&p);
        require(ml__platform_match(&p, &p) > 0);
    }
    ml__strvec_free(&warnings);
    ml__platform_clear(&p);
    return out;
}

static void fuzz_platform(const char *s)
{
    char *once = normalized_platform(s);
    if (!once)
        return;
    char *twice = normalized_platform(once);
    require(twice && strcmp(once, twice) == 0);
    free(once);
    free(twice);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = ml__strndup(size ? (const char *)data : "", size);
    if (!s)
        return 0;
    fuzz_ref(s);
    fuzz_platform(s);
    (void)ml__tag_valid(s);
    free(s);
    return 0;
}
