/* Fuzz target for WWW-Authenticate parsing and the token request built from
 * it: no crash or leak, a successful parse is usable (Bearer has an http(s)
 * realm), failures are ML_EAUTH with a short printable message. The input
 * also goes through the scope parser and the encoders. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "auth.h"

static void fuzz_challenge(const char *s)
{
    ml__challenge c;
    ml_error *err = NULL;
    if (ml__challenge_parse(s, &c, &err) != ML_OK) {
        require(ml_error_code(err) == ML_EAUTH || ml_error_code(err) == ML_ENOMEM);
        const char *msg = ml_error_message(err);
        require(msg != NULL && strlen(msg) < 400);
        for (const unsigned char *p = (const unsigned char *)msg; *p; p++)
            require(*p >= 0x20 && *p < 0x7f);
        require(c.scheme == ML__AUTH_NONE && !c.realm && !c.service && !c.scope && !c.error);
        ml_error_free(err);
        return;
    }
    require(c.scheme == ML__AUTH_BASIC || c.scheme == ML__AUTH_BEARER);
    if (c.scheme == ML__AUTH_BEARER) {
        require(c.realm != NULL);
        ml__scopes scopes = {0};
        if (c.scope)
            (void)ml__scopes_add_string(&scopes, c.scope);
        (void)ml__scopes_add(&scopes, "library/alpine", "pull");
        char *url = ml__token_url(&c, &scopes);
        require(url != NULL && strncmp(url, c.realm, strlen(c.realm)) == 0);
        /* Everything after the realm is escaped: no spaces or controls. */
        for (const unsigned char *p = (const unsigned char *)url; *p; p++)
            require(*p > 0x20 && *p < 0x7f);
        free(url);
        char *form = ml__token_form(&c, &scopes, "refresh");
        require(form != NULL);
        free(form);
        ml__scopes_free(&scopes);
    }
    ml__challenge_clear(&c);
}

static void fuzz_scopes(const char *s)
{
    ml__scopes a = {0}, b = {0};
    if (ml__scopes_add_string(&a, s) != ML_OK) {
        require(a.items.count == 0);
        return;
    }
    /* Canonical: re-adding the formatted items gives the same set. */
    for (size_t i = 0; i < a.items.count; i++)
        require(ml__scopes_add_string(&b, a.items.items[i]) == ML_OK);
    require(a.items.count == b.items.count);
    for (size_t i = 0; i < a.items.count; i++) {
        require(strcmp(a.items.items[i], b.items.items[i]) == 0);
        if (i)
            require(strcmp(a.items.items[i - 1], a.items.items[i]) != 0);
    }
    require(ml__scopes_cover(&a, &b) && ml__scopes_cover(&b, &a));
    require(ml__scopes_merge(&b, &a) == ML_OK && b.items.count == a.items.count);
    ml__scopes_free(&a);
    ml__scopes_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = ml__strndup(size ? (const char *)data : "", size);
    if (!s)
        return 0;
    fuzz_challenge(s);
    fuzz_scopes(s);
    char *esc = ml__url_escape(s);
    require(esc != NULL);
    free(esc);
    free(s);
    return 0;
}
