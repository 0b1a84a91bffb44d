#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "test.h"

/* ---- WWW-Authenticate ---------------------------------------------------- */

/* Parses and expects success; returns the code. */
static int parse(const char *header, ml__challenge *c)
{
    ml_error *err = NULL;
    int rc = ml__challenge_parse(header, c, &err);
    if (rc != ML_OK)
        fprintf(stderr, "  unexpected error: %s\n", ml_error_message(err));
    ml_error_free(err);
    return rc;
}

/* Expects ML_EAUTH whose message contains `needle`; returns the message
 * length (0 when the check failed). */
static size_t parse_fails(const char *header, const char *needle)
{
    ml__challenge c;
    ml_error *err = NULL;
    int rc = ml__challenge_parse(header, &c, &err);
    CHECK_INT(rc, ML_EAUTH);
    CHECK_INT(ml_error_code(err), ML_EAUTH);
    const char *msg = err ? ml_error_message(err) : NULL;
    CHECK(test_contains(msg, needle));
    if (!test_contains(msg, needle))
        fprintf(stderr, "  message: %s\n", msg ? msg : "(none)");
    CHECK(c.scheme == ML__AUTH_NONE && !c.realm && !c.service && !c.scope && !c.error);
    size_t len = msg ? strlen(msg) : 0;
    ml_error_free(err);
    return len;
}

static void test_bearer_docker_hub(void)
{
    ml__challenge c;
    CHECK_INT(parse("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
                    "scope=\"repository:library/alpine:pull\"",
                    &c),
              ML_OK);
    CHECK_INT(c.scheme, ML__AUTH_BEARER);
    CHECK_STR(c.realm, "https://auth.docker.io/token");
    CHECK_STR(c.service, "registry.docker.io");
    CHECK_STR(c.scope, "repository:library/alpine:pull");
    CHECK_STR(c.error, NULL);
    ml__challenge_clear(&c);
    CHECK(c.realm == NULL && c.scheme == ML__AUTH_NONE);
    ml__challenge_clear(&c); /* twice is harmless */
    ml__challenge_clear(NULL);
}

static void test_basic(void)
{
    ml__challenge c;
    CHECK_INT(parse("Basic realm=\"Registry Realm\"", &c), ML_OK);
    CHECK_INT(c.scheme, ML__AUTH_BASIC);
    CHECK_STR(c.realm, "Registry Realm");
    ml__challenge_clear(&c);

    CHECK_INT(parse("Basic", &c), ML_OK);
    CHECK_INT(c.scheme, ML__AUTH_BASIC);
    CHECK_STR(c.realm, NULL);
    ml__challenge_clear(&c);
}

static void test_multiple_challenges_prefer_bearer(void)
{
    ml__challenge c;
    CHECK_INT(parse("Basic realm=\"Registry Realm\", Bearer realm=\"https://a.example/token\","
                    "service=\"svc\"",
                    &c),
              ML_OK);
    CHECK_INT(c.scheme, ML__AUTH_BEARER);
    CHECK_STR(c.realm, "https://a.example/token");
    CHECK_STR(c.service, "svc");
    ml__challenge_clear(&c);

    CHECK_INT(parse("Bearer realm=\"https://a.example/t\", Basic realm=\"x\"", &c), ML_OK);
    CHECK_INT(c.scheme, ML__AUTH_BEARER);
    CHECK_STR(c.realm, "https://a.example/t");
    CHECK_STR(c.service, NULL);
    ml__challenge_clear(&c);

    /* Unknown schemes (token68 and parameter forms) are skipped. */
    CHECK_INT(parse("Negotiate YIIabc+/==, Digest realm=\"d\", nonce=\"n,o\", qop=auth, "
                    "Basic realm=\"r\"",
                    &c),
              ML_OK);
    CHECK_INT(c.scheme, ML__AUTH_BASIC);
    CHECK_STR(c.realm, "r");
    ml__challenge_clear(&c);

    CHECK_INT(parse("Negotiate, Bearer realm=\"https://a.example/t\",scope=\"s\", NTLM", &c), ML_OK);
    CHECK_INT(c.scheme, ML__AUTH_BEARER);
    CHECK_STR(c.scope, "s");
    ml__challenge_clear(&c);

    /* The first usable Bearer wins; a realm-less one does not spoil Basic. */
    CHECK_INT(parse("Bearer realm=\"https://one.example/\", Bearer realm=\"https://two.example/\"", &c),
              ML_OK);
    CHECK_STR(c.realm, "https://one.example/");
    ml__challenge_clear(&c);
    CHECK_INT(parse("Bearer, Basic realm=\"fallback\"", &c), ML_OK);
    CHECK_INT(c.scheme, ML__AUTH_BASIC);
    CHECK_STR(c.realm, "fallback");
    ml__challenge_clear(&c);
}

