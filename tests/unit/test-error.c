#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "test.h"

static void test_set_and_prefix(void)
{
    ml_error *err = NULL;
    CHECK_INT(ml__error_set(&err, ML_EREF, "bad reference %s", "UPPER"), ML_EREF);
    CHECK_INT(ml__error_prefix(&err, ML_OK, "spec %s", "a.yaml"), ML_EREF);
    CHECK_STR(ml_error_message(err), "spec a.yaml: bad reference UPPER");
    ml__error_set_location(&err, "a.yaml", 3, 7);
    ml__error_set_http(&err, 404, "MANIFEST_UNKNOWN");
    CHECK_STR(ml_error_file(err), "a.yaml");
    CHECK_INT(ml_error_line(err), 3);
    CHECK_INT(ml_error_column(err), 7);
    CHECK_INT(ml_error_http_status(err), 404);
    CHECK_STR(ml_error_registry_code(err), "MANIFEST_UNKNOWN");
    ml_error_free(err);
}

static void test_locate_and_ref_survive_copy(void)
{
    ml_error *err = NULL, *copy = NULL;
    ml__error_set(&err, ML_ENOTFOUND, "image r/a:1: not found");
    CHECK_INT(ml__error_locate(&err, ML_ENOTFOUND, NULL, 4, 5), ML_ENOTFOUND);
    CHECK(ml_error_file(err) == NULL); /* no file name: nothing to say */
    CHECK_INT(ml__error_locate(&err, ML_ENOTFOUND, "app.yaml", 0, 0), ML_ENOTFOUND);
    CHECK_INT(ml_error_line(err), 0); /* a built spec's entry has no line */
    CHECK_INT(ml__error_locate(&err, ML_ENOTFOUND, "app.yaml", 4, 5), ML_ENOTFOUND);
    CHECK_STR(ml_error_message(err), "app.yaml:4:5: image r/a:1: not found");
    CHECK_INT(ml_error_line(err), 4);
    CHECK(ml_error_ref(err) == NULL);
    ml__error_set_ref(&err, "reg.example/r/a:1");
    ml__error_set_ref(&err, "reg.example/r/a:2"); /* replaces, does not leak */
    CHECK_INT(ml__error_copy(&copy, err), ML_ENOTFOUND);
    CHECK_STR(ml_error_ref(copy), "reg.example/r/a:2");
    CHECK(ml_error_ref(NULL) == NULL);
    ml_error_free(err);
    ml_error_free(copy);
}

static void test_null_err_is_allowed(void)
{
    CHECK_INT(ml__error_set(NULL, ML_ENET, "x"), ML_ENET);
    CHECK_INT(ml__error_prefix(NULL, ML_EIO, "x"), ML_EIO);
    ml_error *err = NULL;
    CHECK_INT(ml__error_prefix(&err, ML_EIO, "x"), ML_EIO);
    CHECK(err == NULL);
}

static void test_replaces_previous(void)
{
    ml_error *err = NULL;
    ml__error_set(&err, ML_ENET, "first");
    ml__error_set(&err, ML_EHTTP, "second");
    CHECK_INT(ml_error_code(err), ML_EHTTP);
    CHECK_STR(ml_error_message(err), "second");
    ml_error_free(err);
}

static void test_hints_accumulate_and_survive_context(void)
{
    ml_error *err = NULL;
    CHECK_INT(ml__error_hint(&err, ML_EIO, ML_HINT_FORCE), ML_EIO);
    CHECK(err == NULL);
    ml__error_set(&err, ML_EEXISTS, "app:1 exists already");
    CHECK_INT(ml_error_hints(err), 0);
    CHECK_INT(ml__error_hint(&err, ML_OK, ML_HINT_UPDATE), ML_EEXISTS);
    ml__error_hint(&err, ML_OK, ML_HINT_FORCE);
    ml__error_prefix(&err, ML_OK, "push");
    CHECK_INT(ml_error_hints(err), ML_HINT_UPDATE | ML_HINT_FORCE);
    ml__error_set(&err, ML_ENET, "a new error");
    CHECK_INT(ml_error_hints(err), 0);
    ml_error_free(err);
    CHECK_INT(ml_error_hints(NULL), 0);
}

static void test_auth_reason_as_data_and_words(void)
{
    ml_error *err = NULL, *copy = NULL;
    ml__error_set(&err, ML_EAUTH, "GET r/app:1: HTTP 401");
    CHECK_INT(ml_error_auth_reason(err), 0);
    CHECK_INT(ml__error_auth(&err, ML_OK, ML_AUTH_NO_CREDENTIALS, NULL), ML_EAUTH);
    CHECK_STR(ml_error_message(err), "GET r/app:1: HTTP 401 (no credentials found)");
    CHECK_INT(ml_error_auth_reason(err), ML_AUTH_NO_CREDENTIALS);
    CHECK(ml_error_hints(err) & ML_HINT_CREDENTIALS);
    /* said once, whatever layer adds it again */
    ml__error_auth(&err, ML_OK, ML_AUTH_DENIED, "detail");
    CHECK_INT(ml_error_auth_reason(err), ML_AUTH_NO_CREDENTIALS);
    CHECK_INT(ml__error_copy(&copy, err), ML_EAUTH);
    CHECK_STR(ml_error_message(copy), ml_error_message(err));
    CHECK_INT(ml_error_auth_reason(copy), ML_AUTH_NO_CREDENTIALS);
    CHECK_INT(ml_error_hints(copy), ml_error_hints(err));
    ml_error_free(copy);
    ml_error_free(err);
    err = NULL;
    ml__error_set(&err, ML_EAUTH, "PUT r/app:1: HTTP 401");
    ml__error_auth(&err, ML_OK, ML_AUTH_REJECTED, "user \"a\" from auth.json");
    CHECK_STR(ml_error_message(err), "PUT r/app:1: HTTP 401 (the credentials were rejected; user \"a\" from auth.json)");
    ml_error_free(err);
    CHECK_INT(ml_error_auth_reason(NULL), 0);
}

static void test_strerror_known_and_unknown(void)
{
    CHECK_STR(ml_strerror(ML_EEXISTS), "target exists");
    CHECK_STR(ml_strerror(-9999), "unknown error");
}

/* The errno text comes from strerror_r into the caller's struct: the same
 * text strerror gives, and an unknown number still yields its number. */
static void test_strerror_is_formatted_per_call(void)
{
    ml_error *err = NULL;
    ml__error_set(&err, ML_EIO, "open x: %s", ml__strerror(ENOENT).text);
    char want[160];
    snprintf(want, sizeof(want), "open x: %s", ml__strerror(ENOENT).text);
    CHECK_STR(ml_error_message(err), want);
    CHECK(strlen(ml__strerror(ENOENT).text) > 0);
    CHECK(strcmp(ml__strerror(ENOENT).text, ml__strerror(EACCES).text) != 0);
    CHECK(test_contains(ml__strerror(99999).text, "99999"));
    ml_error_free(err);
}

int main(void)
{
    TEST_RUN(test_strerror_is_formatted_per_call);
    TEST_RUN(test_set_and_prefix);
    TEST_RUN(test_locate_and_ref_survive_copy);
    TEST_RUN(test_null_err_is_allowed);
    TEST_RUN(test_replaces_previous);
    TEST_RUN(test_hints_accumulate_and_survive_context);
    TEST_RUN(test_auth_reason_as_data_and_words);
    TEST_RUN(test_strerror_known_and_unknown);
    TEST_END();
}
