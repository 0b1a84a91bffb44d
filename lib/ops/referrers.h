/* Referrers (OCI 1.1): manifests whose subject is a given manifest, such as
 * signatures, SBOMs and attestations. Listed through the referrers API,
 * or through the tag schema (tag "sha256-<hex>" naming an index of them)
 * where a registry lacks the API. In an OCI layout: the tag schema, and
 * the manifests index.json lists whose subject it is (as oras writes). */
#ifndef ML_REFERRERS_H
#define ML_REFERRERS_H

#include "manifest.h"
#include "store.h"

typedef struct ml__subject {
    const ml_ref *repo;
    const char *digest;
    ml__manifest refs; /* an index; its manifests are the referrers */
    bool api;          /* the store answered through the referrers API */
} ml__subject;

void ml__subjects_clear(ml__subject *s, size_t n);

/* Fills refs and api of each subject, in concurrent batches; each
 * referrer once. A registry's pages that loop back or never end are cut,
 * with a line in `warnings`. */
int ml__referrers_list(ml_client *c, ml__subject *s, size_t n, ml__strvec *warnings, ml_error **err);

/* Carries the referrers of each subject (its repo is where they are now)
 * into `to`: their blobs, their manifests, and the tag-schema index where
 * `to` has no referrers API; then the referrers of those, a few levels
 * deep. *copied counts the manifests copied; with `plan` (a dry run)
 * nothing is written and each copy is described there instead. A referrer
 * that is gone, cannot be copied (an index) or whose subject is not the
 * image it is listed for is left behind with a line in `warnings`; a
 * failing registry fails the copy. */
int ml__referrers_copy(ml_client *c, const ml_ref *to, ml__subject *s, size_t n, size_t *copied, ml__strvec *plan,
                       ml__strvec *warnings, ml_error **err);

#endif