static void test_quoted_strings(void)
{
    ml__challenge c;
    CHECK_INT(parse("Bearer realm=\"https://a.example/t\",scope=\"repository:a:pull,push "
                    "repository:b:pull\",error=\"insufficient_scope\"",
                    &c),
              ML_OK);
    CHECK_STR(c.scope, "repository:a:pull,push repository:b:pull");
    CHECK_STR(c.error, "insufficient_scope");
    ml__challenge_clear(&c);

    CHECK_INT(parse("Bearer realm=\"https://a.example/t\",service=\"a\\\"b\\\\c\\,d\"", &c), ML_OK);
    CHECK_STR(c.service, "a\"b\\c,d");
    ml__challenge_clear(&c);

    CHECK_INT(parse("Bearer realm=\"https://a.example/t\",service=\"\"", &c), ML_OK);
    CHECK_STR(c.service, "");
    ml__challenge_clear(&c);

    /* A comma inside quotes does not start a new challenge. */
    CHECK_INT(parse("Basic realm=\"a, Bearer realm=https://evil.example/\"", &c), ML_OK);
    CHECK_INT(c.scheme, ML__AUTH_BASIC);
    CHECK_STR(c.realm, "a, Bearer realm=https://evil.example/");
    ml__challenge_clear(&c);
}

static void test_case_and_whitespace(void)
{
    ml__challenge c;
    CHECK_INT(parse("bEaReR REALM=\"https://a.example/t\", SeRvIcE=\"Svc\"", &c), ML_OK);
    CHECK_INT(c.scheme, ML__AUTH_BEARER);
    CHECK_STR(c.realm, "https://a.example/t");
    CHECK_STR(c.service, "Svc"); /* values keep their case */
    ml__challenge_clear(&c);

    CHECK_INT(parse("  Bearer \t realm = \"https://a.example/t\" ,\tservice= \"s\" ,scope =\"x:y:pull\"  ",
                    &c),
              ML_OK);
    CHECK_STR(c.realm, "https://a.example/t");
    CHECK_STR(c.service, "s");
    CHECK_STR(c.scope, "x:y:pull");
    ml__challenge_clear(&c);

    /* Empty list elements (RFC 7230 section 7). */
    CHECK_INT(parse(", ,Bearer realm=\"https://a.example/t\",, service=\"s\",", &c), ML_OK);
    CHECK_STR(c.service, "s");
    ml__challenge_clear(&c);

    /* Unquoted values, as some registries send them. */
    CHECK_INT(parse("Bearer realm=https://a.example/token,service=registry.example.com,"
                    "scope=repository:x/y:pull",
                    &c),
              ML_OK);
    CHECK_STR(c.realm, "https://a.example/token");
    CHECK_STR(c.service, "registry.example.com");
    CHECK_STR(c.scope, "repository:x/y:pull");
    ml__challenge_clear(&c);

    /* Duplicated parameters: the first wins. */
    CHECK_INT(parse("Bearer realm=\"https://first.example/\",realm=\"https://second.example/\"", &c),
              ML_OK);
    CHECK_STR(c.realm, "https://first.example/");
    ml__challenge_clear(&c);

    /* Realm scheme is case-insensitive, plain http is allowed. */
    CHECK_INT(parse("Bearer realm=\"HTTP://127.0.0.1:5001/auth\"", &c), ML_OK);
    CHECK_STR(c.realm, "HTTP://127.0.0.1:5001/auth");
    ml__challenge_clear(&c);
}

