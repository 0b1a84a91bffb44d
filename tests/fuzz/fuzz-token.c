/* Fuzz target for token endpoint answers and base64: no crash, leak or
 * read past the buffer (the input is not NUL-terminated); a parsed token is
 * header-safe with a bounded lifetime; base64 round-trips. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "auth.h"

static void fuzz_token(const uint8_t *data, size_t size)
{
    ml__token t;
    ml_error *err = NULL;
    if (ml__token_parse((const char *)data, size, &t, &err) != ML_OK) {
        require(ml_error_code(err) == ML_EAUTH || ml_error_code(err) == ML_ENOMEM);
        require(t.token == NULL && t.refresh_token == NULL);
        ml_error_free(err);
        return;
    }
    require(t.token && *t.token);
    for (const unsigned char *p = (const unsigned char *)t.token; *p; p++)
        require(*p > 0x20 && *p < 0x7f);
    require(t.expires_in >= ML__TOKEN_MIN_EXPIRES && t.expires_in <= ML__TOKEN_MAX_EXPIRES);
    ml__token_clear(&t);
}

static void fuzz_base64(const uint8_t *data, size_t size)
{
    char *enc = ml__base64_encode(data, size);
    require(enc != NULL);
    char *dec = NULL;
    size_t len = 0;
    require(ml__base64_decode(enc, &dec, &len) == ML_OK);
    require(len == size && (size == 0 || memcmp(dec, data, size) == 0));
    free(dec);
    free(enc);

    char *s = ml__strndup(size ? (const char *)data : "", size);
    if (!s)
        return;
    if (ml__base64_decode(s, &dec, &len) == ML_OK) {
        require(dec[len] == '\0' && len <= size);
        free(dec);
    }
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    if (size)
        memcpy(copy, data, size);
    fuzz_token(copy, size);
    fuzz_base64(copy, size);
    free(copy);
    return 0;
}
