#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "digest.h"
#include "fileio.h"
#include "layout.h"
#include "layoutfs.h"
#include "manifest.h"


/* An unknown tag's message lists at most this many of the tags there are. */
#define TAGS_SHOWN_MAX 10

static int oom(ml_error **err) { return ml__error_set(err, ML_ENOMEM, "out of memory"); }

static const char *tag_of(const ml__descriptor *d)
{
    return ml__annotations_get(&d->annotations, ML__LAYOUT_REF_NAME);
}

static ml__descriptor *tagged(const ml__manifest *idx, const char *tag)
{
    for (size_t i = 0; i < idx->manifest_count; i++)
        if (ml__str_eq(tag_of(&idx->manifests[i]), tag))
            return &idx->manifests[i];
    return NULL;
}

static const ml__descriptor *find_tag(const ml__manifest *idx, const char *tag)
{
    const ml__descriptor *d = tagged(idx, tag);
    /* skopeo writes "oci:PATH" as the layout's only, untagged image. A
     * tagged one is not "latest": a write to oci:PATH must not replace it
     * (set_tag replaces only what this finds). */
    if (!d && strcmp(tag, "latest") == 0 && idx->manifest_count == 1 && !tag_of(&idx->manifests[0]))
        d = &idx->manifests[0];
    return d;
}

static const ml__descriptor *find_digest(const ml__manifest *idx, const char *digest)
{
    for (size_t i = 0; i < idx->manifest_count; i++)
        if (ml__str_eq(idx->manifests[i].digest, digest))
            return &idx->manifests[i];
    return NULL;
}

/* Drops entries from index `from` on that match tag or digest (the other
 * NULL); how many. */
static size_t drop_entries(ml__manifest *idx, size_t from, const char *tag, const char *digest)
{
    size_t kept = from, n = idx->manifest_count;
    for (size_t i = from; i < n; i++) {
        ml__descriptor *d = &idx->manifests[i];
        if ((tag && ml__str_eq(tag_of(d), tag)) || (digest && ml__str_eq(d->digest, digest)))
            ml__descriptor_clear(d);
        else
            idx->manifests[kept++] = *d;
    }
    idx->manifest_count = kept;
    return n - kept;
}

static int tag_entry(ml__descriptor *d, const char *tag, const char *media_type, const char *digest,
                     int64_t size)
{
    *d = (ml__descriptor){.media_type = ml__strdup(media_type), .digest = ml__strdup(digest), .size = size};
    if (!d->media_type || !d->digest ||
        ml__annotations_set(&d->annotations, ML__LAYOUT_REF_NAME, tag) != ML_OK) {
        ml__descriptor_clear(d);
        return ML_ENOMEM;
    }
    return ML_OK;
}

/* Points tag at the blob: the entry reading it names (find_tag) is
 * replaced where it stands, every other entry keeps its place. So "latest"
 * written to skopeo's one untagged entry replaces it and gets the tag: a
 * second entry would leave skopeo's oci:PATH ambiguous ("more than one
 * image"). */
/* Points `tag` at the entry `at` replaces (NULL: a new entry). */
static int set_tag(ml__manifest *idx, const ml__descriptor *at, const char *tag, const char *media_type,
                   const char *digest, int64_t size, ml_error **err)
{
    ml__descriptor entry;
    if (tag_entry(&entry, tag, media_type, digest, size) != ML_OK)
        return oom(err);
    if (at) {
        size_t i = (size_t)(at - idx->manifests);
        ml__descriptor_clear(&idx->manifests[i]);
        idx->manifests[i] = entry;
        /* A tag names one image: stray duplicates (other tools) go. */
        drop_entries(idx, i + 1, tag, NULL);
        return ML_OK;
    }
    if (ml__manifest_append(idx, &entry) != ML_OK) {
        ml__descriptor_clear(&entry);
        return oom(err);
    }
    return ML_OK;
}

/* ---- batches ------------------------------------------------------------ */

