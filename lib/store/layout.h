/* OCI image layout directories (image-spec image-layout.md) as a store:
 * `oci-layout`, `index.json`, `blobs/<alg>/<hex>`; tags are the
 * org.opencontainers.image.ref.name annotation of index.json entries.
 *
 * Writes are crash-safe: a blob goes to a temporary file in the layout,
 * is fsynced, verified and renamed into place; index.json is replaced by
 * an atomic rename, under an exclusive lock, after every blob it names.
 * A new layout is built in a sibling directory and renamed into place, so
 * a reader never sees a half-written layout. Files and directories get
 * the modes the umask gives (0666, 0777); an empty directory the layout
 * replaces keeps its own mode.
 *
 * A run killed mid-write may leave temporary files `.mlist-tmp-*` in the
 * layout (or a `PATH.mlist-*` sibling directory): no reader looks at
 * them, and they are safe to delete once no write is running.
 *
 * A hostile layout cannot hang or lead a run astray: the lock is waited
 * for a bounded time, only regular files are read, and blobs/ or
 * blobs/<alg> leading outside the layout (symbolic links) is refused. */
#ifndef ML_LAYOUT_H
#define ML_LAYOUT_H

#include <stdio.h>

#include "store.h"

#define ML__LAYOUT_REF_NAME "org.opencontainers.image.ref.name"

/* Batches, as the registry's (items[i].repo->layout is true; repository is
 * the directory). A tag is looked up among index.json's entries; "latest"
 * missing from an index.json holding exactly one entry, untagged, names
 * that entry (skopeo's reading of "oci:PATH"). A digest names the blob,
 * whether or not index.json lists it; its media type comes from index.json
 * or from the manifest's own mediaType. Absent: ML_ENOTFOUND. */
int ml__layout_head_manifests(ml__item *items, size_t n);
int ml__layout_get_manifests(ml__item *items, size_t n);
int ml__layout_head_blobs(ml__item *items, size_t n);
int ml__layout_get_blobs(ml__item *items, size_t n, size_t max);
/* Writes each body as a blob (creating the layout when needed). A tag
 * reference then points the tag at it in index.json: the entry a read of
 * that tag finds is replaced in place (skopeo's one untagged entry, for
 * "latest", gets the tag), otherwise an entry is added. A digest
 * reference only stores the blob. The index.json update waits at most
 * lock_wait_ms for another writer's lock (then ML_EIO). */
int ml__layout_put_manifests(ml__item *items, size_t n, uint32_t lock_wait_ms);
/* Drops every index.json entry with this digest, then removes the blob
 * unless a manifest still reachable from index.json names it: a remaining
 * entry's list or index, or a list among its children (two levels; a list
 * that cannot be read counts as naming it). So deleting a list's child by
 * digest leaves the list whole, and the child readable by digest. Blobs it
 * references stay. ML_ENOTFOUND when no entry and no blob had the digest. */
int ml__layout_delete_manifest(const ml_ref *repo, const char *digest, uint32_t lock_wait_ms, ml_error **err);
/* Tags of index.json, in their order; *complete is always true. */
int ml__layout_list_tags(const ml_ref *repo, ml__strvec *tags, bool *complete, ml_error **err);

/* Referrers by scanning, for several subjects in one pass: every
 * manifest index.json lists, tagged or not (oras and notation add
 * referrers untagged), whose subject.digest is a subject's digest is
 * appended to that subject's refs (an OCI index model, possibly holding
 * some already) as the referrers API describes it: mediaType, digest,
 * size, artifactType (the manifest's, else its config's media type) and
 * the manifest's annotations. Digests refs holds are skipped, as are
 * entries that cannot be read or parsed. A missing layout is ML_ENOTFOUND. */
typedef ml__store_subject ml__layout_subject;
int ml__layout_referrers_scan(const ml_ref *repo, ml__layout_subject *subjects, size_t n, ml_error **err);

#endif
