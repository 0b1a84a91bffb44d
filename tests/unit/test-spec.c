#include <stdlib.h>

#include "spec.h"
#include "test.h"

static ml_spec *parse_file_flags(const char *path, uint32_t flags)
{
    ml_spec_options opts = ML_SPEC_OPTIONS_INIT;
    opts.flags = flags;
    ml_spec *spec = NULL;
    ml_error *err = NULL;
    int rc = ml_spec_parse_file(&spec, path, &opts, &err);
    CHECK_INT(rc, ML_OK);
    if (rc != ML_OK)
        fprintf(stderr, "  %s: %s\n", path, ml_error_message(err));
    ml_error_free(err);
    return spec;
}

static ml_spec *parse_file(const char *path) { return parse_file_flags(path, 0); }

static ml_spec *parse_text(const char *yaml)
{
    ml_spec *spec = NULL;
    ml_error *err = NULL;
    int rc = ml_spec_parse_buffer(&spec, yaml, strlen(yaml), "t.yaml", NULL, &err);
    CHECK_INT(rc, ML_OK);
    if (rc != ML_OK)
        fprintf(stderr, "  %s\n", ml_error_message(err));
    ml_error_free(err);
    return spec;
}

/* A failure with its code, location and message words. */
static void expect_failure(ml_error *err, int rc, int code, int line, int column,
                           const char *words)
{
    CHECK_INT(rc, code);
    CHECK_INT(ml_error_code(err), code);
    CHECK_INT(ml_error_line(err), line);
    if (column)
        CHECK_INT(ml_error_column(err), column);
    const char *msg = ml_error_message(err);
    CHECK(test_contains(msg, words));
    if (!test_contains(msg, words) || ml_error_line(err) != line)
        fprintf(stderr, "  got: %s\n  want: %s (line %d)\n", msg, words, line);
}

static void expect_file_error(const char *path, int code, int line, int column,
                              const char *words)
{
    ml_spec *spec = (ml_spec *)&spec; /* must be reset to NULL */
    ml_error *err = NULL;
    int rc = ml_spec_parse_file(&spec, path, NULL, &err);
    expect_failure(err, rc, code, line, column, words);
    CHECK(spec == NULL);
    CHECK_STR(ml_error_file(err), path);
    /* Messages start with FILE:LINE:COL. */
    char prefix[256];
    snprintf(prefix, sizeof(prefix), "%s:%d:%d: ", path, ml_error_line(err), ml_error_column(err));
    CHECK(strncmp(ml_error_message(err), prefix, strlen(prefix)) == 0);
    ml_error_free(err);
}

static void expect_text_error(const char *yaml, int code, int line, const char *words)
{
    ml_spec *spec = NULL;
    ml_error *err = NULL;
    int rc = ml_spec_parse_buffer(&spec, yaml, strlen(yaml), "t.yaml", NULL, &err);
    expect_failure(err, rc, code, line, 0, words);
    CHECK(spec == NULL);
    CHECK(ml__has_prefix(ml_error_message(err), "t.yaml:"));
    ml_error_free(err);
}

static char *to_json(const ml_spec *spec)
{
    char *json = NULL;
    CHECK_INT(ml_spec_to_json(spec, &json, NULL), ML_OK);
    return json;
}