static void test_missing_realm_and_garbage(void)
{
    parse_fails("Bearer service=\"s\",scope=\"x\"", "Bearer challenge without realm");
    parse_fails("Bearer", "without realm");
    parse_fails("Bearer realm", "without realm"); /* token68 "realm" */
    parse_fails("Bearer realm=\"file:///etc/passwd\"", "not an http(s) URL");
    parse_fails("Bearer realm=\"https://\"", "not an http(s) URL");
    parse_fails("Bearer realm=\"https://a.example/ x\"", "not an http(s) URL");
    parse_fails("Bearer realm=\"ftp://a.example/\"", "not an http(s) URL");
    parse_fails("", "empty header");
    parse_fails("  \t , ", "empty header");
    parse_fails("Negotiate abc==", "no supported challenge");
    parse_fails("Digest realm=\"x\", nonce=\"y\"", "no supported challenge");
    parse_fails("\"garbage\"", "expected an authentication scheme at offset 0");
    parse_fails("Bearer realm=\"https://a.example/t", "unterminated quoted string");
    parse_fails("Bearer realm=\"https://a.example/t\\", "unterminated quoted string");
    parse_fails("Basic realm=\"a\" Bearer realm=\"https://b.example/\"", "expected ','");
    parse_fails("Bearer realm=\"https://a.example/\", =x", "expected an authentication scheme");
    parse_fails("Bearer realm=", "without realm");
    parse_fails("Bearer realm=\"https://a.example/\",service=,", "missing parameter value");
    parse_fails("Bearer realm=\"a\x01\"", "control character");
    parse_fails("Bearer realm \"x\"", "expected '='");
    parse_fails("Bearer\"x\"", "expected a space after the scheme");
    parse_fails("Bearer realm=\"https://a.example/\" x=y", "expected ','");

    ml__challenge c;
    CHECK_INT(ml__challenge_parse(NULL, &c, NULL), ML_EAUTH);
    CHECK_INT(ml__challenge_parse("Negotiate", &c, NULL), ML_EAUTH); /* err may be NULL */
}

static void test_messages_are_bounded_and_sanitised(void)
{
    /* The message quotes a sanitised prefix of the header (UTF-8 text stays). */
    ml__challenge c;
    ml_error *err = NULL;
    CHECK_INT(ml__challenge_parse("Foo \x01\x7f\xc3\xa9\xc2\x9b\xff bar", &c, &err), ML_EAUTH);
    const char *msg = ml_error_message(err);
    CHECK(test_contains(msg, "\"Foo ??\xc3\xa9?? bar\""));
    for (const unsigned char *p = (const unsigned char *)msg; p && *p; p++)
        CHECK(*p >= 0x20 && *p != 0x7f && *p != 0xff);
    ml_error_free(err);

    /* Long but within the limit: still parsed. */
    size_t n = 8000;
    char *h = malloc(ML__AUTH_HEADER_MAX + 100);
    strcpy(h, "Bearer realm=\"https://a.example/t\",scope=\"");
    size_t len = strlen(h);
    memset(h + len, 'x', n - len - 1);
    h[n - 1] = '"';
    h[n] = '\0';
    CHECK_INT(parse(h, &c), ML_OK);
    CHECK_INT(strlen(c.scope), n - len - 1);
    ml__challenge_clear(&c);

    /* Over the limit: refused with a short message. */
    memset(h, 'A', ML__AUTH_HEADER_MAX + 1);
    h[ML__AUTH_HEADER_MAX + 1] = '\0';
    size_t mlen = parse_fails(h, "exceeds 8192 bytes");
    CHECK(mlen > 0 && mlen < 300);

    /* A long garbage header: the quoted prefix is cut with "...". */
    memset(h, '(', 5000);
    h[5000] = '\0';
    mlen = parse_fails(h, "...\"");
    CHECK(mlen > 0 && mlen < 300);
    free(h);
}

