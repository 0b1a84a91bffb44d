/* Build, push and edit against the in-memory store: the layers above the
 * stores, with no HTTP. Expected digests are computed here, from bytes the
 * test builds or reads back from the store. */
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "manifest.h"
#include "memclient.h"

#define REG "mem.test"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"

typedef struct image {
    char manifest[ML__DIGEST_MAX];
    char config[ML__DIGEST_MAX];
    char layer[ML__DIGEST_MAX];
} image;

/* An image for linux/ARCH, tagged ARCH in repository src. */
static image seed_image(ml__memstore *m, const char *arch)
{
    image im;
    memset(&im, 0, sizeof(im));
    char config[256], layer[64], body[1024];
    snprintf(config, sizeof(config), "{\"architecture\":\"%s\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\","
                                     "\"diff_ids\":[]}}", arch);
    snprintf(layer, sizeof(layer), "layer bytes of %s", arch);
    CHECK_INT(ml__memstore_put_blob(m, "src", config, strlen(config), im.config), ML_OK);
    CHECK_INT(ml__memstore_put_blob(m, "src", layer, strlen(layer), im.layer), ML_OK);
    snprintf(body, sizeof(body),
             "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_MANIFEST "\",\"config\":{\"mediaType\":"
             "\"application/vnd.oci.image.config.v1+json\",\"digest\":\"%s\",\"size\":%zu},\"layers\":[{"
             "\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"%s\",\"size\":%zu}]}",
             im.config, strlen(config), im.layer, strlen(layer));
    CHECK_INT(ml__memstore_put_manifest(m, "src", arch, MT_OCI_MANIFEST, body, im.manifest), ML_OK);
    return im;
}

typedef struct fixture {
    ml__memstore *m;
    ml_client *c;
    image amd64, arm64;
} fixture;

static fixture setup(void)
{
    fixture f = {0};
    test_mem_client(&f.m, &f.c, REG);
    f.amd64 = seed_image(f.m, "amd64");
    f.arm64 = seed_image(f.m, "arm64");
    return f;
}

static void teardown(fixture *f)
{
    test_mem_client_free(f->m, f->c);
}

/* A list at app:1 (and app:latest) of the images of the given tags. */
static ml_list *build(fixture *f, const char *const *images, size_t n)
{
    ml_spec *spec = NULL;
    ml_list *l = NULL;
    size_t index = 0;
    CHECK_INT(ml_spec_new(&spec, NULL, NULL), ML_OK);
    CHECK_INT(ml_spec_add_list(spec, REG "/app:1", &index, NULL), ML_OK);
    CHECK_INT(ml_spec_add_tag(spec, index, "latest", NULL), ML_OK);
    for (size_t i = 0; i < n; i++)
        CHECK_INT(ml_spec_add_entry(spec, index, images[i], NULL, NULL, NULL), ML_OK);
    ml_error *err = NULL;
    int rc = ml_list_build(&l, f->c, spec, index, NULL, &err);
    CHECK_INT(rc, ML_OK);
    if (rc != ML_OK)
        fprintf(stderr, "build: %s\n", ml_error_message(err));
    ml_error_free(err);
    ml_spec_free(spec);
    return l;
}

static int push(fixture *f, ml_list *l, uint32_t flags, ml_result **res)
{
    ml_push_options o = ML_PUSH_OPTIONS_INIT;
    o.flags = flags;
    return ml_list_push(l, f->c, &o, res, NULL);
}

/* The list a tag of app names, parsed; checks that the stored bytes are
 * those of their digest. */
static ml__manifest stored_list(fixture *f, const char *tag)
{
    ml__manifest model = {0};
    const char *digest = ml__memstore_tag(f->m, "app", tag);
    size_t len = 0;
    const char *body = digest ? ml__memstore_get(f->m, "app", digest, &len) : NULL;
    CHECK(body != NULL);
    if (!body)
        return model;
    CHECK_INT(ml__digest_verify(digest, body, len, NULL), ML_OK);
    CHECK_INT(ml__manifest_parse(&model, body, len, NULL, NULL), ML_OK);
    return model;
}

static bool lists_child(const ml__manifest *list, const char *digest)
{
    for (size_t i = 0; i < list->manifest_count; i++)
        if (ml__str_eq(list->manifests[i].digest, digest))
            return true;
    return false;
}

