/* The two stores behind one interface, and batches that may mix them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "store.h"

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
    return ml__layout_put_manifests(items, n, c->timeout_ms);
}

static int layout_delete_manifest(ml_client *c, const ml_ref *repo, const char *digest, ml_error **err)
{
    return ml__layout_delete_manifest(repo, digest, c->timeout_ms, err);
}

static int layout_list_tags(ml_client *c, const ml_ref *repo, ml__strvec *tags, bool *complete, ml_error **err)
{
    (void)c;
    return ml__layout_list_tags(repo, tags, complete, err);
}

#define COPY_CHUNK (64u * 1024)

static int copy_file(FILE *from, FILE *to, ml_error **err)
{
    char buf[COPY_CHUNK];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), from)) > 0)
        if (fwrite(buf, 1, n, to) != n)
            return ml__error_set(err, ML_EIO, "cannot write blob: %s", strerror(errno));
    return ferror(from) ? ml__error_set(err, ML_EIO, "cannot read blob: %s", strerror(errno)) : ML_OK;
}

/* Fills a new blob of the target from another layout or a registry. */
static int fill_blob(ml_client *c, const ml__blob_need *need, FILE *out, ml_error **err)
{
    if (!need->from->layout) {
        size_t len = 0;
        return ml__reg_fetch_blob(c, need->from, need->digest, need->size, out, &len, err);
    }
    FILE *in = NULL;
    int64_t size = 0;
    int rc = ml__layout_open_blob(need->from, need->digest, &in, &size, err);
    if (rc == ML_OK)
        rc = copy_file(in, out, err);
    if (in)
        fclose(in);
    return rc;
}

static int layout_copy_blob(ml_client *c, const ml_ref *target, ml__blob_need *need, ml_error **err)
{
    ml__layout_blob *b = NULL;
    int rc = ml__layout_blob_begin(target, &b, err);
    if (rc == ML_OK)
        rc = fill_blob(c, need, ml__layout_blob_file(b), err);
    if (rc == ML_OK)
        rc = ml__layout_blob_commit(b, need->digest, err);
    ml__layout_blob_free(b);
    need->copied = rc == ML_OK;
    return rc == ML_OK ? ML_OK : ml__error_prefix(err, rc, "copy blob %s into %s%s", need->digest,
                                                   ML__LAYOUT_PREFIX, target->repository);
}

static int layout_ensure_blobs(ml_client *c, const ml_ref *target, ml__blob_need *needs, size_t n,
                               ml_error **err)
{
    for (size_t i = 0; i < n; i++) {
        if (ml__layout_has_blob(target, needs[i].digest))
            continue;
        int rc = layout_copy_blob(c, target, &needs[i], err);
        if (rc != ML_OK)
            return rc;
    }
    return ML_OK;
}

static const ml__store layout_store = {
    layout_head_manifests, layout_get_manifests, layout_head_blobs, layout_get_blobs,
    layout_put_manifests, layout_delete_manifest, layout_ensure_blobs, layout_list_tags,
};

static const ml__store registry_store = {
    ml__reg_head_manifests, ml__reg_get_manifests, ml__reg_head_blobs, ml__reg_get_blobs,
    ml__reg_put_manifests, ml__reg_delete_manifest, ml__reg_ensure_blobs, ml__reg_list_tags,
};

const ml__store *ml__store_of(const ml_ref *ref)
{
    return ref->layout ? &layout_store : &registry_store;
}

/* ---- mixed batches ------------------------------------------------------- */

typedef enum batch_op { HEAD_MANIFESTS, GET_MANIFESTS, HEAD_BLOBS, GET_BLOBS, PUT_MANIFESTS } batch_op;

static int run_op(const ml__store *s, batch_op op, ml_client *c, ml__item *items, size_t n, size_t max)
{
    if (n == 0)
        return ML_OK;
    switch (op) {
    case HEAD_MANIFESTS: return s->head_manifests(c, items, n);
    case GET_MANIFESTS: return s->get_manifests(c, items, n);
    case HEAD_BLOBS: return s->head_blobs(c, items, n);
    case GET_BLOBS: return s->get_blobs(c, items, n, max);
    case PUT_MANIFESTS: return s->put_manifests(c, items, n);
    }
    return ML_EINVAL;
}

/* Layout items run apart from the registry's concurrent batch; the items
 * move out and back (they own their results). */
static int run_mixed(batch_op op, ml_client *c, ml__item *items, size_t n, size_t max)
{
    size_t layouts = 0;
    for (size_t i = 0; i < n; i++)
        layouts += items[i].repo->layout;
    if (layouts == 0 || layouts == n)
        return run_op(layouts ? &layout_store : &registry_store, op, c, items, n, max);
    ml__item *split = malloc(n * sizeof(*split));
    if (!split)
        return ML_ENOMEM;
    for (size_t i = 0, l = 0, r = layouts; i < n; i++)
        split[items[i].repo->layout ? l++ : r++] = items[i];
    int rc = run_op(&layout_store, op, c, split, layouts, max);
    if (rc == ML_OK)
        rc = run_op(&registry_store, op, c, split + layouts, n - layouts, max);
    for (size_t i = 0, l = 0, r = layouts; i < n; i++)
        items[i] = split[items[i].repo->layout ? l++ : r++];
    free(split);
    return rc;
}

int ml__store_head_manifests(ml_client *c, ml__item *items, size_t n)
{
    return run_mixed(HEAD_MANIFESTS, c, items, n, 0);
}

int ml__store_get_manifests(ml_client *c, ml__item *items, size_t n)
{
    return run_mixed(GET_MANIFESTS, c, items, n, 0);
}

int ml__store_head_blobs(ml_client *c, ml__item *items, size_t n)
{
    return run_mixed(HEAD_BLOBS, c, items, n, 0);
}

int ml__store_get_blobs(ml_client *c, ml__item *items, size_t n, size_t max)
{
    return run_mixed(GET_BLOBS, c, items, n, max);
}

int ml__store_put_manifests(ml_client *c, ml__item *items, size_t n)
{
    return run_mixed(PUT_MANIFESTS, c, items, n, 0);
}

/* ---- single manifests ---------------------------------------------------- */

int ml__store_head_manifest(ml_client *c, const ml_ref *repo, const char *reference, ml__item *it, ml_error **err)
{
    *it = (ml__item){.repo = repo, .reference = reference};
    if (ml__store_head_manifests(c, it, 1) != ML_OK)
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    return ml__item_take_error(it, err);
}

int ml__store_get_manifest(ml_client *c, const ml_ref *repo, const char *reference, ml__item *it, ml_error **err)
{
    *it = (ml__item){.repo = repo, .reference = reference};
    if (ml__store_get_manifests(c, it, 1) != ML_OK)
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    return ml__item_take_error(it, err);
}

int ml__store_put_manifest(ml_client *c, const ml_ref *repo, const char *reference, const char *media_type,
                           const char *body, size_t len, ml_error **err)
{
    /* The item borrows body and media type: only its digest and error are
     * ours to free. */
    ml__item it = {.repo = repo, .reference = reference, .body = (char *)body, .len = len,
                   .media_type = (char *)media_type};
    if (ml__store_put_manifests(c, &it, 1) != ML_OK)
        return ml__error_set(err, ML_ENOMEM, "out of memory");
    free(it.digest);
    return ml__item_take_error(&it, err);
}
