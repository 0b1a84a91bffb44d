/* OCI image layout store tests: each test builds its layouts in a fresh
 * directory under $TMPDIR and removes it afterwards. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "digest.h"
#include "fileio.h"
#include "layout.h"
#include "layoutfs.h"
#include "manifest.h"
#include "test.h"

#define MT_MANIFEST ML__MT_OCI_MANIFEST
#define CONFIG_DIGEST "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a" /* "{}" */
#define BAD_DIGEST "sha256:0000000000000000000000000000000000000000000000000000000000000000"
/* How long writes wait for a layout lock another writer holds. */
#define LOCK_WAIT_MS 30000

/* ---- fixtures ----------------------------------------------------------- */

static char *make_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *p = ml__asprintf("%s/mlist-layout-test-XXXXXX", base && *base ? base : "/tmp");
    if (p && !mkdtemp(p)) {
        free(p);
        return NULL;
    }
    return p;
}

static void rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char *child = ml__asprintf("%s/%s", path, e->d_name);
            rm_rf(child);
            free(child);
        }
        if (d)
            closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static char *join(const char *dir, const char *name) { return ml__asprintf("%s/%s", dir, name); }

static void write_text(const char *dir, const char *name, const char *text)
{
    char *p = join(dir, name);
    FILE *f = fopen(p, "wb");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    free(p);
}

static char *read_text(const char *dir, const char *name)
{
    char *p = join(dir, name), *data = NULL;
    size_t len;
    if (ml__read_file(p, 1 << 20, &data, &len, NULL) != ML_OK)
        data = NULL;
    free(p);
    return data;
}

static bool exists(const char *dir, const char *name)
{
    char *p = join(dir, name);
    struct stat st;
    bool found = stat(p, &st) == 0;
    free(p);
    return found;
}

/* Entries of dir whose name starts with prefix. */
static int count_prefixed(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)))
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    if (d)
        closedir(d);
    return n;
}

/* An OCI image manifest, distinct per n. */
static char *manifest_body(int n)
{
    return ml__asprintf("{\"schemaVersion\":2,\"mediaType\":\"" MT_MANIFEST "\",\"config\":{\"mediaType\":"
                        "\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" CONFIG_DIGEST
                        "\",\"size\":2},\"layers\":[],\"annotations\":{\"n\":\"%d\"}}",
                        n);
}

static void digest_of(const char *body, char out[ML__DIGEST_MAX])
{
    out[0] = '\0';
    ml__digest_compute("sha256", body, strlen(body), out, NULL);
}

/* "blobs/sha256/<hex>" of a digest. */
static char *blob_rel(const char *digest) { return ml__asprintf("blobs/sha256/%s", digest + 7); }

static void write_blob(const char *dir, const char *body)
{
    char d[ML__DIGEST_MAX];
    digest_of(body, d);
    char *rel = blob_rel(d);
    write_text(dir, rel, body);
    free(rel);
}

/* A layout written by hand, as skopeo writes one: index.json without a
 * mediaType of its own. */
static void hand_layout(const char *dir, const char *index_json)
{
    char *blobs = join(dir, "blobs"), *sha = join(dir, "blobs/sha256");
    mkdir(dir, 0755);
    mkdir(blobs, 0755);
    mkdir(sha, 0755);
    write_text(dir, "oci-layout", "{\"imageLayoutVersion\": \"1.0.0\"}");
    write_text(dir, "index.json", index_json);
    free(blobs);
    free(sha);
}

static char *index_entry(const char *body, const char *tag)
{
    char d[ML__DIGEST_MAX];
    digest_of(body, d);
    if (!tag)
        return ml__asprintf("{\"mediaType\":\"" MT_MANIFEST "\",\"digest\":\"%s\",\"size\":%zu}", d, strlen(body));
    return ml__asprintf("{\"mediaType\":\"" MT_MANIFEST "\",\"digest\":\"%s\",\"size\":%zu,\"annotations\":{\""
                        ML__LAYOUT_REF_NAME "\":\"%s\"}}",
                        d, strlen(body), tag);
}

static int put_typed(const ml_ref *repo, const char *reference, const char *body, const char *media_type,
                     char **digest, ml_error **err)
{
    ml__item it = {.repo = repo, .reference = reference, .body = (char *)body, .len = strlen(body),
                   .media_type = (char *)media_type};
    int rc = ml__layout_put_manifests(&it, 1, LOCK_WAIT_MS);
    if (digest)
        *digest = it.digest;
    else
        free(it.digest);
    rc = rc != ML_OK ? rc : ml__item_take_error(&it, err);
    return rc;
}

static int put(const ml_ref *repo, const char *reference, const char *body, char **digest, ml_error **err)
{
    return put_typed(repo, reference, body, MT_MANIFEST, digest, err);
}

/* An OCI index of the bodies given (media types alongside). */
static char *index_body(size_t n, const char *const *bodies, const char *const *types)
{
    ml__buf b = {0};
    ml__buf_puts(&b, "{\"schemaVersion\":2,\"mediaType\":\"" ML__MT_OCI_INDEX "\",\"manifests\":[");
    for (size_t i = 0; i < n; i++) {
        char d[ML__DIGEST_MAX];
        digest_of(bodies[i], d);
        ml__buf_printf(&b, "%s{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu}", i ? "," : "", types[i], d,
                       strlen(bodies[i]));
    }
    ml__buf_puts(&b, "]}");
    return ml__buf_take(&b);
}

/* Error messages name what the user named, never our temporary names. */
static bool shows_internal_name(const char *msg) { return test_contains(msg, ".mlist-"); }

/* One HEAD or GET; the item is the caller's to clear. */
static int fetch(const ml_ref *repo, const char *reference, bool get, ml__item *it)
{
    *it = (ml__item){.repo = repo, .reference = reference};
    int rc = get ? ml__layout_get_manifests(it, 1) : ml__layout_head_manifests(it, 1);
    return rc != ML_OK ? rc : it->rc;
}

static int fetch_rc(const ml_ref *repo, const char *reference, bool get)
{
    ml__item it;
    int rc = fetch(repo, reference, get, &it);
    ml__item_clear(&it);
    return rc;
}

/* index.json parsed; entry i's tag and digest. */
static bool load_index(const char *dir, ml__manifest *idx)
{
    char *json = read_text(dir, "index.json");
    bool ok = json && ml__manifest_parse(idx, json, strlen(json), ML__MT_OCI_INDEX, NULL) == ML_OK;
    free(json);
    return ok;
}

static const char *entry_tag(const ml__manifest *idx, size_t i)
{
    return i < idx->manifest_count ? ml__annotations_get(&idx->manifests[i].annotations, ML__LAYOUT_REF_NAME)
                                   : "(missing)";
}

static const char *entry_digest(const ml__manifest *idx, size_t i)
{
    return i < idx->manifest_count ? idx->manifests[i].digest : "(missing)";
}

/* ---- tests -------------------------------------------------------------- */

static void test_put_then_read(void)
{
    char *tmp = make_tmpdir();
    char *dir = join(tmp, "a/b/layout"); /* parents are created */
    ml_ref repo = {.repository = dir, .layout = true};
    char *body = manifest_body(1), *digest = NULL, expect[ML__DIGEST_MAX];
    digest_of(body, expect);
    ml_error *err = NULL;

    CHECK_INT(put(&repo, "v1", body, &digest, &err), ML_OK);
    CHECK_STR(digest, expect);
    char *layout = read_text(dir, "oci-layout");
    CHECK_STR(layout, "{\"imageLayoutVersion\":\"1.0.0\"}");
    char *rel = blob_rel(expect);
    CHECK(exists(dir, rel));
    CHECK(ml__layout_has_blob(&repo, expect));

    ml__item it;
    CHECK_INT(fetch(&repo, "v1", false, &it), ML_OK);
    CHECK_STR(it.digest, expect);
    CHECK_STR(it.media_type, MT_MANIFEST);
    CHECK_INT(it.size, strlen(body));
    CHECK(it.body == NULL);
    ml__item_clear(&it);

    CHECK_INT(fetch(&repo, "v1", true, &it), ML_OK);
    CHECK_STR(it.body, body);
    CHECK_INT(it.len, strlen(body));
    CHECK_STR(it.digest, expect);
    ml__item_clear(&it);

    CHECK_INT(fetch(&repo, expect, true, &it), ML_OK);
    CHECK_STR(it.body, body);
    CHECK_STR(it.media_type, MT_MANIFEST);
    ml__item_clear(&it);

    CHECK_INT(fetch(&repo, expect, false, &it), ML_OK);
    CHECK_INT(it.size, strlen(body));
    ml__item_clear(&it);

    CHECK_INT(fetch_rc(&repo, "v2", false), ML_ENOTFOUND);
    CHECK_INT(fetch_rc(&repo, BAD_DIGEST, true), ML_ENOTFOUND);

    /* Nothing temporary is left, in the layout or beside it. */
    char *parent = join(tmp, "a/b");
    CHECK_INT(count_prefixed(dir, ".mlist-tmp-"), 0);
    CHECK_INT(count_prefixed(parent, "layout.mlist-"), 0);
    CHECK(err == NULL);

    ml_error_free(err);
    free(parent);
    free(layout);
    free(rel);
    free(digest);
    free(body);
    free(dir);
    rm_rf(tmp);
    free(tmp);
}

