/* Where manifests and blobs live: a registry (registry.h), an OCI image
 * layout directory (layout.h), or a test's memory (memstore.h). Resolve,
 * plan, push and edit talk only to this interface, and ask a store what it
 * can do (its capabilities), never what it is.
 *
 * Batches take items of any store: each item picks its store by its ml_ref
 * (so one batch may mix them), and items of one kind run together. Blobs
 * cross stores as bytes: a target asks the source's store for them
 * (ml__store_blob_into, ml__store_blob_open), so no store knows another;
 * only a registry reads another registry's blobs itself, to pipe each
 * download straight into its upload (blobcopy.c). */
#ifndef ML_STORE_H
#define ML_STORE_H

#include <stdint.h>
#include <stdio.h>

#include "manifest.h"
#include "manifestlist.h"
#include "ref.h"
#include "util.h"

/* Accept list for manifests: every type a list may reference or be. */
#define ML__MANIFEST_ACCEPT                                                      \
    "application/vnd.oci.image.index.v1+json, "                                  \
    "application/vnd.docker.distribution.manifest.list.v2+json, "                \
    "application/vnd.oci.image.manifest.v1+json, "                               \
    "application/vnd.docker.distribution.manifest.v2+json"

/* One item of a batch. The caller fills repo and reference; the batch
 * fills the rest. */
typedef struct ml__item {
    const ml_ref *repo;    /* registry + repository (tag/digest ignored) */
    const char *reference; /* tag or digest to act on */
    int rc;                /* ML_OK or the failure's code (err has the detail) */
    ml_error *err;
    char *digest;          /* of the content, verified where a body was read */
    char *media_type;
    int64_t size;
    char *body;            /* GET only */
    size_t len;
    char *next;            /* paginated answers: the reference of the next page */
    /* PUT by tag: the digest the tag must still hold (NULL: absent) when
     * expect_set. Checked at the write by stores with ML__STORE_CAS
     * (ML_ECONFLICT otherwise); other stores ignore it. */
    bool expect_set;
    const char *expect;
} ml__item;

void ml__item_clear(ml__item *it);
/* Moves the item's error (with its code) into *err. */
int ml__item_take_error(ml__item *it, ml_error **err);

/* Some of n candidates (entries, descriptors, subjects) as one batch:
 * items[k] is for candidate index[k]. */
typedef struct ml__batch {
    ml__item *items;
    size_t *index;
    size_t count;
} ml__batch;

/* Room for n items: ML_OK or ML_ENOMEM. */
int ml__batch_init(ml__batch *b, size_t n);
/* Appends an item for candidate i; returns it. */
ml__item *ml__batch_add(ml__batch *b, size_t i, const ml_ref *repo, const char *reference);
/* Clears the items and frees the batch. */
void ml__batch_clear(ml__batch *b);

/* A blob the target repository needs: mounted from `from` (when both
 * stores can, ML__STORE_MOUNT), or copied unless the target has it. */
typedef struct ml__blob_need {
    const ml_ref *from;
    const char *digest;
    int64_t size;
    bool mounted;  /* result: cross-repository mount succeeded */
    bool copied;   /* result: bytes were copied */
} ml__blob_need;

/* A manifest to write into the target once the blobs it needs are in. A
 * store may write it as soon as they are, while other blobs still copy
 * (ensure_blobs); the caller writes those it did not. */
typedef struct ml__pending_manifest {
    ml__item *put;        /* a put_manifests item: body, len, media_type */
    size_t *needs;        /* indices into ensure_blobs' needs */
    size_t need_count;
    bool sent;            /* result: put was written, or tried (put->rc says) */
} ml__pending_manifest;

/* A subject whose referrers a scan appends to refs (an OCI index model). */
typedef struct ml__store_subject {
    const char *digest;
    ml__manifest *refs;
} ml__store_subject;

/* Capabilities. */
enum {
    ML__STORE_CAS = 1u << 0,           /* tag writes are compare-and-swap (item.expect) */
    ML__STORE_MOUNT = 1u << 1,         /* cross-repository blob mount within one registry */
    ML__STORE_REFERRERS_API = 1u << 2, /* has, or may have, the OCI 1.1 referrers API */
    ML__STORE_DELETE = 1u << 3,        /* manifests can be deleted */
    ML__STORE_OCI_ONLY = 1u << 4,      /* readers see only OCI types: lists default to OCI */
};

typedef struct ml__store ml__store;