/* ---- Token answers -------------------------------------------------------- */

static ml__token token_ok(const char *body, size_t len)
{
    ml__token t;
    ml_error *err = NULL;
    int rc = ml__token_parse(body, len, &t, &err);
    CHECK_INT(rc, ML_OK);
    if (rc != ML_OK)
        fprintf(stderr, "  unexpected error: %s\n", ml_error_message(err));
    ml_error_free(err);
    return t;
}

static void token_fails(const char *body, const char *needle)
{
    ml__token t;
    ml_error *err = NULL;
    CHECK_INT(ml__token_parse(body, strlen(body), &t, &err), ML_EAUTH);
    const char *msg = ml_error_message(err);
    CHECK(test_contains(msg, needle));
    if (!test_contains(msg, needle))
        fprintf(stderr, "  message: %s\n", msg ? msg : "(none)");
    /* Secrets in the test bodies all contain "SECRET". */
    CHECK(!test_contains(msg, "SECRET"));
    CHECK(t.token == NULL && t.refresh_token == NULL);
    ml_error_free(err);
}

static void test_token_parse(void)
{
    const char *b = "{\"token\":\"tok1\",\"access_token\":\"acc1\",\"expires_in\":300,"
                    "\"issued_at\":\"2024-01-01T00:00:00Z\"}";
    ml__token t = token_ok(b, strlen(b));
    CHECK_STR(t.token, "tok1");
    CHECK_INT(t.expires_in, 300);
    CHECK_STR(t.refresh_token, NULL);
    ml__token_clear(&t);
    CHECK(t.token == NULL);
    ml__token_clear(NULL);

    b = "{\"access_token\":\"acc2\",\"refresh_token\":\"ref2\",\"scope\":\"x\"}";
    t = token_ok(b, strlen(b));
    CHECK_STR(t.token, "acc2");
    CHECK_INT(t.expires_in, 60);
    CHECK_STR(t.refresh_token, "ref2");
    ml__token_clear(&t);

    /* An empty or null "token" falls back to "access_token". */
    b = "{\"token\":\"\",\"access_token\":\"acc3\"}";
    t = token_ok(b, strlen(b));
    CHECK_STR(t.token, "acc3");
    ml__token_clear(&t);
    b = "{\"token\":null,\"access_token\":\"acc4\",\"expires_in\":null,\"refresh_token\":null}";
    t = token_ok(b, strlen(b));
    CHECK_STR(t.token, "acc4");
    CHECK_INT(t.expires_in, 60);
    CHECK_STR(t.refresh_token, NULL);
    ml__token_clear(&t);

    /* Whitespace around, and a buffer that is not NUL-terminated. */
    b = " \n{\"token\":\"tok5\"}\r\n GARBAGE";
    t = token_ok(b, strlen(b) - strlen("GARBAGE"));
    CHECK_STR(t.token, "tok5");
    ml__token_clear(&t);
}

static void test_token_expires(void)
{
    static const struct {
        const char *value;
        int64_t expect;
    } cases[] = {
        {"300", 300},       {"60", 60},          {"59", 60},          {"0", 60},
        {"-5", 60},         {"300.9", 300},      {"1e30", ML__TOKEN_MAX_EXPIRES},
        {"31536000", 31536000}, {"31536001", ML__TOKEN_MAX_EXPIRES}, {"-1e308", 60},
        {"1e999", ML__TOKEN_MAX_EXPIRES},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *b = ml__asprintf("{\"token\":\"t\",\"expires_in\":%s}", cases[i].value);
        ml__token t = token_ok(b, strlen(b));
        CHECK_INT(t.expires_in, cases[i].expect);
        ml__token_clear(&t);
        free(b);
    }
}