static void test_seed_corrected(void)
{
    ml_spec *spec = parse_file("data/spec/seed-corrected.yaml");
    if (!spec)
        return;
    CHECK_INT(ml_spec_list_count(spec), 1);
    CHECK_STR(ml_spec_target(spec, 0), "docker.io/myrepo/myimage:latest");
    const ml__spec_list *l = &spec->lists[0];
    CHECK_INT(l->entry_count, 2);
    CHECK_STR(l->entries[0].image, "myrepo/myimage_ppc64le");
    CHECK_STR(l->entries[0].platform.os, "linux");
    CHECK_STR(l->entries[0].platform.architecture, "ppc64le");
    CHECK(l->entries[0].platform.variant == NULL);
    CHECK_INT(l->entries[0].line, 5);
    CHECK_STR(l->entries[1].platform.architecture, "amd64");
    CHECK_INT(l->entries[1].platform.features.count, 1);
    CHECK_STR(l->entries[1].platform.features.items[0], "sse");
    CHECK_INT(ml_spec_warning_count(spec), 4);
    CHECK_STR(ml_spec_warning(spec, 0),
              "data/spec/seed-corrected.yaml:8:11: os \"Linux\" normalised to \"linux\"");
    CHECK_STR(ml_spec_warning(spec, 1),
              "data/spec/seed-corrected.yaml:7:21: architecture \"ppc64\" variant \"ppc64le\" "
              "normalised to \"ppc64le\"");
    CHECK_STR(ml_spec_warning(spec, 3),
              "data/spec/seed-corrected.yaml:13:21: architecture \"x86_64\" normalised to "
              "\"amd64\"");
    CHECK(ml_spec_warning(spec, 4) == NULL);
    char *json = to_json(spec);
    CHECK_STR(json, "{\"lists\":[{\"image\":\"docker.io/myrepo/myimage:latest\",\"manifests\":["
                    "{\"image\":\"docker.io/myrepo/myimage_ppc64le:latest\",\"platform\":"
                    "{\"architecture\":\"ppc64le\",\"os\":\"linux\"}},"
                    "{\"image\":\"docker.io/myrepo/myimage_amd64:latest\",\"platform\":"
                    "{\"architecture\":\"amd64\",\"os\":\"linux\",\"features\":[\"sse\"]}}]}]}");
    ml_free(json);
    ml_spec_free(spec);
}

static void test_seed_original_is_invalid_yaml(void)
{
    expect_file_error("data/spec/seed-original.yaml", ML_ESPEC, 3, 0, "invalid YAML");
}

static void test_no_normalize(void)
{
    ml_spec *spec = parse_file_flags("data/spec/seed-corrected.yaml", ML_SPEC_NO_NORMALIZE);
    if (!spec)
        return;
    CHECK_INT(ml_spec_warning_count(spec), 0);
    const ml__spec_list *l = &spec->lists[0];
    CHECK_STR(l->entries[0].platform.os, "Linux");
    CHECK_STR(l->entries[0].platform.architecture, "ppc64");
    CHECK_STR(l->entries[0].platform.variant, "ppc64le");
    CHECK_STR(l->entries[1].platform.architecture, "x86_64");
    ml_spec_free(spec);
}

static void test_manifest_tool(void)
{
    ml_spec *spec = parse_file("data/spec/manifest-tool.yaml");
    if (!spec)
        return;
    CHECK_INT(ml_spec_warning_count(spec), 0);
    CHECK_STR(ml_spec_target(spec, 0), "registry.example.com/team/app:1.2");
    char *json = to_json(spec);
    CHECK_STR(json,
              "{\"lists\":[{\"image\":\"registry.example.com/team/app:1.2\","
              "\"tags\":[\"1.2.3\",\"latest\"],\"manifests\":["
              "{\"image\":\"registry.example.com/team/app:1.2-amd64\","
              "\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}},"
              "{\"image\":\"registry.example.com/team/app:1.2-arm64\","
              "\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"}},"
              "{\"image\":\"registry.example.com/team/app:1.2-win\",\"platform\":{"
              "\"architecture\":\"amd64\",\"os\":\"windows\",\"os.version\":\"10.0.17763.5576\"}}"
              "]}]}");
    ml_free(json);
    ml_spec_free(spec);
}

static void test_manifest_tool_full(void)
{
    ml_spec *spec = parse_file("data/spec/manifest-tool-full.yaml");
    if (!spec)
        return;
    const ml__spec_list *l = &spec->lists[0];
    CHECK_STR(ml_spec_target(spec, 0), "myprivreg:5000/someimage:latest");
    /* "latest" is the target's own tag and "1.0" repeats: both dropped. */
    CHECK_INT(l->tags.count, 2);
    CHECK_STR(l->tags.items[0], "1.0");
    CHECK_STR(l->tags.items[1], "1.0.1");
    CHECK_INT(l->annotations.count, 2);
    CHECK_STR(ml__annotations_get(&l->annotations, "org.opencontainers.image.revision"),
              "abc123");
    CHECK_INT(l->entry_count, 5);
    CHECK_STR(ml__annotations_get(&l->entries[1].annotations, "com.example.note"),
              "built on host 7");
    const ml_platform *win = &l->entries[4].platform;
    CHECK_STR(win->os_version, "10.0.17763.5576");
    CHECK_INT(win->os_features.count, 1);
    CHECK_STR(win->os_features.items[0], "win32k");
    CHECK_STR(l->entries[3].platform.variant, "v7");
    char *json = to_json(spec);
    CHECK(test_contains(json, "\"annotations\":{\"org.opencontainers.image.revision\":\"abc123\","
                              "\"org.opencontainers.image.source\":"));
    CHECK(test_contains(json, "\"os.version\":\"10.0.17763.5576\",\"os.features\":[\"win32k\"]"));
    CHECK(test_contains(json, "\"features\":[\"sse4\"]},\"annotations\":{\"com.example.note\""));
    ml_free(json);
    ml_spec_free(spec);
}

