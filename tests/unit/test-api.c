/* The public API's contract as a C caller meets it from the header: getters
 * on NULL objects, the options structs, and entry accessors. */
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "manifestlist.h"
#include "memclient.h"

#define REG "mem.test"
#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

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
    CHECK_STR(ml_manifest_entry_os(NULL, 0), NULL);
    CHECK_STR(ml_manifest_entry_architecture(NULL, 0), NULL);
    CHECK_STR(ml_manifest_entry_variant(NULL, 0), NULL);
    CHECK_STR(ml_manifest_entry_os_version(NULL, 0), NULL);
    CHECK_INT(ml_manifest_entry_os_feature_count(NULL, 0), 0);
    CHECK_STR(ml_manifest_entry_os_feature(NULL, 0, 0), NULL);
    CHECK_STR(ml_manifest_entry_artifact_type(NULL, 0), NULL);
    CHECK_INT(ml_manifest_entry_annotation_count(NULL, 0), 0);
    CHECK_STR(ml_manifest_entry_annotation_key(NULL, 0, 0), NULL);
    CHECK_STR(ml_manifest_entry_annotation_value(NULL, 0, 0), NULL);

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
    CHECK_INT(ml_manifest_platform(NULL, NULL, &out, NULL), ML_EINVAL);
    CHECK_INT(ml_manifest_to_json(NULL, &out, &err), ML_EINVAL);
    CHECK(test_contains(ml_error_message(err), "ml_manifest_to_json"));
    CHECK(out == NULL);
    ml_error_free(err);
}

/* An options struct from a newer (or broken) caller: ML_EINVAL naming the
 * struct and what is wrong, before anything else happens. */
static void check_rejected(int rc, ml_error **err, const char *name, const char *what)
{
    CHECK_INT(rc, ML_EINVAL);
    CHECK(test_contains(ml_error_message(*err), name));
    CHECK(test_contains(ml_error_message(*err), what));
    ml_error_free(*err);
    *err = NULL;
}

/* Three bad structs per kind: version 0, a version from the future, and
 * the current version with a flag bit no version has. */
#define BAD_OPTIONS 3
static const char *const BAD_WHAT[BAD_OPTIONS] = {"version 0", "version 99", "0x100000"};
static uint32_t bad_version(size_t i, uint32_t current) { return i == 0 ? 0 : i == 1 ? 99 : current; }
static uint32_t bad_flags(size_t i) { return i == 2 ? 1u << 20 : 0; }

static void test_spec_options_are_checked(void)
{
    ml_spec *spec = NULL;
    ml_error *err = NULL;
    ml_spec_options o = ML_SPEC_OPTIONS_INIT;
    for (size_t i = 0; i < BAD_OPTIONS; i++) {
        o = (ml_spec_options){bad_version(i, ML_SPEC_OPTIONS_VERSION), bad_flags(i), NULL, 0};
        check_rejected(ml_spec_new(&spec, &o, &err), &err, "ml_spec_options", BAD_WHAT[i]);
        CHECK(spec == NULL);
    }
    o.flags = ML_SPEC_NO_NORMALIZE;
    CHECK_INT(ml_spec_new(&spec, &o, NULL), ML_OK);
    CHECK_INT(ml_spec_add_list(spec, "example.com/app:1", NULL, NULL), ML_OK);
    CHECK_INT(ml_spec_add_entry(spec, 0, "example.com/app:a", "Linux/x86_64", NULL, NULL), ML_OK);
    char *platform = NULL;
    CHECK_INT(ml_spec_entry_platform(spec, 0, 0, &platform, NULL), ML_OK);
    CHECK_STR(platform, "Linux/x86_64"); /* the flag was read */
    ml_free(platform);
    ml_spec_free(spec);
}

static void test_client_options_are_checked(void)
{
    ml_client *c = NULL;
    ml_error *err = NULL;
    for (size_t i = 0; i < BAD_OPTIONS; i++) {
        ml_client_options o = ML_CLIENT_OPTIONS_INIT;
        o.version = bad_version(i, ML_CLIENT_OPTIONS_VERSION);
        o.flags = bad_flags(i);
        check_rejected(ml_client_new(&c, &o, &err), &err, "ml_client_options", BAD_WHAT[i]);
        CHECK(c == NULL);
    }
}

/* A version-1 caller's struct ends before cache_dir: whatever follows it in
 * the caller's memory is never read. */
