/* Content digests (OCI image-spec descriptor.md#digests) with mbedTLS.
 * Only sha256 and sha512 are registered algorithms that registries accept;
 * both are encoded as lowercase hex. */
#include <stdlib.h>
#include <string.h>

#include <mbedtls/version.h>
#include <mbedtls/sha256.h>
#include <mbedtls/sha512.h>

#include "digest.h"

/* mbedTLS 3 renamed the *_ret functions of 2.x to the plain names. */
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define sha256_starts mbedtls_sha256_starts
#define sha256_update mbedtls_sha256_update
#define sha256_finish mbedtls_sha256_finish
#define sha512_starts mbedtls_sha512_starts
#define sha512_update mbedtls_sha512_update
#define sha512_finish mbedtls_sha512_finish
#else
#define sha256_starts mbedtls_sha256_starts_ret
#define sha256_update mbedtls_sha256_update_ret
#define sha256_finish mbedtls_sha256_finish_ret
#define sha512_starts mbedtls_sha512_starts_ret
#define sha512_update mbedtls_sha512_update_ret
#define sha512_finish mbedtls_sha512_finish_ret
#endif

typedef enum { ALG_SHA256, ALG_SHA512 } alg_id;

struct ml__digester {
    alg_id alg;
    /* mbedTLS reports failures only for hardware accelerators; one sticks
     * here and makes the final digest "", which never matches anything. */
    bool failed;
    union {
        mbedtls_sha256_context sha256;
        mbedtls_sha512_context sha512;
    } ctx;
};

static const struct {
    const char *name; /* with the ':' separator */
    size_t hex_len;
} algs[] = {
    [ALG_SHA256] = {"sha256:", 64},
    [ALG_SHA512] = {"sha512:", 128},
};

static bool alg_lookup(const char *name, size_t len, alg_id *out)
{
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        if (strlen(algs[i].name) - 1 == len && memcmp(algs[i].name, name, len) == 0) {
            *out = (alg_id)i;
            return true;
        }
    }
    return false;
}

static bool is_lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return s[n] == '\0';
}

bool ml__digest_valid(const char *digest)
{
    if (!digest)
        return false;
    const char *colon = strchr(digest, ':');
    alg_id alg;
    if (!colon || !alg_lookup(digest, (size_t)(colon - digest), &alg))
        return false;
    return strlen(colon + 1) == algs[alg].hex_len && is_lower_hex(colon + 1, algs[alg].hex_len);
}

static void digester_init(ml__digester *d, alg_id alg)
{
    memset(d, 0, sizeof(*d));
    d->alg = alg;
    if (alg == ALG_SHA256) {
        mbedtls_sha256_init(&d->ctx.sha256);
        d->failed = sha256_starts(&d->ctx.sha256, 0) != 0;
    } else {
        mbedtls_sha512_init(&d->ctx.sha512);
        d->failed = sha512_starts(&d->ctx.sha512, 0) != 0;
    }
}

static void digester_release(ml__digester *d)
{
    if (d->alg == ALG_SHA256)
        mbedtls_sha256_free(&d->ctx.sha256);
    else
        mbedtls_sha512_free(&d->ctx.sha512);
}

void ml__digester_update(ml__digester *d, const void *data, size_t len)
{
    if (!d || d->failed || len == 0)
        return;
    int rc = d->alg == ALG_SHA256 ? sha256_update(&d->ctx.sha256, data, len)
                                  : sha512_update(&d->ctx.sha512, data, len);
    if (rc != 0)
        d->failed = true;
}

