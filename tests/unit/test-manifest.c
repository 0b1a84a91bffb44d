/* Manifest model tests: parsing of realistic documents (tests/data/manifest),
 * each validation error, byte-exact emission against JSON written by hand
 * from the formats, round trips, image config platforms. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "digest.h"
#include "fileio.h"
#include "manifest.h"
#include "../model-eq.h"
#include "test.h"
#include "util.h"

#define MT_OM ML__MT_OCI_MANIFEST
#define MT_DM ML__MT_DOCKER_MANIFEST
#define D_OCI_AMD64 "sha256:47618173a39179a1d106795e9ea6e4651dd10c0e413fb474ada385ef4e2c6829"
#define D_OCI_ARM64 "sha256:d7e5897cf6d3648173dd790bfd9133cba3b423240b3faca8dd02ed26b6745658"
#define D_ATTEST "sha256:f20c43161d73848408ef247f0ec7111b19fe58ffebc0cbcaa0d2c8bda4967268"
#define D_DOCKER_AMD64 "sha256:06a5819608db3637c0df189777d9a64923b185f8ce14b18892d375c3fa9a01e9"
#define D_WIN "sha256:90c5a2d5c2b5b2f1b1a7eb6a0c5e8f7a1f0f2d43d3b6e1d9e1c4b4e6f1f0e3a2"
#define D_CFG_AMD64 "sha256:a394182f24ebfaff11d8bfc5b7502e91bb087adcc4fba2614317a1f5708fe705"
#define D_LAYER "sha256:4abcf20661432fb2d719aaf90656f55c287f8ca915dc1c92ec14ff61e67fbaf8"
#define D_EMPTY "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

/* ---- helpers ------------------------------------------------------------ */

static char *read_fixture(const char *name, size_t *len)
{
    char path[256];
    char *buf = NULL;
    ml_error *err = NULL;
    snprintf(path, sizeof(path), "data/manifest/%s", name);
    if (ml__read_file(path, 16u << 20, &buf, len, &err) != ML_OK) {
        fprintf(stderr, "cannot read %s: %s\n", path, ml_error_message(err));
        ml_error_free(err);
        return NULL;
    }
    return buf;
}

static int parse_fixture(const char *name, const char *content_type, ml__manifest *m,
                         ml_error **err)
{
    size_t len;
    char *json = read_fixture(name, &len);
    if (!json)
        return -1000;
    int rc = ml__manifest_parse(m, json, len, content_type, err);
    free(json);
    return rc;
}

static int parse_str(const char *json, const char *content_type, ml__manifest *m, ml_error **err)
{
    return ml__manifest_parse(m, json, strlen(json), content_type, err);
}

static bool model_empty(const ml__manifest *m)
{
    return m->kind == ML__KIND_UNKNOWN && !m->media_type && !m->manifests && !m->layers &&
           !m->config.digest && !m->annotations.count && !m->artifact_type && !m->has_subject;
}

/* Parses json expecting `code` with every word in the message. */
static void expect_error_at(int line, const char *json, size_t len, const char *content_type,
                            int code, const char *word1, const char *word2)
{
    ml__manifest m;
    ml_error *err = NULL;
    int rc = ml__manifest_parse(&m, json, len, content_type, &err);
    const char *msg = ml_error_message(err);
    bool ok = rc == code && ml_error_code(err) == code && test_contains(msg, word1) &&
              (!word2 || test_contains(msg, word2)) && model_empty(&m);
    CHECK(ok);
    if (!ok)
        fprintf(stderr, "  line %d: got %d \"%s\", expected %d with \"%s\"%s%s\n", line, rc,
                msg ? msg : "", code, word1, word2 ? " and " : "", word2 ? word2 : "");
    ml__manifest_clear(&m);
    ml_error_free(err);
}

#define EXPECT_ERROR(json, ct, code, w1, w2) expect_error_at(__LINE__, json, strlen(json), ct, code, w1, w2)

/* Index whose second entry (manifests[1]) is `entry`. */
static const char *index_with(const char *entry)
{
    static char buf[4096];
    snprintf(buf, sizeof(buf),
             "{\"schemaVersion\":2,\"mediaType\":\"" ML__MT_OCI_INDEX "\",\"manifests\":["
             "{\"mediaType\":\"" MT_OM "\",\"digest\":\"" D_OCI_AMD64 "\",\"size\":668},%s]}",
             entry);
    return buf;
}

/* Entry with a valid mediaType and digest followed by `rest`. */
static const char *entry_with(const char *rest)
{
    static char buf[2048];
    snprintf(buf, sizeof(buf),
             "{\"mediaType\":\"" MT_OM "\",\"digest\":\"" D_OCI_ARM64 "\"%s}", rest);
    return index_with(buf);
}

/* The round trips here keep the media type string too. */
static bool same_manifest(const ml__manifest *a, const ml__manifest *b)
{
    return manifest_eq(a, b) && ml__str_eq(a->media_type, b->media_type);
}

static void set_descriptor(ml__descriptor *d, const char *media_type, const char *digest,
                           int64_t size)
{
    memset(d, 0, sizeof(*d));
    d->media_type = ml__strdup(media_type);
    d->digest = ml__strdup(digest);
    d->size = size;
}

static void set_platform(ml__descriptor *d, const char *os, const char *arch, const char *variant)
{
    d->has_platform = true;
    d->platform.os = ml__strdup(os);
    d->platform.architecture = ml__strdup(arch);
    d->platform.variant = ml__strdup(variant);
}

static void new_list(ml__manifest *m, ml__kind kind, size_t count)
{
    memset(m, 0, sizeof(*m));
    m->kind = kind;
    m->media_type = ml__strdup(kind == ML__KIND_OCI_INDEX ? ML__MT_OCI_INDEX : ML__MT_DOCKER_LIST);
    m->manifests = calloc(count ? count : 1, sizeof(ml__descriptor));
    m->manifest_count = count;
}

/* Emits m and compares with the expected bytes. */
static void expect_emit_at(int line, const ml__manifest *m, const char *expected)
{
    char *out = NULL;
    size_t len = 0;
    ml_error *err = NULL;
    int rc = ml__manifest_emit(m, &out, &len, &err);
    bool ok = rc == ML_OK && out && len == strlen(expected) && strcmp(out, expected) == 0;
    CHECK(ok);
    if (!ok)
        fprintf(stderr, "  line %d: rc %d %s\n  got      %s\n  expected %s\n", line, rc,
                ml_error_message(err), out ? out : "(null)", expected);
    free(out);
    ml_error_free(err);
}

#define EXPECT_EMIT(m, expected) expect_emit_at(__LINE__, m, expected)

static void expect_emit_error_at(int line, const ml__manifest *m, int code, const char *word1,
                                 const char *word2)
{
    char *out = (char *)"untouched";
    size_t len = 7;
    ml_error *err = NULL;
    int rc = ml__manifest_emit(m, &out, &len, &err);
    const char *msg = ml_error_message(err);
    bool ok = rc == code && out == NULL && len == 0 && test_contains(msg, word1) &&
              (!word2 || test_contains(msg, word2));
    CHECK(ok);
    if (!ok)
        fprintf(stderr, "  line %d: got %d \"%s\", expected %d with \"%s\"\n", line, rc,
                msg ? msg : "", code, word1);
    if (rc == ML_OK)
        free(out);
    ml_error_free(err);
}

#define EXPECT_EMIT_ERROR(m, code, w1, w2) expect_emit_error_at(__LINE__, m, code, w1, w2)

/* ---- media types and annotations ------------------------------------- */

static void test_kind_of(void)
{
    CHECK_INT(ml__kind_of(ML__MT_DOCKER_MANIFEST), ML__KIND_DOCKER_MANIFEST);
    CHECK_INT(ml__kind_of(ML__MT_DOCKER_LIST), ML__KIND_DOCKER_LIST);
    CHECK_INT(ml__kind_of(ML__MT_OCI_MANIFEST), ML__KIND_OCI_MANIFEST);
    CHECK_INT(ml__kind_of(ML__MT_OCI_INDEX), ML__KIND_OCI_INDEX);
    /* a known type is that exact text: it goes on into a Content-Type */
    CHECK_INT(ml__kind_of("application/vnd.oci.image.index.v1+json; charset=utf-8"), ML__KIND_UNKNOWN);
    CHECK_INT(ml__kind_of(ML__MT_OCI_MANIFEST ";\r\nContent-Length: 0\r\n\r\nDELETE / HTTP/1.1"), ML__KIND_UNKNOWN);
    CHECK_INT(ml__kind_of("  application/vnd.docker.distribution.manifest.list.v2+json ;q=1"), ML__KIND_UNKNOWN);
    CHECK_INT(ml__kind_of("\tapplication/vnd.oci.image.manifest.v1+json\t"), ML__KIND_UNKNOWN);
    CHECK_INT(ml__kind_of("Application/VND.OCI.Image.Index.v1+JSON"), ML__KIND_UNKNOWN);
    CHECK_INT(ml__kind_of("application/vnd.oci.image.index.v1+jsonx"), ML__KIND_UNKNOWN);
    CHECK_INT(ml__kind_of("application/vnd.oci.image.index.v1"), ML__KIND_UNKNOWN);
    CHECK_INT(ml__kind_of("application/vnd.docker.distribution.manifest.v1+prettyjws"), ML__KIND_UNKNOWN);
    CHECK_INT(ml__kind_of(ML__MT_OCI_CONFIG), ML__KIND_UNKNOWN);
    CHECK_INT(ml__kind_of(ML__MT_DOCKER_CONFIG), ML__KIND_UNKNOWN);
    CHECK_INT(ml__kind_of("application/json"), ML__KIND_UNKNOWN);
    CHECK_INT(ml__kind_of(""), ML__KIND_UNKNOWN);
    CHECK_INT(ml__kind_of(";" ML__MT_OCI_INDEX), ML__KIND_UNKNOWN);
    CHECK_INT(ml__kind_of(NULL), ML__KIND_UNKNOWN);
    CHECK(ml__kind_is_list(ML__KIND_DOCKER_LIST));
    CHECK(ml__kind_is_list(ML__KIND_OCI_INDEX));
    CHECK(!ml__kind_is_list(ML__KIND_OCI_MANIFEST));
    CHECK(!ml__kind_is_list(ML__KIND_DOCKER_MANIFEST));
    CHECK(!ml__kind_is_list(ML__KIND_UNKNOWN));
}