/* A tag must be a tag, and anything with a colon a digest. */
static int check_reference(const char *reference, bool *is_digest, ml_error **err)
{
    *is_digest = reference && strchr(reference, ':');
    if (*is_digest && !ml__digest_valid(reference))
        return ml__error_set(err, ML_EDIGEST, "invalid digest \"%s\"", reference);
    if (!*is_digest && !ml__tag_valid(reference))
        return ml__error_set(err, ML_EREF, "invalid tag \"%s\"", reference ? reference : "");
    return ML_OK;
}

/* Results go to the item only on success. */
typedef struct found {
    char *digest;
    char *media_type;
    int64_t size;
    char *body;
    size_t len;
} found;

static void found_clear(found *f)
{
    free(f->digest);
    free(f->media_type);
    free(f->body);
}

/* A PUT item's body and media type are the caller's input: kept. */
static void found_give(found *f, ml__item *it, bool put)
{
    it->digest = f->digest;
    it->size = f->size;
    f->digest = NULL;
    if (put)
        return;
    it->media_type = f->media_type;
    it->body = f->body;
    it->len = f->len;
    *f = (found){0};
}

/* The manifest's own mediaType, for a blob index.json does not list. */
static int media_type_of(const char *body, size_t len, char **out, ml_error **err)
{
    ml__manifest m;
    int rc = ml__manifest_parse(&m, body, len, NULL, err);
    if (rc != ML_OK)
        return ml__error_prefix(err, ML_EMANIFEST, "media type unknown");
    *out = ml__strdup(m.media_type);
    ml__manifest_clear(&m);
    return *out ? ML_OK : oom(err);
}

/* Names the tags there are: a user who guessed wrong sees what to write. */
static int tag_not_found(const ml__manifest *idx, const char *dir, const char *tag, ml_error **err)
{
    ml__buf b = {0};
    size_t total = 0;
    for (size_t i = 0; i < idx->manifest_count; i++) {
        const char *t = tag_of(&idx->manifests[i]);
        if (t && total++ < TAGS_SHOWN_MAX)
            ml__buf_printf(&b, "%s%s", total > 1 ? ", " : "", t);
    }
    char *tags = ml__buf_take(&b);
    int rc = ml__error_set(err, ML_ENOTFOUND, "tag \"%s\" not found in %s/index.json (%s%s%s)", tag, dir,
                           total ? "tags: " : "no tags", total && tags ? tags : "",
                           total > TAGS_SHOWN_MAX ? ", ..." : "");
    free(tags);
    return rc;
}

/* Digest and (when listed) media type of a manifest reference. */
/* index.json, read once per batch for reads: a batch (the images of a
 * spec) mostly names one layout, and reading it per item would make
 * resolving N images from an N-entry layout quadratic. */
typedef struct index_cache {
    char *dir; /* NULL: nothing read yet */
    ml__manifest idx;
} index_cache;

static void index_cache_clear(index_cache *ic)
{
    free(ic->dir);
    ml__manifest_clear(&ic->idx);
    *ic = (index_cache){0};
}

static int cached_index(index_cache *ic, const char *dir, const ml__manifest **out, ml_error **err)
{
    if (!ic->dir || strcmp(ic->dir, dir) != 0) {
        index_cache_clear(ic);
        int rc = ml__layoutfs_check(dir, err);
        if (rc == ML_OK)
            rc = ml__layoutfs_load_index(dir, &ic->idx, err);
        if (rc == ML_OK && !(ic->dir = ml__strdup(dir)))
            rc = oom(err);
        if (rc != ML_OK) {
            index_cache_clear(ic);
            return rc;
        }
    }
    *out = &ic->idx;
    return ML_OK;
}

static int resolve(const ml__manifest *idx, const char *dir, const char *reference, bool is_digest, found *f,
                   ml_error **err)
{
    const ml__descriptor *d = is_digest ? find_digest(idx, reference) : find_tag(idx, reference);
    if (!d && !is_digest)
        return tag_not_found(idx, dir, reference, err);
    f->digest = ml__strdup(is_digest ? reference : d->digest);
    f->media_type = ml__strdup(d ? d->media_type : NULL);
    return !f->digest || (d && !f->media_type) ? oom(err) : ML_OK;
}