static void test_multi_document(void)
{
    ml_spec *spec = parse_file("data/spec/multi-doc.yaml");
    if (!spec)
        return;
    CHECK_INT(ml_spec_list_count(spec), 2);
    CHECK_STR(ml_spec_target(spec, 0), "example.com/a:1");
    CHECK_STR(ml_spec_target(spec, 1), "example.com/b:latest");
    CHECK(ml_spec_target(spec, 2) == NULL);
    CHECK_INT(spec->lists[1].line, 9);
    CHECK_STR(spec->lists[1].entries[0].platform.variant, "v7");
    CHECK_INT(ml_spec_warning_count(spec), 2);
    CHECK(test_contains(ml_spec_warning(spec, 0), "multi-doc.yaml:12:"));
    CHECK(test_contains(ml_spec_warning(spec, 1), "\"aarch64\" normalised to \"arm64\""));
    ml_spec_free(spec);
}

static void test_platform_from_config(void)
{
    ml_spec *spec = parse_file("data/spec/no-platform.yaml");
    if (!spec)
        return;
    const ml__spec_list *l = &spec->lists[0];
    CHECK_STR(ml_spec_target(spec, 0), "localhost:5000/app:latest");
    CHECK_INT(l->entry_count, 3);
    CHECK(!l->entries[0].has_platform);
    CHECK(l->entries[0].ref.tag == NULL); /* a digest needs no tag */
    CHECK(l->entries[0].ref.digest != NULL);
    CHECK(!l->entries[1].has_platform);
    CHECK_STR(l->entries[1].ref.repository, "library/alpine");
    CHECK_STR(l->entries[1].ref.tag, "latest");
    CHECK(l->entries[2].has_platform);
    char *json = to_json(spec);
    CHECK(test_contains(json, "{\"image\":\"docker.io/library/alpine:latest\"},"));
    ml_free(json);
    ml_spec_free(spec);
}

static void test_aliases(void)
{
    ml_spec *spec = parse_file("data/spec/aliases.yaml");
    if (!spec)
        return;
    const ml__spec_list *l = &spec->lists[0];
    CHECK_INT(l->entry_count, 3);
    CHECK_INT(l->entries[2].platform.features.count, 2);
    CHECK_STR(l->entries[2].platform.features.items[1], "asimd");
    CHECK_STR(l->entries[2].platform.variant, "v7");
    ml_spec_free(spec);
}