static void test_token_errors(void)
{
    token_fails("{", "invalid JSON");
    token_fails("", "empty body");
    token_fails("not json SECRET", "invalid JSON");
    token_fails("{\"token\":\"SECRET1\"} {", "data after the document");
    token_fails("{\"token\":\"SECRET1\"}x", "invalid JSON");
    token_fails("[\"SECRET\"]", "not a JSON object");
    token_fails("\"SECRET\"", "not a JSON object");
    token_fails("{}", "no \"token\" or \"access_token\"");
    token_fails("{\"token\":\"\",\"access_token\":\"\"}", "no \"token\"");
    token_fails("{\"token\":5,\"access_token\":\"SECRET\"}", "\"token\" is not a string");
    token_fails("{\"access_token\":[\"SECRET\"]}", "\"access_token\" is not a string");
    token_fails("{\"token\":\"SECRET\\r\\nX-Injected: 1\"}", "characters not allowed");
    token_fails("{\"token\":\"SECRET \"}", "characters not allowed");
    token_fails("{\"token\":\"SECRET\",\"expires_in\":\"300\"}", "\"expires_in\" is not a number");
    token_fails("{\"token\":\"SECRET\",\"refresh_token\":1}", "\"refresh_token\" is not a string");
    /* the strict reader: which of two tokens counts is ambiguous, and
     * \u0000 would cut one short */
    token_fails("{\"token\":\"SECRET1\",\"token\":\"SECRET2\"}", "duplicate key \"token\"");
    token_fails("{\"token\":\"SECRET\\u0000x\"}", "\\u0000 in a string");
    token_fails("{\"token\":\"SECRET\",\"expires_in\":0300}", "invalid JSON number");

    ml__token t;
    CHECK_INT(ml__token_parse(NULL, 0, &t, NULL), ML_EAUTH);
    CHECK_INT(ml__token_parse("{\"token\":\"x\"}\0", 15, &t, NULL), ML_EAUTH);
}

/* ---- Scopes --------------------------------------------------------------- */

static void check_items(const ml__scopes *s, const char *const *expect, size_t n)
{
    CHECK_INT(s->items.count, n);
    for (size_t i = 0; i < n && i < s->items.count; i++)
        CHECK_STR(s->items.items[i], expect[i]);
}

static void test_scopes_add_merges_and_sorts(void)
{
    ml__scopes s = {0};
    CHECK_INT(ml__scopes_add(&s, "b/app", "pull"), ML_OK);
    CHECK_INT(ml__scopes_add(&s, "a", "push"), ML_OK);
    CHECK_INT(ml__scopes_add(&s, "a/c", "pull"), ML_OK);
    CHECK_INT(ml__scopes_add(&s, "a", "pull"), ML_OK);
    CHECK_INT(ml__scopes_add(&s, "b/app", "delete,push,pull,push"), ML_OK);
    const char *expect[] = {"repository:a:pull,push", "repository:a/c:pull",
                            "repository:b/app:pull,push,delete"};
    check_items(&s, expect, 3);

    /* "*" is kept as is; unknown actions follow, sorted. */
    CHECK_INT(ml__scopes_add(&s, "a", "*"), ML_OK);
    CHECK_INT(ml__scopes_add(&s, "a/c", "metadata_read,content-write,pull"), ML_OK);
    const char *expect2[] = {"repository:a:pull,push,*", "repository:a/c:pull,content-write,metadata_read",
                             "repository:b/app:pull,push,delete"};
    check_items(&s, expect2, 3);

    /* Invalid input leaves the set unchanged. */
    CHECK_INT(ml__scopes_add(&s, "", "pull"), ML_EINVAL);
    CHECK_INT(ml__scopes_add(&s, "a", ""), ML_EINVAL);
    CHECK_INT(ml__scopes_add(&s, "a", "pull,"), ML_EINVAL);
    CHECK_INT(ml__scopes_add(&s, "a", ",pull"), ML_EINVAL);
    CHECK_INT(ml__scopes_add(&s, "a", "pull,,push"), ML_EINVAL);
    CHECK_INT(ml__scopes_add(&s, "a", "pu ll"), ML_EINVAL);
    CHECK_INT(ml__scopes_add(&s, "a", "pull:push"), ML_EINVAL);
    CHECK_INT(ml__scopes_add(&s, "a", "**"), ML_EINVAL);
    CHECK_INT(ml__scopes_add(&s, "a b", "pull"), ML_EINVAL);
    CHECK_INT(ml__scopes_add(&s, "new\n", "pull"), ML_EINVAL);
    CHECK_INT(ml__scopes_add(&s, NULL, "pull"), ML_EINVAL);
    CHECK_INT(ml__scopes_add(&s, "a", NULL), ML_EINVAL);
    check_items(&s, expect2, 3);
    ml__scopes_free(&s);
    CHECK_INT(s.items.count, 0);
    ml__scopes_free(&s);
}

