/* The stores behind one interface, and batches that may mix them. */
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "store.h"

void ml__item_clear(ml__item *it)
{
    ml_error_free(it->err);
    free(it->digest);
    free(it->media_type);
    free(it->body);
    free(it->next);
    it->err = NULL;
    it->digest = it->media_type = it->body = it->next = NULL;
    it->len = 0;
    it->size = 0;
    it->rc = ML_OK;
}

int ml__item_take_error(ml__item *it, ml_error **err)
{
    int rc = it->rc;
    if (err) {
        ml_error_free(*err);
        *err = it->err;
    } else {
        ml_error_free(it->err);
    }
    it->err = NULL;
    return rc;
}

int ml__batch_init(ml__batch *b, size_t n)
{
    *b = (ml__batch){calloc(n ? n : 1, sizeof(*b->items)), calloc(n ? n : 1, sizeof(*b->index)), 0};
    if (b->items && b->index)
        return ML_OK;
    ml__batch_clear(b);
    return ML_ENOMEM;
}

ml__item *ml__batch_add(ml__batch *b, size_t i, const ml_ref *repo, const char *reference)
{
    b->index[b->count] = i;
    b->items[b->count] = (ml__item){.repo = repo, .reference = reference};
    return &b->items[b->count++];
}

void ml__batch_clear(ml__batch *b)
{
    for (size_t k = 0; b->items && k < b->count; k++)
        ml__item_clear(&b->items[k]);
    free(b->items);
    free(b->index);
    *b = (ml__batch){0};
}

/* ---- choosing a store ---------------------------------------------------- */

static const ml__mount *mount_of(const ml_client *c, const ml_ref *repo)
{
    for (size_t i = 0; !repo->layout && i < c->mount_count; i++)
        if (strcmp(c->mounts[i].registry, repo->registry) == 0)
            return &c->mounts[i];
    return NULL;
}

static const ml__store_ops *ops_of(const ml_client *c, const ml_ref *repo)
{
    const ml__mount *m = mount_of(c, repo);
    return m ? m->ops : repo->layout ? &ml__layout_store_ops : &ml__registry_store_ops;
}

ml__store ml__store_at(ml_client *c, const ml_ref *repo)
{
    const ml__mount *m = mount_of(c, repo);
    const ml__store_ops *ops = ops_of(c, repo);
    return (ml__store){.ops = ops, .client = c, .repo = repo, .backend = m ? m->backend : NULL};
}

bool ml__store_can(ml_client *c, const ml_ref *repo, uint32_t caps)
{
    return (ops_of(c, repo)->caps & caps) == caps;
}

bool ml__store_can_mount(ml_client *c, const ml_ref *from, const ml_ref *to)
{
    const ml__store_ops *ops = ops_of(c, to);
    return (ops->caps & ML__STORE_MOUNT) && ops_of(c, from) == ops && strcmp(from->registry, to->registry) == 0;
}

int ml__client_mount_store(ml_client *c, const char *registry, const ml__store_ops *ops, void *backend)
{
    if (ml__grow((void **)&c->mounts, &c->mount_cap, c->mount_count + 1, sizeof(*c->mounts)) != ML_OK)
        return ML_ENOMEM;
    char *name = ml__strdup(registry);
    if (!name)
        return ML_ENOMEM;
    c->mounts[c->mount_count++] = (ml__mount){name, ops, backend};
    return ML_OK;
}

/* ---- mixed batches ------------------------------------------------------- */

typedef enum batch_op { HEAD_MANIFESTS, GET_MANIFESTS, HEAD_BLOBS, GET_BLOBS, PUT_MANIFESTS, GET_REFERRERS } batch_op;

static int unsupported(ml__item *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        items[i].rc = ml__error_set(&items[i].err, ML_EUNSUPPORTED, "%s: no referrers API", items[i].repo->repository);
    return ML_OK;
}

static int run_op(const ml__store_ops *s, batch_op op, ml_client *c, ml__item *items, size_t n, size_t max)
{
    if (n == 0)
        return ML_OK;
    switch (op) {
    case HEAD_MANIFESTS: return s->head_manifests(c, items, n);
    case GET_MANIFESTS: return s->get_manifests(c, items, n);
    case HEAD_BLOBS: return s->head_blobs(c, items, n);
    case GET_BLOBS: return s->get_blobs(c, items, n, max);
    case PUT_MANIFESTS: return s->put_manifests(c, items, n);
    case GET_REFERRERS: return s->get_referrers ? s->get_referrers(c, items, n) : unsupported(items, n);
    }
    return ML_EINVAL;
}

/* Items of each kind of store run as one batch (a registry's is
 * concurrent); the items move out and back (they own their results). */
