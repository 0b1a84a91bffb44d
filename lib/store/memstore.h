/* A store in memory, for tests of what sits above the stores (build, push,
 * edit) without HTTP: manifests and blobs by digest per repository, tags,
 * and a compare-and-swap tag write (ML__STORE_CAS). Mounted on a client
 * under a registry name, every reference to that name reaches it. Not
 * thread-safe; owned by the test, which frees it after the client. */
#ifndef ML_MEMSTORE_H
#define ML_MEMSTORE_H

#include "digest.h"
#include "store.h"

typedef struct ml__memstore ml__memstore;

/* Runs just before a tag write is checked and made: a test may move the
 * tag meanwhile, as a concurrent writer would. */
typedef void (*ml__memstore_hook)(void *payload, ml__memstore *m, const char *repository, const char *tag);

int ml__memstore_new(ml__memstore **out);
void ml__memstore_free(ml__memstore *m);
/* Every reference to `registry` through c reaches m. */
int ml__memstore_mount(ml__memstore *m, ml_client *c, const char *registry);
void ml__memstore_on_tag_write(ml__memstore *m, ml__memstore_hook hook, void *payload);

/* Direct access (no client). A put stores the bytes under their sha256
 * digest, written into `digest` (may be NULL); a manifest's tag may be
 * NULL. */
int ml__memstore_put_blob(ml__memstore *m, const char *repository, const void *data, size_t len,
                          char digest[ML__DIGEST_MAX]);
int ml__memstore_put_manifest(ml__memstore *m, const char *repository, const char *tag, const char *media_type,
                              const char *body, char digest[ML__DIGEST_MAX]);
/* The digest a tag names, or NULL. */
const char *ml__memstore_tag(const ml__memstore *m, const char *repository, const char *tag);
/* The bytes stored under a digest (manifest or blob), or NULL. */
const char *ml__memstore_get(const ml__memstore *m, const char *repository, const char *digest, size_t *len);
/* Writes through the store interface so far: manifests and tags put,
 * blobs copied in, manifests deleted. */
size_t ml__memstore_writes(const ml__memstore *m);

#endif