static void test_media_type_valid(void)
{
    static const char *const good[] = {
        ML__MT_OCI_MANIFEST, ML__MT_DOCKER_CONFIG, "application/vnd.example+json", "text/plain",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", "Application/JSON", "a/b",
        "0/9", "x!#$&-^_.+/y!#$&-^_.+",
    };
    static const char *const bad[] = {
        "", "application", "application/", "/json", "application/json/x", "application//json",
        "application/json;charset=utf-8", "application/json; charset=utf-8", "application/json ",
        " application/json", "appli cation/json", "application/json\r\n", "application/json\rx",
        "application/json\nx", "application/json\tx", "application/js\x7fon", "application/jsön",
        "-application/json", "application/+json", ".a/b", "application/vnd.\"x\"", "application/a,b",
        "application/a=b", "application/a@b", "application/a\\b",
        ML__MT_OCI_MANIFEST ";\r\nContent-Length: 0\r\n\r\nDELETE /v2/app/manifests/x HTTP/1.1",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (!ml__media_type_valid(good[i])) {
            CHECK(!"valid media type refused");
            fprintf(stderr, "  \"%s\"\n", good[i]);
        }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (ml__media_type_valid(bad[i])) {
            CHECK(!"invalid media type accepted");
            fprintf(stderr, "  case %zu\n", i);
        }
    CHECK(!ml__media_type_valid(NULL));
    /* RFC 6838: type and subtype names of at most 127 characters */
    char name[300];
    memset(name, 'a', 127);
    strcpy(name + 127, "/b");
    CHECK(ml__media_type_valid(name));
    memset(name, 'a', 128);
    strcpy(name + 128, "/b");
    CHECK(!ml__media_type_valid(name));
    strcpy(name, "a/");
    memset(name + 2, 'b', 127);
    name[129] = '\0';
    CHECK(ml__media_type_valid(name));
    strcpy(name + 129, "b");
    CHECK(!ml__media_type_valid(name));
}

/* A media type read from a manifest goes on into the Content-Type of a
 * copy: a value with CR/LF would add headers or a second request (one
 * that carries Authorization), and parameters or a suffix after a known
 * type made it pass as that type. Every place refuses it. */
static void test_parse_media_type_injection(void)
{
#define SMUGGLE ";\\r\\nContent-Length: 0\\r\\n\\r\\nDELETE /v2/app/manifests/" D_OCI_AMD64 " HTTP/1.1\\r\\nX: "
    static const char *const bad[] = {
        MT_OM SMUGGLE, MT_OM ";charset=x", MT_OM "; charset=utf-8", MT_OM " x", MT_OM "\\n", MT_OM "\\u0085",
        "not a media type", "application/vnd.example+json;v=1", " " MT_OM,
    };
    char json[2048];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *mt = bad[i];
        /* the document's own mediaType */
        snprintf(json, sizeof(json),
                 "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"" ML__MT_OCI_CONFIG
                 "\",\"digest\":\"" D_EMPTY "\",\"size\":2},\"layers\":[]}", mt);
        EXPECT_ERROR(json, NULL, ML_EMANIFEST, "mediaType: ", "media type");
        /* ... of an index entry */
        snprintf(json, sizeof(json), "{\"mediaType\":\"%s\",\"digest\":\"" D_OCI_ARM64 "\",\"size\":1}", mt);
        EXPECT_ERROR(index_with(json), NULL, ML_EMANIFEST, "manifests[1].mediaType: invalid media type", NULL);
        /* ... of a config, a layer, a subject */
        snprintf(json, sizeof(json),
                 "{\"schemaVersion\":2,\"mediaType\":\"" MT_OM "\",\"config\":{\"mediaType\":\"%s\",\"digest\":\""
                 D_EMPTY "\",\"size\":2},\"layers\":[]}", mt);
        EXPECT_ERROR(json, NULL, ML_EMANIFEST, "config.mediaType: invalid media type", NULL);
        snprintf(json, sizeof(json),
                 "{\"schemaVersion\":2,\"mediaType\":\"" MT_OM "\",\"config\":{\"mediaType\":\"" ML__MT_OCI_CONFIG
                 "\",\"digest\":\"" D_EMPTY "\",\"size\":2},\"layers\":[{\"mediaType\":\"%s\",\"digest\":\"" D_LAYER
                 "\",\"size\":3}]}", mt);
        EXPECT_ERROR(json, NULL, ML_EMANIFEST, "layers[0].mediaType: invalid media type", NULL);
        snprintf(json, sizeof(json),
                 "{\"schemaVersion\":2,\"mediaType\":\"" ML__MT_OCI_INDEX "\",\"manifests\":[],"
                 "\"subject\":{\"mediaType\":\"%s\",\"digest\":\"" D_OCI_AMD64 "\",\"size\":1}}", mt);
        EXPECT_ERROR(json, NULL, ML_EMANIFEST, "subject.mediaType: invalid media type", NULL);
        /* artifactType, of the document and of an entry */
        snprintf(json, sizeof(json),
                 "{\"schemaVersion\":2,\"mediaType\":\"" ML__MT_OCI_INDEX "\",\"artifactType\":\"%s\",\"manifests\":[]}",
                 mt);
        EXPECT_ERROR(json, NULL, ML_EMANIFEST, "artifactType: invalid media type", NULL);
        snprintf(json, sizeof(json), ",\"size\":1,\"artifactType\":\"%s\"", mt);
        EXPECT_ERROR(entry_with(json), NULL, ML_EMANIFEST, "manifests[1].artifactType: invalid media type", NULL);
    }
    /* a known type with something after it is not that type */
    EXPECT_ERROR("{\"schemaVersion\":2,\"mediaType\":\"" ML__MT_OCI_INDEX "x\",\"manifests\":[]}", NULL, ML_EMANIFEST,
                 "mediaType: unsupported media type", NULL);
    /* the message shows the value escaped, not its CR/LF */
    snprintf(json, sizeof(json), "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":[]}", MT_OM SMUGGLE);
    EXPECT_ERROR(json, NULL, ML_EMANIFEST, "\\x0d\\x0a", NULL);
#undef SMUGGLE

    /* exact known types and valid unknown ones still pass */
    ml__manifest m;
    ml_error *err = NULL;
    CHECK_INT(parse_str("{\"schemaVersion\":2,\"mediaType\":\"" ML__MT_OCI_INDEX "\","
                        "\"artifactType\":\"application/vnd.example+json\",\"manifests\":["
                        "{\"mediaType\":\"application/vnd.example.thing.v1+json\",\"digest\":\"" D_OCI_AMD64 "\","
                        "\"size\":1,\"artifactType\":\"application/vnd.example+json\"}]}", NULL, &m, &err), ML_OK);
    CHECK_STR(m.artifact_type, "application/vnd.example+json");
    CHECK(m.manifest_count == 1 && ml__str_eq(m.manifests[0].media_type, "application/vnd.example.thing.v1+json"));
    ml__manifest_clear(&m);
    CHECK_INT(parse_str("{\"schemaVersion\":2,\"mediaType\":\"" MT_OM "\",\"config\":{\"mediaType\":"
                        "\"application/vnd.oci.empty.v1+json\",\"digest\":\"" D_EMPTY "\",\"size\":2},"
                        "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\""
                        D_LAYER "\",\"size\":3}]}", NULL, &m, &err), ML_OK);
    CHECK_INT(m.kind, ML__KIND_OCI_MANIFEST);
    CHECK_STR(m.media_type, MT_OM);
    ml__manifest_clear(&m);
    CHECK(err == NULL);
}

static void test_annotations(void)
{
    ml__annotations a = {0}, b = {0};
    CHECK_INT(ml__annotations_set(&a, "org.opencontainers.image.version", "1.2"), ML_OK);
    CHECK_INT(ml__annotations_set(&a, "com.example.z", "z"), ML_OK);
    CHECK_INT(ml__annotations_set(&a, "org.opencontainers.image.created", "2024"), ML_OK);
    CHECK_INT(ml__annotations_set(&a, "", "empty key"), ML_OK);
    CHECK_INT(ml__annotations_set(&a, "org.opencontainers.image.version", "1.3"), ML_OK);
    CHECK_INT(ml__annotations_set(&a, "Z.upper", ""), ML_OK);
    CHECK_INT(a.count, 5);
    /* byte order: "" < "Z..." < "com..." < "org...created" < "org...version" */
    CHECK_STR(a.keys[0], "");
    CHECK_STR(a.keys[1], "Z.upper");
    CHECK_STR(a.keys[2], "com.example.z");
    CHECK_STR(a.keys[3], "org.opencontainers.image.created");
    CHECK_STR(a.keys[4], "org.opencontainers.image.version");
    CHECK_STR(a.values[4], "1.3");
    CHECK_STR(ml__annotations_get(&a, "com.example.z"), "z");
    CHECK_STR(ml__annotations_get(&a, ""), "empty key");
    CHECK_STR(ml__annotations_get(&a, "Z.upper"), "");
    CHECK(ml__annotations_get(&a, "org") == NULL);
    CHECK(ml__annotations_get(&b, "org") == NULL);
    CHECK_INT(ml__annotations_set(&a, NULL, "x"), ML_EINVAL);
    CHECK_INT(ml__annotations_set(&a, "x", NULL), ML_EINVAL);

    CHECK_INT(ml__annotations_copy(&b, &a), ML_OK);
    CHECK_INT(b.count, 5);
    CHECK(b.keys[3] != a.keys[3]);
    CHECK_STR(b.keys[3], "org.opencontainers.image.created");
    CHECK_STR(b.values[3], "2024");
    ml__annotations_free(&a);
    CHECK_INT(a.count, 0);
    CHECK(a.keys == NULL);
    CHECK_STR(ml__annotations_get(&b, "org.opencontainers.image.version"), "1.3");
    ml__annotations_free(&b);
    ml__annotations_free(&b);
    ml__annotations_free(NULL);

    /* many inserts in descending order stay sorted */
    for (int i = 99; i >= 0; i--) {
        char k[16];
        snprintf(k, sizeof(k), "k%03d", i);
        CHECK_INT(ml__annotations_set(&a, k, k), ML_OK);
    }
    CHECK_INT(a.count, 100);
    bool sorted = true;
    for (size_t i = 1; i < a.count; i++)
        sorted = sorted && strcmp(a.keys[i - 1], a.keys[i]) < 0;
    CHECK(sorted);
    CHECK_STR(ml__annotations_get(&a, "k042"), "k042");
    ml__annotations_free(&a);
}

/* ---- parsing realistic documents -------------------------------------- */

static void test_parse_docker_manifest(void)
{
    ml__manifest m;
    ml_error *err = NULL;
    CHECK_INT(parse_fixture("docker-manifest.json", NULL, &m, &err), ML_OK);
    CHECK_INT(m.kind, ML__KIND_DOCKER_MANIFEST);
    CHECK_STR(m.media_type, ML__MT_DOCKER_MANIFEST);
    CHECK_STR(m.config.media_type, ML__MT_DOCKER_CONFIG);
    CHECK_STR(m.config.digest, D_CFG_AMD64);
    CHECK_INT(m.config.size, 617);
    CHECK(!m.config.has_platform);
    CHECK_INT(m.layer_count, 1);
    CHECK_STR(m.layers[0].media_type, "application/vnd.docker.image.rootfs.diff.tar.gzip");
    CHECK_STR(m.layers[0].digest, D_LAYER);
    CHECK_INT(m.layers[0].size, 3408729);
    CHECK_INT(m.manifest_count, 0);
    CHECK(!m.has_subject);
    CHECK(m.artifact_type == NULL);
    CHECK_INT(m.annotations.count, 0);
    ml__manifest_clear(&m);
    CHECK(model_empty(&m));

    /* the config descriptor describes the config fixture's bytes */
    size_t len;
    char *cfg = read_fixture("config-linux-amd64.json", &len);
    CHECK(cfg != NULL);
    CHECK_INT(len, 617);
    CHECK_INT(ml__digest_verify(D_CFG_AMD64, cfg, len, &err), ML_OK);
    free(cfg);

    /* the Content-Type agrees, with parameters */
    CHECK_INT(parse_fixture("docker-manifest.json", ML__MT_DOCKER_MANIFEST "; charset=utf-8", &m, &err), ML_OK);
    CHECK_INT(m.kind, ML__KIND_DOCKER_MANIFEST);
    ml__manifest_clear(&m);
    CHECK(err == NULL);
}