static void test_push_copies_children_and_moves_tags(void)
{
    fixture f = setup();
    const char *images[] = {REG "/src:amd64", REG "/src:arm64"};
    ml_list *l = build(&f, images, 2);
    ml_result *res = NULL;
    CHECK_INT(push(&f, l, 0, &res), ML_OK);
    char expected[ML__DIGEST_MAX];
    size_t len = 0;
    const char *bytes = ml_list_bytes(l, &len);
    CHECK_INT(ml__digest_compute("sha256", bytes, len, expected, NULL), ML_OK);
    CHECK_STR(ml__memstore_tag(f.m, "app", "1"), expected);
    CHECK_STR(ml__memstore_tag(f.m, "app", "latest"), expected);
    CHECK_STR(ml_result_digest(res), expected);
    ml__manifest list = stored_list(&f, "1");
    CHECK_INT(list.manifest_count, 2);
    const image *ims[] = {&f.amd64, &f.arm64};
    for (size_t i = 0; i < 2; i++) {
        CHECK(lists_child(&list, ims[i]->manifest));
        CHECK(ml__memstore_get(f.m, "app", ims[i]->manifest, NULL) != NULL);
        CHECK(ml__memstore_get(f.m, "app", ims[i]->config, NULL) != NULL);
        CHECK(ml__memstore_get(f.m, "app", ims[i]->layer, NULL) != NULL);
    }
    ml__manifest_clear(&list);
    ml_result_free(res);
    ml_list_free(l);
    teardown(&f);
}

static void test_push_again_is_up_to_date(void)
{
    fixture f = setup();
    const char *images[] = {REG "/src:amd64"};
    ml_list *l = build(&f, images, 1);
    ml_result *res = NULL;
    CHECK_INT(push(&f, l, 0, &res), ML_OK);
    ml_result_free(res);
    size_t writes = ml__memstore_writes(f.m);
    res = NULL;
    CHECK_INT(push(&f, l, 0, &res), ML_OK);
    CHECK_INT(ml_result_up_to_date(res), 1);
    CHECK_INT(ml__memstore_writes(f.m), writes);
    ml_result_free(res);
    ml_list_free(l);
    teardown(&f);
}

/* A list is pushed as it was built: push options of the build phase that
 * ask for something else are refused before anything is written. */
static void test_push_refuses_options_the_build_did_not_use(void)
{
    fixture f = setup();
    const char *images[] = {REG "/src:amd64"};
    ml_list *l = build(&f, images, 1); /* an OCI index: its child is OCI */
    const char *annotation[] = {"org.example.k=v"};
    ml_push_options docker = ML_PUSH_OPTIONS_INIT, annotated = ML_PUSH_OPTIONS_INIT,
                    ignore = ML_PUSH_OPTIONS_INIT, same = ML_PUSH_OPTIONS_INIT;
    docker.type = ML_TYPE_DOCKER;
    annotated.annotations = annotation;
    annotated.annotation_count = 1;
    ignore.flags = ML_PUSH_IGNORE_MISSING;
    same.type = ML_TYPE_OCI;
    same.flags = ML_PUSH_DRY_RUN;
    const ml_push_options *refused[] = {&docker, &annotated, &ignore};
    for (size_t i = 0; i < 3; i++) {
        ml_error *err = NULL;
        CHECK_INT(ml_list_push(l, f.c, refused[i], NULL, &err), ML_EINVAL);
        CHECK(strstr(ml_error_message(err), "built") != NULL);
        ml_error_free(err);
    }
    CHECK_INT(ml__memstore_writes(f.m), 0);
    CHECK_INT(ml_list_push(l, f.c, &same, NULL, NULL), ML_OK);
    ml_list_free(l);
    teardown(&f);
}

static void test_dry_run_plans_and_writes_nothing(void)
{
    fixture f = setup();
    const char *images[] = {REG "/src:amd64", REG "/src:arm64"};
    ml_list *l = build(&f, images, 2);
    ml_result *res = NULL;
    CHECK_INT(push(&f, l, ML_PUSH_DRY_RUN, &res), ML_OK);
    CHECK_INT(ml__memstore_writes(f.m), 0);
    CHECK(ml__memstore_tag(f.m, "app", "1") == NULL);
    bool copy_manifest = false, copy_blob = false;
    for (size_t i = 0; i < ml_result_plan_count(res); i++) {
        copy_manifest |= test_contains(ml_result_plan(res, i), "copy manifest") != 0;
        copy_blob |= test_contains(ml_result_plan(res, i), f.amd64.layer) &&
                     test_contains(ml_result_plan(res, i), "copy blob");
    }
    CHECK(copy_manifest);
    CHECK(copy_blob);
    ml_result_free(res);
    ml_list_free(l);
    teardown(&f);
}

