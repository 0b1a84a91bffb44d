/* Where manifests and blobs live: a registry (registry.h) or an OCI image
 * layout directory (layout.h). Resolve, plan and push talk only to this
 * interface; each item or reference picks its store by its ml_ref, so one
 * batch may mix both. */
#ifndef ML_STORE_H
#define ML_STORE_H

#include "registry.h"

typedef struct ml__store {
    int (*head_manifests)(ml_client *c, ml__item *items, size_t n);
    int (*get_manifests)(ml_client *c, ml__item *items, size_t n);
    int (*head_blobs)(ml_client *c, ml__item *items, size_t n);
    int (*get_blobs)(ml_client *c, ml__item *items, size_t n, size_t max);
    /* Items carry body, len and media_type; the reference is a tag or the
     * body's digest. Afterwards the item's digest is what the store says it
     * stored (NULL when it did not say). */
    int (*put_manifests)(ml_client *c, ml__item *items, size_t n);
    int (*delete_manifest)(ml_client *c, const ml_ref *repo, const char *digest, ml_error **err);
    /* Makes every blob present in `target`, from wherever needs[i].from is. */
    int (*ensure_blobs)(ml_client *c, const ml_ref *target, ml__blob_need *needs, size_t n, ml_error **err);
    int (*list_tags)(ml_client *c, const ml_ref *repo, ml__strvec *tags, bool *complete, ml_error **err);
} ml__store;

const ml__store *ml__store_of(const ml_ref *ref);

/* Batches over items of any store. Return ML_OK or ML_ENOMEM; each item
 * carries its own outcome. */
int ml__store_head_manifests(ml_client *c, ml__item *items, size_t n);
int ml__store_get_manifests(ml_client *c, ml__item *items, size_t n);
int ml__store_head_blobs(ml_client *c, ml__item *items, size_t n);
int ml__store_get_blobs(ml_client *c, ml__item *items, size_t n, size_t max);
int ml__store_put_manifests(ml_client *c, ml__item *items, size_t n);

/* One manifest; the item's error becomes *err. */
int ml__store_head_manifest(ml_client *c, const ml_ref *repo, const char *reference, ml__item *it, ml_error **err);
int ml__store_get_manifest(ml_client *c, const ml_ref *repo, const char *reference, ml__item *it, ml_error **err);
int ml__store_put_manifest(ml_client *c, const ml_ref *repo, const char *reference, const char *media_type,
                           const char *body, size_t len, ml_error **err);

#endif
