#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>

#include "fileio.h"
#include "test.h"
#include "util.h"

static void test_buf_grows_and_formats(void)
{
    ml__buf b = {0};
    for (int i = 0; i < 1000; i++)
        ml__buf_printf(&b, "%d,", i);
    CHECK(!b.oom);
    CHECK(test_contains(b.data, ",999,"));
    char *s = ml__buf_take(&b);
    CHECK_INT(strlen(s), 3890);
    CHECK(b.data == NULL);
    free(s);
}

static void test_empty_buf_takes_empty_string(void)
{
    ml__buf b = {0};
    char *s = ml__buf_take(&b);
    CHECK_STR(s, "");
    free(s);
}

static void test_format_iec(void)
{
    char buf[ML__IEC_MAX];
    ml__format_iec(0, buf);
    CHECK_STR(buf, "0 B");
    ml__format_iec(1023, buf);
    CHECK_STR(buf, "1023 B");
    ml__format_iec(1536, buf);
    CHECK_STR(buf, "1.5 KiB");
    ml__format_iec(1048524, buf); /* 1023.95 KiB less a bit */
    CHECK_STR(buf, "1023.9 KiB");
    ml__format_iec(1048575, buf); /* rounds to 1024.0 KiB: the next unit */
    CHECK_STR(buf, "1.0 MiB");
    ml__format_iec(12u * 1024 * 1024, buf);
    CHECK_STR(buf, "12.0 MiB");
    ml__format_iec(3ull << 30, buf);
    CHECK_STR(buf, "3.0 GiB");
    ml__format_iec(UINT64_MAX, buf);
    CHECK_STR(buf, "16.0 EiB");
}

static void test_strvec(void)
{
    ml__strvec v = {0};
    CHECK_INT(ml__strvec_push(&v, "a"), ML_OK);
    CHECK_INT(ml__strvec_pushf(&v, "%s-%d", "b", 2), ML_OK);
    CHECK_INT(v.count, 2);
    CHECK(ml__strvec_contains(&v, "b-2"));
    CHECK(!ml__strvec_contains(&v, "c"));
    ml__strvec_free(&v);
    CHECK_INT(v.count, 0);
}

static void test_strset(void)
{
    ml__strset set = {0};
    bool added = false;
    CHECK(!ml__strset_contains(&set, "a"));
    char names[1000][8];
    for (int i = 0; i < 1000; i++) {
        snprintf(names[i], sizeof(names[i]), "t%d", i);
        CHECK_INT(ml__strset_add(&set, names[i], &added), ML_OK);
        CHECK(added);
    }
    CHECK_INT(ml__strset_add(&set, "t999", &added), ML_OK);
    CHECK(!added);
    CHECK_INT(set.count, 1000);
    CHECK(ml__strset_contains(&set, "t0") && ml__strset_contains(&set, "t500"));
    CHECK(!ml__strset_contains(&set, "t1000"));
    ml__strset_free(&set);
    CHECK(!ml__strset_contains(&set, "t0"));
}

static void test_sanitize(void)
{
    char *s = ml__sanitize("ab\ncd\x80", 6, 100);
    CHECK_STR(s, "ab?cd?");
    free(s);
    s = ml__sanitize("abcdef", 6, 3);
    CHECK_STR(s, "abc...");
    free(s);
    s = ml__sanitize("a\0b", 3, 10);
    CHECK_STR(s, "a?b");
    free(s);
    s = ml__sanitize("", 0, 10);
    CHECK_STR(s, "");
    free(s);
    /* Line breaks, escapes, C1 controls (U+009B is CSI) and invalid UTF-8
     * go; UTF-8 text stays, and is not cut inside a character. */
    const char *forged = "x\r\nmlist: \x1b[2J\xc2\x9b" "1m\xe2\x82\xac\xed\xa0\x80";
    s = ml__sanitize(forged, strlen(forged), 100);
    CHECK_STR(s, "x??mlist: ?[2J?1m\xe2\x82\xac???");
    free(s);
    s = ml__sanitize("\xc3\xa9\xc3\xa9", 4, 3);
    CHECK_STR(s, "\xc3\xa9...");
    free(s);
}

static char *sanitized(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = ml__sanitize_vprintf(fmt, ap);
    va_end(ap);
    return s;
}

static void test_sanitize_vprintf(void)
{
    char *s = sanitized("tag \"%s\" is bad", "a\nmlist: error: b");
    CHECK_STR(s, "tag \"a?mlist: error: b\" is bad");
    free(s);
}

static void test_checked_arithmetic(void)
{
    size_t out;
    CHECK(ml__size_add(1, 2, &out) && out == 3);
    CHECK(!ml__size_add(SIZE_MAX, 1, &out));
    CHECK(!ml__size_mul(SIZE_MAX / 2 + 1, 2, &out));
    CHECK(ml__size_mul(0, SIZE_MAX, &out) && out == 0);
}

static void test_read_file_limits(void)
{
    char *data = NULL;
    size_t len = 0;
    ml_error *err = NULL;
    CHECK_INT(ml__read_file("meson.build", 10, &data, &len, &err), ML_ETOOBIG);
    CHECK(test_contains(ml_error_message(err), "larger than 10 bytes"));
    ml_error_free(err);
    err = NULL;
    CHECK_INT(ml__read_file("/nonexistent/x", 10, &data, &len, &err), ML_EIO);
    CHECK(test_contains(ml_error_message(err), "/nonexistent/x"));
    ml_error_free(err);
}

static void test_ascii_case(void)
{
    CHECK(ml__ieq_n("Bearer", 6, "bearer", 6));
    CHECK(!ml__ieq_n("Bearer", 6, "bearers", 7));
    CHECK(!ml__ieq_n("Basic", 5, "basik", 5));
    CHECK(ml__has_iprefix("HTTPS://x", "https://"));
    CHECK(!ml__has_iprefix("http", "https")); /* stops at the end of s */
    CHECK(ml__has_iprefix("anything", ""));
}

static void test_wipe(void)
{
    char secret[] = "hunter2";
    ml__wipe(secret, sizeof(secret) - 1);
    for (size_t i = 0; i < sizeof(secret); i++)
        CHECK_INT(secret[i], 0);
    ml__wipe(NULL, 0);
}

int main(void)
{
    TEST_RUN(test_buf_grows_and_formats);
    TEST_RUN(test_empty_buf_takes_empty_string);
    TEST_RUN(test_format_iec);
    TEST_RUN(test_strvec);
    TEST_RUN(test_strset);
    TEST_RUN(test_sanitize);
    TEST_RUN(test_sanitize_vprintf);
    TEST_RUN(test_wipe);
    TEST_RUN(test_checked_arithmetic);
    TEST_RUN(test_read_file_limits);
    TEST_RUN(test_ascii_case);
    TEST_END();
}