/* A concurrent writer moves app:1 between the read and the write. */
static void move_tag_once(void *payload, ml__memstore *m, const char *repository, const char *tag)
{
    int *left = payload;
    if (*left == 0 || strcmp(tag, "1") != 0)
        return;
    (*left)--;
    CHECK_INT(ml__memstore_put_manifest(m, repository, tag, MT_OCI_MANIFEST,
                                        "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_MANIFEST "\"}", NULL),
              ML_OK);
}

static void test_concurrent_move_is_a_conflict_unless_forced(void)
{
    fixture f = setup();
    const char *images[] = {REG "/src:amd64", REG "/src:arm64"};
    ml_list *l = build(&f, images, 2);
    int moves = 1;
    ml__memstore_on_tag_write(f.m, move_tag_once, &moves);
    ml_result *res = NULL;
    CHECK_INT(push(&f, l, 0, &res), ML_ECONFLICT);
    CHECK_INT(moves, 0);
    CHECK(!ml__str_eq(ml__memstore_tag(f.m, "app", "1"), ml_list_digest(l)));
    ml_result_free(res);
    res = NULL;
    moves = 1;
    CHECK_INT(push(&f, l, ML_PUSH_FORCE, &res), ML_OK);
    CHECK_STR(ml__memstore_tag(f.m, "app", "1"), ml_list_digest(l));
    ml_result_free(res);
    ml_list_free(l);
    teardown(&f);
}

static int edit(fixture *f, const char *const *add, size_t nadd, const char *const *remove, size_t nremove)
{
    ml_result *res = NULL;
    ml_error *err = NULL;
    int rc = ml_list_edit(f->c, REG "/app:1", add, nadd, remove, nremove, NULL, &res, &err);
    if (rc != ML_OK)
        fprintf(stderr, "edit: %s\n", ml_error_message(err));
    ml_error_free(err);
    ml_result_free(res);
    return rc;
}

static void test_edit_adds_and_removes(void)
{
    fixture f = setup();
    const char *first[] = {REG "/src:amd64"};
    CHECK_INT(edit(&f, first, 1, NULL, 0), ML_OK); /* created from the addition */
    const char *more[] = {REG "/src:arm64"};
    CHECK_INT(edit(&f, more, 1, NULL, 0), ML_OK);
    ml__manifest list = stored_list(&f, "1");
    CHECK_INT(list.manifest_count, 2);
    CHECK(lists_child(&list, f.amd64.manifest));
    CHECK(lists_child(&list, f.arm64.manifest));
    ml__manifest_clear(&list);
    const char *gone[] = {"linux/amd64"};
    CHECK_INT(edit(&f, NULL, 0, gone, 1), ML_OK);
    list = stored_list(&f, "1");
    CHECK_INT(list.manifest_count, 1);
    CHECK(lists_child(&list, f.arm64.manifest));
    CHECK(ml__memstore_get(f.m, "app", f.arm64.layer, NULL) != NULL);
    ml__manifest_clear(&list);
    teardown(&f);
}

/* An edit described with the spec builder: extra tags move, the full
 * platform (os.version, os.features) and annotations of an addition are
 * kept, index annotations are set, and a removal still applies. */