static void test_file_errors(void)
{
    expect_file_error("data/spec/bad-unknown-key.yaml", ML_ESPEC, 7, 7,
                      "unknown key \"os_version\" in platform of manifests[0] (allowed keys: "
                      "architecture, os, variant, os.version");
    expect_file_error("data/spec/bad-unknown-top-key.yaml", ML_ESPEC, 2, 1,
                      "unknown key \"manifest\" at top level (allowed keys: image, tags, "
                      "manifests, annotations, artifactType, subject)");
    expect_file_error("data/spec/bad-manifests-type.yaml", ML_ESPEC, 2, 12,
                      "\"manifests\" at top level must be a sequence, not a string");
    expect_file_error("data/spec/bad-platform-string.yaml", ML_ESPEC, 4, 15,
                      "\"platform\" in manifests[0] must be a mapping");
    expect_file_error("data/spec/bad-empty-manifests.yaml", ML_ESPEC, 2, 0, "is empty");
    expect_file_error("data/spec/bad-duplicate-platform.yaml", ML_EDUPLICATE, 7, 5,
                      "manifests[2] (example.com/app:1-x86_64) has the same platform linux/amd64 "
                      "as manifests[0] (example.com/app:1-amd64, line 3)");
    expect_file_error("data/spec/bad-reference.yaml", ML_EREF, 3, 12,
                      "invalid reference \"example.com/App:1-amd64\": repository name must be "
                      "lowercase");
    expect_file_error("data/spec/bad-missing-image.yaml", ML_ESPEC, 3, 5,
                      "missing key \"image\" in manifests[0]");
    expect_file_error("data/spec/bad-duplicate-key.yaml", ML_ESPEC, 8, 7,
                      "duplicate key \"osversion\" in platform of manifests[0] (first given as "
                      "\"os.version\" at line 7)");
    expect_file_error("data/spec/bad-target-digest.yaml", ML_EREF, 1, 8, "must be a tag");
    expect_file_error("data/spec/bad-tag.yaml", ML_EREF, 2, 13, "invalid tag \"not ok\"");
    expect_file_error("data/spec/bad-platform-no-os.yaml", ML_EPLATFORM, 4, 5,
                      "platform of manifests[0] needs os and architecture (os missing)");
    expect_file_error("data/spec/bad-no-lists.yaml", ML_ESPEC, 1, 1, "no list found");
    expect_file_error("data/spec/bad-second-doc.yaml", ML_ESPEC, 8, 48,
                      "unknown key \"colour\" in platform of manifests[0]");
}

static void test_allow_duplicates(void)
{
    ml_spec *spec = parse_file_flags("data/spec/bad-duplicate-platform.yaml",
                                     ML_SPEC_ALLOW_DUPLICATES);
    CHECK(spec != NULL);
    if (spec)
        CHECK_INT(spec->lists[0].entry_count, 3);
    ml_spec_free(spec);
}

static void test_duplicates_use_platform_equality(void)
{
    /* arm without a variant is arm/v7. */
    expect_text_error("image: a/b\n"
                      "manifests:\n"
                      "  - image: a/b:1\n"
                      "    platform: {os: linux, architecture: arm}\n"
                      "  - image: a/b:2\n"
                      "    platform: {os: linux, architecture: arm64}\n"
                      "  - image: a/b:3\n"
                      "    platform: {os: linux, architecture: arm, variant: v7}\n",
                      ML_EDUPLICATE, 7, "as manifests[0] (a/b:1, line 3)");
    /* The earliest second entry is reported, whatever the sort order. */
    expect_text_error("image: a/b\n"
                      "manifests:\n"
                      "  - {image: a/b:1, platform: {os: linux, architecture: s390x}}\n"
                      "  - {image: a/b:2, platform: {os: linux, architecture: amd64}}\n"
                      "  - {image: a/b:3, platform: {os: linux, architecture: amd64}}\n"
                      "  - {image: a/b:4, platform: {os: linux, architecture: s390x}}\n",
                      ML_EDUPLICATE, 5, "manifests[2] (a/b:3)");
    /* Entries whose platform comes from the image are not compared. */
    ml_spec *spec = parse_text("image: a/b\n"
                               "manifests:\n"
                               "  - image: a/b:1\n"
                               "  - image: a/b:2\n"
                               "  - image: a/b:3\n"
                               "    platform: {os: linux, architecture: arm, variant: v6}\n"
                               "  - image: a/b:4\n"
                               "    platform: {os: linux, architecture: arm, variant: v7}\n");
    ml_spec_free(spec);
    /* Different os.version: different platforms. */
    spec = parse_text("image: a/b\n"
                      "manifests:\n"
                      "  - image: a/b:1\n"
                      "    platform: {os: windows, architecture: amd64, os.version: 10.0.17763}\n"
                      "  - image: a/b:2\n"
                      "    platform: {os: windows, architecture: amd64, os.version: 10.0.20348}\n");
    ml_spec_free(spec);
}