static int manifest_one(ml__item *it, bool get, index_cache *ic, found *f)
{
    const char *dir = NULL;
    const ml__manifest *idx = NULL;
    bool is_digest;
    int rc;
    if ((rc = ml__layoutfs_dir(it->repo, &dir, &it->err)) || (rc = check_reference(it->reference, &is_digest, &it->err)) ||
        (rc = cached_index(ic, dir, &idx, &it->err)) || (rc = resolve(idx, dir, it->reference, is_digest, f, &it->err)))
        return rc;
    if (!get && f->media_type) {
        char *path = NULL;
        rc = ml__layoutfs_blob_stat(dir, f->digest, &path, &f->size, &it->err);
        free(path);
        return rc;
    }
    if ((rc = ml__layoutfs_read_blob(dir, f->digest, ML__MANIFEST_MAX, &f->body, &f->len, &it->err)))
        return rc;
    f->size = (int64_t)f->len;
    if (!f->media_type && (rc = media_type_of(f->body, f->len, &f->media_type, &it->err)))
        return rc;
    if (!get) {
        free(f->body);
        f->body = NULL;
        f->len = 0;
    }
    return ML_OK;
}

static int blob_one(ml__item *it, bool get, size_t max, found *f)
{
    const char *dir = NULL;
    char *path = NULL;
    int rc;
    if ((rc = ml__layoutfs_dir(it->repo, &dir, &it->err)) || (rc = ml__layoutfs_check(dir, &it->err)))
        return rc;
    if (!get) {
        rc = ml__layoutfs_blob_stat(dir, it->reference, &path, &f->size, &it->err);
        free(path);
    } else if ((rc = ml__layoutfs_read_blob(dir, it->reference, max, &f->body, &f->len, &it->err)) == ML_OK) {
        f->size = (int64_t)f->len;
    }
    if (rc == ML_OK && !(f->digest = ml__strdup(it->reference)))
        rc = oom(&it->err);
    return rc;
}

/* The entry a write of the item's tag replaces: the tag's, or what a read
 * of it found before (skopeo's untagged "latest", which an earlier tag of
 * the same push may have made ambiguous since). */
static const ml__descriptor *entry_for(const ml__manifest *idx, const ml__item *it)
{
    const ml__descriptor *d = find_tag(idx, it->reference);
    for (size_t i = 0; !d && it->expect_set && it->expect && i < idx->manifest_count; i++)
        if (!tag_of(&idx->manifests[i]) && ml__str_eq(idx->manifests[i].digest, it->expect))
            d = &idx->manifests[i];
    return d;
}

/* Compare-and-swap: under the lock, the tag must hold what the writer
 * read before (a registry has no such check). */
static int still_expected(const ml__descriptor *d, const ml__item *it, ml_error **err)
{
    const char *now = d ? d->digest : NULL;
    if (!it->expect_set || ml__str_eq(now, it->expect))
        return ML_OK;
    ml__error_set(err, ML_ECONFLICT, "tag \"%s\" was changed by someone else (%s -> %s)", it->reference,
                  it->expect ? it->expect : "absent", now ? now : "absent");
    return ml__error_hint(err, ML_ECONFLICT, ML_HINT_FORCE);
}

/* Writes the manifest's blob and points a tag at it, under the lock so a
 * concurrent delete cannot remove the blob between both. */
static int put_locked(const char *dir, const ml__item *it, bool is_digest, const char *digest, uint32_t wait_ms,
                      ml_error **err)
{
    int fd;
    int rc = ml__layoutfs_lock(dir, wait_ms, &fd, err);
    if (rc != ML_OK)
        return rc;
    ml__manifest idx = {0};
    rc = ml__layoutfs_put_blob(dir, digest, it->body, it->len, err);
    if (rc == ML_OK && !is_digest && (rc = ml__layoutfs_load_index(dir, &idx, err)) == ML_OK) {
        const ml__descriptor *at = entry_for(&idx, it);
        if ((rc = still_expected(at, it, err)) == ML_OK &&
            (rc = set_tag(&idx, at, it->reference, it->media_type, digest, (int64_t)it->len, err)) == ML_OK)
            rc = ml__layoutfs_store_index(dir, &idx, err);
    }
    ml__manifest_clear(&idx);
    close(fd);
    return rc;
}