static int run_mixed(batch_op op, ml_client *c, ml__item *items, size_t n, size_t max)
{
    if (n == 0)
        return ML_OK;
    ml__batch part = {0};
    const ml__store_ops **ops = malloc(n * sizeof(*ops));
    int rc = ops ? ml__batch_init(&part, n) : ML_ENOMEM;
    size_t done = 0;
    for (size_t i = 0; rc == ML_OK && i < n; i++)
        ops[i] = ops_of(c, items[i].repo);
    while (rc == ML_OK && done < n) {
        const ml__store_ops *kind = NULL;
        part.count = 0;
        for (size_t i = 0; i < n; i++)
            if (ops[i] && (!kind || ops[i] == kind)) {
                kind = ops[i];
                ops[i] = NULL;
                part.index[part.count] = i;
                part.items[part.count++] = items[i];
            }
        rc = run_op(kind, op, c, part.items, part.count, max);
        for (size_t k = 0; k < part.count; k++)
            items[part.index[k]] = part.items[k];
        done += part.count;
    }
    part.count = 0; /* the items went back */
    ml__batch_clear(&part);
    free(ops);
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

int ml__store_get_referrers(ml_client *c, ml__item *items, size_t n)
{
    return run_mixed(GET_REFERRERS, c, items, n, 0);
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

/* ---- one repository ------------------------------------------------------ */

int ml__store_delete_manifest(ml_client *c, const ml_ref *repo, const char *digest, ml_error **err)
{
    ml__store s = ml__store_at(c, repo);
    return s.ops->delete_manifest(&s, digest, err);
}

int ml__store_list_tags(ml_client *c, const ml_ref *repo, ml__strvec *tags, bool *complete, ml_error **err)
{
    ml__store s = ml__store_at(c, repo);
    return s.ops->list_tags(&s, tags, complete, err);
}

int ml__store_tags_at(ml_client *c, const ml_ref *repo, const char *digest, ml__strvec *out, bool *complete,
                      ml_error **err)
{
    ml__strvec tags = {0};
    *complete = false;
    int rc = ml__store_list_tags(c, repo, &tags, complete, err);
    ml__item *items = rc == ML_OK ? calloc(tags.count ? tags.count : 1, sizeof(*items)) : NULL;
    if (rc == ML_OK && !items)
        rc = ml__error_set(err, ML_ENOMEM, "out of memory");
    for (size_t i = 0; rc == ML_OK && i < tags.count; i++)
        items[i] = (ml__item){.repo = repo, .reference = tags.items[i]};
    if (rc == ML_OK && ml__store_head_manifests(c, items, tags.count) != ML_OK)
        rc = ml__error_set(err, ML_ENOMEM, "out of memory");
    for (size_t i = 0; rc == ML_OK && i < tags.count; i++) {
        /* A tag deleted meanwhile points nowhere; any other failure leaves
         * it unknown. */
        if (items[i].rc != ML_OK && items[i].rc != ML_ENOTFOUND)
            *complete = false;
        if (items[i].rc == ML_OK && ml__str_eq(items[i].digest, digest) && ml__strvec_push(out, tags.items[i]) != ML_OK)
            rc = ml__error_set(err, ML_ENOMEM, "out of memory");
    }
    for (size_t i = 0; items && i < tags.count; i++)
        ml__item_clear(&items[i]);
    free(items);
    ml__strvec_free(&tags);
    return rc;
}

int ml__store_ensure_blobs(ml_client *c, const ml_ref *target, ml__blob_need *needs, size_t n,
                           ml__pending_manifest *pending, size_t m, ml_error **err)
{
    ml__store s = ml__store_at(c, target);
    return s.ops->ensure_blobs(&s, needs, n, pending, m, err);
}

int ml__store_scan_referrers(ml_client *c, const ml_ref *repo, ml__store_subject *subjects, size_t n,
                             ml_error **err)
{
    ml__store s = ml__store_at(c, repo);
    return s.ops->scan_referrers ? s.ops->scan_referrers(&s, subjects, n, err) : ML_ENOTFOUND;
}

int ml__store_blob_into(ml_client *c, const ml_ref *from, const char *digest, int64_t size, FILE *out,
                        size_t *len, ml_error **err)
{
    ml__store s = ml__store_at(c, from);
    return s.ops->blob_into(&s, digest, size, out, len, err);
}

int ml__store_blob_open(ml_client *c, const ml_ref *from, const char *digest, FILE **in, size_t *len,
                        ml_error **err)
{
    ml__store s = ml__store_at(c, from);
    int64_t stored = 0;
    int rc = s.ops->blob_open ? s.ops->blob_open(&s, digest, in, &stored, err)
                              : ml__error_set(err, ML_EUNSUPPORTED, "blob %s: its store gives no stream", digest);
    *len = (size_t)stored;
    return rc;
}