static void test_client_options_v1_read_at_its_size(void)
{
    struct {
        ml_client_options o;
        char guard[64];
    } mem;
    memset(&mem, 0xA5, sizeof(mem));
    CHECK_INT(ml_client_options_init(&mem.o, 1), ML_OK);
    CHECK(((const unsigned char *)&mem.o.cache_dir)[0] == 0xA5); /* init wrote v1 only */
    ml_client *c = NULL;
    ml_error *err = NULL;
    CHECK_INT(ml_client_new(&c, &mem.o, &err), ML_OK);
    CHECK(c != NULL);
    ml_error_free(err);
    ml_client_free(c);
}

static void test_push_options_are_checked(void)
{
    ml_client *c = NULL;
    CHECK_INT(ml_client_new(&c, NULL, NULL), ML_OK);
    ml_spec *spec = NULL;
    CHECK_INT(ml_spec_new(&spec, NULL, NULL), ML_OK);
    CHECK_INT(ml_spec_add_list(spec, "127.0.0.1:1/app:1", NULL, NULL), ML_OK);
    CHECK_INT(ml_spec_add_entry(spec, 0, "127.0.0.1:1/app:a", "linux/amd64", NULL, NULL), ML_OK);
    const char *adds[] = {"127.0.0.1:1/app:a"};
    for (size_t i = 0; i < BAD_OPTIONS; i++) {
        ml_push_options o = ML_PUSH_OPTIONS_INIT;
        o.version = bad_version(i, ML_PUSH_OPTIONS_VERSION);
        o.flags = ML_PUSH_DRY_RUN | bad_flags(i);
        ml_list *l = NULL;
        ml_result *res = NULL;
        ml_error *err = NULL;
        /* Port 1 refuses connections: a call reaching I/O would fail ML_ENET. */
        check_rejected(ml_list_build(&l, c, spec, 0, &o, &err), &err, "ml_push_options", BAD_WHAT[i]);
        CHECK(l == NULL);
        check_rejected(ml_list_edit(c, "127.0.0.1:1/app:1", adds, 1, NULL, 0, &o, &res, &err), &err,
                       "ml_push_options", BAD_WHAT[i]);
        CHECK(res == NULL);
    }
    ml_spec_free(spec);
    ml_client_free(c);
}

/* An index whose entries carry every platform field, annotations and an
 * artifactType, read back field by field. */
static const char INDEX[] =
    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":["
    "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:" HEX64 "\",\"size\":100,"
    "\"platform\":{\"architecture\":\"amd64\",\"os\":\"windows\",\"os.version\":\"10.0.17763.5576\","
    "\"os.features\":[\"win32k\",\"hyperv\"]},\"annotations\":{\"org.example.b\":\"2\",\"org.example.a\":\"1\"}},"
    "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:" HEX64 "\",\"size\":200,"
    "\"artifactType\":\"application/vnd.example.sbom+json\","
    "\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"}},"
    "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:" HEX64 "\",\"size\":300}]}";

