/* Registry operations (distribution spec v2 API) in concurrent batches:
 * manifests HEAD/GET/PUT/DELETE, blobs HEAD/GET/mount/upload. One of the
 * two stores behind store.h (the other is an OCI layout, layout.h). */
#ifndef ML_REGISTRY_H
#define ML_REGISTRY_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "client.h"
#include "ref.h"

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
     * expect_set. Checked at the write by stores that can (a layout, under
     * its lock: ML_ECONFLICT otherwise); a registry cannot. */
    bool expect_set;
    const char *expect;
} ml__item;

void ml__item_clear(ml__item *it);
/* Moves the item's error (with its code) into *err. */
int ml__item_take_error(ml__item *it, ml_error **err);

/* Batches: return ML_OK or ML_ENOMEM; each item carries its own outcome. */
int ml__reg_head_manifests(ml_client *c, ml__item *items, size_t n);
int ml__reg_get_manifests(ml_client *c, ml__item *items, size_t n);
int ml__reg_head_blobs(ml_client *c, ml__item *items, size_t n);
/* OCI 1.1 referrers API (GET /v2/<name>/referrers/<digest>, reference =
 * the subject's digest): the body is an image index. A registry without
 * the API answers 404 (ML_ENOTFOUND). When the answer has a next page
 * (Link: <…/referrers/REF>; rel="next"), item->next is that REF. */
int ml__reg_get_referrers(ml_client *c, ml__item *items, size_t n);
/* Reads small blobs (configs) to memory, at most `max` bytes each; the
 * digest (reference) is verified. */
int ml__reg_get_blobs(ml_client *c, ml__item *items, size_t n, size_t max);

/* PUT manifests (items carry body, len and media_type as input); the
 * registry's Docker-Content-Digest must match ours, and is the item's digest
 * afterwards (NULL when the registry sent none). */
int ml__reg_put_manifests(ml_client *c, ml__item *items, size_t n);
int ml__reg_delete_manifest(ml_client *c, const ml_ref *repo, const char *digest, ml_error **err);
/* Monolithic upload (POST then PUT ?digest=). */
int ml__reg_upload_blob(ml_client *c, const ml_ref *repo, const char *digest, const char *data,
                        size_t len, ml_error **err);

/* A blob the target repository needs: mounted from `from` (same registry),
 * or copied when the registry refuses the mount or `from` is elsewhere
 * (unless the target has it already). Mounts and probes run concurrently;
 * copies stream through a temporary file, one at a time. */
typedef struct ml__blob_need {
    const ml_ref *from;
    const char *digest;
    int64_t size;
    bool mounted;  /* result: cross-repository mount succeeded */
    bool copied;   /* result: bytes were copied */
} ml__blob_need;

int ml__reg_ensure_blobs(ml_client *c, const ml_ref *target, ml__blob_need *needs, size_t n,
                         ml_error **err);

/* Streams a blob into `out`, verifying its digest on the way; a download
 * broken mid-way starts again (up to the client's retries). *len is the
 * byte count written. */
int ml__reg_fetch_blob(ml_client *c, const ml_ref *from, const char *digest, int64_t size, FILE *out,
                       size_t *len, ml_error **err);

/* Every tag of a repository (GET /v2/<name>/tags/list). *complete is false
 * when the registry paginates (a Link header): the list is then partial. */
int ml__reg_list_tags(ml_client *c, const ml_ref *repo, ml__strvec *tags, bool *complete, ml_error **err);
/* {"name":…,"tags":[…]} into tags; ML_EMANIFEST when malformed (the
 * strict JSON reader refuses it, or a tag is not a string). */
int ml__tags_parse(const char *body, size_t len, ml__strvec *tags);

/* Parses a registry error body {"errors":[{"code","message"}]}: both out
 * strings may be NULL afterwards, and are made printable (ml__sanitize).
 * A body the strict JSON reader refuses gives neither. */
void ml__registry_error_parse(const char *body, size_t len, char **code, char **message);

#endif
