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
    /* Both entries' os rewrite is one warning. */
    CHECK_INT(ml_spec_warning_count(spec), 3);
    CHECK_STR(ml_spec_warning(spec, 0),
              "data/spec/seed-corrected.yaml:8:11: os \"Linux\" normalised to \"linux\" (and 1 more entry)");
    CHECK_STR(ml_spec_warning(spec, 1),
              "data/spec/seed-corrected.yaml:7:21: architecture \"ppc64\" variant \"ppc64le\" "
              "normalised to \"ppc64le\"");
    CHECK_STR(ml_spec_warning(spec, 2),
              "data/spec/seed-corrected.yaml:13:21: architecture \"x86_64\" normalised to "
              "\"amd64\"");
    CHECK(ml_spec_warning(spec, 3) == NULL);
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
    /* arm64 without a variant is arm64/v8. */
    expect_text_error("image: a/b\n"
                      "manifests:\n"
                      "  - image: a/b:1\n"
                      "    platform: {os: linux, architecture: arm64}\n"
                      "  - image: a/b:2\n"
                      "    platform: {os: linux, architecture: arm, variant: v7}\n"
                      "  - image: a/b:3\n"
                      "    platform: {os: linux, architecture: arm64, variant: v8}\n",
                      ML_EDUPLICATE, 7, "as manifests[0] (a/b:1, line 3)");
    /* Windows builds without os.version and arm ones without variant wait
     * for their configs (ml_list_build compares them then). */
    ml_spec *open = parse_text("image: a/b\n"
                               "manifests:\n"
                               "  - {image: a/b:1, platform: {os: windows, architecture: amd64}}\n"
                               "  - {image: a/b:2, platform: {os: windows, architecture: amd64}}\n"
                               "  - {image: a/b:3, platform: {os: linux, architecture: arm}}\n"
                               "  - {image: a/b:4, platform: {os: linux, architecture: arm, variant: v7}}\n");
    CHECK(open != NULL);
    ml_spec_free(open);
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

/* ---- the builder ------------------------------------------------------------ */

/* The YAML a built spec must equal. */
static const char built_yaml[] =
    "image: registry.example.com/team/app:1.2\n"
    "tags: ['1.2', latest, latest]\n"
    "annotations: {org.opencontainers.image.revision: abc123, empty: ~}\n"
    "manifests:\n"
    "  - image: registry.example.com/team/app:1.2-amd64\n"
    "    platform: {os: Linux, architecture: x86_64}\n"
    "  - image: registry.example.com/team/app@sha256:" /* digest: no tag added */
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
    "    platform: {os: linux, architecture: armhf}\n"
    "  - image: team/app:1.2-win\n"
    "    platform: {os: windows, architecture: amd64, os.version: 10.0.17763.5576,\n"
    "               os.features: [win32k, x]}\n"
    "    annotations: {com.example.note: built on host 7}\n"
    "  - image: registry.example.com/team/app\n"
    "---\n"
    "image: example.com/b\n"
    "manifests:\n"
    "  - image: example.com/b:1-arm64\n"
    "    platform: {os: linux, architecture: aarch64}\n";

