#include <stdint.h>
#include <stdlib.h>

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

int main(void)
{
    TEST_RUN(test_buf_grows_and_formats);
    TEST_RUN(test_empty_buf_takes_empty_string);
    TEST_RUN(test_strvec);
    TEST_RUN(test_checked_arithmetic);
    TEST_RUN(test_read_file_limits);
    TEST_RUN(test_ascii_case);
    TEST_END();
}