static void test_scopes_add_string(void)
{
    ml__scopes s = {0};
    CHECK_INT(ml__scopes_add_string(&s, "repository:x:push  registry:catalog:* repository:x:pull"), ML_OK);
    /* The last ':' separates the actions: old-style names with a port. */
    CHECK_INT(ml__scopes_add_string(&s, "repository:localhost:5000/app:pull"), ML_OK);
    CHECK_INT(ml__scopes_add_string(&s, ""), ML_OK);
    const char *expect[] = {"registry:catalog:*", "repository:localhost:5000/app:pull",
                            "repository:x:pull,push"};
    check_items(&s, expect, 3);
    CHECK_INT(ml__scopes_add_string(&s, "repository:y:pull repository:z"), ML_EINVAL);
    CHECK_INT(ml__scopes_add_string(&s, "nocolon"), ML_EINVAL);
    CHECK_INT(ml__scopes_add_string(&s, ":x:pull"), ML_EINVAL);
    CHECK_INT(ml__scopes_add_string(&s, "repository::pull"), ML_EINVAL);
    CHECK_INT(ml__scopes_add_string(&s, "repository:y:"), ML_EINVAL);
    CHECK_INT(ml__scopes_add_string(&s, "repository:y:pull\trepository:z:pull"), ML_EINVAL);
    check_items(&s, expect, 3); /* all or nothing */
    ml__scopes_free(&s);
}

static void test_scopes_cover_and_merge(void)
{
    ml__scopes have = {0}, want = {0}, empty = {0};
    CHECK_INT(ml__scopes_add(&have, "a", "pull,push"), ML_OK);
    CHECK_INT(ml__scopes_add(&have, "b", "pull"), ML_OK);
    CHECK_INT(ml__scopes_add(&have, "c", "*"), ML_OK);
    CHECK(ml__scopes_cover(&have, &empty));
    CHECK(ml__scopes_cover(&empty, &empty));
    CHECK(ml__scopes_cover(&have, NULL));
    CHECK(ml__scopes_cover(&have, &have));

    CHECK_INT(ml__scopes_add(&want, "a", "push"), ML_OK);
    CHECK(ml__scopes_cover(&have, &want));
    CHECK(!ml__scopes_cover(&empty, &want));
    CHECK(!ml__scopes_cover(NULL, &want));
    CHECK_INT(ml__scopes_add(&want, "b", "pull"), ML_OK);
    CHECK(ml__scopes_cover(&have, &want));
    CHECK_INT(ml__scopes_add(&want, "b", "push"), ML_OK);
    CHECK(!ml__scopes_cover(&have, &want));
    ml__scopes_free(&want);

    CHECK_INT(ml__scopes_add(&want, "ab", "pull"), ML_OK); /* not a prefix match */
    CHECK(!ml__scopes_cover(&have, &want));
    ml__scopes_free(&want);
    CHECK_INT(ml__scopes_add(&want, "c", "pull"), ML_OK); /* "*" is literal */
    CHECK(!ml__scopes_cover(&have, &want));
    ml__scopes_free(&want);
    CHECK_INT(ml__scopes_add(&want, "c", "*"), ML_OK);
    CHECK(ml__scopes_cover(&have, &want));
    ml__scopes_free(&want);
    CHECK_INT(ml__scopes_add(&want, "a", "pul"), ML_OK); /* whole actions only */
    CHECK(!ml__scopes_cover(&have, &want));
    ml__scopes_free(&want);

    CHECK_INT(ml__scopes_add(&want, "b", "push"), ML_OK);
    CHECK_INT(ml__scopes_add(&want, "0", "pull"), ML_OK);
    CHECK_INT(ml__scopes_merge(&want, &have), ML_OK);
    const char *expect[] = {"repository:0:pull", "repository:a:pull,push", "repository:b:pull,push",
                            "repository:c:*"};
    check_items(&want, expect, 4);
    CHECK(ml__scopes_cover(&want, &have));
    CHECK(!ml__scopes_cover(&have, &want));
    CHECK_INT(ml__scopes_merge(&want, &empty), ML_OK);
    check_items(&want, expect, 4);
    CHECK_INT(ml__scopes_merge(&empty, &want), ML_OK);
    check_items(&empty, expect, 4);
    CHECK_INT(ml__scopes_merge(NULL, &want), ML_EINVAL);
    ml__scopes_free(&have);
    ml__scopes_free(&want);
    ml__scopes_free(&empty);
}

