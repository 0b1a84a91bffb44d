/* Variables in specs (${NAME}, ${NAME:-default}, $$) and the check over
 * several specs pushed together. */
#include <stddef.h>
#include <stdlib.h>

#include "spec.h"
#include "test.h"

static const char *const VARS[] = {"TAG=1.0", "REG=example.com", "EMPTY=", "TAG=2.0", "DOLLAR=$${X}"};
#define VAR_COUNT (sizeof(VARS) / sizeof(VARS[0]))

static int parse_vars(const char *yaml, uint32_t flags, ml_spec **spec, ml_error **err)
{
    ml_spec_options o = ML_SPEC_OPTIONS_INIT;
    o.flags = flags;
    o.variables = VARS;
    o.variable_count = VAR_COUNT;
    *spec = NULL;
    return ml_spec_parse_buffer(spec, yaml, strlen(yaml), "v.yaml", &o, err);
}

static ml_spec *parse_ok(const char *yaml, uint32_t flags)
{
    ml_spec *spec = NULL;
    ml_error *err = NULL;
    int rc = parse_vars(yaml, flags, &spec, &err);
    CHECK_INT(rc, ML_OK);
    if (rc != ML_OK)
        fprintf(stderr, "  %s\n", ml_error_message(err));
    ml_error_free(err);
    return spec;
}

static char *to_json(const ml_spec *spec)
{
    char *json = NULL;
    CHECK_INT(ml_spec_to_json(spec, &json, NULL), ML_OK);
    return json;
}

static void expect_error(const char *yaml, int line, int column, const char *words)
{
    ml_spec *spec = NULL;
    ml_error *err = NULL;
    int rc = parse_vars(yaml, ML_SPEC_VARIABLES, &spec, &err);
    CHECK_INT(rc, ML_ESPEC);
    CHECK(spec == NULL);
    CHECK_STR(ml_error_file(err), "v.yaml");
    CHECK_INT(ml_error_line(err), line);
    CHECK_INT(ml_error_column(err), column);
    CHECK(test_contains(ml_error_message(err), words));
    if (!test_contains(ml_error_message(err), words) || ml_error_column(err) != column)
        fprintf(stderr, "  got: %s (%d:%d)\n  want: %s\n", ml_error_message(err), ml_error_line(err),
                ml_error_column(err), words);
    ml_spec_free(spec);
    ml_error_free(err);
}

static void test_values_are_expanded(void)
{
    ml_spec *spec = parse_ok("image: ${REG}/app:${TAG}\n"
                             "tags:\n  - \"v${TAG}\"\n  - '${MISSING:-edge}'\n  - ${EMPTY:-empty}\n"
                             "annotations:\n"
                             "  price: \"$$5 and $ and $x ${DOLLAR}\"\n"
                             "  \"${TAG}\": kept\n"
                             "  set: ${TAG:-unused}\n"
                             "manifests:\n"
                             "  - image: ${REG}/app:${TAG}-amd64\n"
                             "    platform: {os: linux, architecture: \"${ARCH:-amd64}\"}\n",
                             ML_SPEC_VARIABLES);
    if (!spec)
        return;
    /* The later TAG wins; quoted scalars expand; keys do not; a value is
     * not expanded again. */
    CHECK_STR(ml_spec_target(spec, 0), "example.com/app:2.0");
    CHECK_INT(ml_spec_tag_count(spec, 0), 3);
    CHECK_STR(ml_spec_tag(spec, 0, 0), "v2.0");
    CHECK_STR(ml_spec_tag(spec, 0, 1), "edge");
    CHECK_STR(ml_spec_tag(spec, 0, 2), "empty");
    CHECK_STR(ml_spec_entry_image(spec, 0, 0), "example.com/app:2.0-amd64");
    char *json = to_json(spec);
    CHECK(test_contains(json, "\"price\":\"$5 and $ and $x $${X}\""));
    CHECK(test_contains(json, "\"${TAG}\":\"kept\""));
    CHECK(test_contains(json, "\"set\":\"2.0\""));
    CHECK(test_contains(json, "\"architecture\":\"amd64\""));
    ml_free(json);
    ml_spec_free(spec);
}

static void test_off_by_default(void)
{
    ml_spec *spec = parse_ok("image: example.com/app:1\n"
                             "annotations: {a: \"${NOPE} $$\"}\n"
                             "manifests: [{image: example.com/app:1-amd64}]\n",
                             0);
    char *json = spec ? to_json(spec) : NULL;
    CHECK(test_contains(json, "\"a\":\"${NOPE} $$\""));
    ml_free(json);
    ml_spec_free(spec);
}