static void test_put_by_digest(void)
{
    char *tmp = make_tmpdir();
    ml_ref repo = {.repository = tmp, .layout = true}; /* empty directory: becomes the layout */
    char *body = manifest_body(2), d[ML__DIGEST_MAX];
    digest_of(body, d);
    ml_error *err = NULL;

    CHECK_INT(put(&repo, d, body, NULL, &err), ML_OK);
    ml__manifest idx;
    CHECK(load_index(tmp, &idx));
    CHECK_INT(idx.manifest_count, 0); /* a digest stores the blob only */
    ml__manifest_clear(&idx);

    /* Not listed: the media type is the manifest's own. */
    ml__item it;
    CHECK_INT(fetch(&repo, d, false, &it), ML_OK);
    CHECK_STR(it.media_type, MT_MANIFEST);
    ml__item_clear(&it);

    /* Again: an existing blob is a no-op success. */
    CHECK_INT(put(&repo, d, body, NULL, &err), ML_OK);
    CHECK_INT(put(&repo, BAD_DIGEST, body, NULL, &err), ML_EDIGEST);
    CHECK(!ml__layout_has_blob(&repo, BAD_DIGEST));

    /* A blob that is no manifest has no media type. */
    const char *layer = "not json";
    char ld[ML__DIGEST_MAX];
    digest_of(layer, ld);
    write_blob(tmp, layer);
    CHECK_INT(fetch_rc(&repo, ld, false), ML_EMANIFEST);

    ml_error_free(err);
    free(body);
    rm_rf(tmp);
    free(tmp);
}

/* A PUT with expect_set is a compare-and-swap under the layout's lock. */
static void test_compare_and_swap(void)
{
    char *tmp = make_tmpdir(), *dir = join(tmp, "cas");
    ml_ref r = {.repository = dir, .layout = true};
    char *a = manifest_body(70), *b = manifest_body(71), da[ML__DIGEST_MAX], db[ML__DIGEST_MAX];
    digest_of(a, da);
    digest_of(b, db);
    ml__item it = {.repo = &r, .reference = "v1", .body = a, .len = strlen(a), .media_type = MT_MANIFEST,
                   .expect_set = true, .expect = NULL};
    CHECK_INT(ml__layout_put_manifests(&it, 1, LOCK_WAIT_MS), ML_OK);
    CHECK_INT(it.rc, ML_OK); /* absent, as expected */
    free(it.digest);
    it = (ml__item){.repo = &r, .reference = "v1", .body = b, .len = strlen(b), .media_type = MT_MANIFEST,
                    .expect_set = true, .expect = NULL};
    CHECK_INT(ml__layout_put_manifests(&it, 1, LOCK_WAIT_MS), ML_OK);
    CHECK_INT(it.rc, ML_ECONFLICT); /* someone put v1 meanwhile */
    CHECK(test_contains(ml_error_message(it.err), da));
    it.body = it.media_type = NULL; /* borrowed */
    ml__item_clear(&it);
    it = (ml__item){.repo = &r, .reference = "v1", .body = b, .len = strlen(b), .media_type = MT_MANIFEST,
                    .expect_set = true, .expect = da};
    CHECK_INT(ml__layout_put_manifests(&it, 1, LOCK_WAIT_MS), ML_OK);
    CHECK_INT(it.rc, ML_OK);
    CHECK_STR(it.digest, db);
    it.body = it.media_type = NULL;
    ml__item_clear(&it);
    ml__item head;
    CHECK_INT(fetch(&r, "v1", false, &head), ML_OK);
    CHECK_STR(head.digest, db);
    ml__item_clear(&head);

    /* skopeo's single untagged entry read as "latest", then a push of tags
     * v1 and latest: v1 lands first, and "latest" must still replace the
     * entry it was read as, not refuse or add a second one. */
    char *sk = join(tmp, "skopeo"), *ea = index_entry(a, NULL);
    char *j = ml__asprintf("{\"schemaVersion\":2,\"manifests\":[%s]}", ea);
    hand_layout(sk, j);
    write_blob(sk, a);
    ml_ref rs = {.repository = sk, .layout = true};
    ml__item two[2] = {
        {.repo = &rs, .reference = "v1", .body = b, .len = strlen(b), .media_type = MT_MANIFEST, .expect_set = true},
        {.repo = &rs, .reference = "latest", .body = b, .len = strlen(b), .media_type = MT_MANIFEST,
         .expect_set = true, .expect = da},
    };
    CHECK_INT(ml__layout_put_manifests(two, 2, LOCK_WAIT_MS), ML_OK);
    CHECK_INT(two[0].rc, ML_OK);
    CHECK_INT(two[1].rc, ML_OK);
    for (size_t i = 0; i < 2; i++) {
        two[i].body = two[i].media_type = NULL;
        ml__item_clear(&two[i]);
    }
    ml__manifest idx;
    CHECK(load_index(sk, &idx));
    CHECK_INT(idx.manifest_count, 2);
    CHECK_STR(entry_tag(&idx, 0), "latest");
    CHECK_STR(entry_digest(&idx, 0), db);
    CHECK_STR(entry_tag(&idx, 1), "v1");
    ml__manifest_clear(&idx);
    free(j);
    free(ea);
    free(sk);
    free(a);
    free(b);
    free(dir);
    rm_rf(tmp);
    free(tmp);
}

static void test_tag_replace_keeps_order(void)
{
    char *tmp = make_tmpdir();
    char *dir = join(tmp, "l");
    ml_ref repo = {.repository = dir, .layout = true};
    char *a = manifest_body(10), *b = manifest_body(11), *c = manifest_body(12);
    char *ea = index_entry(a, NULL), *eta = index_entry(a, "a"), *etb = index_entry(b, "b");
    char *json = ml__asprintf("{\"schemaVersion\":2,\"manifests\":[%s,%s,%s]}", ea, eta, etb);
    hand_layout(dir, json);
    write_blob(dir, a);
    write_blob(dir, b);
    char da[ML__DIGEST_MAX], db[ML__DIGEST_MAX], dc[ML__DIGEST_MAX];
    digest_of(a, da);
    digest_of(b, db);
    digest_of(c, dc);

    CHECK_INT(put(&repo, "a", c, NULL, NULL), ML_OK);
    CHECK_INT(put(&repo, "new", a, NULL, NULL), ML_OK);
    ml__manifest idx;
    CHECK(load_index(dir, &idx));
    CHECK_INT(idx.manifest_count, 4);
    CHECK_STR(entry_tag(&idx, 0), NULL);
    CHECK_STR(entry_digest(&idx, 0), da);
    CHECK_STR(entry_tag(&idx, 1), "a");
    CHECK_STR(entry_digest(&idx, 1), dc);
    CHECK_STR(entry_tag(&idx, 2), "b");
    CHECK_STR(entry_digest(&idx, 2), db);
    CHECK_STR(entry_tag(&idx, 3), "new");
    CHECK_STR(entry_digest(&idx, 3), da);
    CHECK_STR(idx.manifests[1].media_type, MT_MANIFEST);
    CHECK_INT(idx.manifests[1].size, strlen(c));
    ml__manifest_clear(&idx);
    /* The emitted index names its own media type. */
    char *text = read_text(dir, "index.json");
    CHECK(test_contains(text, "\"mediaType\":\"" ML__MT_OCI_INDEX "\""));

    ml__strvec tags = {0};
    bool complete = false;
    CHECK_INT(ml__layout_list_tags(&repo, &tags, &complete, NULL), ML_OK);
    CHECK(complete);
    CHECK_INT(tags.count, 3);
    CHECK_STR(tags.count > 2 ? tags.items[0] : NULL, "a");
    CHECK_STR(tags.count > 2 ? tags.items[1] : NULL, "b");
    CHECK_STR(tags.count > 2 ? tags.items[2] : NULL, "new");
    CHECK_INT(count_prefixed(dir, ".mlist-tmp-"), 0);

    ml__strvec_free(&tags);
    free(text);
    free(json);
    free(ea);
    free(eta);
    free(etb);
    free(a);
    free(b);
    free(c);
    free(dir);
    rm_rf(tmp);
    free(tmp);
}

