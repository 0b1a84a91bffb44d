/* The public API's contract as a C caller meets it from the header: getters
 * on NULL objects, the options structs, and entry accessors. */
#include <stdlib.h>
#include <string.h>

#include "manifestlist.h"
#include "test.h"

/* Every getter of every object: NULL object gives 0, NULL or -1. */
static void test_getters_accept_null(void)
{
    size_t len = 7;
    CHECK_INT(ml_error_code(NULL), ML_OK);
    CHECK_INT(ml_error_http_status(NULL), 0);
    CHECK_STR(ml_error_registry_code(NULL), NULL);
    CHECK_STR(ml_error_file(NULL), NULL);
    CHECK_INT(ml_error_line(NULL), 0);
    CHECK_INT(ml_error_column(NULL), 0);
    CHECK_INT(ml_error_hints(NULL), 0);

    CHECK_INT(ml_spec_list_count(NULL), 0);
    CHECK_STR(ml_spec_target(NULL, 0), NULL);
    CHECK_INT(ml_spec_tag_count(NULL, 0), 0);
    CHECK_STR(ml_spec_tag(NULL, 0, 0), NULL);
    CHECK_INT(ml_spec_entry_count(NULL, 0), 0);
    CHECK_STR(ml_spec_entry_image(NULL, 0, 0), NULL);
    CHECK_INT(ml_spec_warning_count(NULL), 0);
    CHECK_STR(ml_spec_warning(NULL, 0), NULL);

    CHECK_STR(ml_list_bytes(NULL, &len), NULL);
    CHECK_INT(len, 0);
    CHECK_STR(ml_list_digest(NULL), NULL);
    CHECK_STR(ml_list_media_type(NULL), NULL);
    CHECK_INT(ml_list_warning_count(NULL), 0);
    CHECK_STR(ml_list_warning(NULL, 0), NULL);

    CHECK_STR(ml_result_target(NULL), NULL);
    CHECK_STR(ml_result_digest(NULL), NULL);
    CHECK_INT(ml_result_size(NULL), -1);
    CHECK_INT(ml_result_up_to_date(NULL), 0);
    CHECK_INT(ml_result_plan_count(NULL), 0);
    CHECK_STR(ml_result_plan(NULL, 0), NULL);
    CHECK_INT(ml_result_tag_count(NULL), 0);
    CHECK_STR(ml_result_tag(NULL, 0), NULL);
    CHECK_INT(ml_result_tag_moved(NULL, 0), 0);
    CHECK_INT(ml_result_referrers_copied(NULL), 0);
    CHECK_INT(ml_result_change_count(NULL), 0);
    CHECK_STR(ml_result_change(NULL, 0), NULL);

    len = 7;
    CHECK_STR(ml_manifest_ref(NULL), NULL);
    CHECK_STR(ml_manifest_digest(NULL), NULL);
    CHECK_STR(ml_manifest_media_type(NULL), NULL);
    CHECK_STR(ml_manifest_bytes(NULL, &len), NULL);
    CHECK_INT(len, 0);
    CHECK_INT(ml_manifest_is_list(NULL), 0);
    CHECK_INT(ml_manifest_entry_count(NULL), 0);
    CHECK_STR(ml_manifest_entry_digest(NULL, 0), NULL);
    CHECK_STR(ml_manifest_entry_media_type(NULL, 0), NULL);
    CHECK_INT(ml_manifest_entry_size(NULL, 0), -1);
    CHECK_STR(ml_manifest_entry_platform(NULL, 0), NULL);

    CHECK_INT(ml_referrers_count(NULL), 0);
    CHECK_STR(ml_referrers_subject(NULL, 0), NULL);
    CHECK_STR(ml_referrers_digest(NULL, 0), NULL);
    CHECK_STR(ml_referrers_media_type(NULL, 0), NULL);
    CHECK_STR(ml_referrers_artifact_type(NULL, 0), NULL);
    CHECK_INT(ml_referrers_size(NULL, 0), -1);

    CHECK_INT(ml_report_problem_count(NULL), 0);
    CHECK_STR(ml_report_problem(NULL, 0), NULL);
}

/* Calls taking an object and an output answer ML_EINVAL for a NULL object. */
static void test_null_object_calls_are_einval(void)
{
    char *out = NULL;
    size_t index = 0;
    ml_error *err = NULL;
    CHECK_INT(ml_spec_to_json(NULL, &out, NULL), ML_EINVAL);
    CHECK_INT(ml_spec_entry_platform(NULL, 0, 0, &out, NULL), ML_EINVAL);
    CHECK_INT(ml_result_to_json(NULL, &out, NULL), ML_EINVAL);
    CHECK_INT(ml_report_to_json(NULL, &out, NULL), ML_EINVAL);
    CHECK_INT(ml_referrers_to_json(NULL, &out, NULL), ML_EINVAL);
    CHECK_INT(ml_manifest_select(NULL, "linux/amd64", &index, NULL), ML_EINVAL);
    CHECK_INT(ml_manifest_to_json(NULL, &out, &err), ML_EINVAL);
    CHECK(test_contains(ml_error_message(err), "ml_manifest_to_json"));
    CHECK(out == NULL);
    ml_error_free(err);
}

int main(void)
{
    TEST_RUN(test_getters_accept_null);
    TEST_RUN(test_null_object_calls_are_einval);
    TEST_END();
}