/* ---- Token requests -------------------------------------------------------- */

static void test_token_url(void)
{
    ml__challenge c = {ML__AUTH_BEARER, (char *)"https://auth.docker.io/token",
                       (char *)"registry.docker.io", NULL, NULL};
    ml__scopes s = {0};
    CHECK_INT(ml__scopes_add(&s, "library/alpine", "pull"), ML_OK);
    CHECK_INT(ml__scopes_add(&s, "me/app", "push,pull"), ML_OK);
    char *url = ml__token_url(&c, &s);
    CHECK_STR(url, "https://auth.docker.io/token?service=registry.docker.io"
                   "&scope=repository%3Alibrary%2Falpine%3Apull"
                   "&scope=repository%3Ame%2Fapp%3Apull%2Cpush");
    free(url);

    /* Realm with a query; service with characters to escape. */
    c.realm = (char *)"https://r.example/auth?account=x";
    c.service = (char *)"my service&co";
    url = ml__token_url(&c, &s);
    CHECK_STR(url, "https://r.example/auth?account=x&service=my%20service%26co"
                   "&scope=repository%3Alibrary%2Falpine%3Apull"
                   "&scope=repository%3Ame%2Fapp%3Apull%2Cpush");
    free(url);

    c.realm = (char *)"https://r.example/auth?";
    c.service = NULL;
    url = ml__token_url(&c, &s);
    CHECK_STR(url, "https://r.example/auth?scope=repository%3Alibrary%2Falpine%3Apull"
                   "&scope=repository%3Ame%2Fapp%3Apull%2Cpush");
    free(url);

    c.realm = (char *)"http://127.0.0.1:5001/token";
    c.service = (char *)"";
    url = ml__token_url(&c, NULL);
    CHECK_STR(url, "http://127.0.0.1:5001/token");
    free(url);
    c.service = (char *)"svc";
    url = ml__token_url(&c, NULL);
    CHECK_STR(url, "http://127.0.0.1:5001/token?service=svc");
    free(url);

    c.realm = NULL;
    CHECK(ml__token_url(&c, &s) == NULL);
    CHECK(ml__token_url(NULL, &s) == NULL);
    ml__scopes_free(&s);
}

static void test_token_form(void)
{
    ml__challenge c = {ML__AUTH_BEARER, (char *)"https://auth.example/token", (char *)"reg.example",
                       NULL, NULL};
    ml__scopes s = {0};
    CHECK_INT(ml__scopes_add(&s, "a", "pull"), ML_OK);
    CHECK_INT(ml__scopes_add(&s, "b", "pull,push"), ML_OK);
    char *form = ml__token_form(&c, &s, "re/fresh+token=");
    CHECK_STR(form, "grant_type=refresh_token&service=reg.example&client_id=mlist"
                    "&refresh_token=re%2Ffresh%2Btoken%3D"
                    "&scope=repository%3Aa%3Apull%20repository%3Ab%3Apull%2Cpush");
    free(form);

    c.service = NULL;
    form = ml__token_form(&c, NULL, "rt");
    CHECK_STR(form, "grant_type=refresh_token&client_id=mlist&refresh_token=rt");
    free(form);
    CHECK(ml__token_form(&c, &s, NULL) == NULL);
    ml__scopes_free(&s);
}