static void test_delete(void)
{
    char *tmp = make_tmpdir();
    ml_ref repo = {.repository = tmp, .layout = true};
    char *m = manifest_body(20), *other = manifest_body(21), dm[ML__DIGEST_MAX], dother[ML__DIGEST_MAX];
    digest_of(m, dm);
    digest_of(other, dother);
    ml_error *err = NULL;

    CHECK_INT(put(&repo, "x", m, NULL, NULL), ML_OK);
    CHECK_INT(put(&repo, "y", m, NULL, NULL), ML_OK);
    CHECK_INT(put(&repo, "z", other, NULL, NULL), ML_OK);
    write_blob(tmp, "{}"); /* the config both reference */

    CHECK_INT(ml__layout_delete_manifest(&repo, dm, LOCK_WAIT_MS, &err), ML_OK);
    ml__manifest idx;
    CHECK(load_index(tmp, &idx));
    CHECK_INT(idx.manifest_count, 1);
    CHECK_STR(entry_tag(&idx, 0), "z");
    ml__manifest_clear(&idx);
    CHECK(!ml__layout_has_blob(&repo, dm));
    CHECK(ml__layout_has_blob(&repo, CONFIG_DIGEST)); /* referenced blobs stay */
    CHECK(ml__layout_has_blob(&repo, dother));
    CHECK_INT(fetch_rc(&repo, "x", false), ML_ENOTFOUND);

    CHECK_INT(ml__layout_delete_manifest(&repo, dm, LOCK_WAIT_MS, &err), ML_ENOTFOUND);
    CHECK(test_contains(ml_error_message(err), dm));
    CHECK_INT(ml__layout_delete_manifest(&repo, "../z", LOCK_WAIT_MS, &err), ML_EDIGEST);
    CHECK(ml__layout_has_blob(&repo, dother));

    /* Without index.json nothing is deleted. */
    char *index = join(tmp, "index.json");
    unlink(index);
    CHECK_INT(ml__layout_delete_manifest(&repo, dother, LOCK_WAIT_MS, &err), ML_EIO);
    CHECK(test_contains(ml_error_message(err), "index.json"));
    CHECK(ml__layout_has_blob(&repo, dother));
    CHECK_INT(fetch_rc(&repo, "z", false), ML_EIO);
    free(index);

    ml_error_free(err);
    free(m);
    free(other);
    rm_rf(tmp);
    free(tmp);
}

static void test_corrupted_blob(void)
{
    char *tmp = make_tmpdir();
    ml_ref repo = {.repository = tmp, .layout = true};
    char *body = manifest_body(30), d[ML__DIGEST_MAX];
    digest_of(body, d);
    CHECK_INT(put(&repo, "v1", body, NULL, NULL), ML_OK);
    char *rel = blob_rel(d);
    write_text(tmp, rel, "{\"tampered\":true}");

    ml__item it;
    CHECK_INT(fetch(&repo, "v1", true, &it), ML_EDIGEST);
    CHECK(it.body == NULL);
    CHECK(test_contains(ml_error_message(it.err), "GET oci:"));
    ml__item_clear(&it);
    CHECK_INT(fetch_rc(&repo, d, true), ML_EDIGEST);

    ml__item blob = {.repo = &repo, .reference = d};
    CHECK_INT(ml__layout_get_blobs(&blob, 1, 1024), ML_OK);
    CHECK_INT(blob.rc, ML_EDIGEST);
    ml__item_clear(&blob);

    free(rel);
    free(body);
    rm_rf(tmp);
    free(tmp);
}

static void test_missing_and_foreign(void)
{
    char *tmp = make_tmpdir();
    char *missing = join(tmp, "nope");
    ml_ref repo = {.repository = missing, .layout = true};
    ml__item it;
    CHECK_INT(fetch(&repo, "v1", false, &it), ML_ENOTFOUND);
    CHECK(test_contains(ml_error_message(it.err), missing));
    ml__item_clear(&it);
    ml__strvec tags = {0};
    bool complete;
    CHECK_INT(ml__layout_list_tags(&repo, &tags, &complete, NULL), ML_ENOTFOUND);
    CHECK(!exists(tmp, "nope")); /* reads create nothing */

    /* A directory holding other things is not a layout, and is not made one. */
    char *foreign = join(tmp, "foreign");
    mkdir(foreign, 0755);
    write_text(foreign, "file.txt", "hello");
    ml_ref frepo = {.repository = foreign, .layout = true};
    CHECK_INT(fetch(&frepo, "v1", true, &it), ML_EIO);
    char *want = ml__asprintf("%s is not an OCI image layout: no oci-layout file", foreign);
    CHECK(test_contains(ml_error_message(it.err), want));
    ml__item_clear(&it);
    char *body = manifest_body(40);
    ml_error *err = NULL;
    CHECK_INT(put(&frepo, "v1", body, NULL, &err), ML_EIO);
    CHECK(test_contains(ml_error_message(err), want));
    CHECK(!exists(foreign, "oci-layout"));
    CHECK_INT(count_prefixed(tmp, "foreign.mlist-"), 0);

    /* An empty directory is a layout not written yet. */
    char *empty = join(tmp, "empty");
    mkdir(empty, 0755);
    ml_ref erepo = {.repository = empty, .layout = true};
    CHECK_INT(ml__layout_list_tags(&erepo, &tags, &complete, &err), ML_ENOTFOUND);
    CHECK(test_contains(ml_error_message(err), "no oci-layout file"));

    /* A file is not a layout either. */
    char *file = join(foreign, "file.txt");
    ml_ref file_repo = {.repository = file, .layout = true};
    CHECK_INT(fetch_rc(&file_repo, "v1", false), ML_EIO);

    ml_error_free(err);
    free(file);
    free(empty);
    free(body);
    free(want);
    free(foreign);
    free(missing);
    rm_rf(tmp);
    free(tmp);
}

static void test_latest_single_entry(void)
{
    char *tmp = make_tmpdir();
    char *one = join(tmp, "one"), *two = join(tmp, "two"), *named = join(tmp, "named"), *tagged1 = join(tmp, "tagged");
    char *a = manifest_body(50), *b = manifest_body(51), da[ML__DIGEST_MAX], db[ML__DIGEST_MAX];
    digest_of(a, da);
    digest_of(b, db);
    char *ea = index_entry(a, "1.0"), *eb = index_entry(b, "2.0"), *elatest = index_entry(b, "latest");
    char *eu = index_entry(a, NULL);
    char *j1 = ml__asprintf("{\"schemaVersion\":2,\"manifests\":[%s]}", eu);
    char *j4 = ml__asprintf("{\"schemaVersion\":2,\"manifests\":[%s]}", ea);
    char *j2 = ml__asprintf("{\"schemaVersion\":2,\"manifests\":[%s,%s]}", ea, eb);
    char *j3 = ml__asprintf("{\"schemaVersion\":2,\"manifests\":[%s,%s]}", ea, elatest);
    hand_layout(one, j1);
    hand_layout(two, j2);
    hand_layout(named, j3);
    hand_layout(tagged1, j4);
    const char *dirs[] = {one, two, named, tagged1};
    for (size_t i = 0; i < 4; i++) {
        write_blob(dirs[i], a);
        write_blob(dirs[i], b);
    }
    ml_ref r1 = {.repository = one, .layout = true}, r2 = {.repository = two, .layout = true},
           r3 = {.repository = named, .layout = true}, r4 = {.repository = tagged1, .layout = true};

    ml__item it;
    CHECK_INT(fetch(&r1, "latest", false, &it), ML_OK);
    CHECK_STR(it.digest, da);
    ml__item_clear(&it);
    CHECK_INT(fetch_rc(&r1, "other", false), ML_ENOTFOUND); /* only "latest" */
    CHECK_INT(fetch_rc(&r2, "latest", false), ML_ENOTFOUND);
    /* A tagged only entry is not "latest": writing oci:PATH adds one. */
    CHECK_INT(fetch_rc(&r4, "latest", false), ML_ENOTFOUND);
    CHECK_INT(fetch(&r3, "latest", true, &it), ML_OK);
    CHECK_STR(it.digest, db);
    CHECK_STR(it.body, b);
    ml__item_clear(&it);

    /* Writing "latest" goes where reading it went: the only untagged
     * entry is replaced and tagged, so skopeo still finds one image. */
    CHECK_INT(put(&r1, "latest", b, NULL, NULL), ML_OK);
    ml__manifest idx;
    CHECK(load_index(one, &idx));
    CHECK_INT(idx.manifest_count, 1);
    CHECK_STR(entry_tag(&idx, 0), "latest");
    CHECK_STR(entry_digest(&idx, 0), db);
    CHECK_STR(idx.manifest_count ? idx.manifests[0].media_type : NULL, MT_MANIFEST);
    CHECK_INT(idx.manifest_count ? idx.manifests[0].size : 0, strlen(b));
    ml__manifest_clear(&idx);
    CHECK_INT(put(&r1, "latest", a, NULL, NULL), ML_OK);
    CHECK(load_index(one, &idx));
    CHECK_INT(idx.manifest_count, 1);
    CHECK_STR(entry_digest(&idx, 0), da);
    ml__manifest_clear(&idx);

    /* Another tag does not name the untagged entry: it is added. */
    char *other = join(tmp, "other");
    hand_layout(other, j1);
    write_blob(other, a);
    ml_ref r5 = {.repository = other, .layout = true};
    CHECK_INT(put(&r5, "v2", b, NULL, NULL), ML_OK);
    CHECK(load_index(other, &idx));
    CHECK_INT(idx.manifest_count, 2);
    CHECK(entry_tag(&idx, 0) == NULL);
    CHECK_STR(entry_digest(&idx, 0), da);
    CHECK_STR(entry_tag(&idx, 1), "v2");
    ml__manifest_clear(&idx);

    /* Nor is a tagged only entry "latest": writing it adds one. */
    CHECK_INT(put(&r4, "latest", b, NULL, NULL), ML_OK);
    CHECK(load_index(tagged1, &idx));
    CHECK_INT(idx.manifest_count, 2);
    CHECK_STR(entry_tag(&idx, 0), "1.0");
    CHECK_STR(entry_tag(&idx, 1), "latest");
    ml__manifest_clear(&idx);

    free(other);

    free(eu);
    free(j4);
    free(tagged1);
    free(j1);
    free(j2);
    free(j3);
    free(ea);
    free(eb);
    free(elatest);
    free(a);
    free(b);
    free(one);
    free(two);
    free(named);
    rm_rf(tmp);
    free(tmp);
}