static int build_like_yaml(ml_spec **out, uint32_t flags, ml_error **err)
{
    ml_spec_options opts = ML_SPEC_OPTIONS_INIT;
    opts.flags = flags;
    size_t list = 99, entry = 99;
    int rc = ml_spec_new(out, &opts, err);
    ml_spec *s = *out;
    if (rc == ML_OK)
        rc = ml_spec_add_list(s, "registry.example.com/team/app:1.2", &list, err);
    CHECK_INT(list, 0);
    if (rc == ML_OK)
        rc = ml_spec_add_tag(s, 0, "1.2", err);
    if (rc == ML_OK)
        rc = ml_spec_add_tag(s, 0, "latest", err);
    if (rc == ML_OK)
        rc = ml_spec_add_tag(s, 0, "latest", err);
    if (rc == ML_OK)
        rc = ml_spec_list_annotate(s, 0, "org.opencontainers.image.revision", "abc123", err);
    if (rc == ML_OK)
        rc = ml_spec_list_annotate(s, 0, "empty", NULL, err);
    if (rc == ML_OK)
        rc = ml_spec_add_entry(s, 0, "registry.example.com/team/app:1.2-amd64", "Linux/x86_64", NULL,
                               err);
    if (rc == ML_OK)
        rc = ml_spec_add_entry(s, 0,
                               "registry.example.com/team/app@sha256:"
                               "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                               "linux/armhf", NULL, err);
    if (rc == ML_OK)
        rc = ml_spec_add_entry(s, 0, "team/app:1.2-win", "windows/amd64", &entry, err);
    CHECK_INT(entry, 2);
    if (rc == ML_OK)
        rc = ml_spec_entry_set_os_version(s, 0, 2, "10.0.17763.5576", err);
    if (rc == ML_OK)
        rc = ml_spec_entry_add_os_feature(s, 0, 2, "win32k", err);
    if (rc == ML_OK)
        rc = ml_spec_entry_add_os_feature(s, 0, 2, "x", err);
    if (rc == ML_OK)
        rc = ml_spec_entry_annotate(s, 0, 2, "com.example.note", "built on host 7", err);
    if (rc == ML_OK)
        rc = ml_spec_add_entry(s, 0, "registry.example.com/team/app", NULL, &entry, err);
    CHECK_INT(entry, 3);
    if (rc == ML_OK)
        rc = ml_spec_add_list(s, "example.com/b", &list, err);
    CHECK_INT(list, 1);
    if (rc == ML_OK)
        rc = ml_spec_add_entry(s, 1, "example.com/b:1-arm64", "linux/aarch64", NULL, err);
    if (rc == ML_OK)
        rc = ml_spec_check(s, err);
    return rc;
}

/* Warnings say the same after their prefix ("t.yaml:6:35: " or "IMAGE: "). */
static const char *after_prefix(const char *warning)
{
    const char *p = strstr(warning ? warning : "", ": ");
    return p ? p + 2 : "";
}

static void check_built_equals_parsed(uint32_t flags)
{
    ml_spec_options opts = ML_SPEC_OPTIONS_INIT;
    opts.flags = flags;
    ml_spec *parsed = NULL, *built = NULL;
    ml_error *err = NULL;
    CHECK_INT(ml_spec_parse_buffer(&parsed, built_yaml, strlen(built_yaml), "t.yaml", &opts, NULL),
              ML_OK);
    int rc = build_like_yaml(&built, flags, &err);
    CHECK_INT(rc, ML_OK);
    if (rc != ML_OK)
        fprintf(stderr, "  %s\n", ml_error_message(err));
    ml_error_free(err);
    if (!parsed || !built) {
        ml_spec_free(parsed);
        ml_spec_free(built);
        return;
    }
    char *want = to_json(parsed), *got = to_json(built);
    CHECK_STR(got, want);
    CHECK_INT(ml_spec_warning_count(built), ml_spec_warning_count(parsed));
    for (size_t i = 0; i < ml_spec_warning_count(parsed); i++)
        CHECK_STR(after_prefix(ml_spec_warning(built, i)), after_prefix(ml_spec_warning(parsed, i)));
    /* The getters read both alike. */
    CHECK_INT(ml_spec_tag_count(built, 0), 1); /* 1.2 is the target's own */
    CHECK_STR(ml_spec_entry_image(built, 0, 2), "docker.io/team/app:1.2-win");
    char *platform = NULL;
    CHECK_INT(ml_spec_entry_platform(built, 0, 2, &platform, NULL), ML_OK);
    CHECK_STR(platform, "windows(10.0.17763.5576+win32k+x)/amd64");
    ml_free(platform);
    ml_free(want);
    ml_free(got);
    ml_spec_free(parsed);
    ml_spec_free(built);
}

static void test_built_equals_parsed(void)
{
    check_built_equals_parsed(0);
    check_built_equals_parsed(ML_SPEC_NO_NORMALIZE);
    ml_spec *built = NULL;
    if (build_like_yaml(&built, 0, NULL) == ML_OK) {
        CHECK_INT(ml_spec_warning_count(built), 4);
        CHECK_STR(ml_spec_warning(built, 0),
                  "registry.example.com/team/app:1.2-amd64: os \"Linux\" normalised to \"linux\"");
        CHECK_STR(after_prefix(ml_spec_warning(built, 2)),
                  "architecture \"armhf\" normalised to \"arm\" variant \"v7\"");
    }
    ml_spec_free(built);
}

static ml_spec *new_spec(uint32_t flags)
{
    ml_spec_options opts = ML_SPEC_OPTIONS_INIT;
    opts.flags = flags;
    ml_spec *spec = NULL;
    CHECK_INT(ml_spec_new(&spec, &opts, NULL), ML_OK);
    if (spec)
        CHECK_INT(ml_spec_add_list(spec, "example.com/app:1", NULL, NULL), ML_OK);
    return spec;
}

/* A built spec's error: its code, the offending value, no location; the
 * spec is left as it was. */
static void expect_built_error(ml_spec *spec, int rc, ml_error *err, int code, const char *words,
                               const char *json_before)
{
    CHECK_INT(rc, code);
    CHECK_INT(ml_error_code(err), code);
    CHECK(test_contains(ml_error_message(err), words));
    if (!test_contains(ml_error_message(err), words))
        fprintf(stderr, "  got: %s\n  want: %s\n", ml_error_message(err), words);
    CHECK(ml_error_file(err) == NULL);
    CHECK_INT(ml_error_line(err), 0);
    ml_error_free(err);
    char *after = to_json(spec);
    CHECK_STR(after, json_before);
    ml_free(after);
}

static void test_built_errors(void)
{
    ml_spec *spec = new_spec(0);
    if (!spec)
        return;
    CHECK_INT(ml_spec_add_entry(spec, 0, "example.com/app:1-amd64", "linux/amd64", NULL, NULL), ML_OK);
    CHECK_INT(ml_spec_add_entry(spec, 0, "example.com/app:1-any", NULL, NULL, NULL), ML_OK);
    char *before = to_json(spec);
    ml_error *err = NULL;

    int rc = ml_spec_add_entry(spec, 0, "example.com/app:1-x", "linux", NULL, &err);
    expect_built_error(spec, rc, err, ML_EPLATFORM, "invalid platform \"linux\"", before);
    err = NULL;
    rc = ml_spec_add_entry(spec, 0, "example.com/app:1-x", "linux/am d64", NULL, &err);
    expect_built_error(spec, rc, err, ML_EPLATFORM, "\"am d64\" has invalid characters", before);
    err = NULL;
    rc = ml_spec_add_entry(spec, 0, "example.com/App:1", "linux/arm64", NULL, &err);
    expect_built_error(spec, rc, err, ML_EREF,
                       "invalid reference \"example.com/App:1\": repository name must be lowercase",
                       before);
    err = NULL;
    rc = ml_spec_add_entry(spec, 0, "", NULL, NULL, &err);
    expect_built_error(spec, rc, err, ML_EREF, "reference is empty", before);
    err = NULL;
    rc = ml_spec_add_list(spec, "example.com/app@sha256:"
                                "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                          NULL, &err);
    expect_built_error(spec, rc, err, ML_EREF, "must be a tag, not a digest", before);
    CHECK_INT(ml_spec_list_count(spec), 1);
    err = NULL;
    rc = ml_spec_add_list(spec, "Bad//Ref", NULL, &err);
    expect_built_error(spec, rc, err, ML_EREF, "invalid reference \"Bad//Ref\"", before);
    err = NULL;
    rc = ml_spec_add_tag(spec, 0, "not ok", &err);
    expect_built_error(spec, rc, err, ML_EREF, "invalid tag \"not ok\" in tags", before);
    err = NULL;
    rc = ml_spec_entry_set_os_version(spec, 0, 0, "10 0", &err);
    expect_built_error(spec, rc, err, ML_EPLATFORM, "os.version \"10 0\" has invalid characters",
                       before);
    err = NULL;
    rc = ml_spec_entry_add_os_feature(spec, 0, 0, "", &err);
    expect_built_error(spec, rc, err, ML_EPLATFORM, "os.features has an empty entry", before);
    err = NULL;
    rc = ml_spec_entry_set_os_version(spec, 0, 1, "10.0", &err);
    expect_built_error(spec, rc, err, ML_EPLATFORM,
                       "example.com/app:1-any: os.version needs a platform", before);
    err = NULL;
    CHECK_INT(ml_spec_list_annotate(spec, 0, "k", "v", NULL), ML_OK);
    free(before);
    before = to_json(spec);
    rc = ml_spec_list_annotate(spec, 0, "k", "w", &err);
    expect_built_error(spec, rc, err, ML_ESPEC, "duplicate annotation \"k\" on example.com/app:1",
                       before);
    err = NULL;
    rc = ml_spec_entry_annotate(spec, 0, 0, "", "v", &err);
    expect_built_error(spec, rc, err, ML_ESPEC, "empty annotation key on example.com/app:1-amd64",
                       before);
    ml_free(before);
    ml_spec_free(spec);
}

/* Tags behave as in a spec file: the target's own and repeats are dropped. */
static void test_built_tags(void)
{
    ml_spec *spec = new_spec(0);
    if (!spec)
        return;
    const char *tags[] = {"1", "latest", "1", "1.0"};
    for (size_t i = 0; i < 4; i++)
        CHECK_INT(ml_spec_add_tag(spec, 0, tags[i], NULL), ML_OK);
    CHECK_INT(ml_spec_tag_count(spec, 0), 2);
    CHECK_STR(ml_spec_tag(spec, 0, 0), "latest");
    CHECK_STR(ml_spec_tag(spec, 0, 1), "1.0");
    ml_spec_free(spec);
}

/* The checks over a whole list, in ml_spec_check and in ml_list_build. */
static void test_built_list_checks(void)
{
    ml_spec *spec = NULL;
    ml_error *err = NULL;
    CHECK_INT(ml_spec_new(&spec, NULL, NULL), ML_OK);
    CHECK_INT(ml_spec_check(spec, &err), ML_ESPEC);
    CHECK(test_contains(ml_error_message(err), "spec has no list"));
    ml_error_free(err);
    err = NULL;
    CHECK_INT(ml_spec_add_list(spec, "example.com/app", NULL, NULL), ML_OK);
    CHECK_INT(ml_spec_check(spec, &err), ML_ESPEC);
    CHECK_STR(ml_error_message(err),
              "example.com/app:latest: no manifests (a list needs at least one image)");
    ml_error_free(err);
    err = NULL;
    CHECK_INT(ml_spec_add_entry(spec, 0, "example.com/app:a", "linux/arm64", NULL, NULL), ML_OK);
    CHECK_INT(ml_spec_add_entry(spec, 0, "example.com/app:b", "linux/arm/v7", NULL, NULL), ML_OK);
    CHECK_INT(ml_spec_add_entry(spec, 0, "example.com/app:c", "linux/arm64/v8", NULL, NULL), ML_OK);
    CHECK_INT(ml_spec_check(spec, &err), ML_EDUPLICATE);
    CHECK_STR(ml_error_message(err),
              "example.com/app:latest: manifests[2] (example.com/app:c) has the same platform "
              "linux/arm64/v8 as manifests[0] (example.com/app:a)");
    CHECK(ml_error_file(err) == NULL);
    ml_error_free(err);
    err = NULL;
    /* Nothing is resolved before the checks: no registry is needed. */
    ml_client *client = NULL;
    CHECK_INT(ml_client_new(&client, NULL, NULL), ML_OK);
    ml_list *list = NULL;
    CHECK_INT(ml_list_build(&list, client, spec, 0, NULL, &err), ML_EDUPLICATE);
    CHECK(list == NULL);
    ml_error_free(err);
    err = NULL;
    /* os.version tells them apart, as in a spec file. */
    CHECK_INT(ml_spec_entry_set_os_version(spec, 0, 2, "1", NULL), ML_OK);
    CHECK_INT(ml_spec_check(spec, NULL), ML_OK);
    CHECK_INT(ml_spec_entry_set_os_version(spec, 0, 2, "", NULL), ML_OK);
    CHECK_INT(ml_spec_check(spec, NULL), ML_EDUPLICATE);
    ml_spec_free(spec);
    spec = new_spec(ML_SPEC_ALLOW_DUPLICATES);
    CHECK_INT(ml_spec_add_entry(spec, 0, "example.com/app:a", "linux/amd64", NULL, NULL), ML_OK);
    CHECK_INT(ml_spec_add_entry(spec, 0, "example.com/app:b", "linux/amd64", NULL, NULL), ML_OK);
    CHECK_INT(ml_spec_check(spec, NULL), ML_OK);
    CHECK_INT(ml_spec_add_list(spec, "example.com/empty:1", NULL, NULL), ML_OK);
    CHECK_INT(ml_list_build(&list, client, spec, 1, NULL, &err), ML_ESPEC);
    CHECK(test_contains(ml_error_message(err), "example.com/empty:1: no manifests"));
    ml_error_free(err);
    err = NULL;
    /* OCI-only features name the list, having no line. */
    CHECK_INT(ml_spec_entry_annotate(spec, 0, 1, "k", "v", NULL), ML_OK);
    CHECK_INT(ml_spec_check_type(spec, ML_TYPE_DOCKER, &err), ML_ETYPE);
    CHECK(ml__has_prefix(ml_error_message(err), "example.com/app:1: entry annotations need an OCI index"));
    CHECK(ml_error_hints(err) & ML_HINT_TYPE_OCI);
    ml_error_free(err);
    ml_client_free(client);
    ml_spec_free(spec);
}

/* Inputs are copied: the caller's buffers may change or go right after. */
static void test_built_copies_inputs(void)
{
    char target[] = "example.com/app:1", tag[] = "v1", image[] = "example.com/app:1-arm",
         platform[] = "linux/arm/v6", version[] = "1.2", feature[] = "f", key[] = "k", value[] = "v";
    ml_spec *spec = NULL;
    CHECK_INT(ml_spec_new(&spec, NULL, NULL), ML_OK);
    CHECK_INT(ml_spec_add_list(spec, target, NULL, NULL), ML_OK);
    CHECK_INT(ml_spec_add_tag(spec, 0, tag, NULL), ML_OK);
    CHECK_INT(ml_spec_list_annotate(spec, 0, key, value, NULL), ML_OK);
    CHECK_INT(ml_spec_add_entry(spec, 0, image, platform, NULL, NULL), ML_OK);
    CHECK_INT(ml_spec_entry_set_os_version(spec, 0, 0, version, NULL), ML_OK);
    CHECK_INT(ml_spec_entry_add_os_feature(spec, 0, 0, feature, NULL), ML_OK);
    CHECK_INT(ml_spec_entry_annotate(spec, 0, 0, key, value, NULL), ML_OK);
    char *buffers[] = {target, tag, image, platform, version, feature, key, value};
    for (size_t i = 0; i < sizeof(buffers) / sizeof(buffers[0]); i++)
        memset(buffers[i], 'X', strlen(buffers[i]));
    char *json = to_json(spec);
    CHECK_STR(json, "{\"lists\":[{\"image\":\"example.com/app:1\",\"tags\":[\"v1\"],"
                    "\"annotations\":{\"k\":\"v\"},\"manifests\":[{\"image\":"
                    "\"example.com/app:1-arm\",\"platform\":{\"architecture\":\"arm\",\"os\":"
                    "\"linux\",\"variant\":\"v6\",\"os.version\":\"1.2\",\"os.features\":[\"f\"]},"
                    "\"annotations\":{\"k\":\"v\"}}]}]}");
    ml_free(json);
    ml_spec_free(spec);
}

static void test_built_arguments(void)
{
    ml_spec *spec = (ml_spec *)&spec;
    ml_error *err = NULL;
    CHECK_INT(ml_spec_new(NULL, NULL, NULL), ML_EINVAL);
    ml_spec_options opts = ML_SPEC_OPTIONS_INIT;
    opts.flags = 1u << 20;
    CHECK_INT(ml_spec_new(&spec, &opts, &err), ML_EINVAL);
    CHECK(spec == NULL);
    CHECK(test_contains(ml_error_message(err), "flags"));
    ml_error_free(err);
    err = NULL;
    /* Variables are expanded while parsing; a built spec never would. */
    opts.flags = ML_SPEC_VARIABLES;
    CHECK_INT(ml_spec_new(&spec, &opts, &err), ML_EINVAL);
    CHECK(spec == NULL);
    CHECK(test_contains(ml_error_message(err), "ML_SPEC_VARIABLES"));
    ml_error_free(err);
    err = NULL;
    CHECK_INT(ml_spec_add_list(NULL, "a", NULL, NULL), ML_EINVAL);
    CHECK_INT(ml_spec_add_tag(NULL, 0, "a", NULL), ML_EINVAL);
    CHECK_INT(ml_spec_add_entry(NULL, 0, "a", NULL, NULL, NULL), ML_EINVAL);
    CHECK_INT(ml_spec_list_annotate(NULL, 0, "k", "v", NULL), ML_EINVAL);
    CHECK_INT(ml_spec_entry_annotate(NULL, 0, 0, "k", "v", NULL), ML_EINVAL);
    CHECK_INT(ml_spec_entry_set_os_version(NULL, 0, 0, "1", NULL), ML_EINVAL);
    CHECK_INT(ml_spec_entry_add_os_feature(NULL, 0, 0, "f", NULL), ML_EINVAL);
    CHECK_INT(ml_spec_check(NULL, NULL), ML_EINVAL);
    spec = new_spec(0);
    if (!spec)
        return;
    CHECK_INT(ml_spec_add_list(spec, NULL, NULL, &err), ML_EINVAL);
    CHECK(test_contains(ml_error_message(err), "target is NULL"));
    ml_error_free(err);
    err = NULL;
    CHECK_INT(ml_spec_add_tag(spec, 0, NULL, NULL), ML_EINVAL);
    CHECK_INT(ml_spec_add_tag(spec, 1, "a", &err), ML_EINVAL);
    CHECK(test_contains(ml_error_message(err), "no list 1"));
    ml_error_free(err);
    err = NULL;
    CHECK_INT(ml_spec_add_entry(spec, 0, NULL, "linux/amd64", NULL, NULL), ML_EINVAL);
    CHECK_INT(ml_spec_add_entry(spec, 1, "a", NULL, NULL, NULL), ML_EINVAL);
    CHECK_INT(ml_spec_list_annotate(spec, 0, NULL, "v", NULL), ML_EINVAL);
    CHECK_INT(ml_spec_entry_annotate(spec, 0, 0, "k", "v", &err), ML_EINVAL);
    CHECK(test_contains(ml_error_message(err), "list 0 has no entry 0"));
    ml_error_free(err);
    CHECK_INT(ml_spec_add_entry(spec, 0, "a", "linux/amd64", NULL, NULL), ML_OK);
    CHECK_INT(ml_spec_entry_annotate(spec, 0, 0, NULL, "v", NULL), ML_EINVAL);
    CHECK_INT(ml_spec_entry_set_os_version(spec, 0, 0, NULL, NULL), ML_EINVAL);
    CHECK_INT(ml_spec_entry_add_os_feature(spec, 0, 0, NULL, NULL), ML_EINVAL);
    CHECK_INT(ml_spec_entry_add_os_feature(spec, 0, 1, "f", NULL), ML_EINVAL);
    CHECK_INT(ml_spec_entry_count(spec, 0), 1);
    ml_spec_free(spec);
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
    TEST_RUN(test_built_equals_parsed);
    TEST_RUN(test_built_errors);
    TEST_RUN(test_built_tags);
    TEST_RUN(test_built_list_checks);
    TEST_RUN(test_built_copies_inputs);
    TEST_RUN(test_built_arguments);
    TEST_RUN(test_repeated_tags_keep_first_order);
    TEST_RUN(test_quoted_text_is_printable);
    TEST_END();
}
