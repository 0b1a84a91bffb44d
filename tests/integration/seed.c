/* ml-seed: pushes tiny but real images (gzip layers of a one-file tar, a
 * config with the platform, a manifest) and indexes into a registry with
 * the library's own upload code, for the integration tests and the demo.
 *
 *   ml-seed [GLOBAL] image REF --platform OS[(VERSION+FEATURE..)]/ARCH[/VARIANT] [--oci]
 *           [--os-version V] [--layers N] [--salt S]
 *   ml-seed [GLOBAL] index REF [--docker] [--attestations] CHILD_REF...
 *   GLOBAL: --plain-http --insecure --ca-cert F --username U --password P
 * Prints "<digest> <size> <mediaType>". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "manifest.h"
#include "registry.h"

typedef struct seed_opts {
    ml_client_options client;
    const char *mode, *ref, *platform, *os_version, *salt;
    bool oci, docker, attestations;
    int layers;
    const char **children;
    int child_count;
} seed_opts;

static int fail(ml_error *err, const char *what)
{
    fprintf(stderr, "ml-seed: %s: %s\n", what, err ? ml_error_message(err) : "failed");
    ml_error_free(err);
    return 1;
}

/* ---- a gzip member holding a one-file tar, with stored deflate blocks --- */

static uint32_t crc32_of(const unsigned char *p, size_t n)
{
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = crc & 1 ? (crc >> 1) ^ 0xedb88320u : crc >> 1;
    }
    return ~crc;
}