static int put_one(ml__item *it, uint32_t wait_ms, found *f)
{
    const char *dir = NULL;
    bool is_digest;
    char digest[ML__DIGEST_MAX];
    int rc;
    if ((rc = ml__layoutfs_dir(it->repo, &dir, &it->err)) || (rc = check_reference(it->reference, &is_digest, &it->err)))
        return rc;
    if (!it->media_type || !it->media_type[0] || (!it->body && it->len))
        return ml__error_set(&it->err, ML_EINVAL, "no manifest body or media type");
    if (it->len > ML__MANIFEST_MAX)
        return ml__error_set(&it->err, ML_ETOOBIG, "manifest of %zu bytes is over the limit of %u bytes",
                             it->len, ML__MANIFEST_MAX);
    const char *alg = is_digest && ml__has_prefix(it->reference, "sha512:") ? "sha512" : "sha256";
    if ((rc = ml__digest_compute(alg, it->body ? it->body : "", it->len, digest, &it->err)))
        return rc;
    if (is_digest && strcmp(digest, it->reference) != 0)
        return ml__error_set(&it->err, ML_EDIGEST, "manifest has digest %s, not %s", digest, it->reference);
    if ((rc = ml__layoutfs_ensure(dir, &it->err)) || (rc = put_locked(dir, it, is_digest, digest, wait_ms, &it->err)))
        return rc;
    f->size = (int64_t)it->len;
    f->digest = ml__strdup(digest);
    return f->digest ? ML_OK : oom(&it->err);
}

typedef enum op { OP_HEAD, OP_GET, OP_HEAD_BLOB, OP_GET_BLOB, OP_PUT } op;

static const char *const op_verbs[] = {"HEAD", "GET", "HEAD blob", "GET blob", "PUT"};

/* max bounds a blob's GET; wait_ms a PUT's wait for the lock. */
static int item_run(ml__item *it, op o, size_t max, uint32_t wait_ms, index_cache *ic, found *f)
{
    switch (o) {
    case OP_HEAD: return manifest_one(it, false, ic, f);
    case OP_GET: return manifest_one(it, true, ic, f);
    case OP_HEAD_BLOB: return blob_one(it, false, 0, f);
    case OP_GET_BLOB: return blob_one(it, true, max, f);
    default: return put_one(it, wait_ms, f);
    }
}

/* Items fail one by one, each naming itself; only a lack of memory fails
 * the batch. */
static int run_items(ml__item *items, size_t n, op o, size_t max, uint32_t wait_ms)
{
    int rc = ML_OK;
    index_cache ic = {0};
    for (size_t i = 0; i < n; i++) {
        ml__item *it = &items[i];
        found f = {0};
        it->rc = item_run(it, o, max, wait_ms, &ic, &f);
        if (it->rc == ML_OK)
            found_give(&f, it, o == OP_PUT);
        else if (it->rc == ML_ENOMEM)
            rc = ML_ENOMEM;
        else {
            const char *ref = it->reference ? it->reference : "";
            ml__error_prefix(&it->err, it->rc, "%s %s%s%s%s", op_verbs[o], ML__LAYOUT_PREFIX,
                             it->repo && it->repo->repository ? it->repo->repository : "",
                             strchr(ref, ':') ? "@" : ":", ref);
        }
        found_clear(&f);
    }
    index_cache_clear(&ic);
    return rc;
}

int ml__layout_head_manifests(ml__item *items, size_t n) { return run_items(items, n, OP_HEAD, 0, 0); }

int ml__layout_get_manifests(ml__item *items, size_t n) { return run_items(items, n, OP_GET, 0, 0); }

int ml__layout_head_blobs(ml__item *items, size_t n) { return run_items(items, n, OP_HEAD_BLOB, 0, 0); }