static void test_structure_errors(void)
{
    expect_text_error("- image: a\n", ML_ESPEC, 1, "a list must be a mapping");
    expect_text_error("just a string\n", ML_ESPEC, 1, "a list must be a mapping");
    expect_text_error("manifests:\n  - image: a\n", ML_ESPEC, 1,
                      "missing key \"image\" at top level");
    expect_text_error("image: \"\"\nmanifests:\n  - image: a\n", ML_ESPEC, 1,
                      "\"image\" at top level is empty");
    expect_text_error("image: a\n", ML_ESPEC, 1, "missing \"manifests\"");
    expect_text_error("image: a\nmanifests:\n", ML_ESPEC, 2, "missing \"manifests\"");
    expect_text_error("image: [a]\nmanifests:\n  - image: a\n", ML_ESPEC, 1,
                      "\"image\" at top level must be a string, not a sequence");
    expect_text_error("image: a\nmanifests:\n  - foo\n", ML_ESPEC, 3,
                      "manifests[0] must be a mapping with image and platform, not a string");
    expect_text_error("image: a\nmanifests:\n  - image: a:1\n  - imagee: b\n", ML_ESPEC, 4,
                      "unknown key \"imagee\" in manifests[1] (allowed keys: image, platform, "
                      "annotations)");
    expect_text_error("image: a\nimage: b\nmanifests:\n  - image: a\n", ML_ESPEC, 2,
                      "duplicate key \"image\" at top level");
    expect_text_error("image: a\ntags: latest\nmanifests:\n  - image: a\n", ML_ESPEC, 2,
                      "\"tags\" at top level must be a sequence of strings, not a string");
    expect_text_error("image: a\ntags: [[x]]\nmanifests:\n  - image: a\n", ML_ESPEC, 2,
                      "must hold strings, not a sequence");
    expect_text_error("image: a\nmanifests:\n  - image: a\n"
                      "    platform: {os: linux, architecture: amd64, features: sse}\n",
                      ML_ESPEC, 4, "\"features\" in platform of manifests[0] must be a sequence");
    expect_text_error("image: a\nmanifests:\n  - image: a\n"
                      "    platform: {os: linux, architecture: [amd64]}\n",
                      ML_ESPEC, 4, "\"architecture\" in platform of manifests[0] must be a string");
    expect_text_error("image: a\nmanifests:\n  - image: a\n"
                      "    platform:\n      os: \"li nux\"\n      architecture: amd64\n",
                      ML_EPLATFORM, 4, "platform os \"li nux\" has invalid characters");
    expect_text_error("image: a\nmanifests:\n  - image: a\n    platform: {os: linux}\n",
                      ML_EPLATFORM, 4, "(architecture missing)");
    expect_text_error("image: a\nmanifests:\n  - image: \"a\\0b\"\n", ML_ESPEC, 3,
                      "contains a NUL character");
    expect_text_error("image: a\nmanifests:\n  - image: a\n  - image: ''\n", ML_ESPEC, 4,
                      "\"image\" in manifests[1] is empty");
    expect_text_error("image: a\nmanifests:\n  - image: a@md5:abc\n", ML_EREF, 3,
                      "unsupported digest algorithm \"md5\"");
    expect_text_error("? [a, b]\n: c\n", ML_ESPEC, 1, "keys at top level must be strings");
    expect_text_error("image: a\nmanifests:\n\t- image: a\n", ML_ESPEC, 3, "invalid YAML");
    expect_text_error("", ML_ESPEC, 1, "no list found");
    expect_text_error("image: a\nmanifests:\n  - image: b\n    platform: *linux\n", ML_ESPEC, 4,
                      "alias \"*linux\" has no anchor");
    /* libfyaml 0.7.12 would loop forever on this one (found by fuzz-spec). */
    expect_text_error("%\xa5", ML_ESPEC, 1, "not UTF-8 (byte 0xa5)");
    expect_text_error("image: a\nmanifests:\n  - image: \xc3\xa9\xed\xa0\x80\n", ML_ESPEC, 3,
                      "not UTF-8 (byte 0xed)");
}