/* ---- Encodings -------------------------------------------------------------- */

static void test_base64_rfc4648(void)
{
    static const char *vectors[][2] = {
        {"", ""},         {"f", "Zg=="},        {"fo", "Zm8="},         {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
    };
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        char *enc = ml__base64_encode(vectors[i][0], strlen(vectors[i][0]));
        CHECK_STR(enc, vectors[i][1]);
        free(enc);
        char *dec = NULL;
        size_t len = 99;
        CHECK_INT(ml__base64_decode(vectors[i][1], &dec, &len), ML_OK);
        CHECK_STR(dec, vectors[i][0]);
        CHECK_INT(len, strlen(vectors[i][0]));
        free(dec);
    }

    /* Unpadded input is accepted. */
    char *dec = NULL;
    size_t len = 0;
    CHECK_INT(ml__base64_decode("Zm9vYg", &dec, &len), ML_OK);
    CHECK_STR(dec, "foob");
    free(dec);
    CHECK_INT(ml__base64_decode("Zm9vYmE", &dec, &len), ML_OK);
    CHECK_STR(dec, "fooba");
    free(dec);

    static const char *bad[] = {"Zm9v!", "Z", "Zm9vY", "Zm=9", "Zg===", "Zg=", "Z===", "====",
                                "Zm9v\n", " Zm9v", "Zm-v", "Zm_v", "=Zm9"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        dec = NULL;
        CHECK_INT(ml__base64_decode(bad[i], &dec, &len), ML_EINVAL);
        CHECK(dec == NULL);
    }
    CHECK_INT(ml__base64_decode(NULL, &dec, &len), ML_EINVAL);

    /* Every byte value survives a round trip, NULs included. */
    unsigned char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    for (size_t n = 0; n <= 256; n += 37) {
        char *enc = ml__base64_encode(all + (256 - n), n);
        CHECK(enc && strlen(enc) == (n + 2) / 3 * 4);
        CHECK_INT(ml__base64_decode(enc, &dec, &len), ML_OK);
        CHECK_INT(len, n);
        CHECK(memcmp(dec, all + (256 - n), n) == 0);
        CHECK_INT(dec[len], '\0');
        free(dec);
        free(enc);
    }
    char *enc = ml__base64_encode("alice:s3cr:et", 13);
    CHECK_STR(enc, "YWxpY2U6czNjcjpldA==");
    free(enc);
}

static void test_url_escape(void)
{
    char *s = ml__url_escape("a b/c~d-e_f.g:h?i&j=k%l+m");
    CHECK_STR(s, "a%20b%2Fc~d-e_f.g%3Ah%3Fi%26j%3Dk%25l%2Bm");
    free(s);
    s = ml__url_escape("\xc3\xa9\x01\x7f");
    CHECK_STR(s, "%C3%A9%01%7F");
    free(s);
    s = ml__url_escape("");
    CHECK_STR(s, "");
    free(s);
    s = ml__url_escape("AZaz09");
    CHECK_STR(s, "AZaz09");
    free(s);
    CHECK(ml__url_escape(NULL) == NULL);
}

int main(void)
{
    TEST_RUN(test_bearer_docker_hub);
    TEST_RUN(test_basic);
    TEST_RUN(test_multiple_challenges_prefer_bearer);
    TEST_RUN(test_quoted_strings);
    TEST_RUN(test_case_and_whitespace);
    TEST_RUN(test_missing_realm_and_garbage);
    TEST_RUN(test_messages_are_bounded_and_sanitised);
    TEST_RUN(test_token_parse);
    TEST_RUN(test_token_expires);
    TEST_RUN(test_token_errors);
    TEST_RUN(test_scopes_add_merges_and_sorts);
    TEST_RUN(test_scopes_add_string);
    TEST_RUN(test_scopes_cover_and_merge);
    TEST_RUN(test_token_url);
    TEST_RUN(test_token_form);
    TEST_RUN(test_base64_rfc4648);
    TEST_RUN(test_url_escape);
    TEST_END();
}
