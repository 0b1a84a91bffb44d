/* Fuzz target for the YAML spec parser: any input must parse or fail with a
 * located ML_ESPEC-family error, without leaks, crashes or output. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "manifestlist.h"

/* abort() tells the fuzzer an invariant broke. */
static void check_spec(const ml_spec *spec)
{
    size_t lists = ml_spec_list_count(spec);
    require(lists > 0);
    for (size_t i = 0; i < lists; i++)
        require(ml_spec_target(spec, i) != NULL);
    for (size_t i = 0; i < ml_spec_warning_count(spec); i++)
        require(ml_spec_warning(spec, i) != NULL);
    char *json = NULL;
    require(ml_spec_to_json(spec, &json, NULL) == ML_OK);
    require(strncmp(json, "{\"lists\":[{", 11) == 0);
    ml_free(json);
}

static void check_error(int rc, const ml_error *err)
{
    require(rc < 0 && ml_error_code(err) == rc);
    require(ml_error_message(err)[0] != '\0');
    if (rc != ML_ENOMEM && rc != ML_EINVAL)
        require(ml_error_line(err) >= 1 && ml_error_column(err) >= 1);
}

static const char *const VARS[] = {"TAG=1", "EMPTY=", "REG=example.com", "TAG=2"};

static void run(const uint8_t *data, size_t size, uint32_t flags)
{
    ml_spec_options opts = ML_SPEC_OPTIONS_INIT;
    opts.flags = flags;
    opts.variables = VARS;
    opts.variable_count = sizeof(VARS) / sizeof(VARS[0]);
    ml_spec *spec = NULL;
    ml_error *err = NULL;
    int rc = ml_spec_parse_buffer(&spec, (const char *)data, size, "fuzz.yaml", &opts, &err);
    if (rc == ML_OK)
        check_spec(spec);
    else
        check_error(rc, err);
    ml_spec_free(spec);
    ml_error_free(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run(data, size, 0);
    run(data, size, ML_SPEC_NO_NORMALIZE | ML_SPEC_ALLOW_DUPLICATES | ML_SPEC_VARIABLES);
    return 0;
}