static void test_annotations(void)
{
    ml_spec *spec = parse_text("image: a\n"
                               "annotations: {b: \"x \\\"y\\\"\", a: 1, empty: }\n"
                               "manifests:\n"
                               "  - image: a:1\n"
                               "    annotations:\n"
                               "      k: v\n");
    if (spec) {
        const ml__spec_list *l = &spec->lists[0];
        CHECK_INT(l->annotations.count, 3);
        CHECK_STR(ml__annotations_get(&l->annotations, "a"), "1");
        CHECK_STR(ml__annotations_get(&l->annotations, "empty"), "");
        char *json = to_json(spec);
        CHECK(test_contains(json, "\"annotations\":{\"a\":\"1\",\"b\":\"x \\\"y\\\"\","
                                  "\"empty\":\"\"}"));
        CHECK(test_contains(json, "{\"image\":\"docker.io/library/a:1\",\"annotations\":"
                                  "{\"k\":\"v\"}}"));
        ml_free(json);
    }
    ml_spec_free(spec);
    expect_text_error("image: a\nannotations: {k: v, k: w}\nmanifests:\n  - image: a\n", ML_ESPEC,
                      2, "duplicate annotation \"k\" at top level");
    expect_text_error("image: a\nannotations: [k]\nmanifests:\n  - image: a\n", ML_ESPEC, 2,
                      "\"annotations\" at top level must be a mapping of strings");
    expect_text_error("image: a\nmanifests:\n  - image: a\n    annotations: {k: {x: y}}\n",
                      ML_ESPEC, 4, "annotation \"k\" in manifests[0] must be a string");
    expect_text_error("image: a\nannotations: {\"\": v}\nmanifests:\n  - image: a\n", ML_ESPEC, 2,
                      "empty annotation key at top level");
}

static void test_values_and_nulls(void)
{
    /* Numbers stay text; a numeric variant is normalised; nulls are absent. */
    ml_spec *spec = parse_text("image: 'a:1'\n"
                               "tags: [2, 2.0]\n"
                               "manifests:\n"
                               "  - image: a:1-arm\n"
                               "    platform: {os: linux, architecture: arm, variant: 7, "
                               "os.version: ~, features: []}\n"
                               "  - image: a:1-any\n"
                               "    platform: ~\n"
                               "  - image: a:1-x\n"
                               "    platform: {os: linux, architecture: amd64, variant: \"\"}\n");
    if (spec) {
        const ml__spec_list *l = &spec->lists[0];
        CHECK_INT(l->tags.count, 2);
        CHECK_STR(l->tags.items[1], "2.0");
        CHECK_STR(l->entries[0].platform.variant, "v7");
        CHECK(l->entries[0].platform.os_version == NULL);
        CHECK(!l->entries[1].has_platform);
        CHECK(l->entries[2].platform.variant == NULL);
        CHECK_INT(ml_spec_warning_count(spec), 1);
        CHECK(test_contains(ml_spec_warning(spec, 0), "t.yaml:5:"));
    }
    ml_spec_free(spec);
}

static void test_api_arguments(void)
{
    ml_spec *spec = NULL;
    ml_error *err = NULL;
    CHECK_INT(ml_spec_parse_file(&spec, "data/spec/does-not-exist.yaml", NULL, &err), ML_EIO);
    CHECK(test_contains(ml_error_message(err), "data/spec/does-not-exist.yaml"));
    ml_error_free(err);
    err = NULL;

    const char *bad = "image: a\nfoo: 1\n";
    CHECK_INT(ml_spec_parse_buffer(&spec, bad, strlen(bad), NULL, NULL, &err), ML_ESPEC);
    CHECK(ml__has_prefix(ml_error_message(err), "<spec>:2:1: unknown key \"foo\""));
    ml_error_free(err);
    err = NULL;
    /* Without an error object the code still comes back. */
    CHECK_INT(ml_spec_parse_buffer(&spec, bad, strlen(bad), NULL, NULL, NULL), ML_ESPEC);

    CHECK_INT(ml_spec_parse_buffer(NULL, bad, strlen(bad), NULL, NULL, NULL), ML_EINVAL);
    CHECK_INT(ml_spec_parse_buffer(&spec, NULL, 3, NULL, NULL, NULL), ML_EINVAL);
    CHECK_INT(ml_spec_parse_file(&spec, NULL, NULL, NULL), ML_EINVAL);

    ml_spec_options opts;
    CHECK_INT(ml_spec_options_init(&opts, ML_SPEC_OPTIONS_VERSION), ML_OK);
    CHECK_INT(opts.version, ML_SPEC_OPTIONS_VERSION);
    CHECK_INT(opts.flags, 0);
    CHECK_INT(ml_spec_options_init(&opts, 99), ML_EINVAL);
    CHECK_INT(ml_spec_options_init(NULL, 1), ML_EINVAL);
    opts.version = 99;
    CHECK_INT(ml_spec_parse_file(&spec, "data/spec/manifest-tool.yaml", &opts, &err), ML_EINVAL);
    ml_error_free(err);
    err = NULL;
    opts.version = ML_SPEC_OPTIONS_VERSION;
    opts.flags = 1u << 20;
    CHECK_INT(ml_spec_parse_file(&spec, "data/spec/manifest-tool.yaml", &opts, &err), ML_EINVAL);
    CHECK(test_contains(ml_error_message(err), "flags"));
    ml_error_free(err);

    CHECK_INT(ml_spec_list_count(NULL), 0);
    CHECK(ml_spec_target(NULL, 0) == NULL);
    CHECK_INT(ml_spec_warning_count(NULL), 0);
    CHECK(ml_spec_warning(NULL, 0) == NULL);
    char *json = NULL;
    CHECK_INT(ml_spec_to_json(NULL, &json, NULL), ML_EINVAL);
    ml_spec_free(NULL);
}