static void test_blob_writer(void)
{
    char *tmp = make_tmpdir();
    char *dir = join(tmp, "l");
    ml_ref repo = {.repository = dir, .layout = true};
    const char *data = "layer bytes";
    char d[ML__DIGEST_MAX];
    digest_of(data, d);
    ml_error *err = NULL;

    /* Wrong digest: nothing is stored, the temporary file is gone. */
    ml__layout_blob *b = NULL;
    CHECK_INT(ml__layout_blob_begin(&repo, &b, &err), ML_OK);
    CHECK(exists(dir, "oci-layout")); /* the layout is created on begin */
    CHECK_INT(count_prefixed(dir, ".mlist-tmp-"), 1);
    fputs(data, ml__layout_blob_file(b));
    CHECK_INT(ml__layout_blob_commit(b, BAD_DIGEST, &err), ML_EDIGEST);
    CHECK(test_contains(ml_error_message(err), d));
    ml__layout_blob_free(b);
    CHECK(!ml__layout_has_blob(&repo, BAD_DIGEST));
    CHECK(!ml__layout_has_blob(&repo, d));
    CHECK_INT(count_prefixed(dir, ".mlist-tmp-"), 0);

    /* Right digest. */
    CHECK_INT(ml__layout_blob_begin(&repo, &b, &err), ML_OK);
    fputs(data, ml__layout_blob_file(b));
    CHECK_INT(ml__layout_blob_commit(b, d, &err), ML_OK);
    ml__layout_blob_free(b);
    CHECK(ml__layout_has_blob(&repo, d));
    CHECK_INT(count_prefixed(dir, ".mlist-tmp-"), 0);
    FILE *f = NULL;
    int64_t size = -1;
    CHECK_INT(ml__layout_open_blob(&repo, d, &f, &size, &err), ML_OK);
    char buf[64] = {0};
    CHECK(f && fread(buf, 1, sizeof(buf) - 1, f) == strlen(data));
    CHECK_STR(buf, data);
    CHECK_INT(size, strlen(data));
    if (f)
        fclose(f);
    CHECK_INT(ml__layout_open_blob(&repo, BAD_DIGEST, &f, &size, &err), ML_ENOTFOUND);

    ml__item blob = {.repo = &repo, .reference = d};
    CHECK_INT(ml__layout_head_blobs(&blob, 1), ML_OK);
    CHECK_INT(blob.rc, ML_OK);
    CHECK_INT(blob.size, strlen(data));
    CHECK_STR(blob.digest, d);
    ml__item_clear(&blob);
    blob = (ml__item){.repo = &repo, .reference = d};
    CHECK_INT(ml__layout_get_blobs(&blob, 1, 4), ML_OK);
    CHECK_INT(blob.rc, ML_ETOOBIG);
    ml__item_clear(&blob);
    blob = (ml__item){.repo = &repo, .reference = d};
    CHECK_INT(ml__layout_get_blobs(&blob, 1, 1024), ML_OK);
    CHECK_INT(blob.rc, ML_OK);
    CHECK_STR(blob.body, data);
    ml__item_clear(&blob);

    /* The same blob again is a no-op; an abandoned one leaves nothing. */
    CHECK_INT(ml__layout_blob_begin(&repo, &b, &err), ML_OK);
    fputs(data, ml__layout_blob_file(b));
    CHECK_INT(ml__layout_blob_commit(b, d, &err), ML_OK);
    ml__layout_blob_free(b);
    CHECK_INT(ml__layout_blob_begin(&repo, &b, &err), ML_OK);
    fputs("partial", ml__layout_blob_file(b));
    ml__layout_blob_free(b);
    CHECK_INT(count_prefixed(dir, ".mlist-tmp-"), 0);
    CHECK_INT(count_prefixed(tmp, "l.mlist-"), 0);

    ml_error_free(err);
    free(dir);
    rm_rf(tmp);
    free(tmp);
}

static void test_no_escape(void)
{
    char *tmp = make_tmpdir();
    char *dir = join(tmp, "l");
    ml_ref repo = {.repository = dir, .layout = true};
    char *body = manifest_body(60);
    CHECK_INT(put(&repo, "v1", body, NULL, NULL), ML_OK);
    /* A manifest outside the layout that "../" would reach. */
    write_text(tmp, "x", body);
    char *before = read_text(dir, "index.json");

    ml__item it;
    CHECK_INT(fetch(&repo, "../x", true, &it), ML_EREF);
    CHECK(it.body == NULL);
    ml__item_clear(&it);
    CHECK_INT(fetch_rc(&repo, "sha256:../../x", true), ML_EDIGEST);
    CHECK_INT(fetch_rc(&repo, "sha256:../../../x", false), ML_EDIGEST);
    CHECK(!ml__layout_has_blob(&repo, "sha256:../../x"));
    FILE *f = NULL;
    int64_t size;
    CHECK_INT(ml__layout_open_blob(&repo, "sha256:../../x", &f, &size, NULL), ML_EDIGEST);
    CHECK(f == NULL);
    ml__item blob = {.repo = &repo, .reference = "../../x"};
    CHECK_INT(ml__layout_get_blobs(&blob, 1, 1024), ML_OK);
    CHECK_INT(blob.rc, ML_EDIGEST);
    ml__item_clear(&blob);

    /* Writes: nothing appears outside, index.json is untouched. */
    CHECK_INT(put(&repo, "../y", body, NULL, NULL), ML_EREF);
    CHECK_INT(put(&repo, "sha256:../../y", body, NULL, NULL), ML_EDIGEST);
    CHECK_INT(ml__layout_delete_manifest(&repo, "sha256:../../x", LOCK_WAIT_MS, NULL), ML_EDIGEST);
    CHECK(!exists(tmp, "y"));
    CHECK(exists(tmp, "x"));
    char *after = read_text(dir, "index.json");
    CHECK_STR(after, before);

    free(after);
    free(before);
    free(body);
    free(dir);
    rm_rf(tmp);
    free(tmp);
}

static void test_skopeo_format(void)
{
    char *tmp = make_tmpdir();
    ml_ref repo = {.repository = tmp, .layout = true};
    char *a = manifest_body(70), *b = manifest_body(71), da[ML__DIGEST_MAX];
    digest_of(a, da);
    char *ea = index_entry(a, "1.0");
    /* skopeo's shape: no index mediaType, whitespace, annotated entries. */
    char *json = ml__asprintf("{\n  \"schemaVersion\": 2,\n  \"manifests\": [ %s ]\n}\n", ea);
    hand_layout(tmp, json);
    write_blob(tmp, a);

    ml__item it;
    CHECK_INT(fetch(&repo, "1.0", true, &it), ML_OK);
    CHECK_STR(it.body, a);
    CHECK_STR(it.media_type, MT_MANIFEST);
    CHECK_STR(it.digest, da);
    ml__item_clear(&it);

    ml__strvec tags = {0};
    bool complete = false;
    CHECK_INT(ml__layout_list_tags(&repo, &tags, &complete, NULL), ML_OK);
    CHECK_INT(tags.count, 1);
    CHECK_STR(tags.count ? tags.items[0] : NULL, "1.0");
    ml__strvec_free(&tags);

    CHECK_INT(put(&repo, "2.0", b, NULL, NULL), ML_OK);
    ml__manifest idx;
    CHECK(load_index(tmp, &idx));
    CHECK_INT(idx.manifest_count, 2);
    CHECK_STR(entry_tag(&idx, 0), "1.0");
    CHECK_STR(entry_tag(&idx, 1), "2.0");
    ml__manifest_clear(&idx);

    /* A broken index.json is an error, not an empty layout. */
    write_text(tmp, "index.json", "{\"schemaVersion\":2,\"mediaType\":\"" ML__MT_DOCKER_LIST "\",\"manifests\":[]}");
    CHECK_INT(fetch_rc(&repo, "1.0", false), ML_EMANIFEST);

    free(json);
    free(ea);
    free(a);
    free(b);
    rm_rf(tmp);
    free(tmp);
}