static void test_entry_accessors(void)
{
    ml__memstore *store = NULL;
    ml_client *c = NULL;
    test_mem_client(&store, &c, REG);
    ml_manifest *m = NULL;
    CHECK_INT(ml__memstore_put_manifest(store, "app", "1", "application/vnd.oci.image.index.v1+json", INDEX, NULL),
              ML_OK);
    CHECK_INT(ml_manifest_fetch(&m, c, REG "/app:1", NULL), ML_OK);
    CHECK_INT(ml_manifest_entry_count(m), 3);

    CHECK_STR(ml_manifest_entry_os(m, 0), "windows");
    CHECK_STR(ml_manifest_entry_architecture(m, 0), "amd64");
    CHECK_STR(ml_manifest_entry_variant(m, 0), NULL);
    CHECK_STR(ml_manifest_entry_os_version(m, 0), "10.0.17763.5576");
    CHECK_INT(ml_manifest_entry_os_feature_count(m, 0), 2);
    CHECK_STR(ml_manifest_entry_os_feature(m, 0, 0), "win32k");
    CHECK_STR(ml_manifest_entry_os_feature(m, 0, 1), "hyperv");
    CHECK_STR(ml_manifest_entry_os_feature(m, 0, 2), NULL);
    CHECK_STR(ml_manifest_entry_artifact_type(m, 0), NULL);
    CHECK_INT(ml_manifest_entry_annotation_count(m, 0), 2);
    CHECK_STR(ml_manifest_entry_annotation_key(m, 0, 0), "org.example.a"); /* by key */
    CHECK_STR(ml_manifest_entry_annotation_value(m, 0, 0), "1");
    CHECK_STR(ml_manifest_entry_annotation_key(m, 0, 1), "org.example.b");
    CHECK_STR(ml_manifest_entry_annotation_value(m, 0, 1), "2");
    CHECK_STR(ml_manifest_entry_annotation_key(m, 0, 2), NULL);

    CHECK_STR(ml_manifest_entry_platform(m, 1), "linux/arm64/v8");
    CHECK_STR(ml_manifest_entry_variant(m, 1), "v8");
    CHECK_STR(ml_manifest_entry_os_version(m, 1), NULL);
    CHECK_INT(ml_manifest_entry_os_feature_count(m, 1), 0);
    CHECK_STR(ml_manifest_entry_artifact_type(m, 1), "application/vnd.example.sbom+json");
    CHECK_INT(ml_manifest_entry_annotation_count(m, 1), 0);

    /* No platform at all, and an index out of range. */
    CHECK_STR(ml_manifest_entry_os(m, 2), NULL);
    CHECK_STR(ml_manifest_entry_architecture(m, 2), NULL);
    CHECK_INT(ml_manifest_entry_os_feature_count(m, 2), 0);
    CHECK_STR(ml_manifest_entry_os(m, 3), NULL);
    CHECK_INT(ml_manifest_entry_annotation_count(m, 3), 0);
    CHECK_STR(ml_manifest_entry_annotation_value(m, 3, 0), NULL);

    char *platform = NULL;
    ml_error *err = NULL;
    CHECK_INT(ml_manifest_platform(m, c, &platform, &err), ML_EINVAL); /* a list */
    CHECK(test_contains(ml_error_message(err), "not an image"));
    CHECK(platform == NULL);
    ml_error_free(err);
    ml_manifest_free(m);
    test_mem_client_free(store, c);
}

/* An image in repository src tagged `tag`, with `config` as its config. */
static void put_image(ml__memstore *store, const char *tag, const char *config)
{
    char digest[ML__DIGEST_MAX], body[512];
    CHECK_INT(ml__memstore_put_blob(store, "src", config, strlen(config), digest), ML_OK);
    snprintf(body, sizeof(body),
             "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{"
             "\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"%s\",\"size\":%zu},"
             "\"layers\":[]}", digest, strlen(config));
    CHECK_INT(ml__memstore_put_manifest(store, "src", tag, "application/vnd.oci.image.manifest.v1+json", body, NULL),
              ML_OK);
}

static void test_single_image_platform_from_config(void)
{
    ml__memstore *store = NULL;
    ml_client *c = NULL;
    test_mem_client(&store, &c, REG);
    put_image(store, "arm", "{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v7\"}");
    put_image(store, "noos", "{\"architecture\":\"arm\"}");

    ml_manifest *m = NULL;
    char *platform = NULL;
    CHECK_INT(ml_manifest_fetch(&m, c, REG "/src:arm", NULL), ML_OK);
    CHECK_INT(ml_manifest_entry_count(m), 0);
    CHECK_INT(ml_manifest_platform(m, c, &platform, NULL), ML_OK);
    CHECK_STR(platform, "linux/arm/v7");
    ml_free(platform);
    ml_manifest_free(m);

    ml_error *err = NULL;
    m = NULL;
    CHECK_INT(ml_manifest_fetch(&m, c, REG "/src:noos", NULL), ML_OK);
    CHECK_INT(ml_manifest_platform(m, c, &platform, &err), ML_EMANIFEST);
    CHECK(test_contains(ml_error_message(err), "config sha256:"));
    CHECK(platform == NULL);
    ml_error_free(err);
    ml_manifest_free(m);
    test_mem_client_free(store, c);
}

int main(void)
{
    TEST_RUN(test_getters_accept_null);
    TEST_RUN(test_null_object_calls_are_einval);
    TEST_RUN(test_spec_options_are_checked);
    TEST_RUN(test_client_options_are_checked);
    TEST_RUN(test_client_options_v1_read_at_its_size);
    TEST_RUN(test_push_options_are_checked);
    TEST_RUN(test_entry_accessors);
    TEST_RUN(test_single_image_platform_from_config);
    TEST_END();
}
