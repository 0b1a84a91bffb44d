/* Image manifests copied into another repository, registry or layout:
 * read all at once, the blobs they need listed once however many share
 * them, then written: each manifest after its blobs, by digest (the same
 * bytes, so the same digest). Children of a list and referrers both go
 * this way. */
#ifndef ML_COPY_H
#define ML_COPY_H

#include "manifest.h"
#include "store.h"

/* Optional judge of manifest k, read and parsed: an error it returns (set
 * in *err) makes it one that cannot be copied, for the skip function. */
typedef int (*ml__copy_check_fn)(void *payload, size_t k, const ml__manifest *m, ml_error **err);

typedef struct ml__copy {
    size_t count;
    ml__item *gets;         /* the caller sets repo (where from) and reference (digest) */
    ml__copy_check_fn check; /* the caller may set it; gets ml__copy_read's payload */
    ml__manifest *models;
    bool *skipped;          /* left out by the caller's skip function */
    ml__blob_need *needs;
    size_t need_count;
} ml__copy;

int ml__copy_init(ml__copy *cp, size_t count);
void ml__copy_clear(ml__copy *cp);

/* Decides about manifest k that could not be read or copied (its item
 * carries the error): true leaves it out, false fails the copy. */
typedef bool (*ml__copy_skip_fn)(void *payload, size_t k, ml__item *failed);

/* Reads and parses the manifests (each judged by cp->check when set) and
 * lists their blobs. Without `skip`, or when it says no, the first failure
 * is returned; *failed (may be NULL) names its index. An index is not
 * copied this way (ML_EUNSUPPORTED). `payload` goes to skip and check. */
int ml__copy_read(ml_client *c, ml__copy *cp, ml__copy_skip_fn skip, void *payload, size_t *failed,
                  ml_error **err);
/* Blobs into `to`, each manifest as soon as its blobs are in (a registry
 * target) or after them all; *copied counts the manifests. */
int ml__copy_write(ml_client *c, const ml_ref *to, ml__copy *cp, size_t *copied, ml_error **err);

#endif