static void test_batch_items(void)
{
    char *tmp = make_tmpdir();
    ml_ref repo = {.repository = tmp, .layout = true};
    char *a = manifest_body(80), *b = manifest_body(81);
    ml__item puts[3] = {
        {.repo = &repo, .reference = "a", .body = a, .len = strlen(a), .media_type = MT_MANIFEST},
        {.repo = &repo, .reference = "-bad", .body = b, .len = strlen(b), .media_type = MT_MANIFEST},
        {.repo = &repo, .reference = "b", .body = b, .len = strlen(b), .media_type = MT_MANIFEST},
    };
    CHECK_INT(ml__layout_put_manifests(puts, 3, LOCK_WAIT_MS), ML_OK);
    CHECK_INT(puts[0].rc, ML_OK);
    CHECK_INT(puts[1].rc, ML_EREF);
    CHECK(test_contains(ml_error_message(puts[1].err), "PUT oci:"));
    CHECK_INT(puts[2].rc, ML_OK);
    CHECK_INT(puts[2].size, strlen(b));
    CHECK(puts[2].body == b); /* inputs stay the caller's */
    for (size_t i = 0; i < 3; i++) {
        free(puts[i].digest);
        ml_error_free(puts[i].err);
    }

    ml__item gets[2] = {{.repo = &repo, .reference = "b"}, {.repo = &repo, .reference = "c"}};
    CHECK_INT(ml__layout_get_manifests(gets, 2), ML_OK);
    CHECK_INT(gets[0].rc, ML_OK);
    CHECK_STR(gets[0].body, b);
    CHECK_INT(gets[1].rc, ML_ENOTFOUND);
    CHECK(test_contains(ml_error_message(gets[1].err), "tag \"c\" not found"));
    ml__item_clear(&gets[0]);
    ml__item_clear(&gets[1]);

    /* Over the manifest limit. */
    size_t big_len = ML__MANIFEST_MAX + 1;
    char *big = calloc(1, big_len);
    ml__item it = {.repo = &repo, .reference = "big", .body = big, .len = big_len, .media_type = MT_MANIFEST};
    CHECK_INT(ml__layout_put_manifests(&it, 1, LOCK_WAIT_MS), ML_OK);
    CHECK_INT(it.rc, ML_ETOOBIG);
    ml_error_free(it.err);
    free(big);

    free(a);
    free(b);
    rm_rf(tmp);
    free(tmp);
}

/* A list's child deleted by digest stays while a list still names it. */
static void test_delete_keeps_children(void)
{
    char *tmp = make_tmpdir();
    ml_ref repo = {.repository = tmp, .layout = true};
    char *a = manifest_body(300), *b = manifest_body(301), *c = manifest_body(302), *e = manifest_body(303),
         *lone = manifest_body(304);
    char da[ML__DIGEST_MAX], db[ML__DIGEST_MAX], dc[ML__DIGEST_MAX], de[ML__DIGEST_MAX], dlone[ML__DIGEST_MAX];
    digest_of(a, da);
    digest_of(b, db);
    digest_of(c, dc);
    digest_of(e, de);
    digest_of(lone, dlone);
    const char *images[] = {MT_MANIFEST, MT_MANIFEST};
    const char *lists[] = {ML__MT_OCI_INDEX};
    const char *ab[] = {a, b}, *just_c[] = {c};
    char *list = index_body(2, ab, images);      /* tagged v1: a, b */
    char *inner = index_body(1, just_c, images); /* untagged, in outer: c */
    const char *just_inner[] = {inner};
    char *outer = index_body(1, just_inner, lists); /* tagged nested */
    char dlist[ML__DIGEST_MAX];
    digest_of(list, dlist);
    const char *children[] = {a, b, c, e, lone, inner};
    for (size_t i = 0; i < sizeof(children) / sizeof(children[0]); i++) {
        char d[ML__DIGEST_MAX];
        digest_of(children[i], d);
        CHECK_INT(put_typed(&repo, d, children[i], i == 5 ? ML__MT_OCI_INDEX : MT_MANIFEST, NULL, NULL), ML_OK);
    }
    CHECK_INT(put_typed(&repo, "v1", list, ML__MT_OCI_INDEX, NULL, NULL), ML_OK);
    CHECK_INT(put_typed(&repo, "nested", outer, ML__MT_OCI_INDEX, NULL, NULL), ML_OK);
    ml_error *err = NULL;

    /* A child of a tagged list, and of a list inside a tagged index. */
    CHECK_INT(ml__layout_delete_manifest(&repo, da, LOCK_WAIT_MS, &err), ML_OK);
    CHECK(ml__layout_has_blob(&repo, da));
    CHECK_INT(fetch_rc(&repo, "v1", true), ML_OK);
    CHECK_INT(fetch_rc(&repo, da, true), ML_OK);
    CHECK_INT(ml__layout_delete_manifest(&repo, dc, LOCK_WAIT_MS, &err), ML_OK);
    CHECK(ml__layout_has_blob(&repo, dc));
    /* Named by no list: removed. */
    CHECK_INT(ml__layout_delete_manifest(&repo, dlone, LOCK_WAIT_MS, &err), ML_OK);
    CHECK(!ml__layout_has_blob(&repo, dlone));
    CHECK_INT(ml__layout_delete_manifest(&repo, dlone, LOCK_WAIT_MS, &err), ML_ENOTFOUND);

    /* The list gone, its children are named no more. */
    CHECK_INT(ml__layout_delete_manifest(&repo, dlist, LOCK_WAIT_MS, &err), ML_OK);
    CHECK(!ml__layout_has_blob(&repo, dlist));
    CHECK_INT(fetch_rc(&repo, "v1", false), ML_ENOTFOUND);
    CHECK(ml__layout_has_blob(&repo, da)); /* deleting a list keeps its children */
    CHECK_INT(ml__layout_delete_manifest(&repo, da, LOCK_WAIT_MS, &err), ML_OK);
    CHECK(!ml__layout_has_blob(&repo, da));

    /* A list that cannot be read might name anything: blobs stay. */
    char *idx_json = read_text(tmp, "index.json");
    char *fake = ml__asprintf("{\"mediaType\":\"" ML__MT_OCI_INDEX "\",\"digest\":\"" BAD_DIGEST
                              "\",\"size\":2,\"annotations\":{\"" ML__LAYOUT_REF_NAME "\":\"broken\"}}");
    char *tail = idx_json ? strstr(idx_json, "]") : NULL;
    char *patched = tail ? ml__asprintf("%.*s,%s%s", (int)(tail - idx_json), idx_json, fake, tail) : NULL;
    write_text(tmp, "index.json", patched ? patched : "");
    CHECK_INT(ml__layout_delete_manifest(&repo, de, LOCK_WAIT_MS, &err), ML_OK);
    CHECK(ml__layout_has_blob(&repo, de));
    ml__manifest idx;
    CHECK(load_index(tmp, &idx));
    CHECK_INT(idx.manifest_count, 2); /* nested, broken */

    ml__manifest_clear(&idx);
    ml_error_free(err);
    free(patched);
    free(fake);
    free(idx_json);
    free(list);
    free(inner);
    free(outer);
    free(a);
    free(b);
    free(c);
    free(e);
    free(lone);
    rm_rf(tmp);
    free(tmp);
}

/* A manifest with a subject (and optionally an artifactType and an
 * annotation), distinct per n. */
static char *referrer_body(int n, const char *subject, const char *artifact_type, const char *config_type)
{
    char *at = artifact_type ? ml__asprintf("\"artifactType\":\"%s\",", artifact_type) : ml__strdup("");
    char *body = ml__asprintf("{\"schemaVersion\":2,\"mediaType\":\"" MT_MANIFEST "\",%s\"config\":{\"mediaType\":"
                              "\"%s\",\"digest\":\"" CONFIG_DIGEST "\",\"size\":2},\"layers\":[],"
                              "\"subject\":{\"mediaType\":\"" MT_MANIFEST "\",\"digest\":\"%s\",\"size\":1},"
                              "\"annotations\":{\"n\":\"%d\"}}",
                              at, config_type, subject, n);
    free(at);
    return body;
}