typedef struct ml__store_ops {
    uint32_t caps;
    /* Batches (items of this kind, any repositories): ML_OK or ML_ENOMEM;
     * each item carries its own outcome. */
    int (*head_manifests)(ml_client *c, ml__item *items, size_t n);
    int (*get_manifests)(ml_client *c, ml__item *items, size_t n);
    int (*head_blobs)(ml_client *c, ml__item *items, size_t n);
    /* Small blobs (configs) to memory, at most `max` bytes, verified. */
    int (*get_blobs)(ml_client *c, ml__item *items, size_t n, size_t max);
    /* Items carry body, len and media_type; the reference is a tag or the
     * body's digest. Afterwards the item's digest is what the store says it
     * stored (NULL when it did not say). */
    int (*put_manifests)(ml_client *c, ml__item *items, size_t n);
    /* ML__STORE_REFERRERS_API: one page of a subject's referrers (reference
     * = its digest, or a page's); 404/405 when the store lacks the API. */
    int (*get_referrers)(ml_client *c, ml__item *items, size_t n);
    /* One repository. */
    int (*delete_manifest)(const ml__store *s, const char *digest, ml_error **err);
    int (*list_tags)(const ml__store *s, ml__strvec *tags, bool *complete, ml_error **err);
    /* Makes every blob present in s, from wherever needs[i].from is; may
     * write some of the pending manifests on the way. */
    int (*ensure_blobs)(const ml__store *s, ml__blob_need *needs, size_t n, ml__pending_manifest *pending,
                        size_t m, ml_error **err);
    /* Writes a blob's bytes (size: expected, or -1) into out; *len is the
     * count written. A registry verifies them on the way; a layout gives
     * them as stored: the writing store verifies what it keeps. */
    int (*blob_into)(const ml__store *s, const char *digest, int64_t size, FILE *out, size_t *len, ml_error **err);
    /* Optional: a stream of the blob as it is stored, for a registry's
     * upload (a store without it cannot be a registry copy's source). */
    int (*blob_open)(const ml__store *s, const char *digest, FILE **in, int64_t *len, ml_error **err);
    /* Optional: referrers found by looking at what the repository holds,
     * appended to each subject's refs. A missing repository: ML_ENOTFOUND. */
    int (*scan_referrers)(const ml__store *s, ml__store_subject *subjects, size_t n, ml_error **err);
} ml__store_ops;

/* The built-in backends (registry.c, layout.c); a reference picks one by
 * its kind unless its registry is routed elsewhere (ml__client_mount_store). */
extern const ml__store_ops ml__registry_store_ops;
extern const ml__store_ops ml__layout_store_ops;

/* A store of one repository: a view that borrows everything (the client
 * keeps the registries' state, a layout keeps its own on disk, a memory
 * store is owned by whoever mounted it), so there is nothing to free. */
struct ml__store {
    const ml__store_ops *ops;
    ml_client *client;
    const ml_ref *repo;  /* registry + repository */
    void *backend;       /* a mounted store's state, else NULL */
};

ml__store ml__store_at(ml_client *c, const ml_ref *repo);
bool ml__store_can(ml_client *c, const ml_ref *repo, uint32_t caps);
/* A blob of `from` can be mounted into `to` (same registry, both able). */
bool ml__store_can_mount(ml_client *c, const ml_ref *from, const ml_ref *to);

/* Routes every reference to `registry` to a store other than a registry
 * (a test's memory store): `backend` is borrowed, and must outlive the
 * client's use of it. ML_OK or ML_ENOMEM. */
int ml__client_mount_store(ml_client *c, const char *registry, const ml__store_ops *ops, void *backend);

/* Batches over items of any store. Return ML_OK or ML_ENOMEM; each item
 * carries its own outcome. */
int ml__store_head_manifests(ml_client *c, ml__item *items, size_t n);
int ml__store_get_manifests(ml_client *c, ml__item *items, size_t n);
int ml__store_head_blobs(ml_client *c, ml__item *items, size_t n);
int ml__store_get_blobs(ml_client *c, ml__item *items, size_t n, size_t max);
int ml__store_put_manifests(ml_client *c, ml__item *items, size_t n);
/* Items of stores without the referrers API get ML_EUNSUPPORTED. */
int ml__store_get_referrers(ml_client *c, ml__item *items, size_t n);

/* One manifest; the item's error becomes *err. */
int ml__store_head_manifest(ml_client *c, const ml_ref *repo, const char *reference, ml__item *it, ml_error **err);
int ml__store_get_manifest(ml_client *c, const ml_ref *repo, const char *reference, ml__item *it, ml_error **err);
int ml__store_put_manifest(ml_client *c, const ml_ref *repo, const char *reference, const char *media_type,
                           const char *body, size_t len, ml_error **err);

/* Per repository, through its store. */
int ml__store_delete_manifest(ml_client *c, const ml_ref *repo, const char *digest, ml_error **err);
int ml__store_list_tags(ml_client *c, const ml_ref *repo, ml__strvec *tags, bool *complete, ml_error **err);
/* The tags of `repo` that point at `digest` (a listing, then one HEAD per
 * tag), in listing order. *complete is false when the listing was cut short
 * or a tag could not be read: more tags may point at it. */
int ml__store_tags_at(ml_client *c, const ml_ref *repo, const char *digest, ml__strvec *out, bool *complete,
                      ml_error **err);
int ml__store_ensure_blobs(ml_client *c, const ml_ref *target, ml__blob_need *needs, size_t n,
                           ml__pending_manifest *pending, size_t m, ml_error **err);
/* ML_ENOTFOUND (nothing set) for a store that cannot scan. */
int ml__store_scan_referrers(ml_client *c, const ml_ref *repo, ml__store_subject *subjects, size_t n,
                             ml_error **err);

/* A blob of `from`, as bytes: written into out, or as a stream positioned
 * at its start (*in, closed by the caller; *len its length). */
int ml__store_blob_into(ml_client *c, const ml_ref *from, const char *digest, int64_t size, FILE *out,
                        size_t *len, ml_error **err);
int ml__store_blob_open(ml_client *c, const ml_ref *from, const char *digest, FILE **in, size_t *len,
                        ml_error **err);

#endif