static void test_parse_docker_list(void)
{
    ml__manifest m;
    ml_error *err = NULL;
    CHECK_INT(parse_fixture("docker-list.json", ML__MT_DOCKER_LIST, &m, &err), ML_OK);
    CHECK_INT(m.kind, ML__KIND_DOCKER_LIST);
    CHECK_STR(m.media_type, ML__MT_DOCKER_LIST);
    CHECK_INT(m.manifest_count, 3);
    CHECK_INT(m.layer_count, 0);
    CHECK(m.config.digest == NULL);
    const ml__descriptor *d = m.manifests;
    CHECK_STR(d[0].media_type, MT_DM);
    CHECK_STR(d[0].digest, D_DOCKER_AMD64);
    CHECK_INT(d[0].size, 527);
    CHECK(d[0].has_platform);
    CHECK_STR(d[0].platform.architecture, "amd64");
    CHECK_STR(d[0].platform.os, "linux");
    CHECK(d[0].platform.variant == NULL);
    CHECK(d[0].platform.os_version == NULL);
    CHECK_STR(d[1].platform.architecture, "arm64");
    CHECK_STR(d[1].platform.variant, "v8");
    CHECK_STR(d[2].platform.os, "windows");
    CHECK_STR(d[2].platform.os_version, "10.0.17763.5576");
    CHECK_STR(d[2].digest, D_WIN);
    CHECK_INT(d[2].size, 1125);
    CHECK_INT(d[2].annotations.count, 0);
    ml__manifest_clear(&m);

    /* entry 0 is the digest of docker-manifest.json, byte for byte */
    size_t len;
    char *child = read_fixture("docker-manifest.json", &len);
    CHECK_INT(ml__digest_verify(D_DOCKER_AMD64, child, len, &err), ML_OK);
    free(child);
    CHECK(err == NULL);
}

static void test_parse_oci(void)
{
    ml__manifest m;
    ml_error *err = NULL;
    CHECK_INT(parse_fixture("oci-index-buildx.json", NULL, &m, &err), ML_OK);
    CHECK_INT(m.kind, ML__KIND_OCI_INDEX);
    CHECK_STR(m.media_type, ML__MT_OCI_INDEX);
    CHECK_INT(m.manifest_count, 4);
    CHECK_STR(m.manifests[0].platform.architecture, "amd64");
    CHECK_INT(m.manifests[0].annotations.count, 0);
    CHECK_STR(m.manifests[1].platform.variant, "v8");
    /* buildx attestation entries: unknown/unknown, pointing at their image */
    for (size_t i = 2; i < 4; i++) {
        const ml__descriptor *d = &m.manifests[i];
        CHECK_STR(d->platform.os, "unknown");
        CHECK_STR(d->platform.architecture, "unknown");
        CHECK_INT(d->annotations.count, 2);
        CHECK_STR(ml__annotations_get(&d->annotations, "vnd.docker.reference.type"), "attestation-manifest");
    }
    CHECK_STR(ml__annotations_get(&m.manifests[2].annotations, "vnd.docker.reference.digest"), D_OCI_AMD64);
    CHECK_STR(ml__annotations_get(&m.manifests[3].annotations, "vnd.docker.reference.digest"), D_OCI_ARM64);
    CHECK_STR(m.manifests[2].digest, D_ATTEST);
    CHECK_INT(m.manifests[2].size, 246);
    ml__manifest_clear(&m);

    size_t len;
    char *child = read_fixture("oci-manifest.json", &len);
    CHECK_INT(ml__digest_verify(D_OCI_AMD64, child, len, &err), ML_OK);
    free(child);

    CHECK_INT(parse_fixture("oci-manifest.json", ML__MT_OCI_MANIFEST, &m, &err), ML_OK);
    CHECK_INT(m.kind, ML__KIND_OCI_MANIFEST);
    CHECK_STR(m.config.media_type, ML__MT_OCI_CONFIG);
    CHECK_INT(m.config.size, 1472);
    CHECK_INT(m.layer_count, 2);
    CHECK_STR(m.layers[1].media_type, "application/vnd.oci.image.layer.v1.tar+gzip");
    CHECK_INT(m.layers[1].size, 32);
    ml__manifest_clear(&m);

    CHECK_INT(parse_fixture("canonical-oci-artifact.json", NULL, &m, &err), ML_OK);
    CHECK_INT(m.kind, ML__KIND_OCI_MANIFEST);
    CHECK_STR(m.artifact_type, "application/spdx+json");
    CHECK_STR(m.config.media_type, "application/vnd.oci.empty.v1+json");
    CHECK_STR(m.config.digest, D_EMPTY);
    CHECK_INT(m.config.size, 2);
    CHECK(m.has_subject);
    CHECK_STR(m.subject.digest, D_OCI_AMD64);
    CHECK_INT(m.subject.size, 668);
    CHECK_STR(ml__annotations_get(&m.layers[0].annotations, "org.opencontainers.image.title"), "sbom.spdx.json");
    CHECK_STR(ml__annotations_get(&m.annotations, "org.opencontainers.image.created"), "2024-03-08T18:53:44Z");
    ml__manifest_clear(&m);

    CHECK_INT(parse_fixture("canonical-docker-manifest.json", NULL, &m, &err), ML_OK);
    CHECK_INT(m.layer_count, 2);
    CHECK_INT(m.layers[0].urls.count, 1);
    CHECK(test_contains(m.layers[0].urls.items[0], "https://mcr.microsoft.com/"));
    CHECK_INT(m.layers[0].size, 1583713432);
    CHECK_INT(m.layers[1].size, INT64_C(5000000000));
    ml__manifest_clear(&m);

    CHECK_INT(parse_fixture("canonical-oci-index-subject.json", NULL, &m, &err), ML_OK);
    CHECK_STR(m.artifact_type, "application/vnd.example.signature.v1");
    CHECK_STR(m.manifests[0].artifact_type, "application/vnd.example.signature.v1");
    CHECK(!m.manifests[0].has_platform);
    CHECK(m.has_subject);
    CHECK_STR(m.subject.media_type, ML__MT_OCI_INDEX);
    ml__manifest_clear(&m);
    CHECK(err == NULL);
}

static void test_parse_media_type_sources(void)
{
    ml__manifest m;
    ml_error *err = NULL;
    const char *no_mt_index = "{\"schemaVersion\":2,\"manifests\":[]}";
    const char *no_mt_image = "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" ML__MT_OCI_CONFIG
                              "\",\"digest\":\"" D_EMPTY "\",\"size\":2},\"layers\":[]}";

    /* neither: inferred from the fields */
    CHECK_INT(parse_str(no_mt_index, NULL, &m, &err), ML_OK);
    CHECK_INT(m.kind, ML__KIND_OCI_INDEX);
    CHECK_STR(m.media_type, ML__MT_OCI_INDEX);
    CHECK_INT(m.manifest_count, 0);
    ml__manifest_clear(&m);
    CHECK_INT(parse_str(no_mt_image, NULL, &m, &err), ML_OK);
    CHECK_INT(m.kind, ML__KIND_OCI_MANIFEST);
    CHECK_STR(m.media_type, ML__MT_OCI_MANIFEST);
    ml__manifest_clear(&m);
    /* a Content-Type that names no manifest kind is no information */
    CHECK_INT(parse_str(no_mt_index, "application/json", &m, &err), ML_OK);
    CHECK_INT(m.kind, ML__KIND_OCI_INDEX);
    ml__manifest_clear(&m);

    /* only the Content-Type: its kind, never its text (parameters, case) */
    CHECK_INT(parse_str(no_mt_index, ML__MT_DOCKER_LIST "; charset=utf-8", &m, &err), ML_OK);
    CHECK_INT(m.kind, ML__KIND_DOCKER_LIST);
    CHECK_STR(m.media_type, ML__MT_DOCKER_LIST);
    ml__manifest_clear(&m);
    CHECK_INT(parse_str(no_mt_index, " Application/VND.docker.distribution.manifest.list.v2+JSON ;\r\nX: y", &m,
                        &err), ML_OK);
    CHECK_INT(m.kind, ML__KIND_DOCKER_LIST);
    CHECK_STR(m.media_type, ML__MT_DOCKER_LIST);
    ml__manifest_clear(&m);
    CHECK_INT(parse_str(no_mt_image, ML__MT_DOCKER_MANIFEST, &m, &err), ML_OK);
    CHECK_INT(m.kind, ML__KIND_DOCKER_MANIFEST);
    CHECK_STR(m.media_type, ML__MT_DOCKER_MANIFEST);
    ml__manifest_clear(&m);

    /* the document's own mediaType must be a known type, exactly */
    EXPECT_ERROR("{\"schemaVersion\":2,\"mediaType\":\"APPLICATION/vnd.oci.image.index.v1+json\","
                 "\"manifests\":[]}", ML__MT_OCI_INDEX, ML_EMANIFEST, "mediaType: unsupported media type",
                 "\"APPLICATION/vnd.oci.image.index.v1+json\"");
    CHECK(err == NULL);

    EXPECT_ERROR("{\"schemaVersion\":2,\"mediaType\":\"" ML__MT_OCI_INDEX "\",\"manifests\":[]}",
                 ML__MT_DOCKER_LIST, ML_EMANIFEST, "\"" ML__MT_OCI_INDEX "\"", "\"" ML__MT_DOCKER_LIST "\"");
    EXPECT_ERROR("{\"schemaVersion\":2,\"mediaType\":\"" ML__MT_OCI_INDEX "\",\"manifests\":[]}",
                 ML__MT_DOCKER_LIST, ML_EMANIFEST, "does not match Content-Type", NULL);
    EXPECT_ERROR("{\"schemaVersion\":2}", NULL, ML_EMANIFEST, "no mediaType", NULL);
    EXPECT_ERROR("{\"schemaVersion\":2,\"manifests\":[],\"config\":{}}", NULL, ML_EMANIFEST,
                 "cannot tell", NULL);
    EXPECT_ERROR("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.artifact.manifest.v1+json\"}",
                 NULL, ML_EMANIFEST, "mediaType: unsupported media type",
                 "\"application/vnd.oci.artifact.manifest.v1+json\"");
    EXPECT_ERROR("{\"schemaVersion\":2,\"mediaType\":\"\",\"manifests\":[]}", NULL, ML_EMANIFEST,
                 "mediaType: invalid media type \"\"", NULL);
    EXPECT_ERROR("{\"schemaVersion\":2,\"mediaType\":7,\"manifests\":[]}", NULL, ML_EMANIFEST,
                 "mediaType: must be a string", NULL);
}

