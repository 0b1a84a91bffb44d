/* Durable files: temporary files committed by rename (or discarded), an
 * exclusive lock with a deadline, directory fsync, and reads of regular
 * files only. Errors are ML_EIO naming the path (ML_ENOMEM, ML_ETOOBIG
 * where said). */
#ifndef ML_FILEIO_H
#define ML_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "error.h"

/* A temporary file being written in `dir`, to become a file there or in a
 * directory of the same filesystem (so the rename is atomic). Its name
 * starts with ".mlist-tmp-"; its mode is 0666 less the umask, as for any
 * file a tool writes (mkstemp would force 0600). */
typedef struct ml__tempfile {
    char *dir;  /* for messages: the temporary's own name means nothing */
    char *path; /* NULL once committed or discarded */
    FILE *file; /* open for reading and writing until synced */
    bool unsynced; /* commit without fsync (see ML__INSTALL_UNSYNCED) */
} ml__tempfile;

int ml__tempfile_open(ml__tempfile *t, const char *dir, ml_error **err);
int ml__tempfile_write(ml__tempfile *t, const void *data, size_t len, ml_error **err);
/* Flushes and fsyncs; the file stays open (it can be read back). */
int ml__tempfile_sync(ml__tempfile *t, ml_error **err);
/* Syncs and closes it, then puts it at dst and fsyncs dst's directory.
 * With `replace` it is renamed over whatever is there (readers see the old
 * or the new file); without, it is linked only where dst is absent (a
 * concurrent creator's file may have been updated since), and an existing
 * dst is no error. The temporary is gone afterwards, whatever the result. */
int ml__tempfile_commit(ml__tempfile *t, const char *dst, bool replace, ml_error **err);
/* Removes the temporary, if there is one still; safe to call twice. */
void ml__tempfile_discard(ml__tempfile *t);

enum {
    ML__INSTALL_REPLACE = 1 << 0, /* commit's `replace` */
    /* No fsync of the file or its directory: for a file whose reader checks
     * it (a cache entry), where a crash may cost the file but never gives a
     * wrong one. */
    ML__INSTALL_UNSYNCED = 1 << 1,
};

/* Writes a whole file at dir/name through a temporary (see commit);
 * flags: ML__INSTALL_*. */
int ml__fileio_install(const char *dir, const char *name, const void *data, size_t len, unsigned flags,
                       ml_error **err);

/* Creates a directory named prefix + a random suffix, exclusively, with
 * mode 0777 less the umask. 0 or an errno. */
int ml__fileio_mkdir_unique(const char *prefix, char **path);

/* fsync of a directory, making renames and unlinks in it durable. Some
 * filesystems cannot (EINVAL): nothing to do there. */
int ml__fileio_sync_dir(const char *path, ml_error **err);

/* Takes an exclusive flock on an existing regular file, waiting at most
 * wait_ms for another holder: one stopped or stuck while holding it must
 * not hang every later run. On timeout, ML_EIO "another process holds the
 * lock of <what> (waited N s)". Closing *fd releases it. */
int ml__fileio_lock(const char *path, const char *what, uint32_t wait_ms, int *fd, ml_error **err);

/* ML_OK for a regular file's mode, else ML_EIO naming path and what it is. */
int ml__require_regular(const char *path, mode_t mode, ml_error **err);
/* Opens a file for reading only when it is a regular file: a FIFO in a
 * layout or a credentials path would block the open, or the reads, for
 * good, and a device never ends. O_NONBLOCK keeps the open from waiting
 * for a FIFO's writer; it is cleared once the file is known regular.
 * ML_EIO naming the path; *fd is -1 then. */
int ml__open_regular(const char *path, int *fd, ml_error **err);
/* The same, as a stream for reading. */
int ml__fopen_regular(const char *path, FILE **out, ml_error **err);
/* Reads a whole regular file, refusing files larger than `max` bytes
 * (ML_ETOOBIG). */
int ml__read_file(const char *path, size_t max, char **out, size_t *len, ml_error **err);
/* The same for a file the caller names as its input, which may also be a
 * pipe or a terminal (a spec given as <(...) or /dev/stdin): waiting for
 * it is what the caller asked for. */
int ml__read_input(const char *path, size_t max, char **out, size_t *len, ml_error **err);

/* Copies the rest of `from` into `to`; *len counts the bytes. */
int ml__fileio_copy(FILE *from, FILE *to, size_t *len, ml_error **err);

#endif
