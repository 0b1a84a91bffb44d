/* The JSON module: the strict reader refuses what RFC 8259 forbids or what
 * parsers read differently, the writer escapes and orders deterministically,
 * and the inputs that used to go to cJSON directly now meet the reader. */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "manifest.h"
#include "registry.h"
#include "test.h"

static void expect_refused(int line, const char *text, size_t len, const char *needle)
{
    ml__json *root = NULL;
    ml_error *err = NULL;
    int rc = ml__json_parse(&root, text, len, ML_EMANIFEST, &err);
    if (rc != ML_EMANIFEST || !test_contains(ml_error_message(err), needle))
        fprintf(stderr, "%s:%d: rc %d, message %s\n", __FILE__, line, rc,
                err ? ml_error_message(err) : "(none)");
    CHECK_INT(rc, ML_EMANIFEST);
    CHECK(root == NULL);
    CHECK(test_contains(ml_error_message(err), needle));
    ml_error_free(err);
}
#define REFUSED(text, needle) expect_refused(__LINE__, text, strlen(text), needle)

static ml__json *parse_ok(const char *text)
{
    ml__json *root = NULL;
    ml_error *err = NULL;
    CHECK_INT(ml__json_parse(&root, text, strlen(text), ML_EMANIFEST, &err), ML_OK);
    if (err)
        fprintf(stderr, "  unexpected: %s\n", ml_error_message(err));
    ml_error_free(err);
    return root;
}

/* {"a":[[...]]} with `arrays` levels of arrays inside the object. */
static void nested(char *buf, int arrays)
{
    strcpy(buf, "{\"a\":");
    for (int i = 0; i < arrays; i++)
        strcat(buf, "[");
    for (int i = 0; i < arrays; i++)
        strcat(buf, "]");
    strcat(buf, "}");
}

static void test_reader_refuses(void)
{
    REFUSED("", "empty document");
    REFUSED("[1]", "not a JSON object");
    REFUSED("{\"a\":1} x", "after the document at byte 8");
    /* a key twice, at any depth, with the object's path */
    REFUSED("{\"a\":1,\"a\":2}", "duplicate key \"a\"");
    REFUSED("{\"m\":[{},{\"p\":{\"os\":\"a\",\"x\":1,\"os\":\"b\"}}]}", "m[1].p: duplicate key \"os\"");
    /* raw control characters, in strings and between tokens */
    REFUSED("{\"a\":\"x\ty\"}", "control character in a string at byte 7");
    REFUSED("{\"a\":\x01 1}", "control character at byte 5");
    /* \u0000 would cut a C string short */
    REFUSED("{\"a\":\"x\\u0000y\"}", "\\u0000 in a string at byte 7");
    /* number grammar: cJSON takes these */
    REFUSED("{\"a\":01}", "invalid JSON number");
    REFUSED("{\"a\":1.}", "invalid JSON number");
    REFUSED("{\"a\":-.5}", "invalid JSON number");
    /* invalid UTF-8: a lone continuation byte, an overlong form, a
     * surrogate, past U+10FFFF, a cut sequence */
    REFUSED("{\"a\":\"\x80\"}", "invalid UTF-8 at byte 6");
    REFUSED("{\"a\":\"\xc0\xaf\"}", "invalid UTF-8");
    REFUSED("{\"a\":\"\xed\xa0\x80\"}", "invalid UTF-8");
    REFUSED("{\"a\":\"\xf4\x90\x80\x80\"}", "invalid UTF-8");
    REFUSED("{\"a\":\"\xe2\x82\"}", "invalid UTF-8");
    /* nesting: 64 levels pass, 65 do not */
    char deep[256];
    nested(deep, 63);
    ml__json_free(parse_ok(deep));
    nested(deep, 64);
    REFUSED(deep, "nested deeper than 64 levels at byte 68");
}

static void test_reader_values(void)
{
    ml__json *root = parse_ok(" {\"s\":\"caf\xc3\xa9 \\u00e9 \\ud83d\\ude00\",\"n\":null,\"t\":true,"
                              "\"i\":-42,\"big\":9007199254740993,\"f\":1.5e2,\"a\":[1,\"x\"]} \n");
    CHECK_STR(ml__json_string(ml__json_get(root, "s")), "caf\xc3\xa9 \xc3\xa9 \xf0\x9f\x98\x80");
    CHECK(ml__json_is_null(ml__json_get(root, "n")));
    CHECK(ml__json_get(root, "missing") == NULL);
    CHECK(ml__json_string(ml__json_get(root, "i")) == NULL);
    int64_t v = 0;
    CHECK(ml__json_int(ml__json_get(root, "i"), &v) && v == -42);
    /* beyond 2^53 saturates, so a range check sees it */
    CHECK(ml__json_int(ml__json_get(root, "big"), &v) && v == ML__JSON_INT_MAX + 1);
    CHECK(!ml__json_int(ml__json_get(root, "f"), &v));
    CHECK(ml__json_double(ml__json_get(root, "f")) == 150.0);
    const ml__json *a = ml__json_get(root, "a");
    CHECK(ml__json_is_array(a) && ml__json_count(a) == 2);
    CHECK_STR(ml__json_string(ml__json_next(ml__json_first(a))), "x");
    CHECK_STR(ml__json_key(ml__json_first(root)), "s");
    /* a value's text keeps numbers as written */
    char *text = ml__json_text(ml__json_get(root, "big"));
    CHECK_STR(text, "9007199254740993");
    free(text);
    ml__json_free(root);

    CHECK(ml__json_valid("[1,{\"a\":\"b\"}]"));
    CHECK(ml__json_valid("\"x\""));
    CHECK(!ml__json_valid("{\"a\":1,\"a\":1}"));
    CHECK(!ml__json_valid("01"));
}