static void test_parse_document_errors(void)
{
    size_t len;
    char *json = read_fixture("schema1.json", &len);
    expect_error_at(__LINE__, json, len, NULL, ML_EMANIFEST, "Docker schema 1 manifests are not supported", NULL);
    expect_error_at(__LINE__, json, len, "application/vnd.docker.distribution.manifest.v1+prettyjws",
                    ML_EMANIFEST, "Docker schema 1", NULL);
    free(json);
    EXPECT_ERROR("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v1+json\"}",
                 NULL, ML_EMANIFEST, "Docker schema 1 manifests are not supported", NULL);
    EXPECT_ERROR("{\"schemaVersion\":2,\"manifests\":[]}", "application/vnd.docker.distribution.manifest.v1+prettyjws",
                 ML_EMANIFEST, "Docker schema 1 manifests are not supported", NULL);

    EXPECT_ERROR("{\"mediaType\":\"" ML__MT_OCI_INDEX "\",\"manifests\":[]}", NULL, ML_EMANIFEST,
                 "schemaVersion: missing", NULL);
    EXPECT_ERROR("{\"schemaVersion\":3,\"mediaType\":\"" ML__MT_OCI_INDEX "\",\"manifests\":[]}", NULL,
                 ML_EMANIFEST, "schemaVersion: must be 2", NULL);
    EXPECT_ERROR("{\"schemaVersion\":\"2\",\"mediaType\":\"" ML__MT_OCI_INDEX "\",\"manifests\":[]}", NULL,
                 ML_EMANIFEST, "schemaVersion: must be 2", NULL);
    EXPECT_ERROR("{\"schemaVersion\":2.5,\"mediaType\":\"" ML__MT_OCI_INDEX "\",\"manifests\":[]}", NULL,
                 ML_EMANIFEST, "schemaVersion: must be 2", NULL);

    /* JSON-level problems, with byte offsets */
    EXPECT_ERROR("", NULL, ML_EMANIFEST, "empty", NULL);
    expect_error_at(__LINE__, NULL, 0, NULL, ML_EMANIFEST, "empty", NULL);
    EXPECT_ERROR("{\"schemaVersion\":2,}", NULL, ML_EMANIFEST, "invalid JSON at byte 19", NULL);
    EXPECT_ERROR("{\"schemaVersion\" 2}", NULL, ML_EMANIFEST, "invalid JSON at byte", NULL);
    EXPECT_ERROR("{\"schemaVersion\":2} {}", NULL, ML_EMANIFEST, "after the document at byte 20", NULL);
    EXPECT_ERROR("[]", NULL, ML_EMANIFEST, "not a JSON object", NULL);
    EXPECT_ERROR("\"manifest\"", NULL, ML_EMANIFEST, "not a JSON object", NULL);
    EXPECT_ERROR("{\"schemaVersion\":2,\"x\":\"a\nb\"}", NULL, ML_EMANIFEST, "control character in a string at byte 25", NULL);
    EXPECT_ERROR("{\"schemaVersion\":2,\x01\"x\":1}", NULL, ML_EMANIFEST, "control character at byte 19", NULL);
    EXPECT_ERROR("{\"schemaVersion\":2,\"x\":\"a\\u0000b\"}", NULL, ML_EMANIFEST, "\\u0000", "byte 25");
    EXPECT_ERROR("{\"schemaVersion\":02}", NULL, ML_EMANIFEST, "invalid JSON number", NULL);
    EXPECT_ERROR("{\"schemaVersion\":2,\"x\":-.5}", NULL, ML_EMANIFEST, "invalid JSON number", NULL);
    json = read_fixture("truncated.json", &len);
    expect_error_at(__LINE__, json, len, NULL, ML_EMANIFEST, "invalid JSON at byte", NULL);
    /* a NUL byte ends nothing: the length given is what counts */
    expect_error_at(__LINE__, "{\"schemaVersion\":2}\0{}", 22, NULL, ML_EMANIFEST, "control character at byte 19", NULL);
    expect_error_at(__LINE__, "{\"schemaVersion\":2}\n\t\r x", 24, NULL, ML_EMANIFEST, "after the document at byte 23", NULL);
    free(json);

    /* the size limit comes first, whatever the bytes */
    char *big = malloc(ML__MANIFEST_MAX + 1);
    memset(big, ' ', ML__MANIFEST_MAX + 1);
    expect_error_at(__LINE__, big, ML__MANIFEST_MAX + 1, NULL, ML_ETOOBIG, "4 MiB", NULL);
    free(big);

    /* nesting: 64 levels pass the pre-scan, 65 do not; brackets inside
     * strings do not count */
    char deep[512];
    strcpy(deep, "{\"x\":");
    for (int i = 0; i < 63; i++)
        strcat(deep, "[");
    for (int i = 0; i < 63; i++)
        strcat(deep, "]");
    strcat(deep, "}");
    EXPECT_ERROR(deep, NULL, ML_EMANIFEST, "schemaVersion: missing", NULL);
    strcpy(deep, "{\"x\":");
    for (int i = 0; i < 64; i++)
        strcat(deep, "[");
    for (int i = 0; i < 64; i++)
        strcat(deep, "]");
    strcat(deep, "}");
    EXPECT_ERROR(deep, NULL, ML_EMANIFEST, "nested deeper than 64", NULL);
    strcpy(deep, "{\"x\":\"");
    for (int i = 0; i < 100; i++)
        strcat(deep, "[{");
    strcat(deep, "\\\"]\"}");
    EXPECT_ERROR(deep, NULL, ML_EMANIFEST, "schemaVersion: missing", NULL);
    /* 100000 levels must not reach cJSON's recursion */
    char *deeper = malloc(200001);
    memset(deeper, '[', 100000);
    memset(deeper + 100000, ']', 100000);
    deeper[200000] = '\0';
    EXPECT_ERROR(deeper, NULL, ML_EMANIFEST, "nested deeper than 64 levels at byte 64", NULL);
    free(deeper);

    /* duplicate keys are ambiguous across parsers */
    EXPECT_ERROR("{\"schemaVersion\":2,\"mediaType\":\"" ML__MT_OCI_INDEX "\",\"mediaType\":\"" ML__MT_DOCKER_LIST
                 "\",\"manifests\":[]}", NULL, ML_EMANIFEST, "duplicate key \"mediaType\"", NULL);

    /* numbers elsewhere may be anything JSON allows */
    ml__manifest m;
    ml_error *err = NULL;
    CHECK_INT(parse_str("{\"schemaVersion\":2,\"x\":[1.5e300,-0,{\"y\":12345678901234567890}],"
                        "\"manifests\":[]}", NULL, &m, &err), ML_OK);
    ml__manifest_clear(&m);
    CHECK_INT(ml__manifest_parse(NULL, "{}", 2, NULL, &err), ML_EINVAL);
    ml_error_free(err);
}

static void test_parse_structure_errors(void)
{
    EXPECT_ERROR("{\"schemaVersion\":2,\"mediaType\":\"" ML__MT_OCI_INDEX "\"}", NULL, ML_EMANIFEST,
                 "manifests: missing", NULL);
    EXPECT_ERROR("{\"schemaVersion\":2,\"mediaType\":\"" ML__MT_DOCKER_LIST "\",\"manifests\":{}}", NULL,
                 ML_EMANIFEST, "manifests: must be an array", NULL);
    EXPECT_ERROR("{\"schemaVersion\":2,\"mediaType\":\"" ML__MT_OCI_INDEX "\",\"manifests\":[3]}", NULL,
                 ML_EMANIFEST, "manifests[0]: must be an object", NULL);
    EXPECT_ERROR("{\"schemaVersion\":2,\"mediaType\":\"" MT_DM "\",\"layers\":[]}", NULL, ML_EMANIFEST,
                 "config: missing", NULL);
    EXPECT_ERROR("{\"schemaVersion\":2,\"mediaType\":\"" MT_DM "\",\"config\":[],\"layers\":[]}", NULL,
                 ML_EMANIFEST, "config: must be an object", NULL);
    EXPECT_ERROR("{\"schemaVersion\":2,\"mediaType\":\"" MT_DM "\",\"config\":{\"mediaType\":\""
                 ML__MT_DOCKER_CONFIG "\",\"digest\":\"" D_CFG_AMD64 "\",\"size\":617}}", NULL,
                 ML_EMANIFEST, "layers: missing", NULL);
    EXPECT_ERROR("{\"schemaVersion\":2,\"mediaType\":\"" MT_OM "\",\"config\":{\"mediaType\":\""
                 ML__MT_OCI_CONFIG "\",\"digest\":\"" D_CFG_AMD64 "\",\"size\":617},\"layers\":null}", NULL,
                 ML_EMANIFEST, "layers: must be an array", NULL);
    EXPECT_ERROR("{\"schemaVersion\":2,\"mediaType\":\"" MT_OM "\",\"config\":{\"mediaType\":\""
                 ML__MT_OCI_CONFIG "\",\"digest\":\"" D_CFG_AMD64 "\",\"size\":617},\"layers\":[{}]}", NULL,
                 ML_EMANIFEST, "layers[0].mediaType: missing", NULL);
    EXPECT_ERROR("{\"schemaVersion\":2,\"mediaType\":\"" ML__MT_OCI_INDEX "\",\"manifests\":[],"
                 "\"subject\":{\"mediaType\":\"" MT_OM "\",\"digest\":\"sha256:abc\",\"size\":1}}", NULL,
                 ML_EMANIFEST, "subject.digest: invalid digest \"sha256:abc\"", NULL);
    EXPECT_ERROR("{\"schemaVersion\":2,\"mediaType\":\"" ML__MT_OCI_INDEX "\",\"manifests\":[],"
                 "\"subject\":\"" D_OCI_AMD64 "\"}", NULL, ML_EMANIFEST, "subject: must be an object", NULL);
    EXPECT_ERROR("{\"schemaVersion\":2,\"mediaType\":\"" ML__MT_OCI_INDEX "\",\"manifests\":[],"
                 "\"artifactType\":1}", NULL, ML_EMANIFEST, "artifactType: must be a string", NULL);
    EXPECT_ERROR("{\"schemaVersion\":2,\"mediaType\":\"" ML__MT_OCI_INDEX "\",\"manifests\":[],"
                 "\"annotations\":[]}", NULL, ML_EMANIFEST, "annotations: must be an object", NULL);
    EXPECT_ERROR("{\"schemaVersion\":2,\"mediaType\":\"" ML__MT_OCI_INDEX "\",\"manifests\":[],"
                 "\"annotations\":{\"a\":\"1\",\"b\":2}}", NULL, ML_EMANIFEST,
                 "annotations: value of \"b\" must be a string", NULL);
    EXPECT_ERROR("{\"schemaVersion\":2,\"mediaType\":\"" ML__MT_OCI_INDEX "\",\"manifests\":[],"
                 "\"annotations\":{\"b\":\"1\",\"a\":\"2\",\"b\":\"3\"}}", NULL, ML_EMANIFEST,
                 "annotations: duplicate key \"b\"", NULL);

    size_t len;
    char *json = read_fixture("bad-digest.json", &len);
    expect_error_at(__LINE__, json, len, NULL, ML_EMANIFEST, "manifests[1].digest: invalid digest \"sha256:xyz\"", NULL);
    free(json);
    json = read_fixture("bad-size-float.json", &len);
    expect_error_at(__LINE__, json, len, NULL, ML_EMANIFEST, "config.size: must be an integer", NULL);
    free(json);
    json = read_fixture("bad-platform.json", &len);
    expect_error_at(__LINE__, json, len, NULL, ML_EMANIFEST, "manifests[0].platform.os: missing", NULL);
    free(json);
}

