/* Registry operations (distribution spec v2 API) in concurrent batches:
 * manifests HEAD/GET/PUT/DELETE, blobs HEAD/GET/mount/upload. One of the
 * stores behind store.h. */
#ifndef ML_REGISTRY_H
#define ML_REGISTRY_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "client.h"
#include "store.h"
#include "transport.h"

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
/* blobcopy.c. Monolithic upload (POST then PUT ?digest=). */
int ml__reg_upload_blob(ml_client *c, const ml_ref *repo, const char *digest, const char *data,
                        size_t len, ml_error **err);

/* Makes blobs present in `target`: mounted from needs[i].from when both
 * stores can, or from a repository of the target's registry where the
 * client's cache saw the blob; else copied (unless the target has it
 * already) when the registry refuses or declines the mount or the blob is
 * elsewhere. Mounts and probes run concurrently; copies too, largest
 * first, each streamed from its source into its upload (a registry's
 * download through a bounded pipe, no temporary file); one broken mid-way
 * resumes where the registry says its upload stands, or starts again, as
 * often as the client's retries. Places are remembered in the cache. A
 * pending manifest is written in the copies' batch, as soon as its last
 * blob is in, when that blob is one of the copies. */
int ml__reg_ensure_blobs(ml_client *c, const ml_ref *target, ml__blob_need *needs, size_t n,
                         ml__pending_manifest *pending, size_t m, ml_error **err);

/* For blobcopy.c: the PUT request of a manifest item (NULL, with the
 * item's error set, when its registry cannot be reached), and the item's
 * outcome from the request once sent. */
int ml__reg_put_request(ml_client *c, ml__item *it, ml__http_req **out, ml__access *acc);
void ml__reg_put_finish(ml_client *c, ml__item *it, ml__http_req *r);

/* For blobcopy.c: "METHOD registry/repository@reference" (NULL on
 * ENOMEM), and a failed answer as an error naming it (registry's code and
 * message, why an authentication failed). */
char *ml__reg_what(const char *method, const ml_ref *repo, const char *reference);
int ml__reg_refused(ml_client *c, const ml_ref *repo, const ml__http_req *r, const char *what, ml_error **err);

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