#define EMPTY_MT "application/vnd.oci.empty.v1+json"

static int scan_one(const ml_ref *repo, const char *digest, ml__manifest *refs, ml_error **err)
{
    ml__layout_subject sub = {digest, refs};
    return ml__layout_referrers_scan(repo, &sub, 1, err);
}

static void test_referrers_scan(void)
{
    char *tmp = make_tmpdir();
    char *dir = join(tmp, "l");
    ml_ref repo = {.repository = dir, .layout = true};
    char *s = manifest_body(400), ds[ML__DIGEST_MAX];
    digest_of(s, ds);
    char *sig = referrer_body(1, ds, "application/vnd.example.sig", EMPTY_MT);
    char *sbom = referrer_body(2, ds, NULL, "application/vnd.example.sbom");
    char *known = referrer_body(3, ds, "application/vnd.example.known", EMPTY_MT);
    char *elsewhere = referrer_body(4, CONFIG_DIGEST, "application/vnd.example.sig", EMPTY_MT);
    char *gone = referrer_body(5, ds, "application/vnd.example.sig", EMPTY_MT);
    char *idx_ref = ml__asprintf("{\"schemaVersion\":2,\"mediaType\":\"" ML__MT_OCI_INDEX "\",\"artifactType\":"
                                 "\"application/vnd.example.bundle\",\"manifests\":[],\"subject\":{\"mediaType\":"
                                 "\"" MT_MANIFEST "\",\"digest\":\"%s\",\"size\":1}}",
                                 ds);
    char dsig[ML__DIGEST_MAX], dsbom[ML__DIGEST_MAX], dknown[ML__DIGEST_MAX], didx[ML__DIGEST_MAX];
    digest_of(sig, dsig);
    digest_of(sbom, dsbom);
    digest_of(known, dknown);
    digest_of(idx_ref, didx);
    /* As oras writes them: referrers untagged; one tagged as well, one
     * listed twice, one whose blob is missing, one of another subject. */
    char *es = index_entry(s, "v1"), *esig = index_entry(sig, NULL), *esbom = index_entry(sbom, "sbom"),
         *eknown = index_entry(known, NULL), *eelse = index_entry(elsewhere, NULL), *egone = index_entry(gone, NULL),
         *esig2 = index_entry(sig, "sig");
    char *eidx = ml__asprintf("{\"mediaType\":\"" ML__MT_OCI_INDEX "\",\"digest\":\"%s\",\"size\":%zu}", didx,
                              strlen(idx_ref));
    char *json = ml__asprintf("{\"schemaVersion\":2,\"manifests\":[%s,%s,%s,%s,%s,%s,%s,%s]}", es, egone, esig, esbom,
                              eknown, eelse, esig2, eidx);
    hand_layout(dir, json);
    const char *blobs[] = {s, sig, sbom, known, elsewhere, idx_ref};
    for (size_t i = 0; i < sizeof(blobs) / sizeof(blobs[0]); i++)
        write_blob(dir, blobs[i]);

    /* refs already holds one of them (found through a tag, say). */
    ml__manifest refs = {.kind = ML__KIND_OCI_INDEX};
    ml__descriptor pre = {.media_type = ml__strdup(MT_MANIFEST), .digest = ml__strdup(dknown), .size = 1};
    CHECK_INT(ml__manifest_append(&refs, &pre), ML_OK);
    ml_error *err = NULL;
    CHECK_INT(scan_one(&repo, ds, &refs, &err), ML_OK);
    CHECK(err == NULL);
    CHECK_INT(refs.manifest_count, 4);
    if (refs.manifest_count == 4) {
        const ml__descriptor *r = refs.manifests;
        CHECK_STR(r[0].digest, dknown);
        CHECK_INT(r[0].size, 1); /* left as it was */
        CHECK_STR(r[1].digest, dsig);
        CHECK_STR(r[1].media_type, MT_MANIFEST);
        CHECK_INT(r[1].size, strlen(sig));
        CHECK_STR(r[1].artifact_type, "application/vnd.example.sig");
        CHECK_STR(ml__annotations_get(&r[1].annotations, "n"), "1");
        CHECK_INT(r[1].annotations.count, 1);
        CHECK_STR(r[2].digest, dsbom);
        CHECK_STR(r[2].artifact_type, "application/vnd.example.sbom"); /* the config's media type */
        CHECK_STR(ml__annotations_get(&r[2].annotations, ML__LAYOUT_REF_NAME), NULL); /* the manifest's own */
        CHECK_STR(r[3].digest, didx);
        CHECK_STR(r[3].media_type, ML__MT_OCI_INDEX);
        CHECK_STR(r[3].artifact_type, "application/vnd.example.bundle");
    }
    ml__manifest_clear(&refs);

    /* No referrers: nothing appended. */
    refs = (ml__manifest){.kind = ML__KIND_OCI_INDEX};
    CHECK_INT(scan_one(&repo, dsig, &refs, &err), ML_OK);
    CHECK_INT(refs.manifest_count, 0);
    char *missing = join(tmp, "nope");
    ml_ref mrepo = {.repository = missing, .layout = true};
    CHECK_INT(scan_one(&mrepo, ds, &refs, &err), ML_ENOTFOUND);
    CHECK_INT(refs.manifest_count, 0);
    ml__manifest_clear(&refs);

    /* Several subjects in one pass: each gets its own referrers. */
    ml__manifest of_s = {.kind = ML__KIND_OCI_INDEX}, of_config = {.kind = ML__KIND_OCI_INDEX};
    ml__layout_subject both[2] = {{ds, &of_s}, {CONFIG_DIGEST, &of_config}};
    CHECK_INT(ml__layout_referrers_scan(&repo, both, 2, &err), ML_OK);
    CHECK_INT(of_s.manifest_count, 4); /* sig, sbom, known, the index */
    CHECK_INT(of_config.manifest_count, 1);
    if (of_config.manifest_count == 1) {
        char delse[ML__DIGEST_MAX];
        digest_of(elsewhere, delse);
        CHECK_STR(of_config.manifests[0].digest, delse);
    }
    ml__manifest_clear(&of_s);
    ml__manifest_clear(&of_config);

    ml_error_free(err);
    free(missing);
    free(json);
    free(es);
    free(esig);
    free(esbom);
    free(eknown);
    free(eelse);
    free(egone);
    free(esig2);
    free(eidx);
    free(s);
    free(sig);
    free(sbom);
    free(known);
    free(elsewhere);
    free(gone);
    free(idx_ref);
    free(dir);
    rm_rf(tmp);
    free(tmp);
}