static void test_parse_descriptor_errors(void)
{
    EXPECT_ERROR(entry_with(",\"size\":1,\"mediaType\":\"" MT_OM "\""), NULL, ML_EMANIFEST,
                 "manifests[1]: duplicate key \"mediaType\"", NULL);
    EXPECT_ERROR(index_with("{\"digest\":\"" D_OCI_ARM64 "\",\"size\":1}"), NULL, ML_EMANIFEST,
                 "manifests[1].mediaType: missing", NULL);
    EXPECT_ERROR(index_with("{\"mediaType\":\"\",\"digest\":\"" D_OCI_ARM64 "\",\"size\":1}"), NULL,
                 ML_EMANIFEST, "manifests[1].mediaType: must not be empty", NULL);
    EXPECT_ERROR(index_with("{\"mediaType\":[],\"digest\":\"" D_OCI_ARM64 "\",\"size\":1}"), NULL,
                 ML_EMANIFEST, "manifests[1].mediaType: must be a string", NULL);
    EXPECT_ERROR(index_with("{\"mediaType\":\"" MT_OM "\",\"size\":1}"), NULL, ML_EMANIFEST,
                 "manifests[1].digest: missing", NULL);
    EXPECT_ERROR(index_with("{\"mediaType\":\"" MT_OM "\",\"digest\":\"sha256:XYZ\",\"size\":1}"), NULL,
                 ML_EMANIFEST, "manifests[1].digest: invalid digest \"sha256:XYZ\"", NULL);
    EXPECT_ERROR(index_with("{\"mediaType\":\"" MT_OM "\",\"digest\":\"md5:d41d8cd98f00b204e9800998ecf8427e\",\"size\":1}"),
                 NULL, ML_EMANIFEST, "invalid digest \"md5:", NULL);

    /* sizes: integers 0..2^53 only */
    EXPECT_ERROR(entry_with(""), NULL, ML_EMANIFEST, "manifests[1].size: missing", NULL);
    EXPECT_ERROR(entry_with(",\"size\":\"668\""), NULL, ML_EMANIFEST, "manifests[1].size: must be an integer", NULL);
    EXPECT_ERROR(entry_with(",\"size\":null"), NULL, ML_EMANIFEST, "manifests[1].size: must be an integer", NULL);
    EXPECT_ERROR(entry_with(",\"size\":668.5"), NULL, ML_EMANIFEST, "manifests[1].size: must be an integer", NULL);
    EXPECT_ERROR(entry_with(",\"size\":668.0"), NULL, ML_EMANIFEST, "manifests[1].size: must be an integer", NULL);
    EXPECT_ERROR(entry_with(",\"size\":1e3"), NULL, ML_EMANIFEST, "manifests[1].size: must be an integer", NULL);
    EXPECT_ERROR(entry_with(",\"size\":-1"), NULL, ML_EMANIFEST, "manifests[1].size: must not be negative", NULL);
    EXPECT_ERROR(entry_with(",\"size\":9007199254740993"), NULL, ML_EMANIFEST, "manifests[1].size: larger than 2^53", NULL);
    EXPECT_ERROR(entry_with(",\"size\":123456789012345678901234567890"), NULL, ML_EMANIFEST,
                 "manifests[1].size: larger than 2^53", NULL);

    ml__manifest m;
    ml_error *err = NULL;
    CHECK_INT(parse_str(entry_with(",\"size\":9007199254740992"), NULL, &m, &err), ML_OK);
    CHECK(m.manifest_count == 2 && m.manifests[1].size == INT64_C(9007199254740992));
    ml__manifest_clear(&m);
    CHECK_INT(parse_str(entry_with(",\"size\":5000000000"), NULL, &m, &err), ML_OK);
    CHECK(m.manifest_count == 2 && m.manifests[1].size == INT64_C(5000000000));
    ml__manifest_clear(&m);
    CHECK_INT(parse_str(entry_with(",\"size\":0"), NULL, &m, &err), ML_OK);
    CHECK(m.manifest_count == 2 && m.manifests[1].size == 0);
    ml__manifest_clear(&m);
    /* optional empty strings read as absent; "data" is kept as written */
    CHECK_INT(parse_str(entry_with(",\"size\":1,\"artifactType\":\"\",\"data\":\"e30=\","
                                   "\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"\","
                                   "\"os.version\":\"\",\"os.features\":[],\"features\":[\"sse4\",\"aes\"]},"
                                   "\"urls\":[\"https://a.example/1\",\"https://b.example/2\"]"),
                        NULL, &m, &err), ML_OK);
    if (m.manifest_count == 2) {
        const ml__descriptor *d = &m.manifests[1];
        CHECK(d->artifact_type == NULL);
        CHECK(d->platform.variant == NULL);
        CHECK(d->platform.os_version == NULL);
        CHECK_INT(d->platform.os_features.count, 0);
        CHECK_INT(d->platform.features.count, 2);
        CHECK_STR(d->platform.features.items[1], "aes");
        CHECK_INT(d->urls.count, 2);
        CHECK_STR(d->urls.items[1], "https://b.example/2");
        CHECK_STR(ml__annotations_get(&d->extra, "data"), "\"e30=\"");
    }
    ml__manifest_clear(&m);
    CHECK(err == NULL);

    /* platform */
    EXPECT_ERROR(entry_with(",\"size\":1,\"platform\":\"linux/amd64\""), NULL, ML_EMANIFEST,
                 "manifests[1].platform: must be an object", NULL);
    EXPECT_ERROR(entry_with(",\"size\":1,\"platform\":{\"os\":\"linux\"}"), NULL, ML_EMANIFEST,
                 "manifests[1].platform.architecture: missing", NULL);
    EXPECT_ERROR(entry_with(",\"size\":1,\"platform\":{\"architecture\":\"amd64\",\"os\":\"\"}"), NULL,
                 ML_EMANIFEST, "manifests[1].platform.os: must not be empty", NULL);
    EXPECT_ERROR(entry_with(",\"size\":1,\"platform\":{\"architecture\":\"amd64\",\"os\":5}"), NULL,
                 ML_EMANIFEST, "manifests[1].platform.os: must be a string", NULL);
    EXPECT_ERROR(entry_with(",\"size\":1,\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\",\"variant\":8}"),
                 NULL, ML_EMANIFEST, "manifests[1].platform.variant: must be a string", NULL);
    EXPECT_ERROR(entry_with(",\"size\":1,\"platform\":{\"architecture\":\"amd64\",\"os\":\"windows\",\"os.version\":10}"),
                 NULL, ML_EMANIFEST, "manifests[1].platform.os.version: must be a string", NULL);
    EXPECT_ERROR(entry_with(",\"size\":1,\"platform\":{\"architecture\":\"amd64\",\"os\":\"windows\",\"os.features\":\"win32k\"}"),
                 NULL, ML_EMANIFEST, "manifests[1].platform.os.features: must be an array of strings", NULL);
    EXPECT_ERROR(entry_with(",\"size\":1,\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\",\"features\":[\"sse4\",1]}"),
                 NULL, ML_EMANIFEST, "manifests[1].platform.features[1]: must be a string", NULL);
    EXPECT_ERROR(entry_with(",\"size\":1,\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\",\"os\":\"windows\"}"),
                 NULL, ML_EMANIFEST, "manifests[1].platform: duplicate key \"os\"", NULL);

    /* annotations, urls, artifactType */
    EXPECT_ERROR(entry_with(",\"size\":1,\"annotations\":{\"vnd.docker.reference.type\":null}"), NULL,
                 ML_EMANIFEST, "manifests[1].annotations: value of \"vnd.docker.reference.type\" must be a string", NULL);
    EXPECT_ERROR(entry_with(",\"size\":1,\"annotations\":\"x\""), NULL, ML_EMANIFEST,
                 "manifests[1].annotations: must be an object", NULL);
    EXPECT_ERROR(entry_with(",\"size\":1,\"urls\":\"https://a.example/\""), NULL, ML_EMANIFEST,
                 "manifests[1].urls: must be an array of strings", NULL);
    EXPECT_ERROR(entry_with(",\"size\":1,\"urls\":[\"https://a.example/\",{}]"), NULL, ML_EMANIFEST,
                 "manifests[1].urls[1]: must be a string", NULL);
    EXPECT_ERROR(entry_with(",\"size\":1,\"artifactType\":false"), NULL, ML_EMANIFEST,
                 "manifests[1].artifactType: must be a string", NULL);
    /* long values are shortened in messages */
    char big[600];
    strcpy(big, "{\"mediaType\":\"" MT_OM "\",\"size\":1,\"digest\":\"sha256:");
    for (int i = 0; i < 400; i++)
        strcat(big, "a");
    strcat(big, "\"}");
    ml_error *e = NULL;
    CHECK_INT(parse_str(index_with(big), NULL, &m, &e), ML_EMANIFEST);
    CHECK(test_contains(ml_error_message(e), "manifests[1].digest: invalid digest \"sha256:aaaa"));
    CHECK(test_contains(ml_error_message(e), "...\""));
    CHECK(strlen(ml_error_message(e)) < 200);
    ml_error_free(e);
}

/* ---- emission --------------------------------------------------------- */