int ml__layout_get_blobs(ml__item *items, size_t n, size_t max)
{
    return run_items(items, n, OP_GET_BLOB, max, 0);
}

int ml__layout_put_manifests(ml__item *items, size_t n, uint32_t lock_wait_ms)
{
    return run_items(items, n, OP_PUT, 0, lock_wait_ms);
}

/* ---- delete and tags ---------------------------------------------------- */

/* Levels of lists below an index.json entry searched for a child: an
 * index of lists is the deepest shape tools write. */
#define CHILD_DEPTH 2

/* Whether the manifest d describes may have `digest` as a child, at most
 * `depth` levels down. Image manifests have no children (a subject is not
 * kept by its referrers); a list that cannot be read may have any. */
static bool may_have_child(const char *dir, const ml__descriptor *d, const char *digest, int depth)
{
    ml__kind kind = ml__kind_of(d->media_type);
    if (depth == 0 || (kind != ML__KIND_UNKNOWN && !ml__kind_is_list(kind)))
        return false;
    char *body = NULL;
    size_t len = 0;
    ml__manifest m;
    if (ml__layoutfs_read_blob(dir, d->digest, ML__MANIFEST_MAX, &body, &len, NULL) != ML_OK)
        return true;
    int rc = ml__manifest_parse(&m, body, len, d->media_type, NULL);
    free(body);
    if (rc != ML_OK)
        return true;
    bool named = false;
    for (size_t i = 0; !named && i < m.manifest_count; i++)
        named = ml__str_eq(m.manifests[i].digest, digest) || may_have_child(dir, &m.manifests[i], digest, depth - 1);
    ml__manifest_clear(&m);
    return named;
}

static bool still_named(const char *dir, const ml__manifest *idx, const char *digest)
{
    bool named = false;
    for (size_t i = 0; !named && i < idx->manifest_count; i++)
        named = may_have_child(dir, &idx->manifests[i], digest, CHILD_DEPTH);
    return named;
}

/* index.json first: a crash between both leaves an unnamed blob, never an
 * entry naming a missing one. A blob a remaining list still names stays,
 * or `delete oci:out@<child>` would break that list. */
static int delete_locked(const char *dir, const char *digest, const char *path, ml_error **err)
{
    ml__manifest idx;
    int rc = ml__layoutfs_load_index(dir, &idx, err);
    size_t dropped = rc == ML_OK ? drop_entries(&idx, 0, NULL, digest) : 0;
    if (rc == ML_OK && dropped)
        rc = ml__layoutfs_store_index(dir, &idx, err);
    bool keep = rc == ML_OK && still_named(dir, &idx, digest);
    ml__manifest_clear(&idx);
    if (rc != ML_OK)
        return rc;
    /* A kept blob is still checked for: a digest neither listed nor
     * stored is not found. */
    struct stat st;
    bool missing = keep ? stat(path, &st) != 0 : unlink(path) != 0;
    if (missing) {
        if (errno != ENOENT)
            return ml__layoutfs_io_error(err, path, errno);
        if (!dropped)
            return ml__error_set(err, ML_ENOTFOUND, "%s: manifest %s not found", dir, digest);
        return ML_OK;
    }
    if (keep)
        return ML_OK;
    char *algdir = ml__layoutfs_alg_dir(dir, digest);
    rc = algdir ? ml__fileio_sync_dir(algdir, err) : oom(err);
    free(algdir);
    return rc;
}

int ml__layout_delete_manifest(const ml_ref *repo, const char *digest, uint32_t lock_wait_ms, ml_error **err)
{
    const char *dir = NULL;
    char *path = NULL;
    int fd, rc;
    if ((rc = ml__layoutfs_dir(repo, &dir, err)) || (rc = ml__layoutfs_blob_path(dir, digest, &path, err)) ||
        (rc = ml__layoutfs_check(dir, err)) || (rc = ml__layoutfs_lock(dir, lock_wait_ms, &fd, err))) {
        free(path);
        return rc;
    }
    rc = delete_locked(dir, digest, path, err);
    close(fd);
    free(path);
    return rc;
}