static void test_errors_are_located(void)
{
    /* Plain one-line scalars: the column of the '$'. */
    expect_error("image: example.com/app:${NOPE}\nmanifests: [{image: a:1}]\n", 1, 24,
                 "v.yaml:1:24: undefined variable \"NOPE\"");
    expect_error("image: a:1\nmanifests:\n  - image: a:${TAG\n", 3, 14,
                 "unterminated variable (no closing \"}\") \"${TAG\"");
    expect_error("image: a:${X:-${TAG}}\nmanifests: [{image: a:1}]\n", 1, 10,
                 "nested variable in the default of \"X\"");
    expect_error("image: a:${A${TAG}}\nmanifests: [{image: a:1}]\n", 1, 10,
                 "invalid variable (expected ${NAME} or ${NAME:-default}) \"${A${TAG}\"");
    expect_error("image: a:1\nmanifests: [{image: \"a:${1}\"}]\n", 2, 22, "invalid variable");
    /* Quoted: where the scalar's text starts. */
    expect_error("image: a:1\nannotations:\n  k: \"x ${NOPE}\"\nmanifests: [{image: a:1}]\n", 3, 7,
                 "undefined variable \"NOPE\"");
}

static void test_variables_are_checked(void)
{
    static const char *const bad[] = {"A=1", "B"};
    ml_spec_options o = ML_SPEC_OPTIONS_INIT;
    o.flags = ML_SPEC_VARIABLES;
    o.variables = bad;
    o.variable_count = 2;
    ml_spec *spec = NULL;
    ml_error *err = NULL;
    CHECK_INT(ml_spec_parse_buffer(&spec, "x", 1, "v.yaml", &o, &err), ML_EINVAL);
    CHECK(test_contains(ml_error_message(err), "variables[1] is not NAME=VALUE"));
    ml_error_free(err);
    /* Version 1 callers know no variables: the fields are neither written
     * by the initialiser nor read. */
    memset(&o, 0xaa, sizeof(o));
    CHECK_INT(ml_spec_options_init(&o, 1), ML_OK);
    CHECK_INT(o.flags, 0);
    const unsigned char *bytes = (const unsigned char *)&o;
    for (size_t i = offsetof(ml_spec_options, variables); i < sizeof(o); i++)
        CHECK_INT(bytes[i], 0xaa);
    o.flags = ML_SPEC_VARIABLES;
    o.variables = bad;
    o.variable_count = 2;
    const char *yaml = "image: a:${T:-1}\nmanifests: [{image: a:1-amd64}]\n";
    CHECK_INT(ml_spec_parse_buffer(&spec, yaml, strlen(yaml), "v.yaml", &o, NULL), ML_OK);
    CHECK_STR(ml_spec_target(spec, 0), "docker.io/library/a:1");
    ml_spec_free(spec);
}

static ml_spec *parse_named(const char *yaml, const char *name)
{
    ml_spec *spec = NULL;
    CHECK_INT(ml_spec_parse_buffer(&spec, yaml, strlen(yaml), name, NULL, NULL), ML_OK);
    return spec;
}

static void test_check_targets(void)
{
    ml_spec *specs[3];
    specs[0] = parse_named("image: example.com/app:1\nmanifests: [{image: a:1}]\n"
                           "---\nimage: example.com/app:2\ntags: [latest]\nmanifests: [{image: a:1}]\n",
                           "a.yaml");
    specs[1] = parse_named("# other\nimage: example.com/app:3\nmanifests: [{image: a:1}]\n", "b.yaml");
    specs[2] = parse_named("\n\nimage: example.com/app:latest\nmanifests: [{image: a:1}]\n", "c.yaml");
    const ml_spec *const *set = (const ml_spec *const *)specs;
    CHECK_INT(ml_spec_check_targets(set, 2, NULL), ML_OK);
    CHECK_INT(ml_spec_check_targets(set, 0, NULL), ML_OK);
    ml_error *err = NULL;
    /* c.yaml's target is an extra tag of a.yaml's second list. */
    CHECK_INT(ml_spec_check_targets(set, 3, &err), ML_ESPEC);
    CHECK_STR(ml_error_message(err), "c.yaml:3:1: tag example.com/app:latest is also pushed by a.yaml:4:1 "
                                     "(example.com/app:2)");
    CHECK_STR(ml_error_file(err), "c.yaml");
    CHECK_INT(ml_error_line(err), 3);
    ml_error_free(err);
    err = NULL;
    /* The same spec twice: every target repeats. */
    const ml_spec *twice[] = {specs[1], specs[1]};
    CHECK_INT(ml_spec_check_targets(twice, 2, &err), ML_ESPEC);
    CHECK(test_contains(ml_error_message(err), "b.yaml:2:1: tag example.com/app:3 is also pushed by b.yaml:2:1"));
    ml_error_free(err);
    CHECK_INT(ml_spec_check_targets(NULL, 1, NULL), ML_EINVAL);
    for (size_t i = 0; i < 3; i++)
        ml_spec_free(specs[i]);
}

int main(void)
{
    TEST_RUN(test_values_are_expanded);
    TEST_RUN(test_off_by_default);
    TEST_RUN(test_errors_are_located);
    TEST_RUN(test_variables_are_checked);
    TEST_RUN(test_check_targets);
    TEST_END();
}