static void test_emit_index(void)
{
    ml__manifest m;
    new_list(&m, ML__KIND_OCI_INDEX, 2);
    ml__descriptor *d = &m.manifests[0];
    set_descriptor(d, MT_OM, D_OCI_AMD64, INT64_C(5000000000));
    set_platform(d, "windows", "amd64", "v3");
    d->platform.os_version = ml__strdup("10.0.17763.5576");
    ml__strvec_push(&d->platform.os_features, "win32k");
    ml__strvec_push(&d->platform.features, "sse4");
    ml__annotations_set(&d->annotations, "z.last", "1");
    ml__annotations_set(&d->annotations, "a.first", "2");
    ml__annotations_set(&d->annotations, "m.middle", "3");
    ml__annotations_set(&d->annotations, "a.first", "two");
    d = &m.manifests[1];
    set_descriptor(d, MT_OM, D_OCI_ARM64, 0);
    set_platform(d, "linux", "arm64", "v8");
    ml__strvec_push(&d->urls, "https://example.com/blob");
    ml__annotations_set(&m.annotations, "org.opencontainers.image.version", "1.2.3");
    ml__annotations_set(&m.annotations, "org.opencontainers.image.created", "2024-03-08T18:53:44Z");

    EXPECT_EMIT(&m,
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":["
        "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
        "\"digest\":\"sha256:47618173a39179a1d106795e9ea6e4651dd10c0e413fb474ada385ef4e2c6829\","
        "\"size\":5000000000,\"platform\":{\"architecture\":\"amd64\",\"os\":\"windows\","
        "\"os.version\":\"10.0.17763.5576\",\"os.features\":[\"win32k\"],\"variant\":\"v3\","
        "\"features\":[\"sse4\"]},\"annotations\":{\"a.first\":\"two\",\"m.middle\":\"3\",\"z.last\":\"1\"}},"
        "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
        "\"digest\":\"sha256:d7e5897cf6d3648173dd790bfd9133cba3b423240b3faca8dd02ed26b6745658\","
        "\"size\":0,\"urls\":[\"https://example.com/blob\"],"
        "\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"}}],"
        "\"annotations\":{\"org.opencontainers.image.created\":\"2024-03-08T18:53:44Z\","
        "\"org.opencontainers.image.version\":\"1.2.3\"}}");

    /* the same model emits the same bytes, and reads back as itself */
    char *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    CHECK_INT(ml__manifest_emit(&m, &a, &alen, NULL), ML_OK);
    CHECK_INT(ml__manifest_emit(&m, &b, &blen, NULL), ML_OK);
    CHECK(a && b && alen == blen && memcmp(a, b, alen) == 0);
    ml__manifest back;
    CHECK_INT(ml__manifest_parse(&back, a, alen, NULL, NULL), ML_OK);
    CHECK(same_manifest(&m, &back));
    ml__manifest_clear(&back);
    free(a);
    free(b);

    /* largest size allowed, artifactType and subject, empty optional values */
    m.manifests[1].size = INT64_C(9007199254740992);
    m.manifests[1].artifact_type = ml__strdup("application/vnd.example+type");
    free(m.manifests[0].platform.variant);
    m.manifests[0].platform.variant = ml__strdup("");
    free(m.manifests[0].platform.os_version);
    m.manifests[0].platform.os_version = NULL;
    ml__strvec_free(&m.manifests[0].platform.os_features);
    ml__annotations_free(&m.manifests[0].annotations);
    ml__annotations_free(&m.annotations);
    m.artifact_type = ml__strdup("application/vnd.example.index");
    m.has_subject = true;
    set_descriptor(&m.subject, ML__MT_OCI_INDEX, D_ATTEST, 246);
    ml__strvec_free(&m.manifests[1].urls);
    EXPECT_EMIT(&m,
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
        "\"artifactType\":\"application/vnd.example.index\",\"manifests\":["
        "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
        "\"digest\":\"sha256:47618173a39179a1d106795e9ea6e4651dd10c0e413fb474ada385ef4e2c6829\","
        "\"size\":5000000000,\"platform\":{\"architecture\":\"amd64\",\"os\":\"windows\",\"features\":[\"sse4\"]}},"
        "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
        "\"artifactType\":\"application/vnd.example+type\","
        "\"digest\":\"sha256:d7e5897cf6d3648173dd790bfd9133cba3b423240b3faca8dd02ed26b6745658\","
        "\"size\":9007199254740992,\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"}}],"
        "\"subject\":{\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
        "\"digest\":\"sha256:f20c43161d73848408ef247f0ec7111b19fe58ffebc0cbcaa0d2c8bda4967268\",\"size\":246}}");
    ml__manifest_clear(&m);

    /* an empty list is still a list */
    new_list(&m, ML__KIND_DOCKER_LIST, 0);
    EXPECT_EMIT(&m, "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.list.v2+json\",\"manifests\":[]}");
    ml__manifest_clear(&m);
}

static void test_emit_docker_list(void)
{
    ml__manifest m;
    new_list(&m, ML__KIND_DOCKER_LIST, 2);
    set_descriptor(&m.manifests[0], MT_DM, D_DOCKER_AMD64, 527);
    set_platform(&m.manifests[0], "linux", "amd64", NULL);
    set_descriptor(&m.manifests[1], MT_DM, D_WIN, 1125);
    set_platform(&m.manifests[1], "windows", "amd64", NULL);
    m.manifests[1].platform.os_version = ml__strdup("10.0.17763.5576");
    /* mediaType comes from the kind, whatever the model's string says */
    free(m.media_type);
    m.media_type = NULL;
    EXPECT_EMIT(&m,
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.list.v2+json\","
        "\"manifests\":[{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
        "\"digest\":\"sha256:06a5819608db3637c0df189777d9a64923b185f8ce14b18892d375c3fa9a01e9\",\"size\":527,"
        "\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}},"
        "{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
        "\"digest\":\"sha256:90c5a2d5c2b5b2f1b1a7eb6a0c5e8f7a1f0f2d43d3b6e1d9e1c4b4e6f1f0e3a2\",\"size\":1125,"
        "\"platform\":{\"architecture\":\"amd64\",\"os\":\"windows\",\"os.version\":\"10.0.17763.5576\"}}]}");

    /* what a Docker list cannot say is an error, not silently dropped */
    ml__annotations_set(&m.annotations, "org.opencontainers.image.version", "1");
    EXPECT_EMIT_ERROR(&m, ML_ETYPE, "annotations", "Docker manifest list");
    ml__annotations_free(&m.annotations);
    m.artifact_type = ml__strdup("application/vnd.example");
    EXPECT_EMIT_ERROR(&m, ML_ETYPE, "artifactType", "Docker manifest list");
    free(m.artifact_type);
    m.artifact_type = NULL;
    m.has_subject = true;
    set_descriptor(&m.subject, ML__MT_DOCKER_LIST, D_ATTEST, 10);
    EXPECT_EMIT_ERROR(&m, ML_ETYPE, "subject", "Docker manifest list");
    ml__descriptor_clear(&m.subject);
    m.has_subject = false;
    ml__annotations_set(&m.manifests[1].annotations, "vnd.docker.reference.type", "attestation-manifest");
    EXPECT_EMIT_ERROR(&m, ML_ETYPE, "manifests[1].annotations", NULL);
    ml__annotations_free(&m.manifests[1].annotations);
    m.manifests[0].artifact_type = ml__strdup("application/vnd.example");
    EXPECT_EMIT_ERROR(&m, ML_ETYPE, "manifests[0].artifactType", NULL);
    free(m.manifests[0].artifact_type);
    m.manifests[0].artifact_type = NULL;

    /* the same content as an OCI index is fine */
    m.kind = ML__KIND_OCI_INDEX;
    ml__annotations_set(&m.annotations, "k", "v");
    char *out = NULL;
    CHECK_INT(ml__manifest_emit(&m, &out, NULL, NULL), ML_OK);
    CHECK_STR(out,
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
        "\"manifests\":[{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
        "\"digest\":\"sha256:06a5819608db3637c0df189777d9a64923b185f8ce14b18892d375c3fa9a01e9\",\"size\":527,"
        "\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}},"
        "{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
        "\"digest\":\"sha256:90c5a2d5c2b5b2f1b1a7eb6a0c5e8f7a1f0f2d43d3b6e1d9e1c4b4e6f1f0e3a2\",\"size\":1125,"
        "\"platform\":{\"architecture\":\"amd64\",\"os\":\"windows\",\"os.version\":\"10.0.17763.5576\"}}],"
        "\"annotations\":{\"k\":\"v\"}}");
    free(out);
    ml__manifest_clear(&m);
}

static void test_emit_images(void)
{
    ml__manifest m;
    memset(&m, 0, sizeof(m));
    m.kind = ML__KIND_OCI_MANIFEST;
    set_descriptor(&m.config, ML__MT_OCI_CONFIG, D_CFG_AMD64, 617);
    m.layers = calloc(1, sizeof(ml__descriptor));
    m.layer_count = 1;
    set_descriptor(&m.layers[0], "application/vnd.oci.image.layer.v1.tar+gzip", D_LAYER, 32);
    EXPECT_EMIT(&m,
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
        "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
        "\"digest\":\"sha256:a394182f24ebfaff11d8bfc5b7502e91bb087adcc4fba2614317a1f5708fe705\",\"size\":617},"
        "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
        "\"digest\":\"sha256:4abcf20661432fb2d719aaf90656f55c287f8ca915dc1c92ec14ff61e67fbaf8\",\"size\":32}]}");

    /* OCI 1.1 artifact fields */
    m.artifact_type = ml__strdup("application/vnd.example.sig");
    m.has_subject = true;
    set_descriptor(&m.subject, MT_OM, D_OCI_AMD64, 668);
    ml__annotations_set(&m.annotations, "org.opencontainers.image.created", "2024-03-08T18:53:44Z");
    EXPECT_EMIT(&m,
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
        "\"artifactType\":\"application/vnd.example.sig\","
        "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
        "\"digest\":\"sha256:a394182f24ebfaff11d8bfc5b7502e91bb087adcc4fba2614317a1f5708fe705\",\"size\":617},"
        "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
        "\"digest\":\"sha256:4abcf20661432fb2d719aaf90656f55c287f8ca915dc1c92ec14ff61e67fbaf8\",\"size\":32}],"
        "\"subject\":{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
        "\"digest\":\"sha256:47618173a39179a1d106795e9ea6e4651dd10c0e413fb474ada385ef4e2c6829\",\"size\":668},"
        "\"annotations\":{\"org.opencontainers.image.created\":\"2024-03-08T18:53:44Z\"}}");

    /* a Docker image manifest: no artifact fields, layers always present */
    m.kind = ML__KIND_DOCKER_MANIFEST;
    EXPECT_EMIT_ERROR(&m, ML_ETYPE, "artifactType", "Docker image manifest");
    free(m.artifact_type);
    m.artifact_type = NULL;
    EXPECT_EMIT_ERROR(&m, ML_ETYPE, "subject", "Docker image manifest");
    ml__descriptor_clear(&m.subject);
    m.has_subject = false;
    EXPECT_EMIT_ERROR(&m, ML_ETYPE, "annotations", "Docker image manifest");
    ml__annotations_free(&m.annotations);
    ml__descriptor_clear(&m.layers[0]);
    m.layer_count = 0;
    free(m.config.media_type);
    m.config.media_type = ml__strdup(ML__MT_DOCKER_CONFIG);
    EXPECT_EMIT(&m,
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
        "\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\","
        "\"digest\":\"sha256:a394182f24ebfaff11d8bfc5b7502e91bb087adcc4fba2614317a1f5708fe705\",\"size\":617},"
        "\"layers\":[]}");
    /* missing config */
    ml__descriptor_clear(&m.config);
    EXPECT_EMIT_ERROR(&m, ML_EINVAL, "config.mediaType", NULL);
    ml__manifest_clear(&m);
}