static void test_writer(void)
{
    ml__json_writer w = {0};
    ml__strvec v = {0};
    ml__strvec_push(&v, "a");
    ml__strvec_push(&v, "b");
    ml__jw_object(&w, NULL);
    /* quote, backslash, the short escapes, other control characters as
     * \u00XX; UTF-8 and DEL as they are */
    ml__jw_string(&w, "s", "q\" b\\ \b\f\n\r\t \x01\x1f caf\xc3\xa9 \x7f");
    ml__jw_string(&w, "k\"ey", "");
    ml__jw_int(&w, "i", -9007199254740992);
    ml__jw_bool(&w, "t", true);
    ml__jw_bool(&w, "f", false);
    ml__jw_null(&w, "n");
    ml__jw_array(&w, "empty");
    ml__jw_end_array(&w);
    ml__jw_strings(&w, "v", &v);
    ml__jw_array(&w, "nested");
    ml__jw_object(&w, NULL);
    ml__jw_end_object(&w);
    ml__jw_raw(&w, NULL, "{\"x\":1.50}");
    ml__jw_end_array(&w);
    ml__jw_end_object(&w);
    size_t len = 0;
    char *out = ml__jw_take(&w, &len);
    const char *want = "{\"s\":\"q\\\" b\\\\ \\b\\f\\n\\r\\t \\u0001\\u001f caf\xc3\xa9 \x7f\",\"k\\\"ey\":\"\","
                       "\"i\":-9007199254740992,\"t\":true,\"f\":false,\"n\":null,\"empty\":[],"
                       "\"v\":[\"a\",\"b\"],\"nested\":[{},{\"x\":1.50}]}";
    CHECK_STR(out, want);
    CHECK_INT((long)len, (long)strlen(want));
    /* what the writer wrote, the reader takes back */
    ml__json *root = parse_ok(out);
    CHECK_STR(ml__json_string(ml__json_get(root, "s")), "q\" b\\ \b\f\n\r\t \x01\x1f caf\xc3\xa9 \x7f");
    ml__json_free(root);
    free(out);
    /* the writer starts over after a take */
    ml__jw_strings(&w, NULL, &v);
    out = ml__jw_take(&w, NULL);
    CHECK_STR(out, "[\"a\",\"b\"]");
    free(out);
    ml__strvec_free(&v);
}

static void test_tags_and_errors(void)
{
    ml__strvec tags = {0};
    const char *ok = "{\"name\":\"a\",\"tags\":[\"1\",\"latest\"]}";
    CHECK_INT(ml__tags_parse(ok, strlen(ok), &tags), ML_OK);
    CHECK(tags.count == 2 && strcmp(tags.items[1], "latest") == 0);
    ml__strvec_free(&tags);
    const char *none = "{\"name\":\"a\",\"tags\":null}";
    CHECK_INT(ml__tags_parse(none, strlen(none), &tags), ML_OK);
    CHECK(tags.count == 0);
    /* refused now: a tag that is not one, two tag lists, a tag cut by \u0000 */
    static const char *const bad[] = {
        "{\"tags\":[\"1\",2]}",
        "{\"tags\":[\"1\"],\"tags\":[\"2\"]}",
        "{\"tags\":[\"v1\\u0000x\"]}",
        "{\"tags\":[\"1\"]} trailing",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_INT(ml__tags_parse(bad[i], strlen(bad[i]), &tags), ML_EMANIFEST);
        ml__strvec_free(&tags);
    }

    char *code = NULL, *message = NULL;
    const char *body = "{\"errors\":[{\"code\":\"DENIED\",\"message\":\"no\\nway\"}]}";
    ml__registry_error_parse(body, strlen(body), &code, &message);
    CHECK_STR(code, "DENIED");
    CHECK(message && !strchr(message, '\n'));
    free(code);
    free(message);
    /* two codes: which one the registry meant is unknown, so neither */
    body = "{\"errors\":[{\"code\":\"DENIED\",\"code\":\"UNKNOWN\"}]}";
    ml__registry_error_parse(body, strlen(body), &code, &message);
    CHECK(code == NULL && message == NULL);
}

/* Keys and values of a hostile document reach messages as printable text:
 * no escape sequence (ESC, BEL, the C1 CSI U+009B) gets to a terminal. */
static void test_messages_are_printable(void)
{
    static const char *const docs[] = {
        "{\"a\\u001b]0;pwned\\u0007\":{\"x\":1,\"x\":2}}",
        "{\"schemaVersion\":2,\"mediaType\":\"\\u009b31m\",\"manifests\":[]}",
    };
    for (size_t i = 0; i < 2; i++) {
        ml_error *err = NULL;
        ml__manifest m;
        ml__json *root = NULL;
        int rc = i == 0 ? ml__json_parse(&root, docs[i], strlen(docs[i]), ML_EMANIFEST, &err)
                        : ml__manifest_parse(&m, docs[i], strlen(docs[i]), NULL, &err);
        CHECK_INT(rc, ML_EMANIFEST);
        const unsigned char *msg = (const unsigned char *)ml_error_message(err);
        bool printable = true;
        for (const unsigned char *p = msg; *p; p++)
            printable &= *p >= 0x20 && *p != 0x7f && !(p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f);
        CHECK(printable);
        CHECK(strchr((const char *)msg, '?') != NULL);
        ml_error_free(err);
    }
}

int main(void)
{
    TEST_RUN(test_reader_refuses);
    TEST_RUN(test_reader_values);
    TEST_RUN(test_writer);
    TEST_RUN(test_tags_and_errors);
    TEST_RUN(test_messages_are_printable);
    TEST_END();
}