static mode_t mode_of(const char *dir, const char *name)
{
    char *p = join(dir, name);
    struct stat st;
    mode_t m = p && stat(p, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
    free(p);
    return m;
}

/* The umask decides modes, as for any tool; an empty directory the
 * layout replaces keeps its own. */
static void test_modes(void)
{
    char *tmp = make_tmpdir();
    char *body = manifest_body(500), d[ML__DIGEST_MAX];
    digest_of(body, d);
    char *rel = blob_rel(d);
    mode_t saved = umask(077);

    char *priv = join(tmp, "private");
    ml_ref rp = {.repository = priv, .layout = true};
    CHECK_INT(put(&rp, "v1", body, NULL, NULL), ML_OK);
    CHECK_INT(mode_of(priv, "."), 0700);
    CHECK_INT(mode_of(priv, "blobs/sha256"), 0700);
    CHECK_INT(mode_of(priv, "index.json"), 0600);
    CHECK_INT(mode_of(priv, "oci-layout"), 0600);
    CHECK_INT(mode_of(priv, rel), 0600);

    umask(022);
    char *pub = join(tmp, "public");
    ml_ref rpub = {.repository = pub, .layout = true};
    CHECK_INT(put(&rpub, "v1", body, NULL, NULL), ML_OK);
    CHECK_INT(mode_of(pub, "."), 0755);
    CHECK_INT(mode_of(pub, "blobs"), 0755);
    CHECK_INT(mode_of(pub, "index.json"), 0644);
    CHECK_INT(mode_of(pub, rel), 0644);

    /* mkdir -m 700 out, then a layout into it (umask 002 inside). */
    umask(002);
    char *mine = join(tmp, "mine");
    CHECK(mkdir(mine, 0700) == 0);
    ml_ref rm = {.repository = mine, .layout = true};
    CHECK_INT(put(&rm, "v1", body, NULL, NULL), ML_OK);
    CHECK_INT(mode_of(mine, "."), 0700);
    CHECK_INT(mode_of(mine, "blobs/sha256"), 0775);
    CHECK_INT(mode_of(mine, "index.json"), 0664);
    CHECK_INT(count_prefixed(tmp, "mine.mlist-"), 0);

    umask(saved);
    free(mine);
    free(pub);
    free(priv);
    free(rel);
    free(body);
    rm_rf(tmp);
    free(tmp);
}

/* Writes where the user may not: the errors name the user's paths. */
static void check_denied(const char *parent, char *layout)
{
    char *dir = join(parent, "out");
    ml_ref repo = {.repository = dir, .layout = true}, lrepo = {.repository = layout, .layout = true};
    char *body = manifest_body(601);
    ml_error *err = NULL;
    CHECK_INT(put(&repo, "v1", body, NULL, &err), ML_EIO);
    char *want = ml__asprintf("cannot create layout %s: Permission denied", dir);
    CHECK(test_contains(ml_error_message(err), want));
    CHECK(!exists(parent, "out"));
    CHECK_INT(put(&lrepo, "v2", body, NULL, &err), ML_EIO);
    CHECK(test_contains(ml_error_message(err), layout));
    CHECK(test_contains(ml_error_message(err), "Permission denied"));
    CHECK(!shows_internal_name(ml_error_message(err)));
    ml_error_free(err);
    free(want);
    free(body);
    free(dir);
}

static void test_error_names(void)
{
    char *tmp = make_tmpdir();
    ml_error *err = NULL;
    char *body = manifest_body(600);

    /* A name so long the sibling's cannot be made. */
    char longname[251];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    char *dir = join(tmp, longname);
    char *slashed = ml__asprintf("%s/", dir);
    ml_ref repo = {.repository = slashed, .layout = true};
    CHECK_INT(put(&repo, "v1", body, NULL, &err), ML_EIO);
    char *want = ml__asprintf("cannot create layout %s: File name too long", dir);
    CHECK(test_contains(ml_error_message(err), want));
    CHECK(!shows_internal_name(ml_error_message(err)));

    ml_error_free(err);
    free(want);
    free(slashed);
    free(dir);
    free(body);
    rm_rf(tmp);
    free(tmp);
}

/* A parent and a layout this user may not write to. Root may write
 * anywhere: the check then runs as nobody, whom a 0755 directory of
 * root's keeps out. */
static void test_denied_names(void)
{
    char *tmp = make_tmpdir();
    char *ro = join(tmp, "ro"), *layout = join(tmp, "ro/layout"), *body = manifest_body(602);
    CHECK(mkdir(ro, 0755) == 0);
    ml_ref lrepo = {.repository = layout, .layout = true};
    CHECK_INT(put(&lrepo, "v1", body, NULL, NULL), ML_OK);
    free(body);
    if (geteuid() != 0) {
        chmod(layout, 0555);
        chmod(ro, 0555);
        check_denied(ro, layout);
        chmod(ro, 0755);
        chmod(layout, 0755);
    } else {
        chmod(tmp, 0755);
        chmod(layout, 0755);
        pid_t pid = fork();
        if (pid == 0) {
            int before = test_failed;
            if (setgid(65534) == 0 && setuid(65534) == 0)
                check_denied(ro, layout);
            else
                test_failed++;
            free(layout);
            free(ro);
            free(tmp);
            _exit(test_failed != before);
        }
        int status = -1;
        CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    free(layout);
    free(ro);
    rm_rf(tmp);
    free(tmp);
}

/* "." cannot be renamed over: the empty directory is filled in place. */
static void test_create_in_cwd(void)
{
    char *tmp = make_tmpdir();
    char *cwd = getcwd(NULL, 0);
    CHECK(cwd && tmp && chdir(tmp) == 0);
    ml_ref repo = {.repository = ".", .layout = true};
    char *body = manifest_body(90);
    CHECK_INT(put(&repo, "v1", body, NULL, NULL), ML_OK);
    CHECK(exists(tmp, "oci-layout"));
    CHECK_INT(fetch_rc(&repo, "v1", true), ML_OK);
    CHECK_INT(count_prefixed(tmp, ".mlist-"), 0);
    CHECK(cwd && chdir(cwd) == 0);
    free(body);
    free(cwd);
    rm_rf(tmp);
    free(tmp);
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* A writer stopped while holding the lock: later writes give up after
 * their wait, naming the layout, and change nothing. */
static void test_lock_wait_bounded(void)
{
    char *tmp = make_tmpdir();
    char *dir = join(tmp, "l"), *marker = join(dir, "oci-layout");
    ml_ref repo = {.repository = dir, .layout = true};
    char *a = manifest_body(110), *b = manifest_body(111);
    CHECK_INT(put(&repo, "v1", a, NULL, NULL), ML_OK);
    char *before = read_text(dir, "index.json");
    /* Another open file description: flock locks conflict across them. */
    int held = open(marker, O_RDONLY | O_CLOEXEC);
    CHECK(held >= 0 && flock(held, LOCK_EX | LOCK_NB) == 0);

    ml__item it = {.repo = &repo, .reference = "v2", .body = b, .len = strlen(b), .media_type = MT_MANIFEST};
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    CHECK_INT(ml__layout_put_manifests(&it, 1, 300), ML_OK);
    double took = seconds_since(&start);
    CHECK_INT(it.rc, ML_EIO);
    CHECK(took >= 0.29 && took < 5.0);
    char *want = ml__asprintf("another process holds the lock of layout %s", dir);
    CHECK(test_contains(ml_error_message(it.err), want));
    ml_error_free(it.err); /* body and media type are ours */
    ml_error *err = NULL;
    char da[ML__DIGEST_MAX];
    digest_of(a, da);
    CHECK_INT(ml__layout_delete_manifest(&repo, da, 0, &err), ML_EIO);
    CHECK(test_contains(ml_error_message(err), want));
    char *after = read_text(dir, "index.json");
    CHECK_STR(after, before);

    /* Released meanwhile: the write waits for it and lands. */
    pid_t pid = fork();
    if (pid == 0) {
        struct timespec pause = {0, 200 * 1000 * 1000};
        nanosleep(&pause, NULL);
        _exit(0); /* closing the inherited descriptor releases the lock */
    }
    close(held);
    CHECK_INT(put(&repo, "v2", b, NULL, NULL), ML_OK);
    CHECK(pid > 0 && waitpid(pid, NULL, 0) == pid);

    ml_error_free(err);
    free(after);
    free(want);
    free(before);
    free(a);
    free(b);
    free(marker);
    free(dir);
    rm_rf(tmp);
    free(tmp);
}

/* A FIFO where a file of the layout belongs would block its reader for
 * good: it is refused instead, reading and writing. */
static void test_fifo_refused(void)
{
    char *tmp = make_tmpdir();
    char *dir = join(tmp, "l");
    ml_ref repo = {.repository = dir, .layout = true};
    char *body = manifest_body(120), *digest = NULL;
    CHECK_INT(put(&repo, "v1", body, &digest, NULL), ML_OK);
    char *rel = blob_rel(digest), *blob = join(dir, rel), *index = join(dir, "index.json");

    unlink(blob);
    CHECK_INT(mkfifo(blob, 0600), 0);
    ml__item it;
    CHECK_INT(fetch(&repo, "v1", true, &it), ML_EIO);
    CHECK(test_contains(ml_error_message(it.err), "is a FIFO, not a regular file"));
    ml__item_clear(&it);
    CHECK_INT(fetch_rc(&repo, "v1", false), ML_EIO);
    CHECK(!ml__layout_has_blob(&repo, digest));
    FILE *f = NULL;
    int64_t size;
    CHECK_INT(ml__layout_open_blob(&repo, digest, &f, &size, NULL), ML_EIO);
    CHECK(f == NULL);
    /* Writing the manifest again replaces the FIFO with the blob. */
    CHECK_INT(put(&repo, "v1", body, NULL, NULL), ML_OK);
    CHECK_INT(fetch_rc(&repo, "v1", true), ML_OK);

    char *saved = read_text(dir, "index.json");
    unlink(index);
    CHECK_INT(mkfifo(index, 0600), 0);
    CHECK_INT(fetch(&repo, "v1", false, &it), ML_EIO);
    CHECK(test_contains(ml_error_message(it.err), "index.json is a FIFO"));
    ml__item_clear(&it);
    ml__strvec tags = {0};
    bool complete;
    CHECK_INT(ml__layout_list_tags(&repo, &tags, &complete, NULL), ML_EIO);
    unlink(index);
    write_text(dir, "index.json", saved ? saved : "");

    /* The lock file too. */
    char *marker = join(dir, "oci-layout");
    unlink(marker);
    CHECK_INT(mkfifo(marker, 0600), 0);
    ml_error *err = NULL;
    CHECK_INT(put(&repo, "v2", body, NULL, &err), ML_EIO);
    CHECK(test_contains(ml_error_message(err), "oci-layout is a FIFO"));

    ml_error_free(err);
    free(marker);
    free(saved);
    free(index);
    free(blob);
    free(rel);
    free(digest);
    free(body);
    free(dir);
    rm_rf(tmp);
    free(tmp);
}

/* oci:LINK where LINK names an empty directory: the layout is made in that
 * directory, and the link stays. */
static void test_symlink_to_empty_dir(void)
{
    char *tmp = make_tmpdir();
    char *target = join(tmp, "target"), *link = join(tmp, "lnk"), *slash = ml__asprintf("%s/", link);
    mkdir(target, 0700);
    CHECK_INT(symlink("target", link), 0);
    ml_ref repo = {.repository = link, .layout = true}, srepo = {.repository = slash, .layout = true};
    char *body = manifest_body(130);
    ml_error *err = NULL;
    CHECK_INT(put(&repo, "v1", body, NULL, &err), ML_OK);
    if (err)
        fprintf(stderr, "  %s\n", ml_error_message(err));
    struct stat st;
    CHECK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(exists(target, "oci-layout") && exists(target, "index.json"));
    CHECK(stat(target, &st) == 0 && (st.st_mode & 07777) == 0700);
    CHECK_INT(fetch_rc(&repo, "v1", true), ML_OK);
    CHECK_INT(count_prefixed(tmp, "lnk.mlist-"), 0);
    CHECK_INT(count_prefixed(tmp, "target.mlist-"), 0);

    /* The same with a trailing slash, into a fresh empty directory. */
    rm_rf(target);
    mkdir(target, 0755);
    CHECK_INT(put(&srepo, "v1", body, NULL, NULL), ML_OK);
    CHECK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode));
    CHECK_INT(fetch_rc(&repo, "v1", true), ML_OK);

    ml_error_free(err);
    free(body);
    free(slash);
    free(link);
    free(target);
    rm_rf(tmp);
    free(tmp);
}

/* blobs/sha256 linked to a directory outside the layout: no blob is read,
 * written or deleted through it. One inside the layout is fine. */
static void test_blob_dir_outside(void)
{
    char *tmp = make_tmpdir();
    char *dir = join(tmp, "l"), *outside = join(tmp, "outside"), *sha = join(dir, "blobs/sha256");
    ml_ref repo = {.repository = dir, .layout = true};
    char *a = manifest_body(140), *b = manifest_body(141), *da = NULL;
    CHECK_INT(put(&repo, "v1", a, &da, NULL), ML_OK);
    /* The same blobs outside, reached through the link. */
    rename(sha, outside);
    CHECK_INT(symlink(outside, sha), 0);
    char *before = read_text(dir, "index.json");

    ml__item it;
    CHECK_INT(fetch(&repo, "v1", true, &it), ML_EIO);
    char *want = ml__asprintf("%s leads outside the layout", sha);
    CHECK(test_contains(ml_error_message(it.err), want));
    ml__item_clear(&it);
    CHECK(!ml__layout_has_blob(&repo, da));
    ml_error *err = NULL;
    CHECK_INT(put(&repo, "v2", b, NULL, &err), ML_EIO);
    CHECK(test_contains(ml_error_message(err), want));
    ml_error_free(err);
    err = NULL;
    CHECK_INT(ml__layout_delete_manifest(&repo, da, LOCK_WAIT_MS, &err), ML_EIO);
    char *rel = ml__asprintf("%s", da + 7);
    CHECK(exists(outside, rel)); /* not deleted */
    CHECK_INT(count_prefixed(outside, ""), 3); /* ".", "..", the one blob */
    char *after = read_text(dir, "index.json");
    CHECK_STR(after, before);

    /* blobs/ itself linked outside. */
    char *blobs = join(dir, "blobs"), *outblobs = join(tmp, "outblobs");
    unlink(sha);
    rename(outside, sha);
    rename(blobs, outblobs);
    CHECK_INT(symlink(outblobs, blobs), 0);
    CHECK_INT(fetch_rc(&repo, "v1", true), ML_EIO);

    /* A link that stays inside is followed. */
    unlink(blobs);
    char *inside = join(dir, "store");
    rename(outblobs, inside);
    CHECK_INT(symlink("store", blobs), 0);
    CHECK_INT(fetch_rc(&repo, "v1", true), ML_OK);
    CHECK_INT(put(&repo, "v2", b, NULL, NULL), ML_OK);

    ml_error_free(err);
    free(inside);
    free(outblobs);
    free(blobs);
    free(after);
    free(rel);
    free(want);
    free(before);
    free(da);
    free(a);
    free(b);
    free(sha);
    free(outside);
    free(dir);
    rm_rf(tmp);
    free(tmp);
}

/* Two writers at once: the lock keeps either's tags from being lost. */
static void test_concurrent_writers(void)
{
    char *tmp = make_tmpdir();
    char *dir = join(tmp, "l");
    ml_ref repo = {.repository = dir, .layout = true};
    enum { PER_WRITER = 10 };
    pid_t pid = fork();
    int base = pid == 0 ? 100 : 200;
    int failures = 0;
    for (int i = 0; i < PER_WRITER; i++) {
        char *tag = ml__asprintf("t%d", base + i), *body = manifest_body(base + i);
        failures += put(&repo, tag, body, NULL, NULL) != ML_OK;
        free(tag);
        free(body);
    }
    if (pid == 0) {
        free(dir);
        free(tmp);
        _exit(failures ? 1 : 0);
    }
    int status = -1;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_INT(failures, 0);
    ml__strvec tags = {0};
    bool complete;
    CHECK_INT(ml__layout_list_tags(&repo, &tags, &complete, NULL), ML_OK);
    CHECK_INT(tags.count, 2 * PER_WRITER);
    CHECK(ml__strvec_contains(&tags, "t100") && ml__strvec_contains(&tags, "t209"));
    ml__strvec_free(&tags);
    free(dir);
    rm_rf(tmp);
    free(tmp);
}

/* A writer killed at any moment leaves a layout whose every tag reads. */
static void test_killed_writer(void)
{
    char *tmp = make_tmpdir();
    char *dir = join(tmp, "l");
    ml_ref repo = {.repository = dir, .layout = true};
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0;; i++) {
            char *tag = ml__asprintf("t%d", i % 50), *body = manifest_body(i);
            put(&repo, tag, body, NULL, NULL);
            free(tag);
            free(body);
        }
    }
    /* Once the layout exists, the writer is somewhere inside its loop. */
    struct timespec ts = {0, 10 * 1000 * 1000};
    for (int i = 0; i < 1000 && !exists(dir, "oci-layout"); i++)
        nanosleep(&ts, NULL);
    ts.tv_nsec = (long)(rand() % 50) * 1000 * 1000;
    nanosleep(&ts, NULL);
    CHECK(pid > 0 && kill(pid, SIGKILL) == 0);
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status));

    ml__strvec tags = {0};
    bool complete;
    CHECK_INT(ml__layout_list_tags(&repo, &tags, &complete, NULL), ML_OK);
    int bad = 0;
    for (size_t i = 0; i < tags.count; i++)
        bad += fetch_rc(&repo, tags.items[i], true) != ML_OK;
    CHECK_INT(bad, 0);
    ml__strvec_free(&tags);
    free(dir);
    rm_rf(tmp);
    free(tmp);
}