int ml__layout_list_tags(const ml_ref *repo, ml__strvec *tags, bool *complete, ml_error **err)
{
    const char *dir = NULL;
    ml__manifest idx;
    int rc;
    if ((rc = ml__layoutfs_dir(repo, &dir, err)) || (rc = ml__layoutfs_check(dir, err)) || (rc = ml__layoutfs_load_index(dir, &idx, err)))
        return rc;
    /* Other tools may name entries with whole references: those are not
     * tags oci:PATH:TAG could reach. */
    for (size_t i = 0; rc == ML_OK && i < idx.manifest_count; i++) {
        const char *tag = tag_of(&idx.manifests[i]);
        if (tag && ml__tag_valid(tag) && !ml__strvec_contains(tags, tag))
            rc = ml__strvec_push(tags, tag) == ML_OK ? ML_OK : oom(err);
    }
    ml__manifest_clear(&idx);
    if (rc == ML_OK)
        *complete = true;
    return rc;
}

/* ---- referrers ---------------------------------------------------------- */

/* Appends the referrer described by `view` to refs, unless listed. */
static int add_referrer(ml__manifest *refs, const ml__descriptor *view, ml_error **err)
{
    if (find_digest(refs, view->digest))
        return ML_OK;
    ml__descriptor d;
    if (ml__descriptor_copy(&d, view) != ML_OK)
        return oom(err);
    if (ml__manifest_append(refs, &d) != ML_OK) {
        ml__descriptor_clear(&d);
        return oom(err);
    }
    return ML_OK;
}

/* Reads the manifest entry e names once, and adds it to the referrers of
 * every subject it refers to, described as the referrers API would
 * (distribution-spec "Listing Referrers": artifactType is the manifest's,
 * else its config's media type; annotations are the manifest's). An entry
 * that cannot be read or parsed is no referrer anyone could fetch: skipped. */
static int scan_entry(const char *dir, const ml__descriptor *e, ml__layout_subject *subjects, size_t n,
                      ml_error **err)
{
    char *body = NULL;
    size_t len = 0;
    ml__manifest m;
    int rc = ml__layoutfs_read_blob(dir, e->digest, ML__MANIFEST_MAX, &body, &len, NULL);
    if (rc == ML_OK) {
        rc = ml__manifest_parse(&m, body, len, e->media_type, NULL);
        free(body);
    }
    if (rc != ML_OK)
        return rc == ML_ENOMEM ? oom(err) : ML_OK;
    const ml__descriptor view = {
        .media_type = m.media_type ? m.media_type : e->media_type,
        .digest = e->digest,
        .size = (int64_t)len,
        .artifact_type = m.artifact_type ? m.artifact_type : m.config.media_type,
        .annotations = m.annotations,
    };
    for (size_t k = 0; rc == ML_OK && m.has_subject && k < n; k++)
        if (ml__str_eq(m.subject.digest, subjects[k].digest))
            rc = add_referrer(subjects[k].refs, &view, err);
    ml__manifest_clear(&m);
    return rc;
}

int ml__layout_referrers_scan(const ml_ref *repo, ml__layout_subject *subjects, size_t n, ml_error **err)
{
    const char *dir = NULL;
    ml__manifest idx;
    int rc;
    if ((rc = ml__layoutfs_dir(repo, &dir, err)) || (rc = ml__layoutfs_check(dir, err)) || (rc = ml__layoutfs_load_index(dir, &idx, err)))
        return rc;
    for (size_t i = 0; rc == ML_OK && i < idx.manifest_count; i++)
        rc = scan_entry(dir, &idx.manifests[i], subjects, n, err);
    ml__manifest_clear(&idx);
    return rc;
}

/* ---- the layout store ---------------------------------------------------- */

static int layout_head_manifests(ml_client *c, ml__item *items, size_t n)
{
    (void)c;
    return ml__layout_head_manifests(items, n);
}

static int layout_get_manifests(ml_client *c, ml__item *items, size_t n)
{
    (void)c;
    return ml__layout_get_manifests(items, n);
}

