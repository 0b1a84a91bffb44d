/* An OCI image layout directory on disk: where its files are, how a new
 * one is created whole, index.json read and replaced atomically, the writers'
 * lock, and blob files written crash-safely and read back. The store on top
 * (layout.c) knows tags and items; this file knows files. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"
#include "fileio.h"
#include "layoutfs.h"
#include "manifest.h"


#define OCI_LAYOUT_JSON "{\"imageLayoutVersion\":\"1.0.0\"}"
#define EMPTY_INDEX_JSON "{\"schemaVersion\":2,\"mediaType\":\"" ML__MT_OCI_INDEX "\",\"manifests\":[]}"
#define SIBLING_INFIX ".mlist-"
#define HASH_CHUNK 16384

static int oom(ml_error **err) { return ml__error_set(err, ML_ENOMEM, "out of memory"); }

int ml__layoutfs_io_error(ml_error **err, const char *what, int errnum)
{
    return ml__error_set(err, ML_EIO, "%s: %s", what, ml__strerror(errnum).text);
}

static char *path_in(const char *dir, const char *name) { return ml__asprintf("%s/%s", dir, name); }

int ml__layoutfs_dir(const ml_ref *repo, const char **dir, ml_error **err)
{
    if (!repo || !repo->layout || !repo->repository || !repo->repository[0])
        return ml__error_set(err, ML_EINVAL, "not an OCI image layout reference");
    *dir = repo->repository;
    return ML_OK;
}

/* blobs/<alg> of a valid digest. */
char *ml__layoutfs_alg_dir(const char *dir, const char *digest)
{
    return ml__asprintf("%s/blobs/%.*s", dir, (int)(strchr(digest, ':') - digest), digest);
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Whether directory path, its symbolic links followed, lies inside root:
 * going up through "..", root is met before "/" (its own parent). One not
 * there yet, or no directory, has nothing to lead out through. */
static int check_inside(const struct stat *root, const char *path, ml_error **err)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR ? ML_OK : ml__layoutfs_io_error(err, path, errno);
    struct stat st, below = {0};
    int rc = ML_OK;
    for (;;) {
        if (fstat(fd, &st) != 0) {
            rc = ml__layoutfs_io_error(err, path, errno);
            break;
        }
        if (same_file(&st, root))
            break;
        if (same_file(&st, &below)) {
            rc = ml__error_set(err, ML_EIO, "%s leads outside the layout", path);
            break;
        }
        below = st;
        int up = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC), errnum = errno;
        close(fd);
        if ((fd = up) < 0) {
            rc = ml__layoutfs_io_error(err, path, errnum);
            break;
        }
    }
    if (fd >= 0)
        close(fd);
    return rc;
}

/* blobs/ and blobs/<alg> may be symbolic links (a layout put together by
 * hand), but only to somewhere inside the layout: through one leading
 * elsewhere, blobs would be read, written and deleted outside it. */
static int check_blob_dirs(const char *dir, const char *digest, ml_error **err)
{
    struct stat root;
    if (stat(dir, &root) != 0) /* no layout: its readers say so */
        return ML_OK;
    char *blobs = path_in(dir, "blobs"), *algdir = ml__layoutfs_alg_dir(dir, digest);
    int rc = blobs && algdir ? check_inside(&root, blobs, err) : oom(err);
    if (rc == ML_OK)
        rc = check_inside(&root, algdir, err);
    free(blobs);
    free(algdir);
    return rc;
}

/* The only way to a blob's file: a reference that is not a valid digest
 * (say "../x") must never become a path, nor a layout's blob directories
 * a way out of it. */
int ml__layoutfs_blob_path(const char *dir, const char *digest, char **out, ml_error **err)
{
    if (!ml__digest_valid(digest))
        return ml__error_set(err, ML_EDIGEST, "invalid digest \"%s\"", digest ? digest : "");
    int rc = check_blob_dirs(dir, digest, err);
    if (rc != ML_OK)
        return rc;
    const char *colon = strchr(digest, ':');
    *out = ml__asprintf("%s/blobs/%.*s/%s", dir, (int)(colon - digest), digest, colon + 1);
    return *out ? ML_OK : oom(err);
}