static void test_edit_with_a_built_spec(void)
{
    fixture f = setup();
    const char *first[] = {REG "/src:arm64"};
    CHECK_INT(edit(&f, first, 1, NULL, 0), ML_OK);
    ml_spec *spec = NULL;
    size_t index = 0, entry = 0;
    CHECK_INT(ml_spec_new(&spec, NULL, NULL), ML_OK);
    CHECK_INT(ml_spec_add_list(spec, REG "/app:1", &index, NULL), ML_OK);
    CHECK_INT(ml_spec_add_tag(spec, index, "stable", NULL), ML_OK);
    CHECK_INT(ml_spec_list_annotate(spec, index, "org.example.list", "yes", NULL), ML_OK);
    CHECK_INT(ml_spec_add_entry(spec, index, REG "/src:amd64", "linux/amd64", &entry, NULL), ML_OK);
    CHECK_INT(ml_spec_entry_set_os_version(spec, index, entry, "5.15", NULL), ML_OK);
    CHECK_INT(ml_spec_entry_add_os_feature(spec, index, entry, "sse4", NULL), ML_OK);
    CHECK_INT(ml_spec_entry_annotate(spec, index, entry, "org.example.entry", "amd", NULL), ML_OK);
    ml_push_options o = ML_PUSH_OPTIONS_INIT;
    ml_result *res = NULL;
    ml_error *err = NULL;
    CHECK_INT(ml_list_edit_spec(f.c, spec, index, NULL, 0, &o, &res, &err), ML_OK);
    CHECK_STR(ml__memstore_tag(f.m, "app", "stable"), ml__memstore_tag(f.m, "app", "1"));
    CHECK_STR(ml_result_digest(res), ml__memstore_tag(f.m, "app", "1"));
    ml__manifest list = stored_list(&f, "1");
    CHECK_INT(list.manifest_count, 2);
    CHECK(lists_child(&list, f.arm64.manifest));
    CHECK_STR(ml__annotations_get(&list.annotations, "org.example.list"), "yes");
    for (size_t i = 0; i < list.manifest_count; i++) {
        const ml__descriptor *d = &list.manifests[i];
        if (!ml__str_eq(d->digest, f.amd64.manifest))
            continue;
        CHECK_STR(d->platform.os_version, "5.15");
        CHECK_INT(d->platform.os_features.count, 1);
        CHECK_STR(ml__annotations_get(&d->annotations, "org.example.entry"), "amd");
    }
    ml__manifest_clear(&list);
    ml_result_free(res);
    const char *gone[] = {"linux/arm64"};
    CHECK_INT(ml_list_edit_spec(f.c, spec, index, gone, 1, &o, NULL, NULL), ML_OK);
    list = stored_list(&f, "1");
    CHECK_INT(list.manifest_count, 1);
    CHECK(lists_child(&list, f.amd64.manifest));
    ml__manifest_clear(&list);
    CHECK_INT(ml_list_edit_spec(f.c, spec, 5, NULL, 0, &o, NULL, NULL), ML_EINVAL);
    ml_error_free(err);
    ml_spec_free(spec);
    teardown(&f);
}

/* An edit by spec follows that spec: its flags (a platform read from the
 * config is kept as written with ML_SPEC_NO_NORMALIZE) and its whole-list
 * checks (a list without entries is refused before anything is written). */
static void test_edit_with_a_spec_follows_its_flags_and_checks(void)
{
    fixture f = setup();
    seed_image(f.m, "x86_64");
    ml_spec_options so = ML_SPEC_OPTIONS_INIT;
    so.flags = ML_SPEC_NO_NORMALIZE;
    ml_spec *spec = NULL;
    size_t index = 0, empty = 0;
    CHECK_INT(ml_spec_new(&spec, &so, NULL), ML_OK);
    CHECK_INT(ml_spec_add_list(spec, REG "/app:1", &index, NULL), ML_OK);
    CHECK_INT(ml_spec_add_entry(spec, index, REG "/src:x86_64", NULL, NULL, NULL), ML_OK);
    CHECK_INT(ml_spec_add_list(spec, REG "/app:2", &empty, NULL), ML_OK);
    ml_push_options o = ML_PUSH_OPTIONS_INIT;
    CHECK_INT(ml_list_edit_spec(f.c, spec, empty, NULL, 0, &o, NULL, NULL), ML_ESPEC);
    CHECK_INT(ml__memstore_writes(f.m), 0);
    CHECK_INT(ml_list_edit_spec(f.c, spec, index, NULL, 0, &o, NULL, NULL), ML_OK);
    ml__manifest list = stored_list(&f, "1");
    CHECK_INT(list.manifest_count, 1);
    if (list.manifest_count == 1)
        CHECK_STR(list.manifests[0].platform.architecture, "x86_64");
    ml__manifest_clear(&list);
    ml_spec_free(spec);
    teardown(&f);
}

int main(void)
{
    TEST_RUN(test_push_copies_children_and_moves_tags);
    TEST_RUN(test_push_again_is_up_to_date);
    TEST_RUN(test_push_refuses_options_the_build_did_not_use);
    TEST_RUN(test_dry_run_plans_and_writes_nothing);
    TEST_RUN(test_concurrent_move_is_a_conflict_unless_forced);
    TEST_RUN(test_edit_adds_and_removes);
    TEST_RUN(test_edit_with_a_built_spec);
    TEST_RUN(test_edit_with_a_spec_follows_its_flags_and_checks);
    TEST_END();
}
