/* A cache of image config platforms in a directory, by config digest and
 * by manifest digest (a manifest names its config, so its digest fixes the
 * platform too: a run that knows an image's digest from a HEAD needs no
 * manifest either), and of the places (registry, repository) where blobs
 * were seen, by blob digest. Platforms are content-addressed, so an entry
 * never goes stale: a run that finds every platform here reads no config
 * blob at all; a place may have lost its blob, which a mount then finds out. Best
 * effort both ways: a missing, unreadable or damaged entry is a miss, and
 * a failed write is ignored (the run fetched what it needed anyway). */
#ifndef ML_CACHE_H
#define ML_CACHE_H

#include <stdbool.h>

#include "platform.h"
#include "util.h"

/* The platform of config `digest`, as its config states it (before
 * normalisation); false on a miss. */
bool ml__cache_get_platform(const char *dir, const char *digest, ml_platform *out);
/* Remembers it; written to a temporary file and renamed, so readers see a
 * whole entry or none. */
void ml__cache_put_platform(const char *dir, const char *digest, const ml_platform *p);
/* The same by the digest of the image manifest whose config it is. */
bool ml__cache_get_manifest_platform(const char *dir, const char *digest, ml_platform *out);
/* Gives the entry of config `config_digest` (p, put just before) the name
 * of manifest `manifest_digest` as well: a hard link, so that a run of
 * thousands of images creates one file per image, not two (creating files
 * is most of a cold run's own CPU). An entry already under that name is
 * replaced (callers come here after it read as a miss); where no link can
 * be made, p is written as its own entry. */
void ml__cache_link_manifest(const char *dir, const char *manifest_digest, const char *config_digest,
                             const ml_platform *p);

/* Where blobs were seen, for mounting them instead of uploading: the
 * repositories of `registry` that held blob `digest` (copied, mounted or
 * read there), newest first, appended to repos (best effort: none on a
 * miss or ENOMEM). */
void ml__cache_blob_repos(const char *dir, const char *digest, const char *registry, ml__strvec *repos);
/* Remembers one more; at most 16 places per blob, the oldest forgotten. */
void ml__cache_put_blob_repo(const char *dir, const char *digest, const char *registry, const char *repository);

#endif