static int layout_head_blobs(ml_client *c, ml__item *items, size_t n)
{
    (void)c;
    return ml__layout_head_blobs(items, n);
}

static int layout_get_blobs(ml_client *c, ml__item *items, size_t n, size_t max)
{
    (void)c;
    return ml__layout_get_blobs(items, n, max);
}

/* A layout's lock is waited for as long as a registry request. */
static int layout_put_manifests(ml_client *c, ml__item *items, size_t n)
{
    return ml__layout_put_manifests(items, n, ml__client_timeout_ms(c));
}

static int layout_delete_manifest(const ml__store *s, const char *digest, ml_error **err)
{
    return ml__layout_delete_manifest(s->repo, digest, ml__client_timeout_ms(s->client), err);
}

static int layout_list_tags(const ml__store *s, ml__strvec *tags, bool *complete, ml_error **err)
{
    return ml__layout_list_tags(s->repo, tags, complete, err);
}

static int layout_blob_open(const ml__store *s, const char *digest, FILE **in, int64_t *len, ml_error **err)
{
    return ml__layout_open_blob(s->repo, digest, in, len, err);
}

static int layout_blob_into(const ml__store *s, const char *digest, int64_t size, FILE *out, size_t *len,
                            ml_error **err)
{
    (void)size;
    FILE *in = NULL;
    int64_t stored = 0;
    int rc = ml__layout_open_blob(s->repo, digest, &in, &stored, err);
    if (rc == ML_OK)
        rc = ml__fileio_copy(in, out, len, err);
    if (in)
        fclose(in);
    return rc;
}

static int layout_copy_blob(const ml__store *s, ml__blob_need *need, ml_error **err)
{
    ml__layout_blob *b = NULL;
    size_t len = 0;
    ml__blob_progress progress;
    ml__client_blob_track(&progress, s->client, need->from, need->digest, need->size);
    ml__client_blob_event(&progress, ML_PROGRESS_START, 0);
    int rc = ml__layout_blob_begin(s->repo, &b, err);
    if (rc == ML_OK)
        rc = ml__store_blob_into(s->client, need->from, need->digest, need->size, ml__layout_blob_file(b), &len,
                                 err);
    if (rc == ML_OK)
        rc = ml__layout_blob_commit(b, need->digest, err);
    if (rc == ML_OK)
        ml__client_blob_event(&progress, ML_PROGRESS_DONE, len);
    ml__client_blob_untrack(&progress);
    ml__layout_blob_free(b);
    need->copied = rc == ML_OK;
    return rc == ML_OK ? ML_OK : ml__error_prefix(err, rc, "copy blob %s into %s%s", need->digest,
                                                   ML__LAYOUT_PREFIX, s->repo->repository);
}

static int layout_ensure_blobs(const ml__store *s, ml__blob_need *needs, size_t n, ml__pending_manifest *pending,
                               size_t m, ml_error **err)
{
    for (size_t i = 0; i < n; i++) {
        if (ml__layout_has_blob(s->repo, needs[i].digest))
            continue;
        int rc = layout_copy_blob(s, &needs[i], err);
        if (rc != ML_OK)
            return rc;
    }
    return ML_OK;
}

static int layout_scan_referrers(const ml__store *s, ml__store_subject *subjects, size_t n, ml_error **err)
{
    return ml__layout_referrers_scan(s->repo, subjects, n, err);
}

const ml__store_ops ml__layout_store_ops = {
    .caps = ML__STORE_CAS | ML__STORE_DELETE | ML__STORE_OCI_ONLY,
    .head_manifests = layout_head_manifests,
    .get_manifests = layout_get_manifests,
    .head_blobs = layout_head_blobs,
    .get_blobs = layout_get_blobs,
    .put_manifests = layout_put_manifests,
    .delete_manifest = layout_delete_manifest,
    .list_tags = layout_list_tags,
    .ensure_blobs = layout_ensure_blobs,
    .blob_into = layout_blob_into,
    .blob_open = layout_blob_open,
    .scan_referrers = layout_scan_referrers,
};