void ml__digester_final(ml__digester *d, char out[ML__DIGEST_MAX])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char hash[64];
    out[0] = '\0';
    if (!d || d->failed)
        return;
    int rc = d->alg == ALG_SHA256 ? sha256_finish(&d->ctx.sha256, hash)
                                  : sha512_finish(&d->ctx.sha512, hash);
    if (rc != 0) {
        d->failed = true;
        return;
    }
    size_t name_len = strlen(algs[d->alg].name), n = algs[d->alg].hex_len / 2;
    memcpy(out, algs[d->alg].name, name_len);
    for (size_t i = 0; i < n; i++) {
        out[name_len + 2 * i] = hex[hash[i] >> 4];
        out[name_len + 2 * i + 1] = hex[hash[i] & 0x0f];
    }
    out[name_len + 2 * n] = '\0';
}

static int alg_from_name(const char *alg, alg_id *out, ml_error **err)
{
    if (!alg)
        return ml__error_set(err, ML_EINVAL, "no digest algorithm given");
    if (!alg_lookup(alg, strlen(alg), out))
        return ml__error_set(err, ML_EDIGEST,
                             "unsupported digest algorithm \"%.32s\" (sha256 and sha512 are)", alg);
    return ML_OK;
}

int ml__digester_new(ml__digester **out, const char *alg, ml_error **err)
{
    alg_id id;
    if (!out)
        return ml__error_set(err, ML_EINVAL, "no output for the digester");
    *out = NULL;
    int rc = alg_from_name(alg, &id, err);
    if (rc != ML_OK)
        return rc;
    ml__digester *d = malloc(sizeof(*d));
    if (!d)
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    digester_init(d, id);
    *out = d;
    return ML_OK;
}

void ml__digester_free(ml__digester *d)
{
    if (!d)
        return;
    digester_release(d);
    free(d);
}

static int compute(alg_id alg, const void *data, size_t len, char out[ML__DIGEST_MAX],
                   ml_error **err)
{
    ml__digester d;
    digester_init(&d, alg);
    ml__digester_update(&d, data, len);
    ml__digester_final(&d, out);
    bool failed = d.failed;
    digester_release(&d);
    if (failed)
        return ml__error_set(err, ML_EDIGEST, "%.6s computation failed", algs[alg].name);
    return ML_OK;
}

int ml__digest_compute(const char *alg, const void *data, size_t len,
                       char out[ML__DIGEST_MAX], ml_error **err)
{
    alg_id id;
    if (!out || (!data && len))
        return ml__error_set(err, ML_EINVAL, "invalid arguments to digest computation");
    out[0] = '\0';
    int rc = alg_from_name(alg, &id, err);
    return rc != ML_OK ? rc : compute(id, data, len, out, err);
}

int ml__digest_verify(const char *digest, const void *data, size_t len, ml_error **err)
{
    char actual[ML__DIGEST_MAX];
    alg_id alg = ALG_SHA256;
    if (!digest)
        return ml__error_set(err, ML_EDIGEST, "no digest to verify against");
    if (!data && len)
        return ml__error_set(err, ML_EINVAL, "invalid arguments to digest verification");
    if (!ml__digest_valid(digest)) {
        const char *colon = strchr(digest, ':');
        /* "alg:encoded" with an algorithm we do not implement (blake3, ...)
         * is well-formed but unverifiable; anything else is malformed. */
        if (colon && colon != digest && !alg_lookup(digest, (size_t)(colon - digest), &alg))
            return ml__error_set(err, ML_EDIGEST,
                                 "unsupported digest algorithm in \"%.150s\" (sha256 and sha512 are)",
                                 digest);
        return ml__error_set(err, ML_EDIGEST, "invalid digest \"%.150s\"", digest);
    }
    if (!alg_lookup(digest, (size_t)(strchr(digest, ':') - digest), &alg))
        return ml__error_set(err, ML_EDIGEST, "invalid digest \"%.150s\"", digest);
    int rc = compute(alg, data, len, actual, err);
    if (rc != ML_OK)
        return rc;
    if (strcmp(actual, digest) != 0)
        return ml__error_set(err, ML_EDIGEST, "digest mismatch: expected %s, got %s", digest,
                             actual);
    return ML_OK;
}
