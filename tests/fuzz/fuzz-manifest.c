/* Fuzz target for manifest JSON: parse; when it parses, emitting, parsing
 * the emitted bytes and emitting again must give the same model and the
 * same bytes. Image configs and media types are fed the same data.
 * abort() marks a bug for the fuzzer; the library itself never aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "../model-eq.h"

static void round_trip(const ml__manifest *m)
{
    char *first = NULL, *second = NULL;
    size_t first_len = 0, second_len = 0;
    ml_error *err = NULL;
    /* Emission may refuse a parsed model (a Docker list with annotations,
     * over 4 MiB); that is an answer, not a bug. */
    if (ml__manifest_emit(m, &first, &first_len, &err) != ML_OK) {
        if (first || !err)
            abort();
        ml_error_free(err);
        return;
    }
    ml__manifest again;
    if (ml__manifest_parse(&again, first, first_len, NULL, NULL) != ML_OK)
        abort();
    if (!manifest_eq(m, &again))
        abort();
    if (ml__manifest_emit(&again, &second, &second_len, NULL) != ML_OK)
        abort();
    if (first_len != second_len || memcmp(first, second, first_len) != 0)
        abort();
    for (size_t i = 0; i < again.manifest_count; i++) {
        ml__descriptor copy;
        if (ml__descriptor_copy(&copy, &again.manifests[i]) != ML_OK)
            abort();
        if (!descriptor_eq(&copy, &again.manifests[i]))
            abort();
        ml__descriptor_clear(&copy);
    }
    ml__manifest_clear(&again);
    free(first);
    free(second);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const content_types[] = {
        NULL, ML__MT_OCI_INDEX, ML__MT_DOCKER_LIST "; charset=utf-8", ML__MT_OCI_MANIFEST,
        ML__MT_DOCKER_MANIFEST, "application/json",
    };
    const char *json = (const char *)data;
    ml__manifest m;
    ml_error *err = NULL;
    int rc = ml__manifest_parse(&m, json, size, NULL, &err);
    if (rc == ML_OK) {
        if (err)
            abort();
        round_trip(&m);
        ml__manifest_clear(&m);
    } else {
        if (!err || ml_error_code(err) != rc)
            abort();
        ml_error_free(err);
        err = NULL;
    }

    const char *ct = content_types[size % (sizeof(content_types) / sizeof(content_types[0]))];
    if (ml__manifest_parse(&m, json, size, ct, NULL) == ML_OK) {
        if (ct && ml__kind_of(ct) != ML__KIND_UNKNOWN && m.kind != ml__kind_of(ct))
            abort();
        round_trip(&m);
    }
    ml__manifest_clear(&m);

    ml_platform p;
    if (ml__config_platform(json, size, &p, &err) == ML_OK) {
        if (!p.os || !*p.os || !p.architecture || !*p.architecture)
            abort();
        ml__platform_clear(&p);
    } else {
        ml_error_free(err);
    }

    /* media type matching on the data as a string */
    if (size < 4096) {
        char *s = ml__strndup(size ? (const char *)data : "", size);
        if (!s)
            return 0;
        ml__kind k = ml__kind_of(s);
        if (k != ML__KIND_UNKNOWN && !strchr(s, '/'))
            abort();
        free(s);
    }
    return 0;
}