static size_t make_tar(unsigned char *tar, const char *content)
{
    size_t len = strlen(content);
    memset(tar, 0, 2048);
    snprintf((char *)tar, 100, "seed.txt");
    memcpy(tar + 100, "0000644", 8);
    memcpy(tar + 108, "0000000", 8);
    memcpy(tar + 116, "0000000", 8);
    snprintf((char *)tar + 124, 12, "%011zo", len);
    memcpy(tar + 136, "00000000000", 12);
    tar[156] = '0';
    memcpy(tar + 257, "ustar", 6);
    memcpy(tar + 263, "00", 2);
    memset(tar + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
        sum += tar[i];
    snprintf((char *)tar + 148, 8, "%06o", sum);
    memcpy(tar + 512, content, len);
    return 512 + 512 + 1024; /* header, one data block, end of archive */
}

static size_t make_gzip(unsigned char *gz, const unsigned char *data, size_t len)
{
    static const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    memcpy(gz, header, 10);
    size_t o = 10;
    gz[o++] = 1; /* final stored block */
    gz[o++] = len & 0xff;
    gz[o++] = (len >> 8) & 0xff;
    gz[o++] = ~len & 0xff;
    gz[o++] = (~len >> 8) & 0xff;
    memcpy(gz + o, data, len);
    o += len;
    uint32_t crc = crc32_of(data, len);
    for (int i = 0; i < 4; i++)
        gz[o++] = (crc >> (8 * i)) & 0xff;
    for (int i = 0; i < 4; i++)
        gz[o++] = (len >> (8 * i)) & 0xff;
    return o;
}

/* ---- pushing ------------------------------------------------------------ */

static int push_blob(ml_client *c, const ml_ref *repo, const void *data, size_t len, char digest[ML__DIGEST_MAX])
{
    ml_error *err = NULL;
    if (ml__digest_compute("sha256", data, len, digest, &err) != ML_OK ||
        ml__reg_upload_blob(c, repo, digest, data, len, &err) != ML_OK)
        return fail(err, "upload blob");
    return 0;
}

static int set_desc(ml__descriptor *d, const char *media_type, const char *digest, size_t size)
{
    d->media_type = ml__strdup(media_type);
    d->digest = ml__strdup(digest);
    d->size = (int64_t)size;
    return d->media_type && d->digest ? 0 : 1;
}

static int push_manifest(ml_client *c, const ml_ref *repo, const char *reference, ml__manifest *m)
{
    char *json = NULL;
    size_t len = 0;
    ml_error *err = NULL;
    char digest[ML__DIGEST_MAX];
    if (ml__manifest_emit(m, &json, &len, &err) != ML_OK ||
        ml__digest_compute("sha256", json, len, digest, &err) != ML_OK ||
        ml__store_put_manifest(c, repo, reference ? reference : digest, m->media_type, json, len, &err) != ML_OK) {
        free(json);
        return fail(err, "push manifest");
    }
    printf("%s %zu %s\n", digest, len, m->media_type);
    free(json);
    return 0;
}

static int push_layers(ml_client *c, const ml_ref *repo, const seed_opts *o, ml__manifest *m, ml__buf *diff_ids)
{
    m->layers = calloc((size_t)o->layers, sizeof(*m->layers));
    if (!m->layers)
        return 1;
    const char *layer_type = o->oci ? "application/vnd.oci.image.layer.v1.tar+gzip"
                                    : "application/vnd.docker.image.rootfs.diff.tar.gzip";
    for (int i = 0; i < o->layers; i++) {
        unsigned char tar[2048], gz[2200];
        char content[256], digest[ML__DIGEST_MAX], diff_id[ML__DIGEST_MAX];
        snprintf(content, sizeof(content), "%s %s layer %d\n", o->salt, o->platform, i);
        size_t tar_len = make_tar(tar, content);
        size_t gz_len = make_gzip(gz, tar, tar_len);
        if (ml__digest_compute("sha256", tar, tar_len, diff_id, NULL) != ML_OK ||
            push_blob(c, repo, gz, gz_len, digest) != 0 ||
            set_desc(&m->layers[m->layer_count++], layer_type, digest, gz_len) != 0)
            return 1;
        ml__buf_printf(diff_ids, "%s\"%s\"", i ? "," : "", diff_id);
    }
    return 0;
}

static char *config_json(const ml_platform *p, const char *os_version, const char *diff_ids)
{
    ml__buf b = {0};
    ml__buf_printf(&b, "{\"architecture\":\"%s\",\"os\":\"%s\"", p->architecture, p->os);
    if (p->variant)
        ml__buf_printf(&b, ",\"variant\":\"%s\"", p->variant);
    if (os_version || p->os_version)
        ml__buf_printf(&b, ",\"os.version\":\"%s\"", os_version ? os_version : p->os_version);
    /* containerd's "windows(10.0.17763+win32k)/amd64" gives os.features. */
    for (size_t i = 0; i < p->os_features.count; i++)
        ml__buf_printf(&b, "%s\"%s\"%s", i ? "," : ",\"os.features\":[", p->os_features.items[i],
                       i + 1 == p->os_features.count ? "]" : "");
    ml__buf_printf(&b, ",\"config\":{},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[%s]}}", diff_ids);
    return ml__buf_take(&b);
}

static int seed_image(ml_client *c, const ml_ref *repo, const seed_opts *o)
{
    ml_platform p = {0};
    ml__manifest m = {0};
    ml__buf diff_ids = {0};
    ml_error *err = NULL;
    char config_digest[ML__DIGEST_MAX];
    if (!o->platform || ml__platform_parse(&p, o->platform, &err) != ML_OK)
        return fail(err, "--platform OS/ARCH[/VARIANT] is required");
    int rc = push_layers(c, repo, o, &m, &diff_ids);
    char *config = rc == 0 ? config_json(&p, o->os_version, diff_ids.data ? diff_ids.data : "") : NULL;
    if (rc == 0 && (!config || push_blob(c, repo, config, strlen(config), config_digest) != 0))
        rc = 1;
    if (rc == 0) {
        m.kind = o->oci ? ML__KIND_OCI_MANIFEST : ML__KIND_DOCKER_MANIFEST;
        m.media_type = ml__strdup(o->oci ? ML__MT_OCI_MANIFEST : ML__MT_DOCKER_MANIFEST);
        rc = set_desc(&m.config, o->oci ? ML__MT_OCI_CONFIG : ML__MT_DOCKER_CONFIG, config_digest, strlen(config));
    }
    if (rc == 0)
        rc = push_manifest(c, repo, repo->tag, &m);
    free(config);
    ml__buf_free(&diff_ids);
    ml__manifest_clear(&m);
    ml__platform_clear(&p);
    return rc;
}

/* ---- indexes ------------------------------------------------------------ */

static int child_descriptor(ml_client *c, const char *ref, ml__descriptor *d)
{
    ml_ref r = {0};
    ml_error *err = NULL;
    if (ml__ref_parse(&r, ref, &err) != ML_OK)
        return fail(err, ref);
    ml__item it = {.repo = &r, .reference = r.digest ? r.digest : r.tag ? r.tag : "latest"};
    ml__manifest m = {0};
    int rc = 1;
    if (ml__reg_get_manifests(c, &it, 1) == ML_OK && it.rc == ML_OK &&
        ml__manifest_parse(&m, it.body, it.len, it.media_type, &err) == ML_OK) {
        ml__item cfg = {.repo = &r, .reference = m.config.digest};
        if (ml__reg_get_blobs(c, &cfg, 1, ML__CONFIG_MAX) == ML_OK && cfg.rc == ML_OK &&
            ml__config_platform(cfg.body, cfg.len, &d->platform, &err) == ML_OK) {
            d->has_platform = true;
            rc = set_desc(d, m.media_type, it.digest, it.len);
        }
        if (cfg.err)
            err = cfg.err, cfg.err = NULL;
        ml__item_clear(&cfg);
    } else if (it.err) {
        err = it.err;
        it.err = NULL;
    }
    if (rc != 0)
        fail(err, ref);
    ml__manifest_clear(&m);
    ml__item_clear(&it);
    ml__ref_clear(&r);
    return rc;
}

/* A buildx-style attestation: an OCI manifest with an in-toto layer,
 * platform unknown/unknown, pointing at its image by annotation. */
static int push_attestation(ml_client *c, const ml_ref *repo, const ml__descriptor *image, ml__descriptor *out)
{
    char statement[512], config[256], layer_digest[ML__DIGEST_MAX], config_digest[ML__DIGEST_MAX];
    snprintf(statement, sizeof(statement), "{\"_type\":\"https://in-toto.io/Statement/v0.1\",\"subject\":[{\"digest\":{\"sha256\":\"%s\"}}]}",
             image->digest + 7);
    snprintf(config, sizeof(config), "{\"architecture\":\"unknown\",\"os\":\"unknown\",\"config\":{},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
             "sha256:0000000000000000000000000000000000000000000000000000000000000000");
    ml__manifest m = {.kind = ML__KIND_OCI_MANIFEST};
    m.media_type = ml__strdup(ML__MT_OCI_MANIFEST);
    m.layers = calloc(1, sizeof(*m.layers));
    int rc = !m.media_type || !m.layers;
    if (rc == 0)
        rc = push_blob(c, repo, statement, strlen(statement), layer_digest) ||
             push_blob(c, repo, config, strlen(config), config_digest) ||
             set_desc(&m.config, ML__MT_OCI_CONFIG, config_digest, strlen(config)) ||
             set_desc(&m.layers[0], "application/vnd.in-toto+json", layer_digest, strlen(statement)) ||
             ml__annotations_set(&m.layers[0].annotations, "in-toto.io/predicate-type", "https://spdx.dev/Document");
    m.layer_count = 1;
    char *json = NULL;
    size_t len = 0;
    char digest[ML__DIGEST_MAX];
    ml_error *err = NULL;
    if (rc == 0 && (ml__manifest_emit(&m, &json, &len, &err) != ML_OK ||
                    ml__digest_compute("sha256", json, len, digest, &err) != ML_OK ||
                    ml__store_put_manifest(c, repo, digest, ML__MT_OCI_MANIFEST, json, len, &err) != ML_OK))
        rc = fail(err, "push attestation");
    if (rc == 0) {
        out->has_platform = true;
        out->platform.os = ml__strdup("unknown");
        out->platform.architecture = ml__strdup("unknown");
        rc = set_desc(out, ML__MT_OCI_MANIFEST, digest, len) ||
             ml__annotations_set(&out->annotations, "vnd.docker.reference.digest", image->digest) ||
             ml__annotations_set(&out->annotations, "vnd.docker.reference.type", "attestation-manifest");
    }
    free(json);
    ml__manifest_clear(&m);
    return rc;
}

static int seed_index(ml_client *c, const ml_ref *repo, const seed_opts *o)
{
    size_t n = (size_t)o->child_count;
    ml__manifest m = {.kind = o->docker ? ML__KIND_DOCKER_LIST : ML__KIND_OCI_INDEX};
    m.media_type = ml__strdup(o->docker ? ML__MT_DOCKER_LIST : ML__MT_OCI_INDEX);
    m.manifests = calloc(n * 2 + 1, sizeof(*m.manifests));
    int rc = !m.media_type || !m.manifests;
    for (size_t i = 0; rc == 0 && i < n; i++, m.manifest_count++)
        rc = child_descriptor(c, o->children[i], &m.manifests[i]);
    for (size_t i = 0; rc == 0 && o->attestations && i < n; i++, m.manifest_count++)
        rc = push_attestation(c, repo, &m.manifests[i], &m.manifests[n + i]);
    if (rc == 0)
        rc = push_manifest(c, repo, repo->tag, &m);
    ml__manifest_clear(&m);
    return rc;
}

/* ---- arguments ---------------------------------------------------------- */

static int parse_args(seed_opts *o, int argc, char **argv)
{
    ml_client_options_init(&o->client, ML_CLIENT_OPTIONS_VERSION);
    o->layers = 1;
    o->salt = "seed";
    o->children = calloc((size_t)argc, sizeof(*o->children));
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--plain-http") == 0)
            o->client.flags |= ML_CLIENT_PLAIN_HTTP;
        else if (strcmp(a, "--insecure") == 0)
            o->client.flags |= ML_CLIENT_INSECURE;
        else if (strcmp(a, "--oci") == 0)
            o->oci = true;
        else if (strcmp(a, "--docker") == 0)
            o->docker = true;
        else if (strcmp(a, "--attestations") == 0)
            o->attestations = true;
        else if (next && strcmp(a, "--ca-cert") == 0)
            o->client.ca_cert = argv[++i];
        else if (next && strcmp(a, "--username") == 0)
            o->client.username = argv[++i];
        else if (next && strcmp(a, "--password") == 0)
            o->client.password = argv[++i];
        else if (next && strcmp(a, "--platform") == 0)
            o->platform = argv[++i];
        else if (next && strcmp(a, "--os-version") == 0)
            o->os_version = argv[++i];
        else if (next && strcmp(a, "--salt") == 0)
            o->salt = argv[++i];
        else if (next && strcmp(a, "--layers") == 0)
            o->layers = atoi(argv[++i]);
        else if (a[0] == '-')
            return fprintf(stderr, "ml-seed: unknown option %s\n", a), 2;
        else if (!o->mode)
            o->mode = a;
        else if (!o->ref)
            o->ref = a;
        else
            o->children[o->child_count++] = a;
    }
    if (!o->mode || !o->ref || o->layers < 1 || o->layers > 64)
        return fprintf(stderr, "usage: ml-seed image|index REF ...\n"), 2;
    return 0;
}

int main(int argc, char **argv)
{
    seed_opts o = {0};
    int rc = parse_args(&o, argc, argv);
    ml_client *c = NULL;
    ml_error *err = NULL;
    ml_ref repo = {0};
    if (rc == 0 && (ml_client_new(&c, &o.client, &err) != ML_OK || ml__ref_parse(&repo, o.ref, &err) != ML_OK))
        rc = fail(err, o.ref);
    if (rc == 0 && !repo.tag && !repo.digest)
        repo.tag = ml__strdup("latest");
    if (rc == 0)
        rc = strcmp(o.mode, "image") == 0 ? seed_image(c, &repo, &o)
             : strcmp(o.mode, "index") == 0 ? seed_index(c, &repo, &o)
                                            : (fprintf(stderr, "ml-seed: unknown mode %s\n", o.mode), 2);
    ml__ref_clear(&repo);
    ml_client_free(c);
    free(o.children);
    return rc;
}