int main(void)
{
    srand((unsigned)time(NULL));
    /* A read or lock waited for forever fails the test, not the suite. */
    alarm(120);
    TEST_RUN(test_put_then_read);
    TEST_RUN(test_put_by_digest);
    TEST_RUN(test_tag_replace_keeps_order);
    TEST_RUN(test_compare_and_swap);
    TEST_RUN(test_delete);
    TEST_RUN(test_corrupted_blob);
    TEST_RUN(test_missing_and_foreign);
    TEST_RUN(test_latest_single_entry);
    TEST_RUN(test_blob_writer);
    TEST_RUN(test_no_escape);
    TEST_RUN(test_skopeo_format);
    TEST_RUN(test_batch_items);
    TEST_RUN(test_create_in_cwd);
    TEST_RUN(test_delete_keeps_children);
    TEST_RUN(test_referrers_scan);
    TEST_RUN(test_modes);
    TEST_RUN(test_error_names);
    TEST_RUN(test_denied_names);
    TEST_RUN(test_concurrent_writers);
    TEST_RUN(test_killed_writer);
    TEST_RUN(test_lock_wait_bounded);
    TEST_RUN(test_fifo_refused);
    TEST_RUN(test_symlink_to_empty_dir);
    TEST_RUN(test_blob_dir_outside);
    TEST_END();
}