static void test_emit_strings(void)
{
    ml__manifest m;
    new_list(&m, ML__KIND_OCI_INDEX, 0);
    /* JSON escapes: quote, backslash, newline, a control character; UTF-8
     * passes through */
    ml__annotations_set(&m.annotations, "org.opencontainers.image.description",
                        "say \"hi\"\\\n\x01 caf\xc3\xa9 / </script>");
    EXPECT_EMIT(&m,
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[],"
        "\"annotations\":{\"org.opencontainers.image.description\":"
        "\"say \\\"hi\\\"\\\\\\n\\u0001 caf\xc3\xa9 / </script>\"}}");
    char *out = NULL;
    size_t len = 0;
    CHECK_INT(ml__manifest_emit(&m, &out, &len, NULL), ML_OK);
    ml__manifest back;
    CHECK_INT(ml__manifest_parse(&back, out, len, NULL, NULL), ML_OK);
    CHECK_STR(ml__annotations_get(&back.annotations, "org.opencontainers.image.description"),
              "say \"hi\"\\\n\x01 caf\xc3\xa9 / </script>");
    ml__manifest_clear(&back);
    free(out);
    ml__manifest_clear(&m);
}

static void test_emit_errors(void)
{
    ml__manifest m;
    memset(&m, 0, sizeof(m));
    EXPECT_EMIT_ERROR(&m, ML_EINVAL, "kind", NULL);
    new_list(&m, ML__KIND_OCI_INDEX, 1);
    set_descriptor(&m.manifests[0], MT_OM, "sha256:abc", 1);
    EXPECT_EMIT_ERROR(&m, ML_EINVAL, "manifests[0].digest: invalid digest \"sha256:abc\"", NULL);
    free(m.manifests[0].digest);
    m.manifests[0].digest = NULL;
    EXPECT_EMIT_ERROR(&m, ML_EINVAL, "manifests[0].digest", NULL);
    m.manifests[0].digest = ml__strdup(D_OCI_AMD64);
    m.manifests[0].size = -1;
    EXPECT_EMIT_ERROR(&m, ML_EINVAL, "manifests[0].size", NULL);
    m.manifests[0].size = INT64_C(9007199254740993);
    EXPECT_EMIT_ERROR(&m, ML_EINVAL, "manifests[0].size", NULL);
    m.manifests[0].size = 1;
    free(m.manifests[0].media_type);
    m.manifests[0].media_type = ml__strdup("");
    EXPECT_EMIT_ERROR(&m, ML_EINVAL, "manifests[0].mediaType", NULL);
    free(m.manifests[0].media_type);
    m.manifests[0].media_type = ml__strdup(MT_OM);
    set_platform(&m.manifests[0], NULL, "amd64", NULL);
    EXPECT_EMIT_ERROR(&m, ML_EINVAL, "manifests[0].platform", "os");
    m.manifests[0].platform.os = ml__strdup("linux");
    /* annotations changed behind the API's back */
    ml__annotations_set(&m.annotations, "a", "1");
    ml__annotations_set(&m.annotations, "b", "2");
    char *tmp = m.annotations.keys[0];
    m.annotations.keys[0] = m.annotations.keys[1];
    m.annotations.keys[1] = tmp;
    EXPECT_EMIT_ERROR(&m, ML_EINVAL, "annotations", "sorted");
    ml__annotations_free(&m.annotations);
    char *out = NULL;
    CHECK_INT(ml__manifest_emit(&m, &out, NULL, NULL), ML_OK);
    free(out);
    CHECK_INT(ml__manifest_emit(NULL, &out, NULL, NULL), ML_EINVAL);
    CHECK_INT(ml__manifest_emit(&m, NULL, NULL, NULL), ML_EINVAL);
    ml__manifest_clear(&m);

    /* over 4 MiB would be refused by any registry */
    size_t n = 40000;
    new_list(&m, ML__KIND_OCI_INDEX, n);
    for (size_t i = 0; i < n; i++) {
        set_descriptor(&m.manifests[i], MT_OM, D_OCI_AMD64, 668);
        set_platform(&m.manifests[i], "linux", "amd64", NULL);
    }
    EXPECT_EMIT_ERROR(&m, ML_ETOOBIG, "4 MiB", NULL);
    ml__manifest_clear(&m);
}

/* ---- round trips ------------------------------------------------------- */

static void test_round_trip_canonical(void)
{
    static const char *const names[] = {
        "canonical-oci-index.json", "canonical-oci-index-subject.json", "canonical-docker-list.json",
        "canonical-docker-manifest.json", "canonical-oci-artifact.json",
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        size_t len, out_len = 0;
        char *json = read_fixture(names[i], &len), *out = NULL;
        ml__manifest m, back;
        ml_error *err = NULL;
        CHECK_INT(ml__manifest_parse(&m, json, len, NULL, &err), ML_OK);
        CHECK_INT(ml__manifest_emit(&m, &out, &out_len, &err), ML_OK);
        bool same = out && out_len == len && memcmp(out, json, len) == 0;
        CHECK(same);
        if (!same)
            fprintf(stderr, "  %s: %s\n  emitted %s\n", names[i], ml_error_message(err), out ? out : "(null)");
        CHECK_INT(ml__manifest_parse(&back, out, out_len, NULL, &err), ML_OK);
        CHECK(same_manifest(&m, &back));
        ml__manifest_clear(&m);
        ml__manifest_clear(&back);
        free(json);
        free(out);
        ml_error_free(err);
    }
}

/* Pretty documents as registries serve them: parse, emit, parse again gives
 * the same model, and emitting that gives the same bytes. */
static void test_round_trip_pretty(void)
{
    static const char *const names[] = {
        "docker-list.json", "docker-manifest.json", "oci-index-buildx.json", "oci-manifest.json",
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        ml__manifest m, back;
        char *a = NULL, *b = NULL;
        size_t alen = 0, blen = 0;
        CHECK_INT(parse_fixture(names[i], NULL, &m, NULL), ML_OK);
        CHECK_INT(ml__manifest_emit(&m, &a, &alen, NULL), ML_OK);
        CHECK_INT(ml__manifest_parse(&back, a, alen, NULL, NULL), ML_OK);
        CHECK(same_manifest(&m, &back));
        CHECK_INT(ml__manifest_emit(&back, &b, &blen, NULL), ML_OK);
        CHECK(a && b && alen == blen && memcmp(a, b, alen) == 0);
        ml__manifest_clear(&m);
        ml__manifest_clear(&back);
        free(a);
        free(b);
    }

    /* Docker Hub's key order and whitespace, in canonical form */
    ml__manifest m;
    char *out = NULL;
    CHECK_INT(parse_fixture("docker-list.json", NULL, &m, NULL), ML_OK);
    CHECK_INT(ml__manifest_emit(&m, &out, NULL, NULL), ML_OK);
    CHECK_STR(out,
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.list.v2+json\","
        "\"manifests\":[{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
        "\"digest\":\"sha256:06a5819608db3637c0df189777d9a64923b185f8ce14b18892d375c3fa9a01e9\",\"size\":527,"
        "\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}},"
        "{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
        "\"digest\":\"sha256:40867e891a0b6d43177ce213b1155fefd7fb597048e49377dd1af475733444d9\",\"size\":527,"
        "\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"}},"
        "{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
        "\"digest\":\"sha256:90c5a2d5c2b5b2f1b1a7eb6a0c5e8f7a1f0f2d43d3b6e1d9e1c4b4e6f1f0e3a2\",\"size\":1125,"
        "\"platform\":{\"architecture\":\"amd64\",\"os\":\"windows\",\"os.version\":\"10.0.17763.5576\"}}]}");
    free(out);
    ml__manifest_clear(&m);
}

/* Whether both JSON texts hold the same keys and values (cJSON_Compare
 * compares objects both ways, whatever the key order). */
static bool same_json(const char *a, size_t alen, const char *b, size_t blen)
{
    cJSON *x = a ? cJSON_ParseWithLength(a, alen) : NULL, *y = b ? cJSON_ParseWithLength(b, blen) : NULL;
    bool same = x && y && cJSON_Compare(x, y, true);
    cJSON_Delete(x);
    cJSON_Delete(y);
    return same;
}

/* What other tools add (OCI 1.1 "data", extension keys on descriptors,
 * platforms and the document) is written back with the same values. */