/* ---- files ------------------------------------------------------------- */

/* Mode 0777: the umask decides, as for any tool. */
static int make_dir(const char *path, ml_error **err)
{
    return mkdir(path, 0777) == 0 || errno == EEXIST ? ML_OK : ml__layoutfs_io_error(err, path, errno);
}

/* ---- what a directory holds --------------------------------------------- */

typedef enum dir_state {
    DIR_LAYOUT,  /* has oci-layout */
    DIR_MISSING,
    DIR_EMPTY,
    DIR_OTHER,   /* holds something else */
    DIR_NOTDIR,
    DIR_ERROR,   /* errno in *errnum */
} dir_state;

static dir_state dir_emptiness(const char *dir, int *errnum)
{
    DIR *d = opendir(dir);
    if (!d) {
        *errnum = errno;
        return DIR_ERROR;
    }
    dir_state st = DIR_EMPTY;
    struct dirent *e;
    while (st == DIR_EMPTY && (e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            st = DIR_OTHER;
    closedir(d);
    return st;
}

static dir_state probe_dir(const char *dir, int *errnum)
{
    struct stat st;
    if (stat(dir, &st) != 0) {
        *errnum = errno;
        return errno == ENOENT ? DIR_MISSING : DIR_ERROR;
    }
    if (!S_ISDIR(st.st_mode))
        return DIR_NOTDIR;
    char *marker = path_in(dir, "oci-layout");
    if (!marker) {
        *errnum = ENOMEM;
        return DIR_ERROR;
    }
    int found = stat(marker, &st);
    *errnum = errno;
    free(marker);
    if (found == 0)
        return DIR_LAYOUT;
    return *errnum == ENOENT ? dir_emptiness(dir, errnum) : DIR_ERROR;
}

/* A missing or empty directory is a layout not written yet (ML_ENOTFOUND,
 * like an unknown repository); a directory holding other things is not
 * ours to read or write, and must not read as absent (ML_EIO). */
static int state_error(const char *dir, dir_state st, int errnum, ml_error **err)
{
    switch (st) {
    case DIR_LAYOUT: return ML_OK;
    case DIR_MISSING: return ml__error_set(err, ML_ENOTFOUND, "%s: %s", dir, ml__strerror(errnum).text);
    case DIR_EMPTY:
        return ml__error_set(err, ML_ENOTFOUND, "%s is not an OCI image layout: no oci-layout file", dir);
    case DIR_OTHER:
        return ml__error_set(err, ML_EIO, "%s is not an OCI image layout: no oci-layout file", dir);
    case DIR_NOTDIR: return ml__error_set(err, ML_EIO, "%s is not an OCI image layout: not a directory", dir);
    default: return errnum == ENOMEM ? oom(err) : ml__layoutfs_io_error(err, dir, errnum);
    }
}

int ml__layoutfs_check(const char *dir, ml_error **err)
{
    int errnum = 0;
    dir_state st = probe_dir(dir, &errnum);
    return state_error(dir, st, errnum, err);
}

/* ---- creating a layout -------------------------------------------------- */

static int add_file(const char *dir, const char *name, const char *data, bool shared, ml_error **err)
{
    return ml__fileio_install(dir, name, data, strlen(data), shared ? 0 : ML__INSTALL_REPLACE, err);
}

/* index.json before oci-layout: whoever sees the marker finds the index.
 * A shared directory (filled where it is) may have a concurrent creator. */
static int populate(const char *dir, bool shared, ml_error **err)
{
    char *blobs = path_in(dir, "blobs");
    char *sha = path_in(dir, "blobs/sha256");
    int rc = blobs && sha ? ML_OK : oom(err);
    if (rc == ML_OK && (rc = make_dir(blobs, err)) == ML_OK && (rc = make_dir(sha, err)) == ML_OK &&
        (rc = ml__fileio_sync_dir(sha, err)) == ML_OK && (rc = ml__fileio_sync_dir(blobs, err)) == ML_OK &&
        (rc = add_file(dir, "index.json", EMPTY_INDEX_JSON, shared, err)) == ML_OK)
        rc = add_file(dir, "oci-layout", OCI_LAYOUT_JSON, shared, err);
    free(blobs);
    free(sha);
    return rc;
}

/* Removes what populate() creates (a sibling that lost a race). */
static void remove_populated(const char *dir)
{
    static const char *const entries[] = {"oci-layout", "index.json", "blobs/sha256", "blobs"};
    for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
        char *p = path_in(dir, entries[i]);
        if (p && unlink(p) != 0)
            rmdir(p);
        free(p);
    }
    rmdir(dir);
}

static size_t stripped_len(const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    return n;
}

static char *parent_of(const char *dir)
{
    size_t n = stripped_len(dir);
    while (n > 0 && dir[n - 1] != '/')
        n--;
    while (n > 1 && dir[n - 1] == '/')
        n--;
    return n == 0 ? ml__strdup(".") : ml__strndup(dir, n);
}

static int make_parents(const char *dir, ml_error **err)
{
    char *p = parent_of(dir);
    if (!p)
        return oom(err);
    int rc = ML_OK;
    for (char *s = p + 1; rc == ML_OK && *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        rc = make_dir(p, err);
        *s = '/';
    }
    if (rc == ML_OK)
        rc = make_dir(p, err);
    free(p);
    return rc;
}

/* The user's name for the layout (trailing slashes dropped), in errors
 * about creating it: the sibling it is built in is ours alone. */
static int create_error(const char *dir, int errnum, ml_error **err)
{
    return ml__error_set(err, ML_EIO, "cannot create layout %.*s: %s", (int)stripped_len(dir), dir,
                         ml__strerror(errnum).text);
}

/* An error met inside the sibling, with its name replaced by the layout's
 * (".../out.mlist-x/blobs" reads ".../out/blobs"). */
static int sibling_error(const char *dir, const char *sib, int rc, const ml_error *inner, ml_error **err)
{
    if (rc == ML_ENOMEM)
        return oom(err);
    const char *msg = inner && ml_error_message(inner) ? ml_error_message(inner) : ml_strerror(rc);
    ml__buf b = {0};
    size_t n = strlen(sib), shown = stripped_len(dir);
    for (const char *hit; (hit = strstr(msg, sib)); msg = hit + n) {
        ml__buf_append(&b, msg, (size_t)(hit - msg));
        ml__buf_append(&b, dir, shown);
    }
    ml__buf_puts(&b, msg);
    char *text = ml__buf_take(&b);
    rc = text ? ml__error_set(err, rc, "cannot create layout %.*s: %s", (int)shown, dir, text) : oom(err);
    free(text);
    return rc;
}

/* A failed rename onto the target: someone else made it meanwhile (theirs
 * is checked afterwards), or the empty directory cannot be replaced (".",
 * a mount point) and is filled where it is. */
static int rename_failed(const char *dir, dir_state st, int errnum, bool *in_place, ml_error **err)
{
    *in_place = st == DIR_EMPTY && (errnum == EBUSY || errnum == EINVAL);
    if (errnum == ENOTEMPTY || errnum == EEXIST || *in_place)
        return ML_OK;
    return create_error(dir, errnum, err);
}

/* An empty directory the layout replaces keeps its mode (mkdir -m 700):
 * the sibling, made under the umask, takes it over. A directory gone
 * meanwhile has no mode to keep. */
static int keep_mode(const char *dir, const char *sib, ml_error **err)
{
    struct stat st;
    if (stat(dir, &st) == 0 && chmod(sib, st.st_mode & 07777) != 0)
        return ml__layoutfs_io_error(err, sib, errno);
    return ML_OK;
}

/* Built beside the target and renamed onto it, so the layout appears
 * whole or not at all; rename replaces an empty directory. */
static int create_beside(const char *dir, dir_state st, bool *in_place, ml_error **err)
{
    char *prefix = ml__asprintf("%.*s" SIBLING_INFIX, (int)stripped_len(dir), dir), *sib = NULL;
    int errnum = prefix ? ml__fileio_mkdir_unique(prefix, &sib) : ENOMEM;
    free(prefix);
    if (errnum == ENOMEM)
        return oom(err);
    if (errnum) {
        /* An empty directory in a parent we may not write to. */
        *in_place = st == DIR_EMPTY;
        return *in_place ? ML_OK : create_error(dir, errnum, err);
    }
    ml_error *inner = NULL;
    int rc = populate(sib, false, &inner);
    if (rc == ML_OK && st == DIR_EMPTY)
        rc = keep_mode(dir, sib, &inner);
    int renamed = rc == ML_OK ? rename(sib, dir) : -1;
    errnum = errno;
    if (renamed != 0)
        remove_populated(sib);
    if (rc != ML_OK)
        rc = sibling_error(dir, sib, rc, inner, err);
    else if (renamed != 0)
        rc = rename_failed(dir, st, errnum, in_place, err);
    ml_error_free(inner);
    free(sib);
    return rc;
}

static bool is_symlink(const char *dir)
{
    char *name = ml__strndup(dir, stripped_len(dir));
    struct stat st;
    bool link = name && lstat(name, &st) == 0 && S_ISLNK(st.st_mode);
    free(name);
    return link;
}

/* A symbolic link to an empty directory stays: the layout is filled in
 * the directory it names (a rename would fail on the link). */
static int create_layout(const char *dir, dir_state st, ml_error **err)
{
    bool in_place = st == DIR_EMPTY && is_symlink(dir);
    int rc = st == DIR_MISSING ? make_parents(dir, err) : ML_OK;
    if (rc != ML_OK)
        return ml__error_prefix(err, rc, "cannot create layout %.*s", (int)stripped_len(dir), dir);
    if (!in_place)
        rc = create_beside(dir, st, &in_place, err);
    if (rc == ML_OK && in_place) {
        rc = populate(dir, true, err);
        return rc == ML_OK ? rc : ml__error_prefix(err, rc, "cannot create layout %.*s", (int)stripped_len(dir), dir);
    }
    char *parent = rc == ML_OK ? parent_of(dir) : NULL;
    if (rc == ML_OK)
        rc = parent ? ml__fileio_sync_dir(parent, err) : oom(err);
    free(parent);
    return rc == ML_OK ? ml__layoutfs_check(dir, err) : rc;
}

int ml__layoutfs_ensure(const char *dir, ml_error **err)
{
    int errnum = 0;
    dir_state st = probe_dir(dir, &errnum);
    if (st == DIR_MISSING || st == DIR_EMPTY)
        return create_layout(dir, st, err);
    return state_error(dir, st, errnum, err);
}

/* ---- index.json --------------------------------------------------------- */

/* skopeo's index.json may lack mediaType: it is an index by definition. */
int ml__layoutfs_load_index(const char *dir, ml__manifest *idx, ml_error **err)
{
    char *path = path_in(dir, "index.json"), *json = NULL;
    size_t len = 0;
    *idx = (ml__manifest){0};
    int rc = path ? ml__read_file(path, ML__MANIFEST_MAX, &json, &len, err) : oom(err);
    /* A mediaType other than the index's is refused by the parse. */
    if (rc == ML_OK && (rc = ml__manifest_parse(idx, json, len, ML__MT_OCI_INDEX, err)) != ML_OK)
        ml__error_prefix(err, rc, "%s", path);
    free(json);
    free(path);
    return rc;
}

int ml__layoutfs_store_index(const char *dir, const ml__manifest *idx, ml_error **err)
{
    char *json = NULL;
    size_t len = 0;
    int rc = ml__manifest_emit(idx, &json, &len, err);
    if (rc == ML_OK)
        rc = ml__fileio_install(dir, "index.json", json, len, ML__INSTALL_REPLACE, err);
    else
        ml__error_prefix(err, rc, "%s/index.json", dir);
    free(json);
    return rc;
}

/* Writers serialize on oci-layout: it is never replaced, so every writer
 * locks the same file (index.json is renamed over). */
int ml__layoutfs_lock(const char *dir, uint32_t wait_ms, int *fd, ml_error **err)
{
    char *path = path_in(dir, "oci-layout"), *what = ml__asprintf("layout %s", dir);
    int rc = path && what ? ml__fileio_lock(path, what, wait_ms, fd, err) : oom(err);
    free(path);
    free(what);
    return rc;
}

/* ---- blobs -------------------------------------------------------------- */

/* Written in the layout's root, renamed into blobs/<alg>/ once verified. */
struct ml__layout_blob {
    ml__tempfile tmp;
};

static int blob_begin_in(const char *dir, ml__layout_blob **out, ml_error **err)
{
    ml__layout_blob *b = calloc(1, sizeof(*b));
    int rc = b ? ml__tempfile_open(&b->tmp, dir, err) : oom(err);
    if (rc != ML_OK) {
        ml__layout_blob_free(b);
        return rc;
    }
    *out = b;
    return ML_OK;
}

static int hash_file(FILE *f, const char *digest, char got[ML__DIGEST_MAX], ml_error **err)
{
    char alg[8] = {0};
    memcpy(alg, digest, (size_t)(strchr(digest, ':') - digest));
    ml__digester *d = NULL;
    int rc = ml__digester_new(&d, alg, err);
    char chunk[HASH_CHUNK];
    size_t n;
    if (rc == ML_OK) {
        rewind(f);
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
            ml__digester_update(d, chunk, n);
        if (ferror(f))
            rc = ml__error_set(err, ML_EIO, "read error");
        ml__digester_final(d, got);
    }
    ml__digester_free(d);
    return rc;
}

/* The bytes on disk are what is checked, after fsync. */
static int blob_verify(ml__layout_blob *b, const char *digest, ml_error **err)
{
    char got[ML__DIGEST_MAX];
    int rc = ml__tempfile_sync(&b->tmp, err);
    if (rc != ML_OK)
        return rc;
    rc = hash_file(b->tmp.file, digest, got, err);
    if (rc != ML_OK)
        return ml__error_prefix(err, rc, "%s: blob being written", b->tmp.dir);
    if (strcmp(got, digest) != 0)
        return ml__error_set(err, ML_EDIGEST, "%s: blob content has digest %s, expected %s", b->tmp.dir,
                             got[0] ? got : "(none)", digest);
    return ML_OK;
}

static bool regular_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Renames the verified file into blobs/<alg>/; a blob there already has
 * the same bytes, so it is kept (anything else there is replaced). */
static int blob_install(ml__layout_blob *b, const char *digest, ml_error **err)
{
    const char *dir = b->tmp.dir;
    char *dst = NULL, *algdir = ml__layoutfs_alg_dir(dir, digest), *blobs = path_in(dir, "blobs");
    int rc = algdir && blobs ? ml__layoutfs_blob_path(dir, digest, &dst, err) : oom(err);
    if (rc == ML_OK && (rc = make_dir(blobs, err)) == ML_OK && (rc = make_dir(algdir, err)) == ML_OK) {
        if (regular_file(dst))
            ml__tempfile_discard(&b->tmp);
        else
            rc = ml__tempfile_commit(&b->tmp, dst, true, err); /* syncs algdir */
    }
    if (rc == ML_OK)
        rc = ml__fileio_sync_dir(blobs, err);
    free(dst);
    free(algdir);
    free(blobs);
    return rc;
}

int ml__layout_blob_begin(const ml_ref *repo, ml__layout_blob **out, ml_error **err)
{
    const char *dir = NULL;
    int rc = ml__layoutfs_dir(repo, &dir, err);
    if (rc == ML_OK)
        rc = ml__layoutfs_ensure(dir, err);
    return rc == ML_OK ? blob_begin_in(dir, out, err) : rc;
}

FILE *ml__layout_blob_file(ml__layout_blob *b) { return b ? b->tmp.file : NULL; }

int ml__layout_blob_commit(ml__layout_blob *b, const char *digest, ml_error **err)
{
    if (!b || !b->tmp.path)
        return ml__error_set(err, ML_EINVAL, "no blob being written");
    int rc = ML_OK;
    if (!ml__digest_valid(digest))
        rc = ml__error_set(err, ML_EDIGEST, "invalid digest \"%s\"", digest ? digest : "");
    if (rc == ML_OK)
        rc = blob_verify(b, digest, err);
    if (rc == ML_OK)
        rc = blob_install(b, digest, err);
    ml__tempfile_discard(&b->tmp);
    return rc;
}

void ml__layout_blob_free(ml__layout_blob *b)
{
    if (!b)
        return;
    ml__tempfile_discard(&b->tmp);
    free(b);
}

int ml__layoutfs_put_blob(const char *dir, const char *digest, const char *data, size_t len, ml_error **err)
{
    char *path = NULL;
    int rc = ml__layoutfs_blob_path(dir, digest, &path, err);
    bool present = rc == ML_OK && regular_file(path);
    free(path);
    if (rc != ML_OK || present)
        return rc;
    ml__layout_blob *b = NULL;
    rc = blob_begin_in(dir, &b, err);
    if (rc == ML_OK)
        rc = ml__tempfile_write(&b->tmp, data, len, err);
    if (rc == ML_OK)
        rc = ml__layout_blob_commit(b, digest, err);
    ml__layout_blob_free(b);
    return rc;
}

bool ml__layout_has_blob(const ml_ref *repo, const char *digest)
{
    const char *dir = NULL;
    char *path = NULL;
    bool found = ml__layoutfs_dir(repo, &dir, NULL) == ML_OK && ml__layoutfs_blob_path(dir, digest, &path, NULL) == ML_OK &&
                 regular_file(path);
    free(path);
    return found;
}

/* Size of an existing blob; a missing one is ML_ENOTFOUND, and anything
 * but a regular file no blob (a FIFO would block its reader). */
int ml__layoutfs_blob_stat(const char *dir, const char *digest, char **path, int64_t *size, ml_error **err)
{
    struct stat st;
    int rc = ml__layoutfs_blob_path(dir, digest, path, err);
    if (rc != ML_OK)
        return rc;
    if (stat(*path, &st) != 0)
        return errno == ENOENT ? ml__error_set(err, ML_ENOTFOUND, "blob %s not found in %s", digest, dir)
                               : ml__layoutfs_io_error(err, *path, errno);
    *size = (int64_t)st.st_size;
    return ml__require_regular(*path, st.st_mode, err);
}

/* Whole blob, at most max bytes, checked against its digest. */
int ml__layoutfs_read_blob(const char *dir, const char *digest, size_t max, char **out, size_t *len, ml_error **err)
{
    char *path = NULL;
    int64_t size;
    int rc = ml__layoutfs_blob_stat(dir, digest, &path, &size, err);
    if (rc == ML_OK)
        rc = ml__read_file(path, max, out, len, err);
    if (rc == ML_OK && (rc = ml__digest_verify(digest, *out, *len, err)) != ML_OK) {
        ml__error_prefix(err, rc, "%s", path);
        free(*out);
        *out = NULL;
    }
    free(path);
    return rc;
}

int ml__layout_open_blob(const ml_ref *repo, const char *digest, FILE **out, int64_t *size, ml_error **err)
{
    const char *dir = NULL;
    char *path = NULL;
    int rc = ml__layoutfs_dir(repo, &dir, err);
    if (rc == ML_OK)
        rc = ml__layoutfs_check(dir, err);
    if (rc == ML_OK)
        rc = ml__layoutfs_blob_stat(dir, digest, &path, size, err);
    if (rc == ML_OK)
        rc = ml__fopen_regular(path, out, err);
    free(path);
    return rc;
}
