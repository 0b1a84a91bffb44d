/* An OCI image layout directory on disk (layoutfs.c): paths, creation,
 * index.json, the writers' lock and blob files. layout.c builds the store
 * (tags, items) on top; nothing else needs the files' details. */
#ifndef ML_LAYOUTFS_H
#define ML_LAYOUTFS_H

#include <stdint.h>
#include <stdio.h>

#include "manifest.h"
#include "ref.h"

/* ML_EIO "what: <strerror of errnum>". */
int ml__layoutfs_io_error(ml_error **err, const char *what, int errnum);
/* The directory of a layout reference (ML_EINVAL for any other). */
int ml__layoutfs_dir(const ml_ref *repo, const char **dir, ml_error **err);
/* blobs/<alg> of a valid digest. */
char *ml__layoutfs_alg_dir(const char *dir, const char *digest);
/* The only way to a blob's file: a reference that is not a valid digest
 * never becomes a path, and blob directories leading outside the layout
 * are refused. */
int ml__layoutfs_blob_path(const char *dir, const char *digest, char **out, ml_error **err);
/* An existing layout (oci-layout present): ML_OK; missing: ML_ENOTFOUND. */
int ml__layoutfs_check(const char *dir, ml_error **err);
/* The layout, created whole when missing (built beside and renamed into
 * place; an empty directory, or a link to one, is filled in place). */
int ml__layoutfs_ensure(const char *dir, ml_error **err);
/* index.json as an index model (skopeo's may lack mediaType). */
int ml__layoutfs_load_index(const char *dir, ml__manifest *idx, ml_error **err);
/* Replaces index.json atomically (temp file, fsync, rename). */
int ml__layoutfs_store_index(const char *dir, const ml__manifest *idx, ml_error **err);
/* Writers serialize on oci-layout, waiting at most wait_ms for another
 * process's lock (then ML_EIO naming the layout). */
int ml__layoutfs_lock(const char *dir, uint32_t wait_ms, int *fd, ml_error **err);
/* Stores bytes as a blob, verified against the digest (kept when present). */
int ml__layoutfs_put_blob(const char *dir, const char *digest, const char *data, size_t len, ml_error **err);
/* Size of an existing blob; missing is ML_ENOTFOUND, and anything but a
 * regular file is no blob (a FIFO would block its reader). */
int ml__layoutfs_blob_stat(const char *dir, const char *digest, char **path, int64_t *size, ml_error **err);
/* A whole blob, at most max bytes, checked against its digest. */
int ml__layoutfs_read_blob(const char *dir, const char *digest, size_t max, char **out, size_t *len,
                           ml_error **err);

/* Opens a blob for reading; *size is its length. */
int ml__layout_open_blob(const ml_ref *repo, const char *digest, FILE **out, int64_t *size, ml_error **err);

/* A blob being written: bytes go to a temporary file in the layout;
 * commit verifies the digest and renames it into blobs/. */
typedef struct ml__layout_blob ml__layout_blob;
int ml__layout_blob_begin(const ml_ref *repo, ml__layout_blob **out, ml_error **err);
FILE *ml__layout_blob_file(ml__layout_blob *b);
int ml__layout_blob_commit(ml__layout_blob *b, const char *digest, ml_error **err);
/* Frees; removes the temporary file when it was not committed. */
void ml__layout_blob_free(ml__layout_blob *b);

/* Whether the layout holds the blob, as a regular file (its content is not
 * verified). False for an invalid digest or a layout that is not there. */
bool ml__layout_has_blob(const ml_ref *repo, const char *digest);

#endif