static void test_extra_members(void)
{
    size_t len, out_len = 0, again_len = 0;
    char *json = read_fixture("oci-index-extensions.json", &len), *out = NULL, *again = NULL;
    ml__manifest m, back;
    CHECK_INT(ml__manifest_parse(&m, json, len, NULL, NULL), ML_OK);
    CHECK_INT(ml__manifest_emit(&m, &out, &out_len, NULL), ML_OK);
    CHECK(same_json(json, len, out, out_len));
    /* numbers as written, not as doubles; the model's keys first */
    CHECK(test_contains(out, "\"io.example.count\":12345678901234567890,"));
    CHECK(test_contains(out, "\"io.example.ratio\":1.5e3}"));
    CHECK(test_contains(out, "{\"deep\":[2.50]}"));
    CHECK(test_contains(out, "\"annotations\":{\"org.opencontainers.image.ref.name\":\"v1\"},"
                             "\"data\":\"eyJzY2hlbWFWZXJzaW9uIjoyfQ==\","));
    CHECK(test_contains(out, "\"os\":\"linux\",\"io.example.cpu\":{\"flags\":[\"avx2\",\"sse4\"],\"level\":3}}"));

    /* same model, same bytes */
    CHECK_INT(ml__manifest_parse(&back, out, out_len, NULL, NULL), ML_OK);
    CHECK(same_manifest(&m, &back));
    CHECK_INT(ml__manifest_emit(&back, &again, &again_len, NULL), ML_OK);
    CHECK(again && again_len == out_len && memcmp(again, out, out_len) == 0);
    ml__manifest_clear(&back);
    free(again);
    again = NULL;

    /* a copy keeps them: the list with a copy in place writes the same */
    ml__descriptor copy;
    CHECK_INT(m.manifest_count, 2);
    if (m.manifest_count == 2 && ml__descriptor_copy(&copy, &m.manifests[0]) == ML_OK) {
        CHECK(descriptor_eq(&copy, &m.manifests[0]));
        CHECK_INT(copy.extra.count, 6);
        CHECK_INT(copy.platform_extra.count, 1);
        CHECK(copy.extra.count && copy.extra.values[0] != m.manifests[0].extra.values[0]);
        ml__descriptor_clear(&m.manifests[0]);
        m.manifests[0] = copy;
        CHECK_INT(ml__manifest_emit(&m, &again, &again_len, NULL), ML_OK);
        CHECK(again && again_len == out_len && memcmp(again, out, out_len) == 0);
    }
    ml__manifest_clear(&m);
    free(again);
    free(out);
    free(json);

    /* image manifests: config and layers keep theirs too */
    static const char image[] =
        "{\"schemaVersion\":2,\"mediaType\":\"" MT_OM "\",\"manifests\":[{\"x\":1}],"
        "\"config\":{\"mediaType\":\"" ML__MT_OCI_CONFIG "\",\"digest\":\"" D_CFG_AMD64 "\",\"size\":2,"
        "\"data\":\"e30=\"},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
        "\"digest\":\"" D_LAYER "\",\"size\":32,\"io.example.layer\":[-0,1E+2]}]}";
    CHECK_INT(parse_str(image, NULL, &m, NULL), ML_OK);
    CHECK_INT(ml__manifest_emit(&m, &out, &out_len, NULL), ML_OK);
    CHECK(same_json(image, strlen(image), out, out_len));
    CHECK(test_contains(out, "[-0,1E+2]"));
    ml__manifest_clear(&m);
    free(out);

    /* read as strictly as the rest */
    EXPECT_ERROR(entry_with(",\"size\":1,\"data\":5"), NULL, ML_EMANIFEST, "manifests[1].data: must be a string",
                 NULL);
    EXPECT_ERROR(entry_with(",\"size\":1,\"io.x\":1,\"io.x\":2"), NULL, ML_EMANIFEST,
                 "manifests[1]: duplicate key \"io.x\"", NULL);
    EXPECT_ERROR(entry_with(",\"size\":1,\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\",\"io.x\":[],"
                            "\"io.x\":{}}"),
                 NULL, ML_EMANIFEST, "manifests[1].platform: duplicate key \"io.x\"", NULL);
    EXPECT_ERROR("{\"schemaVersion\":2,\"io.x\":1,\"mediaType\":\"" ML__MT_OCI_INDEX "\",\"manifests\":[],\"io.x\":1}",
                 NULL, ML_EMANIFEST, "duplicate key \"io.x\"", NULL);
    EXPECT_ERROR(entry_with(",\"size\":1,\"io.x\":01"), NULL, ML_EMANIFEST, "invalid JSON number", NULL);

    /* a model built by hand cannot write a key twice or broken JSON */
    new_list(&m, ML__KIND_OCI_INDEX, 1);
    set_descriptor(&m.manifests[0], MT_OM, D_OCI_AMD64, 668);
    ml__annotations_set(&m.manifests[0].extra, "digest", "\"sha256:x\"");
    EXPECT_EMIT_ERROR(&m, ML_EINVAL, "manifests[0]: extra member \"digest\" is one of the model's keys", NULL);
    ml__annotations_free(&m.manifests[0].extra);
    ml__annotations_set(&m.extra, "io.x", "{");
    EXPECT_EMIT_ERROR(&m, ML_EINVAL, "extra member \"io.x\" is not JSON", NULL);
    ml__annotations_free(&m.extra);
    ml__annotations_set(&m.extra, "manifests", "[]");
    EXPECT_EMIT_ERROR(&m, ML_EINVAL, "\"manifests\" is one of the model's keys", NULL);
    ml__manifest_clear(&m);
}

static void test_descriptor_copy(void)
{
    ml__manifest m;
    ml__descriptor copy;
    CHECK_INT(parse_fixture("canonical-oci-index.json", NULL, &m, NULL), ML_OK);
    if (m.manifest_count < 4) {
        ml__manifest_clear(&m);
        return;
    }
    for (size_t i = 0; i < m.manifest_count; i++) {
        CHECK_INT(ml__descriptor_copy(&copy, &m.manifests[i]), ML_OK);
        CHECK(descriptor_eq(&copy, &m.manifests[i]));
        CHECK(copy.digest != m.manifests[i].digest);
        ml__descriptor_clear(&copy);
        CHECK(copy.digest == NULL && copy.annotations.count == 0 && !copy.has_platform);
    }
    CHECK_INT(ml__descriptor_copy(&copy, &m.manifests[2]), ML_OK);
    ml__manifest_clear(&m);
    /* the copy owns its strings */
    CHECK_STR(copy.platform.os_version, "10.0.17763.5576");
    CHECK_STR(copy.platform.os_features.items[0], "win32k");
    ml__descriptor_clear(&copy);

    CHECK_INT(parse_fixture("canonical-docker-manifest.json", NULL, &m, NULL), ML_OK);
    CHECK_INT(ml__descriptor_copy(&copy, &m.layers[0]), ML_OK);
    CHECK(descriptor_eq(&copy, &m.layers[0]));
    CHECK_INT(copy.urls.count, 1);
    ml__descriptor_clear(&copy);
    ml__descriptor_clear(&copy);
    ml__descriptor_clear(NULL);
    ml__manifest_clear(&m);
    ml__manifest_clear(&m);
    ml__manifest_clear(NULL);
}

/* ---- image configs ----------------------------------------------------- */

static int config_fixture(const char *name, ml_platform *p, ml_error **err)
{
    size_t len;
    char *json = read_fixture(name, &len);
    int rc = ml__config_platform(json, len, p, err);
    free(json);
    return rc;
}

static void test_config_platform(void)
{
    ml_platform p;
    ml_error *err = NULL;
    CHECK_INT(config_fixture("config-linux-amd64.json", &p, &err), ML_OK);
    CHECK_STR(p.os, "linux");
    CHECK_STR(p.architecture, "amd64");
    CHECK(p.variant == NULL);
    CHECK(p.os_version == NULL);
    CHECK_INT(p.os_features.count, 0);
    ml__platform_clear(&p);

    CHECK_INT(config_fixture("config-linux-arm64-v8.json", &p, &err), ML_OK);
    CHECK_STR(p.os, "linux");
    CHECK_STR(p.architecture, "arm64");
    CHECK_STR(p.variant, "v8");
    ml__platform_clear(&p);

    CHECK_INT(config_fixture("config-windows.json", &p, &err), ML_OK);
    CHECK_STR(p.os, "windows");
    CHECK_STR(p.architecture, "amd64");
    CHECK_STR(p.os_version, "10.0.17763.5576");
    CHECK_INT(p.os_features.count, 1);
    CHECK_STR(p.os_features.count ? p.os_features.items[0] : NULL, "win32k");
    CHECK(p.variant == NULL);
    ml__platform_clear(&p);
    CHECK(err == NULL);

    CHECK_INT(config_fixture("config-no-os.json", &p, &err), ML_EMANIFEST);
    CHECK(test_contains(ml_error_message(err), "image config: os: missing"));
    CHECK(p.os == NULL && p.architecture == NULL);
    CHECK_INT(config_fixture("config-no-arch.json", &p, &err), ML_EMANIFEST);
    CHECK(test_contains(ml_error_message(err), "image config: architecture: missing"));
    CHECK(p.os == NULL);

    const char *bad = "{\"architecture\":\"amd64\",\"os\":5}";
    CHECK_INT(ml__config_platform(bad, strlen(bad), &p, &err), ML_EMANIFEST);
    CHECK(test_contains(ml_error_message(err), "os: must be a string"));
    bad = "{\"architecture\":\"amd64\",\"os\":\"\"}";
    CHECK_INT(ml__config_platform(bad, strlen(bad), &p, &err), ML_EMANIFEST);
    CHECK(test_contains(ml_error_message(err), "os: must not be empty"));
    bad = "{\"architecture\":\"amd64\",\"os\":\"windows\",\"os.features\":[1]}";
    CHECK_INT(ml__config_platform(bad, strlen(bad), &p, &err), ML_EMANIFEST);
    CHECK(test_contains(ml_error_message(err), "os.features[0]: must be a string"));
    bad = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"os\":\"windows\"}";
    CHECK_INT(ml__config_platform(bad, strlen(bad), &p, &err), ML_EMANIFEST);
    CHECK(test_contains(ml_error_message(err), "image config: duplicate key \"os\""));
    bad = "{\"architecture\":\"amd64\",\"os\":\"linux\"";
    CHECK_INT(ml__config_platform(bad, strlen(bad), &p, &err), ML_EMANIFEST);
    CHECK(test_contains(ml_error_message(err), "image config: invalid JSON at byte"));
    /* configs meet the same strict reader as manifests */
    bad = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Labels\":{\"a\":\"1\",\"a\":\"2\"}}}";
    CHECK_INT(ml__config_platform(bad, strlen(bad), &p, &err), ML_EMANIFEST);
    CHECK(test_contains(ml_error_message(err), "image config: config.Labels: duplicate key \"a\""));
    bad = "{\"architecture\":\"amd64\",\"os\":\"linux\\u0000x\"}";
    CHECK_INT(ml__config_platform(bad, strlen(bad), &p, &err), ML_EMANIFEST);
    CHECK(test_contains(ml_error_message(err), "\\u0000 in a string"));
    bad = "[\"linux\"]";
    CHECK_INT(ml__config_platform(bad, strlen(bad), &p, &err), ML_EMANIFEST);
    CHECK(test_contains(ml_error_message(err), "not a JSON object"));
    CHECK_INT(ml__config_platform("", 0, &p, &err), ML_EMANIFEST);

    /* minimal config, extra fields ignored, empty variant is none */
    const char *ok = "{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"\",\"features\":7,\"size\":1.5}";
    CHECK_INT(ml__config_platform(ok, strlen(ok), &p, &err), ML_OK);
    CHECK_STR(p.architecture, "arm");
    CHECK(p.variant == NULL);
    CHECK_INT(p.features.count, 0);
    ml__platform_clear(&p);

    char *big = malloc(ML__CONFIG_MAX + 1);
    memset(big, ' ', ML__CONFIG_MAX + 1);
    CHECK_INT(ml__config_platform(big, ML__CONFIG_MAX + 1, &p, &err), ML_ETOOBIG);
    free(big);
    /* a config may be bigger than a manifest */
    size_t n = ML__MANIFEST_MAX + 100;
    big = malloc(n);
    memset(big, ' ', n);
    const char *small = "{\"os\":\"linux\",\"architecture\":\"amd64\"}";
    memcpy(big, small, strlen(small));
    CHECK_INT(ml__config_platform(big, n, &p, &err), ML_OK);
    ml__platform_clear(&p);
    free(big);
    ml_error_free(err);
}

int main(void)
{
    TEST_RUN(test_kind_of);
    TEST_RUN(test_media_type_valid);
    TEST_RUN(test_parse_media_type_injection);
    TEST_RUN(test_annotations);
    TEST_RUN(test_parse_docker_manifest);
    TEST_RUN(test_parse_docker_list);
    TEST_RUN(test_parse_oci);
    TEST_RUN(test_parse_media_type_sources);
    TEST_RUN(test_parse_document_errors);
    TEST_RUN(test_parse_structure_errors);
    TEST_RUN(test_parse_descriptor_errors);
    TEST_RUN(test_emit_index);
    TEST_RUN(test_emit_docker_list);
    TEST_RUN(test_emit_images);
    TEST_RUN(test_emit_strings);
    TEST_RUN(test_emit_errors);
    TEST_RUN(test_round_trip_canonical);
    TEST_RUN(test_round_trip_pretty);
    TEST_RUN(test_extra_members);
    TEST_RUN(test_descriptor_copy);
    TEST_RUN(test_config_platform);
    TEST_END();
}