static void test_repeated_tags_keep_first_order(void)
{
    ml_spec *spec = parse_text("image: a:v1\n"
                               "tags: [b, a, b, v1, a, c]\n"
                               "manifests:\n"
                               "  - image: a:1-x\n");
    if (spec) {
        const ml__spec_list *l = &spec->lists[0];
        CHECK_INT(l->tags.count, 3);
        CHECK_STR(l->tags.items[0], "b");
        CHECK_STR(l->tags.items[1], "a");
        CHECK_STR(l->tags.items[2], "c");
    }
    ml_spec_free(spec);
}

/* Spec text quoted in an error cannot forge a second line. */
static void test_quoted_text_is_printable(void)
{
    expect_text_error("image: \"a:1\\nmlist: error: forged\"\nmanifests:\n  - image: a:1-x\n", ML_EREF, 1,
                      "a:1?mlist: error: forged");
    expect_text_error("image: a:1\ntags: [\"x\\r\\ny\"]\nmanifests:\n  - image: a:1-x\n", ML_EREF, 2,
                      "invalid tag \"x??y\"");
    expect_text_error("image: a:1\n\"bad\\u001b[2J\": 1\nmanifests:\n  - image: a:1-x\n", ML_ESPEC, 2,
                      "unknown key \"bad?[2J\"");
}

/* Run alone, under a 10 s timeout (tests/meson.build): repeats are found in
 * linear time. A scan of the tags kept so far took 21 s for 100000 tags, 4
 * times that for these 200000 (plus 1000 repeats). */
static void test_many_tags(void)
{
    enum { N = 200000, REPEATS = 1000 };
    ml__buf yaml = {0};
    ml__buf_puts(&yaml, "image: a:v1\ntags:\n");
    for (int i = 0; i < N + REPEATS; i++)
        ml__buf_printf(&yaml, "  - t%d\n", i % N);
    ml__buf_puts(&yaml, "manifests:\n  - image: a:1-x\n");
    CHECK(!yaml.oom);
    ml_spec *spec = parse_text(yaml.data);
    if (spec) {
        const ml__spec_list *l = &spec->lists[0];
        CHECK_INT(l->tags.count, N);
        CHECK_STR(l->tags.items[0], "t0");
        CHECK_STR(l->tags.items[N - 1], "t199999");
    }
    ml_spec_free(spec);
    ml__buf_free(&yaml);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "many-tags") == 0) {
        TEST_RUN(test_many_tags);
        TEST_END();
    }
    TEST_RUN(test_seed_corrected);
    TEST_RUN(test_seed_original_is_invalid_yaml);
    TEST_RUN(test_no_normalize);
    TEST_RUN(test_manifest_tool);
    TEST_RUN(test_manifest_tool_full);
    TEST_RUN(test_multi_document);
    TEST_RUN(test_platform_from_config);
    TEST_RUN(test_aliases);
    TEST_RUN(test_file_errors);
    TEST_RUN(test_allow_duplicates);
    TEST_RUN(test_duplicates_use_platform_equality);
    TEST_RUN(test_structure_errors);
    TEST_RUN(test_annotations);
    TEST_RUN(test_values_and_nulls);
    TEST_RUN(test_api_arguments);
    TEST_RUN(test_repeated_tags_keep_first_order);
    TEST_RUN(test_quoted_text_is_printable);
    TEST_END();
}
